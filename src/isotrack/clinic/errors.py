"""Errors of the clinic layer. Each has a stable code; the web, the API and the command line translate them
in one place each (HTTP status, problem document, exit status 2)."""

from __future__ import annotations


class ClinicError(Exception):
    code = "clinic_error"
    http_status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class RecordNotFound(ClinicError):
    """Also what a user of another practice gets: "not yours" looks exactly like "not there"."""

    code = "not_found"
    http_status = 404


class NotPermitted(ClinicError):
    code = "not_permitted"
    http_status = 403


class InvalidInput(ClinicError):
    code = "invalid"
    http_status = 422
