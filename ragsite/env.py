"""Typed readers for environment variables.

Settings read everything through these helpers so that a typo such as
DJANGO_DEBUG=ture fails loudly at start-up instead of silently meaning "off".
"""

from __future__ import annotations

import os
import re
import secrets
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {raw!r}.")


def env_int(name: str, default: int, *, minimum: int | None = None) -> int:
    return _env_number(name, default, int, "a whole number", minimum)


def env_float(name: str, default: float, *, minimum: float | None = None) -> float:
    return _env_number(name, default, float, "a number", minimum)


def _env_number[N: (int, float)](
    name: str, default: N, kind: type[N], what: str, minimum: N | None
) -> N:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {what}, not {raw!r}.") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value}.")
    return value


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


_RATE = re.compile(r"^(\d+)\s*/\s*(\d*)\s*(s|sec|second|m|min|minute|h|hour|d|day)s?$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def env_rate(name: str, default: str) -> tuple[int, int] | None:
    """A rate limit such as 10/minute or 5/15min as (requests, seconds); off gives None."""
    raw = env_str(name, default).lower()
    if raw in {"off", "none", "unlimited"}:
        return None
    found = _RATE.match(raw)
    if found is None or int(found[1]) < 1 or int(found[2] or 1) < 1:
        raise ImproperlyConfigured(
            f"{name} must be a number of requests per period such as 10/minute, "
            f"5/15min or 100/hour (or off), not {raw!r}."
        )
    return int(found[1]), int(found[2] or 1) * _SECONDS[found[3][0]]


def env_secret(name: str) -> str:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    value = env_str(name)
    if value:
        return value
    path = env_str(f"{name}_FILE")
    if path:
        return Path(path).read_text().strip()
    return ""


def private_folder(path: Path) -> Path:
    """Create `path` readable by this user only (0700), or make it so: it holds the
    database (sessions, password hashes), the uploads and the keys."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def data_secret(path: Path) -> str:
    """A random key kept in `path` (0600 from its first byte), made on first use.

    Every process of one installation finds the same key there (web, worker,
    `manage.py` commands); each installation has its own. Two processes starting
    at once make it once: the second finds the file the first created.
    """
    try:
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        for _ in range(50):  # written a moment ago by another process: wait for its bytes
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)
        raise ImproperlyConfigured(f"{path} is empty: delete it to have a new key made.") from None
    key = secrets.token_urlsafe(50)
    with os.fdopen(handle, "w") as file:
        file.write(key + "\n")
    return key
