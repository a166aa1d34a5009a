"""Login throttling (django-axes) that holds behind a reverse proxy and across addresses.

- Per login and address: ``AXES_FAILURE_LIMIT`` wrong passwords in a row lock that login from that address for
  ``AXES_COOLOFF_TIME``.
- Per login across addresses (``LoginThrottle``): ``LOGIN_FAILURE_LIMIT`` wrong passwords within the cool-off,
  from any number of addresses, lock that login from every address, the right password included, until the
  cool-off has passed (an attacker who spreads guesses over many addresses gains nothing).
- The client's address (``client_address``): the connection's, or, behind ``TRUSTED_PROXIES`` reverse proxies,
  the one the nearest of them recorded in ``X-Forwarded-For`` (the right-most entries are the proxies' own:
  what a client wrote there itself is further left and never read).
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


class LoginThrottle(AxesDatabaseHandler):
    """Axes' database handler, which counts per login and address, with the count per login across addresses
    besides: once that reaches ``LOGIN_FAILURE_LIMIT``, the login is locked from every address."""

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        per_address = int(super().get_failures(request, credentials))
        username = get_client_username(request, credentials)
        if not username:
            return per_address
        attempts = AccessAttempt.objects.filter(
            username=username, attempt_time__gte=get_cool_off_threshold(request)
        )
        across = attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
        if across >= settings.LOGIN_FAILURE_LIMIT:
            return max(per_address, settings.AXES_FAILURE_LIMIT)  # locked, whatever the address
        return per_address


def client_address(request: HttpRequest) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or behind ``TRUSTED_PROXIES`` proxies the entry of
    ``X-Forwarded-For`` that the outermost of them appended (the ``TRUSTED_PROXIES``-th from the right)."""
    direct = request.META.get("REMOTE_ADDR")
    proxies = settings.TRUSTED_PROXIES
    if proxies < 1:
        return direct
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()
    ]
    if len(forwarded) < proxies:
        return direct  # not through the proxies as configured: the connection's own address
    return forwarded[-proxies]
