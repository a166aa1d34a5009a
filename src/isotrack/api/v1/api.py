"""The JSON API object: authentication, the one translation of errors into problem documents, the OpenAPI
document (problem responses declared as application/problem+json) and a plain docs page (no scripts, so the
site's Content-Security-Policy holds)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.openapi.docs import DocsBase

from isotrack.api.auth import BearerToken, StaffSession
from isotrack.api.problems import (
    PROBLEM_CONTENT_TYPE,
    problem,
    problem_of,
    problem_response,
    unauthenticated_response,
    validation_errors,
)
from isotrack.api.v1 import account, courses, patients, records
from isotrack.clinic.errors import ClinicError
from isotrack.clinic.imports.labs import LabFileRejected

DESCRIPTION = """The JSON API of isotrack: patients, courses, dose segments, every kind of event, evaluations,
the worklist and the calendar. Authenticate with `Authorization: Bearer <token>` (a per-user token, made on
the token page `/api/tokens/`). Errors are RFC 9457 problem documents with a stable `code`. Updates need
`If-Match` with the record's `ETag`. Every write goes through the same actions and audit trail as the pages.
See docs/api.md."""

HTTP_CODES = {400: "bad_request", 403: "not_permitted", 404: "not_found", 405: "method_not_allowed"}


class PlainDocs(DocsBase):
    """The operations listed on a server-rendered page, from the OpenAPI document."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:  # type: ignore[override]
        schema = api.get_openapi_schema()
        operations = [
            {"method": method.upper(), "path": path, **operation}
            for path, methods in schema["paths"].items()
            for method, operation in methods.items()
        ]
        return render(
            request,
            "api/docs.html",
            {"api": api, "operations": operations, "openapi_url": self.get_openapi_url(api, kwargs)},
        )


class IsotrackApi(NinjaAPI):
    def get_openapi_schema(self, **kwargs: Any) -> Any:
        schema = super().get_openapi_schema(**kwargs)
        for methods in schema["paths"].values():
            for operation in methods.values():
                for status, response in operation.get("responses", {}).items():
                    content = response.get("content", {})
                    if int(status) >= 400 and "application/json" in content:
                        response["content"] = {PROBLEM_CONTENT_TYPE: content["application/json"]}
        return schema


api = IsotrackApi(
    title="isotrack API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=[BearerToken(), StaffSession()],
    docs=PlainDocs(),
    servers=[{"url": "/", "description": "This isotrack server (every path starts with /api/v1)"}],
)
api.add_router("", patients.router)
api.add_router("", courses.router)
api.add_router("", account.router)
api.add_router("", records.router)


@api.exception_handler(LabFileRejected)
def lab_file_rejected(request: HttpRequest, error: LabFileRejected) -> HttpResponse:
    rejected = [{"row": r.row, "reason": r.reason} for r in error.rejected]
    return problem_response({**problem_of(error), "rejected": rejected})


@api.exception_handler(ClinicError)
def clinic_error(request: HttpRequest, error: ClinicError) -> HttpResponse:
    return problem_response(problem_of(error))


@api.exception_handler(ValidationError)
def invalid(request: HttpRequest, error: ValidationError) -> HttpResponse:
    errors = validation_errors(error.errors)
    detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors[:3])
    return problem_response(problem(422, "invalid", detail, errors=errors))


@api.exception_handler(AuthenticationError)
def unauthenticated(request: HttpRequest, error: AuthenticationError) -> HttpResponse:
    return unauthenticated_response()


@api.exception_handler(HttpError)
def http_error(request: HttpRequest, error: HttpError) -> HttpResponse:
    code = HTTP_CODES.get(error.status_code, "bad_request")
    return problem_response(problem(error.status_code, code, str(error)))


@api.exception_handler(Http404)
def not_found(request: HttpRequest, error: Http404) -> HttpResponse:
    return problem_response(problem(404, "not_found", "No such record."))
