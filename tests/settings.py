"""Test settings: the production settings module, with a test key and no HTTPS redirect (the test client
speaks plain HTTP). Everything else, secure cookies and headers included, is as in production."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-used-anywhere-else")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DEBUG", "0")

from isotrack.settings import *  # noqa: E402, F403
