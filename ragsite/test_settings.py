"""Settings for the test suite: the real settings, fed a throw-away environment."""

import atexit
import os
import shutil
import tempfile

if not os.environ.get("DATA_DIR"):
    # One throw-away folder per test run, gone when the run ends; the processes
    # a test starts inherit it (or get their own) and leave it alone.
    _data = tempfile.mkdtemp(prefix="ragsite-test-")
    os.environ["DATA_DIR"] = _data
    atexit.register(shutil.rmtree, _data, ignore_errors=True)
os.environ.setdefault("FALKORDB_GRAPH", "ragsite_test")
os.environ.setdefault("DJANGO_HTTPS", "false")  # the test client speaks plain HTTP
os.environ["HF_HUB_OFFLINE"] = "1"
# Limits lifted: tests ask and sign in far faster than people do. The tests of
# the limits set their own (ragsite/tests/test_limits.py, queries/tests/test_limits.py).
for _limit in ("LOGIN", "REFRESH", "REGISTER", "QUERY", "UPLOAD"):
    os.environ.setdefault(f"RATE_LIMIT_{_limit}", "off")
os.environ.setdefault("MAX_STREAMS_PER_USER", "0")

from ragsite.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests run the application in their own process: frozen, every object alive at that
# moment (fixtures, servers, event loops) would stay for the rest of the run.
SERVER_COLLECTOR = False

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
