"""Settings for the test suite: the real settings, fed a throw-away environment."""

import os
import tempfile

_data = tempfile.mkdtemp(prefix="ragsite-test-")
os.environ.setdefault("DATA_DIR", _data)
os.environ.setdefault("FALKORDB_GRAPH", "ragsite_test")
os.environ.setdefault("DJANGO_HTTPS", "false")  # the test client speaks plain HTTP
os.environ["HF_HUB_OFFLINE"] = "1"

from ragsite.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
