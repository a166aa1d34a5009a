"""What the logs may carry: a check-in link's secret never (Django logs every 4xx with its path)."""

from __future__ import annotations

import logging
import re

SECRET_IN_PATH = re.compile(r"/check-in/[^/\s?#]+")


def redacted(text: str) -> str:
    """``text`` with the secret of every check-in link replaced."""
    return SECRET_IN_PATH.sub("/check-in/[redacted]", text)


class RedactSecrets(logging.Filter):
    """Rewrites a record's message without the secrets of check-in links (and keeps the record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET_IN_PATH.search(message):
            record.msg, record.args = redacted(message), ()
        return True
