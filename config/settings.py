"""Contact Sheet settings: one file, every value from the environment with a working default.

Every variable is listed in .env.example. With none set, the project runs on SQLite, local
storage, django-q2's ORM broker and a local-memory cache.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONCE as CSP_NONCE
from django.core.exceptions import ImproperlyConfigured

from config import s3
from config.env import env_bool, env_duration, env_int, env_list, env_size, env_str
from notifications.emailurl import CONSOLE_BACKEND, parse_email_url

BASE_DIR = Path(__file__).resolve().parent.parent
TESTING = "pytest" in sys.modules or env_bool("DJANGO_TESTING", False)

# --- Core ------------------------------------------------------------------------------------

DEBUG = env_bool("DJANGO_DEBUG", True)
DEV_SECRET_KEY = "dev-only-key-contact-sheet-never-use-in-production-0123456789abcdef"
SECRET_KEY = env_str("DJANGO_SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY in ("", DEV_SECRET_KEY):
    raise ImproperlyConfigured(
        "DJANGO_SECRET_KEY must be set to a long random value when DJANGO_DEBUG is off. "
        'Generate one with: python -c "import secrets; print(secrets.token_urlsafe(50))"'
    )
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "config.admin.AdminConfig",  # issue 13: the admin site (config/admin.py): daily work first, system apart
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "adminsortable2",  # issue 13: drag-to-reorder of a gallery's photos in the admin
    "django_htmx",
    "template_partials",
    "rest_framework",
    "knox",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",  # issue 9, logins: lockouts on every login door (settings under "Logins and throttling")
    "accounts",
    "notifications",  # issue 11: email notifications (settings under "Email and notifications")
    "galleries",
    "uploads",
    "sharing",
    "lifecycle",  # issue 11: the sweep that publishes, warns, expires and purges (galleries.lifecycle)
    "folders",  # issue 14: import from and export to folders on the server (folders/services.py)
    "integrations",  # issue 16: webhooks and Idempotency-Key (settings under "Webhooks and idempotency")
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # issue 13: gzip for client pages only, never the admin or the API (BREACH: config/compression.py).
    # Early in the list, so it compresses the response every middleware below has finished.
    "config.compression.PageCompressionMiddleware",
    # issue 9, faults: the Content-Security-Policy header (settings under "Content-Security-Policy").
    "config.csp.ContentSecurityPolicyMiddleware",
    # issue 9, faults (config/middleware.py): every error on /api/ is JSON; a body larger than its
    # door accepts is refused from Content-Length before anything reads it; an unreachable database
    # answers 503.
    "config.middleware.ApiJsonErrorsMiddleware",
    "config.middleware.RequestBodyLimitMiddleware",
    "config.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # issue 16: Idempotency-Key on API POSTs (integrations/idempotency.py); after auth, so a session user is known.
    "integrations.idempotency.IdempotencyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # issue 9, logins: turns an axes lockout into our 429 answer (accounts.lockout); axes asks for
    # it to come last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "galleries:index"
LOGOUT_REDIRECT_URL = "galleries:index"

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
                "csp.context_processors.nonce",  # issue 9, faults: {{ CSP_NONCE }} for an inline script
            ],
        },
    }
]

# --- Database --------------------------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests use a file, not shared-cache memory, so concurrent tests get real WAL locking; one
    # per process, so two test runs in one checkout never share it.
    DATABASES["default"]["TEST"] = {
        "NAME": str(Path(tempfile.gettempdir()) / f"contactsheet-test-{os.getpid()}.sqlite3")
    }
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on the busy timeout
        # instead of failing with "database is locked" when a read upgrades to a write.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=20000;"
        ),
    }
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True

# --- Cache -----------------------------------------------------------------------------------

REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Passwords, i18n -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files and media ------------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

# Media is never served from a public path: MEDIA_URL is only the prefix of the signed,
# streaming media view (galleries.media).
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "media")))
MEDIA_URL_TTL = env_duration("MEDIA_URL_TTL", timedelta(hours=1))
# Presigned S3 URLs handed out through a share link cannot be called back when the link closes,
# so they are short-lived; URLs our own view serves check their link on every request instead.
SHARE_MEDIA_URL_TTL = env_duration("SHARE_MEDIA_URL_TTL", timedelta(minutes=5))

S3_BUCKET = env_str("S3_BUCKET")
S3_ENDPOINT_URL = env_str("S3_ENDPOINT_URL")
S3_ACCESS_KEY_ID = env_str("S3_ACCESS_KEY_ID")
S3_SECRET_ACCESS_KEY = env_str("S3_SECRET_ACCESS_KEY")
S3_REGION = env_str("S3_REGION", "us-east-1")
S3_CUSTOM_DOMAIN = env_str("S3_CUSTOM_DOMAIN")
# A CDN domain serves media only with signed URLs (CloudFront key pair); unsigned CDN URLs would
# outlive a revoked share link.
S3_CLOUDFRONT_KEY_ID = env_str("S3_CLOUDFRONT_KEY_ID")
S3_CLOUDFRONT_KEY = env_str("S3_CLOUDFRONT_KEY").replace("\\n", "\n")
USE_S3 = any([S3_BUCKET, S3_ENDPOINT_URL, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_CUSTOM_DOMAIN])
if USE_S3 and not S3_BUCKET:
    raise ImproperlyConfigured("S3 storage is switched on by an S3_* variable, but S3_BUCKET is empty.")
if S3_CUSTOM_DOMAIN and not (S3_CLOUDFRONT_KEY_ID and S3_CLOUDFRONT_KEY):
    raise ImproperlyConfigured(
        "S3_CUSTOM_DOMAIN needs S3_CLOUDFRONT_KEY_ID and S3_CLOUDFRONT_KEY: media URLs must be signed and expire."
    )

if USE_S3:
    # The options every S3 door shares (issue 10: one place, config/s3.py).
    _default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": s3.storage_options(
            bucket=S3_BUCKET,
            endpoint_url=S3_ENDPOINT_URL,
            access_key=S3_ACCESS_KEY_ID,
            secret_key=S3_SECRET_ACCESS_KEY,
            region=S3_REGION,
            custom_domain=S3_CUSTOM_DOMAIN,
            cloudfront_key_id=S3_CLOUDFRONT_KEY_ID,
            cloudfront_key=S3_CLOUDFRONT_KEY,
            url_ttl=int(MEDIA_URL_TTL.total_seconds()),
        ),
    }
else:
    _default_storage = {
        "BACKEND": "galleries.storage.LocalMediaStorage",
        "OPTIONS": {"location": MEDIA_ROOT},
    }

STORAGES = {
    "default": _default_storage,
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Uploads and images ----------------------------------------------------------------------

MAX_UPLOAD_SIZE = env_size("MAX_UPLOAD_SIZE", 50 * 1024**2)
MAX_VIDEO_SIZE = env_size("MAX_VIDEO_SIZE", 2 * 1024**3)
UPLOAD_CHUNK_SIZE = env_size("UPLOAD_CHUNK_SIZE", 8 * 1024**2)
UPLOAD_EXPIRY = env_duration("UPLOAD_EXPIRY", timedelta(hours=24))
# 120 MP covers every camera sold today (a 102 MP medium format is about 11,600 x 8,700);
# anything larger is refused before it is decoded.
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 120_000_000)
# Multipart bodies above this go to a temporary file instead of memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024**2
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024**2
# issue 9, faults: request bodies are refused from Content-Length before they are read
# (config.middleware.RequestBodyLimitMiddleware). Forms and JSON: Django's own cap on their fields
# plus room for multipart framing. The single-shot upload door takes at most
# SINGLE_UPLOAD_MAX_FILES files of MAX_UPLOAD_SIZE each; the chunk and tus doors check each piece.
REQUEST_BODY_MAX_SIZE = env_size("REQUEST_BODY_MAX_SIZE", DATA_UPLOAD_MAX_MEMORY_SIZE + 1024**2)
SINGLE_UPLOAD_MAX_FILES = env_int("SINGLE_UPLOAD_MAX_FILES", 5)
FILE_UPLOAD_PERMISSIONS = 0o640

# --- Gallery lifecycle (galleries.lifecycle, docs/operations.md) ------------------------------

# What the sweep does to a gallery past its expiry: "hide" (only the owner sees it until it is
# purged GALLERY_PURGE_AFTER days later) or "trash" (moved to the trash, purged TRASH_RETENTION
# days later). GALLERY_PURGE_AFTER=never keeps expired galleries until their owner deletes them.
GALLERY_EXPIRED_ACTION = env_str("GALLERY_EXPIRED_ACTION", "hide")
if GALLERY_EXPIRED_ACTION not in ("hide", "trash"):
    raise ImproperlyConfigured(f"GALLERY_EXPIRED_ACTION must be hide or trash, not {GALLERY_EXPIRED_ACTION!r}.")
GALLERY_PURGE_AFTER = None if env_str("GALLERY_PURGE_AFTER") == "never" else env_int("GALLERY_PURGE_AFTER", 30)
TRASH_RETENTION = env_int("TRASH_RETENTION", 30)
# Owners (and clients who left an email) are told this many days before a gallery expires;
# owners are told this many days before a purge.
GALLERY_EXPIRY_NOTICE_DAYS = env_int("GALLERY_EXPIRY_NOTICE_DAYS", 7)
GALLERY_PURGE_NOTICE_DAYS = env_int("GALLERY_PURGE_NOTICE_DAYS", 3)
# An asset no photo holds (an upload that died between its steps) is collected after this long.
ORPHAN_ASSET_GRACE = env_duration("ORPHAN_ASSET_GRACE", timedelta(hours=1))
# The storage check (manage.py storage_check) leaves files without a row alone until they are this
# old: an upload or a worker may have written the file and not yet committed its row.
STORAGE_CHECK_GRACE = env_duration("STORAGE_CHECK_GRACE", timedelta(hours=24))
# One sweep stops starting new work after this long; the next one carries on.
LIFECYCLE_SWEEP_BUDGET = env_duration("LIFECYCLE_SWEEP_BUDGET", timedelta(minutes=4))
LIFECYCLE_BATCH = env_int("LIFECYCLE_BATCH", 500)

# --- Background tasks (django-q2) ------------------------------------------------------------

Q_CLUSTER = {
    "name": "contactsheet",
    "workers": env_int("Q_WORKERS", 2),
    # A task killed by `timeout` is only retried after `retry` seconds, so retry must be
    # larger than timeout: otherwise the broker hands the same task to a second worker while
    # the first is still running it.
    "timeout": 300,
    "retry": 360,
    # A poison task (a file that crashes the worker) is given up after a few tries instead of
    # looping forever.
    "max_attempts": 3,
    "ack_failures": True,
    "catch_up": False,
    "save_limit": 500,
    "label": "Background tasks",
    # Worker memory (issue 9): a worker whose peak RSS passed this after a task is replaced by a
    # fresh process (django-q2 `max_rss`, in KB). Freed image memory is not always handed back to
    # the system, so a worker would otherwise keep its largest job's footprint for good. A 24 MP
    # JPEG peaks near 160 MB (bench/variants.py --large); a 100 MP PNG, decoded whole, near 500 MB:
    # that worker is recycled right after its job, the other keeps working.
    "max_rss": env_size("Q_MAX_RSS", 384 * 1024**2) // 1024,
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
    Q_CLUSTER["poll"] = 0.5
    # django-q2's ORM broker without its reconnect on every enqueue (config/queue.py).
    Q_CLUSTER["broker_class"] = "config.queue.OrmBroker"

# --- API -------------------------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": [
        "rest_framework.parsers.JSONParser",
        "rest_framework.parsers.MultiPartParser",
        "rest_framework.parsers.FormParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "DEFAULT_THROTTLE_RATES": {"login": env_str("LOGIN_THROTTLE", "10/min")},
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append("rest_framework.renderers.BrowsableAPIRenderer")

REST_KNOX = {
    "TOKEN_TTL": env_duration("API_TOKEN_TTL", timedelta(days=30)),
    "AUTH_HEADER_PREFIX": "Token",
    "AUTO_REFRESH": True,
    "TOKEN_LIMIT_PER_USER": 50,
    "USER_SERIALIZER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Contact Sheet API",
    "DESCRIPTION": "Client photo galleries: galleries, photos, uploads and share links.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Issue 10: no hand-written "tokenAuth" (knox and the session name their own schemes); the
    # generator lists tus's HEAD and OPTIONS and marks strict request bodies (config/schema.py).
    "DEFAULT_GENERATOR_CLASS": "config.schema.Generator",
    # The API is JSON; DRF's form parsers stay for the test client and the browsable API, whose
    # "empty field means absent" rules a JSON schema cannot state.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # Issue 16: every POST documents the Idempotency-Key header (integrations/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "integrations.schema.add_idempotency_key",
    ],
    # Two "visibility" choice sets (galleries, communities): each gets its own readable name.
    "ENUM_NAME_OVERRIDES": {
        "CommunityVisibilityEnum": "accounts.models.CommunityVisibility",
        "GalleryVisibilityEnum": "galleries.models.Visibility",
        "MemberRoleEnum": "accounts.models.Role",
    },
}

# --- Logins and throttling (issue 9) ---------------------------------------------------------

# How many reverse proxies in front of the app append to X-Forwarded-For. 0: the client is
# REMOTE_ADDR and the header is ignored (anyone can write it). See config/clientip.py and
# docs/deployment.md.
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")

# Sessions that know their user, so a password change ends all of them (accounts.sessions).
SESSION_ENGINE = "accounts.sessions"

# django-axes guards every door that calls authenticate(): /accounts/login/, /admin/login/ and
# POST /api/v1/auth/login. Its standalone backend refuses a locked-out client before the
# password is checked; then ModelBackend checks it, after counting the attempt atomically in the
# shared store, so parallel requests cannot get more guesses than axes allows (accounts.backends).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.CountedModelBackend",
]
# A lockout is for one username from one address, not the username alone nor the address alone:
# locking the username would let anyone lock the photographer out from anywhere by typing wrong
# passwords, and locking the address alone would lock out everyone behind the same NAT. The
# attacker's address is stopped; the real user from another address still signs in. Guessing
# many usernames from one address is limited by the per-address login rate (LOGIN_THROTTLE).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_duration("LOGIN_LOCKOUT", timedelta(minutes=15))
AXES_RESET_ON_SUCCESS = True
AXES_CLIENT_IP_CALLABLE = "config.clientip.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"  # shared by every process
AXES_VERBOSE = False
# Only failures are recorded: logging every successful sign-in would also force a session onto
# each API token login (axes hashes the session key into its access log).
AXES_DISABLE_ACCESS_LOG = True

# --- Content-Security-Policy (issue 9, faults; django-csp 4) ---------------------------------

# Scripts only from our own origin or with the per-response nonce: no inline script, no eval.
# Styles allow inline: style attributes carry each photo's aspect ratio and placeholder colour, and
# the admin and Swagger UI set inline styles (a nonce in style-src would switch 'unsafe-inline' off).
# Media comes from our own signed view; when S3 is set up, config.csp adds its endpoint and CDN
# domain (presigned URLs) to img-src, media-src and connect-src.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'", CSP_NONCE],
        "style-src": ["'self'", "'unsafe-inline'"],
        # data: and blob: for Uppy's thumbnails of files about to be uploaded and Swagger UI's icons.
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# --- Security (on whenever debug is off) -----------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("DJANGO_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("DJANGO_HSTS_PRELOAD", False)
    # Preloading HSTS is a commitment that is hard to undo; a site owner opts in with
    # DJANGO_HSTS_PRELOAD=1, so the deploy check's reminder about it is silenced.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    if env_bool("DJANGO_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {
        "redact_tokens": {"()": "config.logfilters.RedactShareTokens"},
        # Issue 10: ordinary 4xx on share links and the API are DEBUG, not WARNING (config/logfilters.py).
        "ordinary_refusals": {"()": "config.logfilters.LowerOrdinaryRefusals"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact_tokens"]},
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's request logger names the path; ours goes through the redacting handler only.
        "django.request": {
            "handlers": ["console"],
            "level": env_str("LOG_LEVEL", "INFO"),  # LOG_LEVEL=DEBUG shows the ordinary refusals too
            "filters": ["ordinary_refusals"],
            "propagate": False,
        },
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# --- Image processing ------------------------------------------------------------------------

# (name, box width, box height, fit); "cover" crops to the box, "inside" fits within it.
IMAGE_VARIANTS = [
    ("thumbnail", 80, 80, "cover"),
    ("small", 300, 300, "inside"),
    ("medium", 800, 800, "inside"),
    ("large", 1920, 1080, "inside"),
    # For the lightbox on high-density and large screens (2x a 1280x800 window): without it the
    # lightbox upscaled the 1920x1080 variant there. WebP only (below); bench/variants.py shows its cost.
    ("xlarge", 2560, 1600, "inside"),
]
IMAGE_VARIANT_FORMATS = env_list("IMAGE_VARIANT_FORMATS", ["avif", "webp"])
# Per-format quality, chosen with bench/variants.py --sweep: AVIF at 66 is no larger than WebP
# at 80 for an equal or better PSNR/SSIM on the large and medium variants (the ones that carry
# the bytes); at one shared quality AVIF came out 1.3-1.6x larger.
AVIF_QUALITY = env_int("AVIF_QUALITY", 66)
WEBP_QUALITY = env_int("WEBP_QUALITY", 80)
# Small pictures need a little more AVIF quality to match WebP's detail (the sweep's lowest
# matching value for the 300 px variant), and at 80x80 AVIF cannot match WebP at all: its
# container alone is ~300 bytes of a ~2 KB file. So thumbnails are WebP only (every browser that
# shows AVIF shows WebP too; <picture> falls back per source).
IMAGE_QUALITY = {
    "avif": AVIF_QUALITY,
    "webp": WEBP_QUALITY,
    "jpeg": 82,
    ("small", "avif"): env_int("AVIF_QUALITY_SMALL", 68),
}
# xlarge is WebP only too: only the lightbox asks for it (its srcset is WebP), and AVIF at that size
# costs about twice WebP's encoding time for every photo of a burst.
IMAGE_VARIANT_SKIP = [("thumbnail", "avif"), ("xlarge", "avif")]
# Encoding is most of the processing cost. AVIF speed 8 is several times faster than Pillow's
# default (6); WebP method 2 is 2.4x faster than 4 for about 5% more bytes at the same score.
AVIF_SPEED = env_int("AVIF_SPEED", 8)
WEBP_METHOD = env_int("WEBP_METHOD", 2)
# Encoders of one image run on this many threads (the next variant is cut meanwhile): one image is
# ready sooner; a busy worker's throughput is the same (bench/variants.py, bench/burst.py).
IMAGE_ENCODE_THREADS = env_int("IMAGE_ENCODE_THREADS", 2)
PROCESSING_MAX_ATTEMPTS = env_int("PROCESSING_MAX_ATTEMPTS", 3)
PROCESSING_RETRY_DELAY = env_int("PROCESSING_RETRY_DELAY", 30)
# Recovery after a crash (issue 9): a worker holds a lease on the asset it processes and renews it
# every third of this; the sweep (every minute, config/schedules.py) hands an asset whose lease
# lapsed, or whose queued task a dead cluster had taken, to the queue again. So after a kill -9
# every photo is ready within about this plus a minute, not the broker's `retry` (6 minutes).
PROCESSING_LEASE = env_duration("PROCESSING_LEASE", timedelta(seconds=30))
# Only for claims made before leases existed, and pending assets when the broker cannot be listed.
PROCESSING_STUCK_AFTER = env_duration("PROCESSING_STUCK_AFTER", timedelta(minutes=10))

# --- Uploads in flight -----------------------------------------------------------------------

UPLOAD_TEMP_DIR = Path(env_str("UPLOAD_TEMP_DIR", str(BASE_DIR / "var" / "uploads")))
UPLOAD_CHUNK_STORE = "uploads.chunkstore.S3ChunkStore" if USE_S3 else "uploads.chunkstore.LocalChunkStore"
# A chunk larger than this is refused before its body is read.
UPLOAD_MAX_CHUNK_SIZE = env_size("UPLOAD_MAX_CHUNK_SIZE", 64 * 1024**2)
UPLOAD_MAX_OPEN_PER_USER = env_int("UPLOAD_MAX_OPEN_PER_USER", 500)
# Guest drop box (issue 9, uploads): an open guest upload holds a place under the link's caps only
# while it makes progress; after this long without a byte its place is free again.
UPLOAD_RESERVATION_WINDOW = env_duration("UPLOAD_RESERVATION_WINDOW", timedelta(minutes=10))
# issue 16: how long a presigned part URL of the direct-to-S3 door (uploads.presigned) stays valid.
UPLOAD_PRESIGNED_URL_TTL = env_duration("UPLOAD_PRESIGNED_URL_TTL", timedelta(minutes=15))
# issue 14: the server folders `manage.py import` may read, comma-separated; empty refuses every import.
# Checked after resolving symlinks, from every door (folders.services.import_root).
IMPORT_ROOTS = env_list("IMPORT_ROOTS", [])

# --- Email and notifications (issue 11) -----------------------------------------------------

# EMAIL_URL: smtp://user:password@host:port (plain), smtp+tls://… (STARTTLS), smtps://… (TLS from
# the start), console:// or locmem://. Unset: mails are printed on the console.
EMAIL_URL = env_str("EMAIL_URL", "")
_email = parse_email_url(EMAIL_URL) if EMAIL_URL.strip() else {"EMAIL_BACKEND": CONSOLE_BACKEND}
EMAIL_BACKEND = _email["EMAIL_BACKEND"]
EMAIL_HOST = _email.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _email.get("EMAIL_PORT", 25)
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _email.get("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _email.get("EMAIL_USE_SSL", False)
# A mail server that does not answer holds a worker no longer than this (seconds).
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Contact Sheet <noreply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
STUDIO_NAME = env_str("STUDIO_NAME", "Contact Sheet")  # shown in every mail
# Links in mails are built from this, never from a request's Host header (which a client writes).
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# A mail the server would not take is tried again after NOTIFICATION_RETRY_BASE seconds, then twice
# as long each time (at most 6 hours apart), NOTIFICATION_MAX_ATTEMPTS times in all, then marked failed.
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 8)
NOTIFICATION_RETRY_BASE = env_int("NOTIFICATION_RETRY_BASE", 60)

# --- Share links -----------------------------------------------------------------------------

SHARE_UNLOCK_ATTEMPTS = env_int("SHARE_UNLOCK_ATTEMPTS", 5)  # password attempts per link and address...
SHARE_UNLOCK_WINDOW = env_int("SHARE_UNLOCK_WINDOW", 15 * 60)  # ...within this many seconds
# issue 9, throttling: wrong passwords on one link, from all addresses together, after which an
# address that has already failed on it waits for the window; an address with no failure still
# gets its attempt, so an attacker cannot lock the real client out (sharing.access.unlock).
SHARE_UNLOCK_LINK_FAILURES = env_int("SHARE_UNLOCK_LINK_FAILURES", SHARE_UNLOCK_ATTEMPTS * 10)
SHARE_GRANT_TTL = env_int("SHARE_GRANT_TTL", 24 * 3600)  # lifetime of an API grant token

# --- Webhooks and idempotency (issue 16, integrations) --------------------------------------

# Webhook URLs must be https and resolve to public addresses only (checked again at every send).
# WEBHOOKS_ALLOW_PRIVATE=1 lets them reach loopback and private addresses over plain http too: for
# tests and a receiver on the same machine or network, never for a server open to strangers.
WEBHOOKS_ALLOW_PRIVATE = env_bool("WEBHOOKS_ALLOW_PRIVATE", False)
# Seconds each wait of a send may take (connect, answer); the whole exchange is cut off after three times this.
WEBHOOK_TIMEOUT = env_int("WEBHOOK_TIMEOUT", 10)
# A failed delivery (5xx, 408, 429, timeout, connection error) is tried again WEBHOOK_RETRY_BASE
# seconds later, then twice as long each time (at most 6 hours apart), WEBHOOK_MAX_ATTEMPTS in all.
WEBHOOK_MAX_ATTEMPTS = env_int("WEBHOOK_MAX_ATTEMPTS", 8)
WEBHOOK_RETRY_BASE = env_int("WEBHOOK_RETRY_BASE", 60)
# How long the first answer to a POST with an Idempotency-Key is kept (swept hourly).
IDEMPOTENCY_KEY_TTL = env_duration("IDEMPOTENCY_KEY_TTL", timedelta(hours=24))
