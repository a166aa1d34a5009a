"""The caller's API tokens, and lab files coming in."""

from typing import Any, Literal
from uuid import UUID

from django.http import HttpRequest, HttpResponse
from ninja import Field, Router, Schema
from ninja.responses import Status

from isotrack.api import tokens
from isotrack.api.auth import StaffSession
from isotrack.api.v1.common import READ_PROBLEMS, WRITE_PROBLEMS, actor, created, doc_created, public_fields
from isotrack.api.v1.schemas import LabImportOut, TokenCreatedOut, TokenIn, TokenOut
from isotrack.clinic.imports.labs import import_lab_file

router = Router()

LAB_FILE_BODY = {
    "required": True,
    "description": "An HL7 v2 ORU^R01 message, a FHIR R4 Bundle holding Observations (JSON), or a CSV with "
    "the columns mrn, loinc, value, unit, date (optional uln, reference_low, reference_high, "
    "identifier_system). See docs/api.md.",
    "content": {
        "x-application/hl7-v2+er7": {"schema": {"type": "string"}},
        "application/fhir+json": {"schema": {"type": "object"}},
        "text/csv": {"schema": {"type": "string"}},
    },
}


class LabImportRowOut(Schema):
    row: int = Field(..., description="The CSV line, the Bundle entry, or the HL7 segment's line (MSH = 1).")
    outcome: Literal["imported", "duplicate", "ignored"]
    kind: Literal["lab_result", "pregnancy_test", ""] = Field(..., description="What the row is; '' ignored.")
    detail: str = Field(..., description="The result as filed (converted units named), or why it is ignored.")
    record: UUID | None = Field(..., description="The record imported (a lab result or a pregnancy test).")


class LabImportReportOut(LabImportOut):
    """The import's report: LabImportOut's fields as before (`imported` and `results`: the lab results), the
    pregnancy tests imported, and every row of the file."""

    pregnancy_tests_imported: int = Field(..., description="How many pregnancy tests were imported.")
    pregnancy_tests: list[UUID] = Field(..., description="The pregnancy tests imported (their ids).")
    ignored: int = Field(
        ..., description="How many rows were left out: a panel's results isotrack does not track, no results."
    )
    rows: list[LabImportRowOut]


def token_out(token: Any) -> dict[str, Any]:
    return public_fields(token, TokenOut.model_fields)


@router.get("/tokens", response={200: list[TokenOut], **READ_PROBLEMS}, tags=["tokens"])
def list_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    return [token_out(t) for t in tokens.tokens_of(actor(request))]


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, **WRITE_PROBLEMS},
    auth=[StaffSession()],
    tags=["tokens"],
    summary="Create a token (with a logged-in session and its CSRF token; the value is shown once)",
    openapi_extra=doc_created(),
)
def create_token(request: HttpRequest, payload: TokenIn, response: HttpResponse) -> Status[dict[str, Any]]:
    token, value = tokens.create_token(actor=actor(request), name=payload.name)
    created(response, f"/tokens/{token.uuid}")
    return Status(201, {**token_out(token), "token": value})


@router.delete("/tokens/{uuid:token_uuid}", response={200: TokenOut, **WRITE_PROBLEMS}, tags=["tokens"])
def revoke_token(request: HttpRequest, token_uuid: UUID) -> dict[str, Any]:
    return token_out(tokens.revoke_token(actor=actor(request), token_uuid=token_uuid))


@router.post(
    "/lab-imports",
    response={200: LabImportReportOut, **WRITE_PROBLEMS},
    openapi_extra={"requestBody": LAB_FILE_BODY},
    tags=["labs"],
    summary="Import a lab file: every result on its course, or nothing (422 names the bad rows)",
)
def import_labs(request: HttpRequest) -> dict[str, Any]:
    report = import_lab_file(actor=actor(request), content=request.body)
    rows = [vars(outcome) for outcome in report.rows]
    return {
        "imported": len(report.imported),  # the lab results, as before the pregnancy tests came in
        "duplicates": report.duplicates,
        "rejected": [],
        "results": [result.uuid for result in report.imported],
        "pregnancy_tests_imported": len(report.pregnancy_tests),
        "pregnancy_tests": [test.uuid for test in report.pregnancy_tests],
        "ignored": sum(outcome.outcome == "ignored" for outcome in report.rows),
        "rows": rows,
    }
