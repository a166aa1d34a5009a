"""The one settings module. Everything that differs between machines comes from the environment.

DATABASE_URL   default: SQLite under var/ (a fresh clone runs with no server); a postgres:// URL switches.
DB_CONN_MAX_AGE  seconds an app process keeps its database connection (default 60; 0: one per request).
SECRET_KEY     required unless DEBUG is on: a production start without one refuses to run.
AUDIT_CHAIN_KEY  the key that seals the audit chain (default: SECRET_KEY). Never change it once rows are
               sealed: `isotrack verify-audit` checks every row under it (when SECRET_KEY is rotated, set
               AUDIT_CHAIN_KEY to the old key first).
DEBUG          off unless set to 1/true/yes.
ALLOWED_HOSTS  comma-separated; default localhost names.
ISOTRACK_TIME_ZONE  the practice time zone used where no practice is known (default America/New_York).
API_TOKEN_DAYS, FEED_TOKEN_DAYS  how long a new API token (default 90) and calendar feed (365) work.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("ISOTRACK_VAR_DIR", Path.cwd() / "var"))

DEBUG = env_flag("DEBUG")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (production).")
    SECRET_KEY = "insecure-development-key-for-debug-only"  # noqa: S105 - only ever used with DEBUG on
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY") or SECRET_KEY
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "90"))  # a new API token's life (the default offered)
FEED_TOKEN_DAYS = int(os.environ.get("FEED_TOKEN_DAYS", "365"))  # a feed's life from its making or rotation

ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]
CSRF_TRUSTED_ORIGINS = [o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# The browser origins that may call the CDS Hooks service (/cds-services only: CORS, api.cds);
# comma-separated, exact origins (scheme://host[:port]); none by default. To try the CDS Hooks sandbox, set
# https://sandbox.cds-hooks.org (it sends its own signed JWT: its calls get a 401 unless its issuer and key
# set are registered with `isotrack cds-client add`, api.cds_jwt).
CDS_HOOKS_ALLOWED_ORIGINS = [
    o.strip().rstrip("/") for o in os.environ.get("CDS_HOOKS_ALLOWED_ORIGINS", "").split(",") if o.strip()
]
# The iPLEDGE REMS website, where staff and patients make the steps isotrack tracks (reference §1): CDS Hooks
# cards of such a step link to it (the REMS guide's "external reference" card).
# The address patients reach isotrack at: the check-in links of the reminders (issue 17) start with it.
PUBLIC_URL = os.environ.get("ISOTRACK_PUBLIC_URL", "http://127.0.0.1:8000").strip().rstrip("/")
if not PUBLIC_URL.startswith(("https://", "http://")):
    raise ImproperlyConfigured("ISOTRACK_PUBLIC_URL must be an absolute http(s) URL (the check-in links)")
IPLEDGE_WEBSITE_URL = os.environ.get("IPLEDGE_WEBSITE_URL", "https://www.ipledgeprogram.com").strip()
if not IPLEDGE_WEBSITE_URL.startswith(("https://", "http://")) or len(IPLEDGE_WEBSITE_URL) < 12:
    raise ImproperlyConfigured("IPLEDGE_WEBSITE_URL must be an absolute http(s) URL (a card's link)")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",  # the authenticator app (time-based one-time codes)
    "django_otp.plugins.otp_static",  # the recovery codes, each good once
    "isotrack.clinic",
    "isotrack.audit",
    "isotrack.web",
    "isotrack.notify",
    "isotrack.api",
    "isotrack.handouts",
]
if DEBUG:  # the demo practices and `isotrack demo` are for development: a production start has neither
    INSTALLED_APPS.append("isotrack.demo")

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "isotrack.web.middleware.NoStoreMiddleware",  # after WhiteNoise: static files keep their caching
    "isotrack.web.middleware.InputGuardMiddleware",  # oversize bodies, control characters, deep JSON: 4xx
    "django.contrib.sessions.middleware.SessionMiddleware",
    "isotrack.web.middleware.SessionTouchMiddleware",  # runs after the view: the user is known by then
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "isotrack.web.middleware.SessionLifetimeMiddleware",  # before the login check: an ended session logs in
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "isotrack.web.middleware.TwoFactorEnrollmentMiddleware",  # a practice's required second factor, first
    "isotrack.web.middleware.AccessLogMiddleware",  # who looked at which patient's record
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "isotrack.web.middleware.ContentSecurityPolicyMiddleware",
    "isotrack.web.middleware.PracticeTimeZoneMiddleware",
    "isotrack.web.errors.ClinicErrorMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "isotrack.urls"
WSGI_APPLICATION = "isotrack.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "isotrack.web.context.submission_key",
                "isotrack.web.context.development",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'isotrack.sqlite3'}"),
        # Each app process keeps its database connection for a minute of requests (checked before reuse)
        # instead of opening one per request: half the time of a page on PostgreSQL (bench/load.py).
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # every write is an explicit transaction in an action
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # Wait for a lock instead of failing at once when two requests write together; take the write lock when a
    # transaction begins (BEGIN IMMEDIATE), so that two processes never deadlock upgrading a read lock; and
    # keep a write-ahead log (WAL), so that readers never wait for a writer nor a writer for readers.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE", "init_command": "PRAGMA journal_mode=WAL"}
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# A request body is read only up to 10 MB (clinic.inputs.MAX_BODY_BYTES, refused by its declared length first:
# web.middleware.InputGuardMiddleware): the largest lab file or practice file allowed fits.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
AUTH_USER_MODEL = "clinic.StaffUser"

PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Login throttling (django-axes, isotrack.web.throttle): five wrong passwords in a row lock that login from
# that address; LOGIN_FAILURE_LIMIT within the cool-off, from any addresses, lock it from every address.
# Behind reverse proxies, TRUSTED_PROXIES says how many: the client's address is read from X-Forwarded-For.
AXES_HANDLER = "isotrack.web.throttle.LoginThrottle"
AXES_CLIENT_IP_CALLABLE = "isotrack.web.throttle.client_address"
LOGIN_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "20"))
TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "web/locked_out.html"
AXES_VERBOSE = False

# A link that sets a password (a new practice's administrator): works once, for this many hours.
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_LINK_HOURS", "72")) * 3600

# Two-factor authentication (django-otp; web.account_views): a member with an authenticator gives its code
# after the password; the practice can require one (Practice.two_factor). Codes of the previous and next 30 s
# step are accepted, never one used before; wrong codes slow down (1, 2, 4... seconds, django-otp's throttle).
OTP_TOTP_ISSUER = "isotrack"
TWO_FACTOR_PENDING_SECONDS = 300  # between the password and the code

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_AGE = int(os.environ.get("SESSION_COOKIE_AGE", str(8 * 3600)))  # one clinic day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
# The expiry counts from the last request (idle sessions end), pushed back at most once a minute
# (web.middleware.SessionTouchMiddleware) rather than by a write on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# However busy, a session ends this long after its login (web.middleware.SessionLifetimeMiddleware).
SESSION_ABSOLUTE_AGE = int(os.environ.get("SESSION_ABSOLUTE_AGE", str(12 * 3600)))

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("ISOTRACK_TIME_ZONE", "America/New_York")
# Translation is on for the patient's handout alone (isotrack.handouts: English and Spanish, rendered inside
# translation.override of the language asked for). No LocaleMiddleware: every other page stays in English
# whatever the browser asks, with the ISO dates of FORMAT_MODULE_PATH.
USE_I18N = True
LANGUAGES = [("en", "English"), ("es", "Español")]
LOCALE_PATHS = [BASE_DIR / "locale"]  # the Spanish catalog, compiled (.mo) and committed beside its .po
FORMAT_MODULE_PATH = "isotrack.formats"  # dates as ISO 8601 everywhere (formats/en/formats.py)
USE_TZ = True

STATIC_URL = "static/"
WHITENOISE_USE_FINDERS = True  # the few static files are served from the package; no collectstatic step
WHITENOISE_AUTOREFRESH = DEBUG

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = env_flag("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Reminders by email (isotrack send-reminders). Nothing is sent while EMAIL_HOST is empty.
EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS")
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "20"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "isotrack <no-reply@localhost>")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"secrets": {"()": "isotrack.logs.RedactSecrets"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["secrets"]}},
    # Request logs carry URLs, never query data of patients; records carry no PHI by design of the log calls;
    # a check-in link's secret is taken out of every line (isotrack.logs).
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
}
