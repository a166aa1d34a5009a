"""The one translation of errors into RFC 9457 problem documents (application/problem+json).

Every 4xx of the JSON API and the CDS Hooks service is a problem document with `type`, `title`, `status`,
`detail` and a stable `code` (the clinic's error codes plus the API's own); validation problems add `errors`
(one per field), a clinic `InvalidInput` adds `field`. The FHIR view turns the same codes into an
OperationOutcome.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpResponse

from isotrack.clinic.errors import ClinicError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:isotrack:problem:"

TITLES = {
    "unauthenticated": "Authentication required",
    "not_permitted": "Not permitted",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "invalid": "Invalid input",
    "precondition_failed": "The record changed since it was read",
    "precondition_required": "If-Match required",
    "unsupported_media_type": "Unsupported media type",
    "csrf_failed": "CSRF check failed",
    "bad_request": "Bad request",
}


class ApiError(ClinicError):
    """An error of the API layer itself (HTTP-level), with the same shape as the clinic's errors."""

    def __init__(self, message: str, *, code: str, http_status: int, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code
        self.http_status = http_status


def precondition_failed(detail: str) -> ApiError:
    return ApiError(detail, code="precondition_failed", http_status=412)


def precondition_required() -> ApiError:
    return ApiError(
        "Send If-Match with the ETag of the version you read (GET the record first).",
        code="precondition_required",
        http_status=428,
    )


def problem(status: int, code: str, detail: str, **extra: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "type": f"{TYPE_PREFIX}{code}",
        "title": TITLES.get(code, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    document.update({key: value for key, value in extra.items() if value is not None})
    return document


def problem_of(error: ClinicError) -> dict[str, Any]:
    return problem(error.http_status, error.code, error.message, field=error.field)


def problem_response(document: dict[str, Any], headers: dict[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(
        json.dumps(document), status=document["status"], content_type=PROBLEM_CONTENT_TYPE
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def unauthenticated_response(detail: str = "Send Authorization: Bearer <token>.") -> HttpResponse:
    return problem_response(
        problem(401, "unauthenticated", detail), headers={"WWW-Authenticate": 'Bearer realm="isotrack"'}
    )


def validation_errors(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Pydantic's errors as (field, message) pairs; the location drops ninja's wrapper names."""
    found = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("body", "payload", "query")]
        found.append({"field": ".".join(location), "message": str(error.get("msg", "invalid"))})
    return found
