"""Settings, all read from environment variables (see .env.example)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from ragsite.env import (
    data_secret,
    env_bool,
    env_float,
    env_int,
    env_list,
    env_rate,
    env_secret,
    env_str,
    private_folder,
)

BASE_DIR = Path(__file__).resolve().parent.parent

DATA_DIR = private_folder(Path(env_str("DATA_DIR", str(BASE_DIR / "data"))).resolve())
# Whatever the processes write (the database, uploads, the graph store's files,
# the keys) is readable by this user only.
os.umask(0o077)
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

DEBUG = env_bool("DJANGO_DEBUG", False)
# Set DJANGO_SECRET_KEY (or DJANGO_SECRET_KEY_FILE) where several machines must
# share one; otherwise each data directory keeps a random key of its own.
SECRET_KEY = env_secret("DJANGO_SECRET_KEY") or data_secret(DATA_DIR / "secret_key")
# Access tokens are signed with a key of their own, so that a leaked session key
# does not also let anyone mint API tokens (and the other way round).
JWT_SIGNING_KEY = env_secret("JWT_SIGNING_KEY") or data_secret(DATA_DIR / "jwt_signing_key")
if not DEBUG:
    for _name, _key in (("DJANGO_SECRET_KEY", SECRET_KEY), ("JWT_SIGNING_KEY", JWT_SIGNING_KEY)):
        if len(_key) < 50:
            raise ImproperlyConfigured(
                f"{_name} must be at least 50 characters long (it is {len(_key)}). Make one "
                "with: python -c 'import secrets; print(secrets.token_urlsafe(50))'"
            )

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

# --- HTTPS and browser protections ----------------------------------------------
# With debug off the site is taken to be served over HTTPS: plain HTTP is
# redirected, cookies are sent over HTTPS only, browsers are told to keep to
# HTTPS (HSTS). DJANGO_HTTPS=false turns this off for a plain-HTTP run on one's
# own machine (bin/run does, unless told otherwise).
HTTPS = env_bool("DJANGO_HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # a load balancer's check speaks plain HTTP
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 31_536_000 if HTTPS else 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", HTTPS)
SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
# Behind a proxy that ends TLS, the request's scheme comes from its header; set
# this only when the proxy always sets (or strips) it.
if env_bool("DJANGO_BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
# Django's checks for its protective middleware look for it by its own dotted
# paths; ragsite.middleware subclasses it, and ragsite.checks checks those.
SILENCED_SYSTEM_CHECKS = ["security.W001", "security.W002", "security.W003"]
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Scripts and styles from this site's own files only: no inline script, no other
# origin, no framing. (The API docs page allows its own inline style.)
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_tasks_db",
    "axes",
    "ragsite",
    "retrieval",
    "queries",
]

# Django's usual stack; the ragsite versions run their quick hooks on the event
# loop instead of a thread each (see ragsite/middleware.py).
MIDDLEWARE = [
    "ragsite.middleware.SecurityMiddleware",
    "servestatic.middleware.ServeStaticMiddleware",
    "ragsite.middleware.SessionMiddleware",
    "ragsite.middleware.CommonMiddleware",
    "ragsite.middleware.CsrfViewMiddleware",
    "ragsite.middleware.AuthenticationMiddleware",
    "ragsite.middleware.MessageMiddleware",
    "ragsite.middleware.XFrameOptionsMiddleware",
    "ragsite.middleware.ContentSecurityPolicyMiddleware",
    # Last, as django-axes asks: it turns a locked-out sign-in into its 429 page.
    "axes.middleware.AxesMiddleware",
]

# django-axes counts failed sign-ins (API tokens, the sign-in page, the admin's)
# before Django's own check of the password.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "ragsite.urls"
ASGI_APPLICATION = "ragsite.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ragsite.accounts.registration",
            ],
        },
    },
]

# SQLite in DATA_DIR by default. WAL and IMMEDIATE transactions let the web
# process and the ingestion worker write at the same time without
# "database is locked" errors.
DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL") or f"sqlite:///{DATA_DIR / 'db.sqlite3'}",
        conn_max_age=0,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A pool of connections per process (psycopg_pool): a request borrows one and
    # gives it back, and a burst waits for one rather than failing on the
    # server's connection limit. Keep processes x DATABASE_POOL_SIZE below it.
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_SIZE", 16, minimum=1),
        "timeout": 30,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "uploads"
MEDIA_URL = "media/"

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"

# --- uploads and ingestion -------------------------------------------------
MAX_UPLOAD_MB = env_int("MAX_UPLOAD_MB", 50, minimum=1)
# Any other request body (a question, a login, a form) is refused past this,
# as it arrives and before anything is buffered (ragsite.body_limit).
MAX_BODY_KB = env_int("MAX_BODY_KB", 1024, minimum=16)
CHUNK_SIZE = env_int("CHUNK_SIZE", 1000, minimum=100)
# A document that makes more passages than this fails with that reason (about
# 20 MB of text at the default size) instead of holding a worker for an hour.
MAX_CHUNKS_PER_DOCUMENT = env_int("MAX_CHUNKS_PER_DOCUMENT", 20000, minimum=1)
# Reading an upload runs in a child process stopped after this long or past this
# much memory (a damaged PDF can hang a parser; a zipped XML can unpack to GBs).
PARSE_TIMEOUT = env_int("PARSE_TIMEOUT", 300, minimum=1)
PARSE_MEMORY_MB = env_int("PARSE_MEMORY_MB", 2048, minimum=256)
# Scanned pages and pictures are read by Tesseract (retrieval.ocr) in the worker,
# a page at a time, each stopped after OCR_PAGE_TIMEOUT seconds.
TESSERACT_COMMAND = env_str("TESSERACT_COMMAND", "tesseract")
OCR_LANGUAGES = env_str("OCR_LANGUAGES", "eng")  # Tesseract's codes, e.g. eng+deu
OCR_PAGE_TIMEOUT = env_int("OCR_PAGE_TIMEOUT", 120, minimum=5)
CHUNK_OVERLAP = env_int("CHUNK_OVERLAP", 150, minimum=0)
if CHUNK_OVERLAP >= CHUNK_SIZE:
    raise ImproperlyConfigured("CHUNK_OVERLAP must be smaller than CHUNK_SIZE.")
# Uploads larger than this spill to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- graph store -----------------------------------------------------------
# The backend is a GraphStore subclass named by its dotted path, as Django names
# cache backends; GRAPH_STORE takes a short name for the two that ship, or a path.
GRAPH_STORE_BACKENDS = {
    "falkordb": "retrieval.graphstores.falkordb.FalkorDBStore",
    "neo4j": "retrieval.graphstores.neo4j.Neo4jStore",
}
_graph_store = env_str("GRAPH_STORE", "falkordb")
GRAPH_STORE_BACKEND = GRAPH_STORE_BACKENDS.get(_graph_store.lower(), _graph_store)
if "." not in GRAPH_STORE_BACKEND:
    raise ImproperlyConfigured(
        f"GRAPH_STORE must be {' or '.join(GRAPH_STORE_BACKENDS)}, or the dotted path of a "
        f"GraphStore class, not {_graph_store!r}."
    )
# Connections one process keeps to the store; a query finding all in use waits
# this long for one before it fails as "busy".
GRAPH_STORE_CONNECTIONS = env_int("GRAPH_STORE_CONNECTIONS", 64, minimum=1)
GRAPH_STORE_WAIT_SECONDS = env_int("GRAPH_STORE_WAIT_SECONDS", 10, minimum=1)
# One statement that has not been answered after this long fails (a stopped or
# hung store) instead of holding its caller forever.
GRAPH_STORE_TIMEOUT = env_int("GRAPH_STORE_TIMEOUT", 30, minimum=1)
# An ingestion step that meets an outage (store, remote embeddings) is tried
# again this many times, the pause doubling from INGEST_RETRY_SECONDS.
INGEST_RETRIES = env_int("INGEST_RETRIES", 4, minimum=0)
INGEST_RETRY_SECONDS = env_int("INGEST_RETRY_SECONDS", 2, minimum=0)
# A running ingestion touches its document this often while it moves on; one
# that has not moved on (a new stage, a batch of passages) for
# INGEST_STALL_SECONDS is stopped and fails with that reason. A document whose
# worker died stops beating and is re-queued (`worker --recover-after`).
INGEST_HEARTBEAT_SECONDS = env_float("INGEST_HEARTBEAT_SECONDS", 15.0, minimum=0.1)
INGEST_STALL_SECONDS = env_int("INGEST_STALL_SECONDS", 600, minimum=1)
FALKORDB_PATH = DATA_DIR / "graph" / "falkordb.rdb"
# A FalkorDB server shared by every process and machine (redis://host:6379);
# unset, each machine runs the embedded one on FALKORDB_PATH.
FALKORDB_URL = env_secret("FALKORDB_URL") or None
FALKORDB_GRAPH = env_str("FALKORDB_GRAPH", "ragsite")
NEO4J_URI = env_str("NEO4J_URI")
NEO4J_USER = env_str("NEO4J_USER", "neo4j")
NEO4J_PASSWORD = env_secret("NEO4J_PASSWORD")
NEO4J_DATABASE = env_str("NEO4J_DATABASE") or None

# --- models ----------------------------------------------------------------
OPENAI_API_KEY = env_secret("OPENAI_API_KEY")
OPENAI_BASE_URL = env_str("OPENAI_BASE_URL") or None
OPENAI_MODEL = env_str("OPENAI_MODEL", "gpt-4o-mini")
# A model server (answers, embeddings, entity extraction) silent for this long
# fails the call: a streamed answer ends with an `error` event instead of
# holding the reader (and a connection) forever.
OPENAI_STREAM_TIMEOUT = env_int("OPENAI_STREAM_TIMEOUT", 60, minimum=1)
# The longest answer the model may write (tokens), and the longest it may take (seconds).
OPENAI_MAX_TOKENS = env_int("OPENAI_MAX_TOKENS", 1024, minimum=1)
ANSWER_TIMEOUT = env_int("ANSWER_TIMEOUT", 300, minimum=1)
EMBEDDINGS = env_str("EMBEDDINGS", "local").lower()
if EMBEDDINGS not in {"local", "sentence-transformers", "openai"}:
    raise ImproperlyConfigured(
        f"EMBEDDINGS must be local, sentence-transformers or openai, not {EMBEDDINGS!r}."
    )
OPENAI_EMBEDDING_MODEL = env_str("OPENAI_EMBEDDING_MODEL", "text-embedding-3-small")
# Threads of the local embedding model; 0 lets ONNX Runtime use every core.
EMBEDDING_THREADS = env_int("EMBEDDING_THREADS", 0, minimum=0)
# Questions' and passages' vectors from the same model with 8-bit weights (int8: a
# third of a question's time, half a passage's, the same search quality, see
# bench/RESULTS.md) or with its 32-bit ones (float32).
QUESTION_EMBEDDINGS = env_str("QUESTION_EMBEDDINGS", "int8").lower()
PASSAGE_EMBEDDINGS = env_str("PASSAGE_EMBEDDINGS", "int8").lower()
for _name, _value in [
    ("QUESTION_EMBEDDINGS", QUESTION_EMBEDDINGS),
    ("PASSAGE_EMBEDDINGS", PASSAGE_EMBEDDINGS),
]:
    if _value not in {"int8", "float32"}:
        raise ImproperlyConfigured(f"{_name} must be int8 or float32, not {_value!r}.")

# The web process keeps what it made at start-up out of the garbage collector's full
# collections once its models are loaded, and collects less often (ragsite/asgi.py).
SERVER_COLLECTOR = True

# Answers one web process streams at once; a question beyond them gets a 503
# with Retry-After before its stream starts (see queries/admission.py).
MAX_STREAMS = env_int("MAX_STREAMS", 1500, minimum=1)

REGISTRATION_OPEN = env_bool("REGISTRATION_OPEN", False)

# --- limits against floods (ragsite/limits.py) --------------------------------
# Requests per period (10/minute, 5/15min, 100/hour; "off" lifts one), counted
# per client address for signing in and up, per user for the rest, in state
# every process shares (the database cache, the user's own messages).
RATE_LIMITS = {
    "login": env_rate("RATE_LIMIT_LOGIN", "10/minute"),
    "refresh": env_rate("RATE_LIMIT_REFRESH", "60/minute"),
    "register": env_rate("RATE_LIMIT_REGISTER", "10/hour"),
    "query": env_rate("RATE_LIMIT_QUERY", "60/minute"),
    "upload": env_rate("RATE_LIMIT_UPLOAD", "600/hour"),
}
# Per account: answers in progress at once, documents, bytes stored (0: no limit).
MAX_STREAMS_PER_USER = env_int("MAX_STREAMS_PER_USER", 8, minimum=0)
MAX_DOCUMENTS_PER_USER = env_int("MAX_DOCUMENTS_PER_USER", 1000, minimum=0)
MAX_STORAGE_MB_PER_USER = env_int("MAX_STORAGE_MB_PER_USER", 2048, minimum=0)
# Failed sign-ins from one address for one username before it is locked out
# for LOGIN_LOCKOUT_MINUTES (each failure meanwhile starts the wait again).
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # failures only: a row per successful sign-in is not kept
AXES_CLIENT_IP_CALLABLE = "ragsite.limits.client_address"
AXES_LOCKOUT_CALLABLE = "ragsite.limits.locked_out"
AXES_VERBOSE = False
# Shared by every process (throttle counts); `migrate` creates its table.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "ragsite_cache",
        "OPTIONS": {"MAX_ENTRIES": 100_000},
    }
}
# The API's description (/api/schema/, /api/docs/): for anyone, or (false) only
# for signed-in users.
API_DOCS_PUBLIC = env_bool("API_DOCS_PUBLIC", True)

# --- background tasks ------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": env_str("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# --- REST API --------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ragsite.tokens.RevocableJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "ragsite.api_errors.exception_handler",
}
SIMPLE_JWT = {
    "SIGNING_KEY": JWT_SIGNING_KEY,
    # A password change ends the tokens issued before it (a logout: ragsite.tokens).
    "CHECK_REVOKE_TOKEN": True,
    "TOKEN_REFRESH_SERIALIZER": "ragsite.tokens.FencedTokenRefreshSerializer",
    "TOKEN_OBTAIN_SERIALIZER": "ragsite.tokens.SignInSerializer",
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=15),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=7),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Document Q&A API",
    "DESCRIPTION": "Upload documents and ask questions answered from them, with citations.",
    "VERSION": "1.0.0",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Request bodies described apart from responses: an upload's file is binary
    # (a file part), not the URL a response gives.
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "queries.schema.add_stream_operation",
    ],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO").upper()},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "neo4j": {"level": "WARNING"},
        "axes": {"level": "WARNING"},  # failed sign-ins and lockouts, not every check
    },
}
