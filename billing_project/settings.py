"""Billcycle settings: one module, configured from the environment.

Every value has a safe development default, so `make demo` needs no configuration. Production
sets DJANGO_DEBUG=0, DJANGO_SECRET_KEY and DJANGO_ALLOWED_HOSTS (see docs/operations.md).
"""

import os
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_amounts(name: str, default: str) -> dict[str, Decimal]:
    """Pairs like "USD=1000,JPY=100000" as {"USD": Decimal("1000"), "JPY": Decimal("100000")}."""
    amounts = {}
    for pair in env_list(name, default):
        key, _, amount = pair.partition("=")
        try:
            amounts[key.strip().upper()] = Decimal(amount.strip())
        except InvalidOperation:
            raise ImproperlyConfigured(f"{name}: {pair!r} is not CURRENCY=amount.") from None
    return amounts


DEBUG = env_bool("DJANGO_DEBUG", True)

_DEV_SECRET_KEY = "django-insecure-billcycle-development-only-key-do-not-use-in-production"
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0.")
    # django-q2 signs task results with SECRET_KEY: an empty key makes every task fail.
    SECRET_KEY = _DEV_SECRET_KEY

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_q",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",  # before core: core.admin replaces axes' admin of the failed logins
    "csp",
    "core",
    "accounts",
    "invoicing",
    "billruns",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A NUL character (which PostgreSQL cannot store) gets a 400, before a session is read.
    "core.middleware.RefuseNulMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every page needs a login unless its view is marked @login_not_required.
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "billing_project.urls"

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
            ],
        },
    },
]

WSGI_APPLICATION = "billing_project.wsgi.application"

# --- Database -------------------------------------------------------------------------------
# SQLite in WAL mode is the embedded default; DATABASE_URL=postgres://… is the scale-out path.
# A PostgreSQL connection is closed at the end of each request or task unless
# DATABASE_CONN_MAX_AGE says otherwise. Keeping it is safe only where a process has a fixed set of
# threads (gunicorn sync/gthread workers, qcluster): scripts/serve-cluster sets it for those.
# runserver starts a thread per request, and each would keep its own connection until garbage
# collection: 8 clients then held up to 88 connections and hit "too many clients" (benchmarks.md).
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "0")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the web server read while a worker writes; NORMAL is durable in WAL mode
        # except for the last transactions on power loss, never corrupting.
        "init_command": (
            "PRAGMA journal_mode=WAL;"
            "PRAGMA synchronous=NORMAL;"
            "PRAGMA foreign_keys=ON;"
            "PRAGMA cache_size=-16384;"
        ),
        # IMMEDIATE takes the write lock when a transaction begins, so two writers queue for
        # `timeout` seconds instead of failing with "database is locked" on lock upgrade.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
    # A persistent SQLite connection per thread is cheap and keeps the PRAGMAs applied.
    DATABASES["default"]["CONN_MAX_AGE"] = None
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = False

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Background work (django-q2) ------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
Q_CLUSTER = {
    "name": "billcycle",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # A chunk of 1,000 accounts takes seconds; the timeout is generous, and retry must exceed it
    # or django-q2 re-delivers a task that is still running.
    "timeout": int(os.environ.get("Q_TIMEOUT", "1800")),
    "retry": int(os.environ.get("Q_RETRY", "1900")),
    "max_attempts": 3,
    "queue_limit": 50,
    "bulk": 10,
    "catch_up": False,
    "ack_failures": True,
    "save_limit": 1000,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    # Without an "orm" key django-q2 silently falls back to Redis on localhost.
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out login is refused before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, docs/decisions.md): after BILLCYCLE_LOGIN_FAILURE_LIMIT failed
# logins for one username from one address, that pair is locked out for
# BILLCYCLE_LOGIN_LOCKOUT_MINUTES; an administrator unlocks it sooner in the admin (Access
# attempts) or with `manage.py axes_reset_username NAME`. A good login forgets the failures.
AXES_FAILURE_LIMIT = int(os.environ.get("BILLCYCLE_LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("BILLCYCLE_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "billing_project.login.locked_out"
AXES_CLIENT_IP_CALLABLE = "billing_project.login.client_ip"
# Behind reverse proxies (a load balancer, nginx) set how many: the client's address is then
# the one that many from the right of X-Forwarded-For, which the last proxy wrote. Without a
# proxy (the default) it is the connection's address; a client cannot pick it.
BILLCYCLE_TRUSTED_PROXIES = int(os.environ.get("BILLCYCLE_TRUSTED_PROXIES", "0"))
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True
# One date format on every page (ISO dates, 24-hour times). Locale formats win over the
# DATE_FORMAT settings, so the English locale's formats are replaced by our own module.
FORMAT_MODULE_PATH = ["billing_project.formats"]

# --- Static files ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(os.environ.get("DJANGO_STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
if not DEBUG:
    # runserver serves static files only with DEBUG on; in production WhiteNoise serves what
    # `collectstatic` gathered, from the WSGI processes themselves, so no separate web server
    # is needed (a proxy in front may cache them: hashed names are cached for a year).
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
        "whitenoise.middleware.WhiteNoiseMiddleware",
    )

# --- Email ----------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "DJANGO_EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Billcycle <billing@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Links in emails need an absolute address; the worker has no request to build one from.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# Printed at the top of every invoice and credit memo PDF.
BILLCYCLE_ISSUER_NAME = os.environ.get("BILLCYCLE_ISSUER_NAME", "Billcycle")
# Documents with more lines get their PDF drawn by a worker and stored (invoicing.pdf_files).
BILLCYCLE_PDF_WORKER_LINES = int(os.environ.get("BILLCYCLE_PDF_WORKER_LINES", "200"))
# Accounts per chunk of a bill run: the unit of work of one worker and one transaction.
BILLCYCLE_CHUNK_SIZE = int(os.environ.get("BILLCYCLE_CHUNK_SIZE", "1000"))
# A worker's claim on a chunk (or on a posting or cancel) lasts this long and is renewed a third
# of the way through; work whose worker died is taken over once its lease lapses (DESIGN §6).
BILLCYCLE_LEASE_SECONDS = int(os.environ.get("BILLCYCLE_LEASE_SECONDS", "30"))
# How amounts are written on pages, PDFs and emails (babel locale: en_US gives $1,234.50).
MONEY_LOCALE = os.environ.get("BILLCYCLE_MONEY_LOCALE", "en_US")
# The variance review (billruns.review) flags a first document in a currency above this amount,
# in the currency's major unit: "CUR=amount" pairs, "*" for every currency not named. A currency
# left out is compared with the run itself: 5 x its average document in that currency.
BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS = env_amounts("BILLCYCLE_REVIEW_FIRST_DOCUMENT_AMOUNTS", "")

# --- Forms ----------------------------------------------------------------------------------
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# -- REST API (DESIGN §10, docs/api.md) -------------------------------------------------------
# The throttle counts live in the cache: per process by default, shared through Redis when
# REDIS_URL is set (so several gunicorn workers count one token's requests together).
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "api.auth.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",  # the browser, with CSRF
    ],
    "DEFAULT_PERMISSION_CLASSES": ["api.permissions.ModelPermissions"],
    "DEFAULT_THROTTLE_CLASSES": ["api.throttles.TokenRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"token": os.environ.get("BILLCYCLE_API_RATE", "1200/min")},
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billcycle API",
    "DESCRIPTION": "Bill runs, customers, usage and billing documents, shaped after Zuora's "
    "REST API. See docs/api.md for the quick start.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "AccountStatusEnum": "accounts.models.Account.Status",
        "SubscriptionStatusEnum": "accounts.models.Subscription.Status",
        "DocumentStatusEnum": "invoicing.models.BillingDocument.Status",
        "BillRunStatusEnum": "billruns.models.BillRun.Status",
    },
}

# --- Content-Security-Policy (django-csp, docs/decisions.md) ------------------------------------
# Every script, style, font and image comes from our own static files: no inline script or
# style, no eval (htmx's allowEval is off, base.html), nothing from another site. Bootstrap's
# form controls draw their icons from data: SVGs. The API docs page needs no exception either
# (templates/api/swagger_ui.html, its script a separate request). In every mode, so the tests
# see what production serves.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- Security (production) ------------------------------------------------------------------
if not DEBUG:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # DJANGO_HTTPS=0 serves plain HTTP (a trial of `make cluster` on 127.0.0.1, a closed
    # network): no redirect to https, no HSTS, and cookies a browser sends over plain HTTP.
    HTTPS = env_bool("DJANGO_HTTPS", True)
    SECURE_SSL_REDIRECT = HTTPS and env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = (
        int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", "31536000")) if HTTPS else 0
    )
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = HTTPS
    CSRF_COOKIE_SECURE = HTTPS
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        # Hashed names (ManifestStaticFilesStorage) plus gzip copies that WhiteNoise serves.
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # WeasyPrint logs a line per step and page of every PDF it draws.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        # django-axes writes several lines per login; lockouts are WARNING and stay.
        "axes": {"level": "WARNING"},
    },
}
