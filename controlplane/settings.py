"""Settings for the control plane, read from the environment with working defaults.

`make run` needs no configuration: runs come from a demo directory under
CONTROLPLANE_DATA_DIR, and Django's own tables live in SQLite beside it.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from controlplane.datadir import check_apart, private_dir, private_file
from controlplane.env import (
    envbool,
    envdatetime,
    envint,
    envlayers,
    envlist,
    envorigin,
    envpath,
    envstores,
    envstr,
)
from controlplane.request_log import log_format

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = envpath("CONTROLPLANE_DATA_DIR", BASE_DIR / "var")
# Runs: read through runtime_adapter, never written.
CONTROLPLANE_RUN_STORE = envstr("CONTROLPLANE_RUN_STORE", (DATA_DIR / "demo-runs").as_uri())
CONTROLPLANE_STORES = envstores("CONTROLPLANE_STORES")
# Before anything is written: the data directory is never in, around or equal to a run directory.
check_apart(DATA_DIR, [CONTROLPLANE_RUN_STORE, *CONTROLPLANE_STORES.values()])
for _directory in (DATA_DIR, DATA_DIR / "index", DATA_DIR / "uploads"):
    private_dir(_directory)


def _secret_key() -> str:
    configured = envstr("CONTROLPLANE_SECRET_KEY", "")
    if configured:
        return configured
    # Generated once per data directory, so sessions survive restarts without a key in the repo.
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        with os.fdopen(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_urlsafe(50))
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("CONTROLPLANE_DEBUG", False)
# The test client's "testserver" is added by Django's test set-up, never here.
ALLOWED_HOSTS = envlist("CONTROLPLANE_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
# Absolute links in the Markdown incident note start with this origin; unset, they are relative.
# Never taken from the request's Host header.
CONTROLPLANE_BASE_URL = envorigin("CONTROLPLANE_BASE_URL")
CSRF_TRUSTED_ORIGINS = envlist("CONTROLPLANE_CSRF_TRUSTED_ORIGINS", [])

CONTROLPLANE_STORE_BACKENDS: dict[str, str] = {}
CONTROLPLANE_MAX_RUN_FILE_BYTES = envint("CONTROLPLANE_MAX_RUN_FILE_BYTES", 20 * 1024 * 1024, minimum=1024)
CONTROLPLANE_FILE_INDEX = envbool("CONTROLPLANE_FILE_INDEX", True)
CONTROLPLANE_INDEX_REFRESH_SECONDS = float(envstr("CONTROLPLANE_INDEX_REFRESH_SECONDS", "0.5"))
CONTROLPLANE_LOGIN_REQUIRED = envbool("CONTROLPLANE_LOGIN_REQUIRED", True)
# Failed sign-ins (controlplane.login): this many per account and address, and per address,
# within a window of this many minutes; then that sign-in waits for the window to end.
CONTROLPLANE_LOGIN_MAX_FAILURES = envint("CONTROLPLANE_LOGIN_MAX_FAILURES", 5, minimum=1)
CONTROLPLANE_LOGIN_MAX_FAILURES_PER_ADDRESS = envint("CONTROLPLANE_LOGIN_MAX_FAILURES_PER_ADDRESS", 50, minimum=1)
CONTROLPLANE_LOGIN_LOCKOUT_MINUTES = envint("CONTROLPLANE_LOGIN_LOCKOUT_MINUTES", 15, minimum=1)
CONTROLPLANE_REDACT_SECRETS = envbool("CONTROLPLANE_REDACT_SECRETS", True)
CONTROLPLANE_PAGE_SIZE = envint("CONTROLPLANE_PAGE_SIZE", 50, minimum=1)
CONTROLPLANE_LINEAGE_MAX_NODES = envint("CONTROLPLANE_LINEAGE_MAX_NODES", 300, minimum=10)
CONTROLPLANE_MAX_UPLOAD_BYTES = envint("CONTROLPLANE_MAX_UPLOAD_BYTES", 50 * 1024 * 1024, minimum=1024)
# Every other request body (login, logout, admin forms); refused unread when larger (controlplane.body_limits).
CONTROLPLANE_MAX_REQUEST_BYTES = envint("CONTROLPLANE_MAX_REQUEST_BYTES", 64 * 1024, minimum=1024)
# Uploaded bundles are indexed on disk: at most this many traces each, this many bytes in all.
CONTROLPLANE_MAX_UPLOAD_RUNS = envint("CONTROLPLANE_MAX_UPLOAD_RUNS", 100_000, minimum=1)
CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES = envint("CONTROLPLANE_MAX_UPLOAD_STORAGE_BYTES", 2 * 1024**3, minimum=1024)
# An uploaded bundle's link works this long (a week: long enough to share an incident); 0 keeps uploads.
CONTROLPLANE_UPLOAD_TTL_HOURS = envint("CONTROLPLANE_UPLOAD_TTL_HOURS", 168, minimum=0)
CONTROLPLANE_CACHE_URL = envstr("CONTROLPLANE_CACHE_URL", "")
# Run pages: Graphviz for lineage graphs, and the cap on runs in a list export.
CONTROLPLANE_GRAPHVIZ_DOT = envstr("CONTROLPLANE_GRAPHVIZ_DOT", "dot")
CONTROLPLANE_GRAPHVIZ_TIMEOUT = envint("CONTROLPLANE_GRAPHVIZ_TIMEOUT", 10, minimum=1)
CONTROLPLANE_EXPORT_MAX_RUNS = envint("CONTROLPLANE_EXPORT_MAX_RUNS", 500, minimum=1)
# Pins the pages' "now" (relative times, the overview's last day and week); unset, the wall clock.
CONTROLPLANE_NOW = envdatetime("CONTROLPLANE_NOW")
# The runtime's other durable state, read-only like runs: a FileJobStore directory (as a URL), a
# FileAuditSink JSONL file, and FileLayerStore files (NAME=PATH pairs). The defaults are the demo's.
CONTROLPLANE_JOB_STORE = envstr("CONTROLPLANE_JOB_STORE", (DATA_DIR / "demo-jobs").as_uri())
CONTROLPLANE_AUDIT_LOG = envpath("CONTROLPLANE_AUDIT_LOG", DATA_DIR / "demo-audit.jsonl")
CONTROLPLANE_MEMORY_LAYERS = envlayers("CONTROLPLANE_MEMORY_LAYERS", {
    name: DATA_DIR / "demo-memory" / f"{name}.json" for name in ("working", "profile", "policy")})
# Operating it: /readyz fails when a file index is more than this many seconds behind its directory;
# /metrics needs `Authorization: Bearer <token>` when a token is set; log lines as text or JSON.
CONTROLPLANE_READY_MAX_INDEX_LAG = envint("CONTROLPLANE_READY_MAX_INDEX_LAG", 60, minimum=1)
CONTROLPLANE_METRICS_TOKEN = envstr("CONTROLPLANE_METRICS_TOKEN", "")
CONTROLPLANE_LOG_FORMAT = log_format("CONTROLPLANE_LOG_FORMAT")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "controlplane",
    "runs",
    "incidents",
    "releases",
    "approvals",
    "jobs",
    "audit",
    "memory",
]

MIDDLEWARE = [
    # Outermost: a request id and a log line and metrics for every answer, refusals below included.
    "controlplane.request_log.RequestLogMiddleware",
    "controlplane.instruments.RequestMetricsMiddleware",
    # Headers only (none reads a body), so every answer below gets them, the 413 refusal included.
    "django.middleware.security.SecurityMiddleware",
    # Before WhiteNoise, so static files get the policy and framing headers too.
    "controlplane.middleware.ContentSecurityPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Then, before anything reads a body: an oversized one is refused from its Content-Length.
    "controlplane.body_limits.BodySizeLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "controlplane.middleware.StorePrefixMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Before CSRF: its check reads a POST body, so an anonymous upload would be read (up to
    # CONTROLPLANE_MAX_UPLOAD_BYTES) before the login redirect.
    "controlplane.middleware.ControlPlaneLoginRequiredMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "controlplane.middleware.StoreErrorMiddleware",
]

ROOT_URLCONF = "controlplane.urls"
WSGI_APPLICATION = "controlplane.wsgi.application"

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
                "controlplane.context_processors.controlplane",
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": envpath("CONTROLPLANE_DB_PATH", DATA_DIR / "controlplane.sqlite3"),
    }
}
# Users and sessions: created owner-only before Django first opens it.
private_file(DATABASES["default"]["NAME"])


def _caches() -> dict[str, dict[str, object]]:
    if CONTROLPLANE_CACHE_URL.startswith(("redis://", "rediss://")):
        return {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CONTROLPLANE_CACHE_URL}}
    return {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "controlplane"}}


CACHES = _caches()
if CONTROLPLANE_CACHE_URL.startswith(("redis://", "rediss://")):
    # Several nodes behind a load balancer share Redis: sessions kept there follow the user
    # from node to node, where each node's own SQLite would not.
    SESSION_ENGINE = "django.contrib.sessions.backends.cache"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs:overview"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# Form fields: no more than a whole request may hold. Uploaded files over 2.5 MB are
# spooled to a temporary file rather than held in the worker's memory.
DATA_UPLOAD_MAX_MEMORY_SIZE = CONTROLPLANE_MAX_REQUEST_BYTES
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440

# Headers: nosniff, a strict referrer policy and no framing everywhere; HSTS and secure
# cookies in controlplane.settings_production.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Load balancers often probe over plain HTTP: the probes (which show nothing) answer there too.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]

# Error pages, reports and log lines go through the pages' redaction (controlplane.error_reports):
# the DEBUG error page would otherwise print unredacted runs from its stack frames.
DEFAULT_EXCEPTION_REPORTER = "controlplane.error_reports.RedactingExceptionReporter"
DEFAULT_EXCEPTION_REPORTER_FILTER = "controlplane.error_reports.RedactingExceptionReporterFilter"
_JSON_LOGS = CONTROLPLANE_LOG_FORMAT == "json"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # "request" first: a line gets its request id before "redact" formats it.
    "filters": {"redact": {"()": "controlplane.error_reports.RedactingLogFilter"},
                "request": {"()": "controlplane.request_log.RequestContextFilter"}},
    "formatters": {"server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}",
                              "style": "{"},
                   "json": {"()": "controlplane.request_log.RedactingJsonFormatter"},
                   "text": {"()": "controlplane.request_log.TextFormatter"},
                   "plain": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "filters": ["request", "redact"],
                    "formatter": "json" if _JSON_LOGS else "plain"},
        "server": {"class": "logging.StreamHandler", "filters": ["redact"], "formatter": "json" if _JSON_LOGS else "server"},
        # One line per request (controlplane.request_log), whatever CONTROLPLANE_LOG_LEVEL says.
        "requests": {"class": "logging.StreamHandler", "filters": ["request", "redact"],
                     "formatter": "json" if _JSON_LOGS else "text"},
    },
    "root": {"handlers": ["console"], "level": envstr("CONTROLPLANE_LOG_LEVEL", "WARNING")},
    # Django's own handlers write unfiltered (its console prints DEBUG tracebacks, runserver
    # prints request lines with their query strings): its loggers write through these instead.
    "loggers": {
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
        "controlplane.request": {"handlers": ["requests"], "level": "INFO", "propagate": False},
    },
}
