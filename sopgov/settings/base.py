"""Settings shared by every environment, read from environment variables (django-environ).

Every variable is listed, with its default, in README.md ("Configuration").
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="sopgov-insecure-development-key-change-me")
DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "apps.core.admin_config.SopgovAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "simple_history",
    "csp",
    "axes",
    "apps.core",
    "apps.accounts",
    "apps.audit",
    "apps.sops",
    "apps.publishing",
    "apps.agents",
    "apps.rollouts",
    "apps.signatures",
    "apps.releases",
    "apps.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "apps.core.middleware.RequestIdMiddleware",
    "apps.core.middleware.DatabaseUnavailableMiddleware",
    "apps.core.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "apps.core.middleware.RequestTooLargeMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a lockout into its response
]

# Content-Security-Policy (django-csp): scripts, styles, images and requests from this site
# only — no inline scripts, no plug-ins, no framing. Inline style attributes are allowed (the
# admin and Chart.js set some); images may be data: URLs (Swagger UI's icons).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# Failed sign-ins (admin login and the API token endpoint), by django-axes: after
# SOPGOV_LOGIN_FAILURE_LIMIT failures for one username — from any address — or from one client
# address, sign-in is refused for SOPGOV_LOGIN_LOCK_MINUTES. The client address is REMOTE_ADDR
# unless SOPGOV_PROXY_COUNT reverse proxies (or the SOPGOV_TRUSTED_PROXIES addresses) sit in
# front: only then is X-Forwarded-For read (django-ipware), so a client cannot pick its address.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env.int("SOPGOV_LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SOPGOV_LOGIN_LOCK_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "apps.core.views.login_locked"
SOPGOV_PROXY_COUNT = env.int("SOPGOV_PROXY_COUNT", default=0)
SOPGOV_TRUSTED_PROXIES = env.list("SOPGOV_TRUSTED_PROXIES", default=[])
AXES_IPWARE_META_PRECEDENCE_ORDER: tuple[str, ...] = ("REMOTE_ADDR",)
if SOPGOV_PROXY_COUNT or SOPGOV_TRUSTED_PROXIES:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    AXES_IPWARE_PROXY_COUNT = SOPGOV_PROXY_COUNT or None
    AXES_IPWARE_PROXY_TRUSTED_IPS = SOPGOV_TRUSTED_PROXIES or None

ROOT_URLCONF = "sopgov.urls"
WSGI_APPLICATION = "sopgov.wsgi.application"
ASGI_APPLICATION = "sopgov.asgi.application"

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

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / '.demo' / 'sopgov.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Take the write lock when a transaction starts, so concurrent writers queue instead of
    # failing with "database is locked" halfway through (Django ≥ 5.1).
    DATABASES["default"].setdefault("OPTIONS", {}).update({"transaction_mode": "IMMEDIATE", "timeout": 20})
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=0))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
# Signed-in sessions end after SOPGOV_SESSION_IDLE_MINUTES without a request (each request
# renews the cookie), and when the browser closes.
SESSION_COOKIE_AGE = env.int("SOPGOV_SESSION_IDLE_MINUTES", default=30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
LOGIN_REDIRECT_URL = "admin:index"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

# Django's default request body limit (2.5 MB) also bounds API bodies; SOP content has its own.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2_621_440)

# --- sopgov ---------------------------------------------------------------------------
SOPGOV = {
    # Largest SOP version content accepted, in bytes of UTF-8.
    "MAX_CONTENT_BYTES": env.int("SOPGOV_MAX_CONTENT_BYTES", default=200_000),
    # Public base URL of the web app, used in links sent to agents and in e-mails.
    "PUBLIC_URL": env("SOPGOV_PUBLIC_URL", default="http://127.0.0.1:8000"),
    # The bridge's MCP endpoint as agents reach it: the client configurations shown with a new token.
    "MCP_URL": env("SOPGOV_MCP_URL", default="http://127.0.0.1:8001/mcp"),
}

# The admin site's dashboard: a function of the user returning the template's lists.
SOPGOV_DASHBOARD = "apps.releases.dashboard.dashboard_context"

# --- REST API -------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "login": env("SOPGOV_LOGIN_THROTTLE", default="20/min"),
        "proposal": env("SOPGOV_PROPOSAL_THROTTLE", default="30/hour"),
    },
    # X-Forwarded-For counts for rate limits only behind that many proxies (else anyone sets it)
    "NUM_PROXIES": env.int("SOPGOV_PROXY_COUNT", default=0),
}
SPECTACULAR_SETTINGS = {
    "TITLE": "sopgov API",
    "DESCRIPTION": "Govern the SOPs customer-service agents follow: draft, review, approve, publish.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI served from this app (drf-spectacular-sidecar), not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "VersionStatusEnum": "apps.sops.models.VersionStatus",
        "PublicationStatusEnum": "apps.publishing.models.PublicationStatus",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "apps.core.openapi.add_error_responses",
    ],
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "memory://localhost/")
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Fail fast when the broker is down: the caller logs and goes on, nothing it committed is lost.
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# AgentCore deployments: how long to wait for a runtime or endpoint to become READY, and how
# often to ask (seconds; GetAgentRuntime has no waiter).
SOPGOV_AGENTCORE_WAIT_SECONDS = env.int("SOPGOV_AGENTCORE_WAIT_SECONDS", default=900)
SOPGOV_AGENTCORE_POLL_SECONDS = env.float("SOPGOV_AGENTCORE_POLL_SECONDS", default=5.0)
# A deployment whose worker has not reported for this long, or a publication pending this long,
# is taken over by the next worker (beat's publishing-resume-stale sweep, every minute).
SOPGOV_DEPLOYMENT_STALE_SECONDS = env.float("SOPGOV_DEPLOYMENT_STALE_SECONDS", default=90.0)
SOPGOV_PUBLICATION_STALE_SECONDS = env.float("SOPGOV_PUBLICATION_STALE_SECONDS", default=300.0)
# E-signatures: wrong passwords allowed before signing locks, for how long (minutes), and how
# long a verified signature stays usable for its action (seconds; "the same request").
SOPGOV_SIGNING_MAX_FAILURES = env.int("SOPGOV_SIGNING_MAX_FAILURES", default=5)
SOPGOV_SIGNING_LOCK_MINUTES = env.int("SOPGOV_SIGNING_LOCK_MINUTES", default=15)
SOPGOV_SIGNATURE_MAX_AGE_SECONDS = env.int("SOPGOV_SIGNATURE_MAX_AGE_SECONDS", default=120)
# Where sentence embeddings of SOP texts are cached between runs (routing checks, playground).
SOPGOV_EMBEDDING_CACHE_DIR = Path(env("SOPGOV_EMBEDDING_CACHE_DIR", default=str(BASE_DIR / ".cache" / "embeddings")))
# How often Celery beat checks the gates of active rollouts (seconds).
SOPGOV_ROLLOUT_TICK_SECONDS = env.float("SOPGOV_ROLLOUT_TICK_SECONDS", default=15.0)
# Retention: tool-call log rows older than this are deleted daily. Audit events are never deleted.
SOPGOV_TOOL_CALL_RETENTION_DAYS = env.int("SOPGOV_TOOL_CALL_RETENTION_DAYS", default=400)
CELERY_BEAT_SCHEDULE: dict = {
    "rollouts-tick": {"task": "apps.releases.tasks.rollouts_tick", "schedule": SOPGOV_ROLLOUT_TICK_SECONDS},
    "publishing-resume-stale": {"task": "apps.publishing.tasks.resume_stale", "schedule": 60.0},
    "audit-seal": {"task": "apps.audit.tasks.audit_seal_pending", "schedule": 60.0},
    "reviews-remind": {"task": "apps.sops.tasks.reviews_remind", "schedule": crontab(hour=7, minute=0)},
    "toolcalls-prune": {"task": "apps.agents.tasks.prune_tool_calls", "schedule": crontab(hour=3, minute=30)},
}

# --- E-mail ---------------------------------------------------------------------------
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="sopgov <sopgov@localhost>")

# --- Logging --------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "server": {"()": "django.utils.log.ServerFormatter", "format": "[{server_time}] {message}", "style": "{"},
    },
    "filters": {"quiet_bridge_polls": {"()": "apps.core.logging.QuietBridgePolls"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "server": {"class": "logging.StreamHandler", "formatter": "server", "filters": ["quiet_bridge_polls"]},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},
        "kombu": {"level": "WARNING"},
        # runserver's request log, without the bridges' "nothing changed" polls
        "django.server": {"handlers": ["server"], "level": "INFO", "propagate": False},
    },
}
