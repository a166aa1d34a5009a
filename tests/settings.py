"""Test settings: the production settings module, with a test key and no HTTPS redirect (the test client
speaks plain HTTP). Everything else, secure cookies and headers included, is as in production."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DEBUG", "0")

from isotrack.settings import *  # noqa: E402, F403

INSTALLED_APPS = [*INSTALLED_APPS, "isotrack.demo"]  # noqa: F405 -- the tests build the demo practices

# On SQLite the test database is a file, not the default shared in-memory one: concurrent requests (the live
# server's threads, the tests of two submissions at once) then wait for the write lock as in production,
# instead of failing with "database table is locked".
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    import tempfile as _tempfile

    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(_tempfile.gettempdir(), f"isotrack-test-{os.getpid()}.sqlite3")
    }

# .ci/run: the suite on PostgreSQL connected as the app's least-privilege role, which may not create a
# database: the owner (ISOTRACK_TEST_DB_OWNER) makes and migrates it beforehand; the tests run in it.
if os.environ.get("ISOTRACK_TEST_DB_PREPARED"):
    DATABASES["default"]["TEST"] = {"NAME": DATABASES["default"]["NAME"]}  # noqa: F405
