"""The API's contract as an integrator meets it: a client generated from /api/v1/openapi.json by
openapi-python-client (nobody here wrote it) reads a patient with its ETag and updates it with If-Match, with
no header added by hand; a stale version is refused with 412 (issue 15, item 6)."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

from isotrack.clinic.models import Patient
from tests.api.conftest import token_for

GENERATOR = Path(sys.executable).with_name("openapi-python-client")


@pytest.fixture
def generated(live_server, tmp_path, monkeypatch):
    """The client package, generated from the document the live server serves."""
    import httpx

    document = tmp_path / "openapi.json"
    document.write_bytes(httpx.get(f"{live_server.url}/api/v1/openapi.json").content)
    package = tmp_path / "client" / "isotrack_api_client"
    result = subprocess.run(
        [GENERATOR, "generate", "--path", document, "--meta", "none", "--output-path", package],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    monkeypatch.syspath_prepend(str(package.parent))
    yield importlib.import_module("isotrack_api_client")
    for name in [name for name in sys.modules if name.startswith("isotrack_api_client")]:
        del sys.modules[name]


def test_a_generated_client_updates_a_patient_with_if_match_and_no_header_added_by_hand(
    generated, live_server, nurse, patient
):
    from isotrack_api_client.api.patients import (
        isotrack_api_v1_patients_get_patient as get_patient,
    )
    from isotrack_api_client.api.patients import (
        isotrack_api_v1_patients_update_patient_contact as update_contact,
    )
    from isotrack_api_client.models import PatientContactPatch

    client = generated.AuthenticatedClient(base_url=live_server.url, token=token_for(nurse))
    read = get_patient.sync_detailed(patient.uuid, client=client)
    assert read.status_code == 200 and read.parsed.mrn == patient.mrn
    etag = read.headers["ETag"]

    changed = update_contact.sync_detailed(
        patient.uuid, client=client, body=PatientContactPatch(phone="+1 555 0100"), if_match=etag
    )
    assert changed.status_code == 200, changed.content
    assert changed.parsed.phone == "+1 555 0100" and changed.headers["ETag"] != etag
    patient.refresh_from_db()
    assert patient.phone == "+1 555 0100"

    stale = update_contact.sync_detailed(
        patient.uuid, client=client, body=PatientContactPatch(phone="+1 555 0199"), if_match=etag
    )
    assert stale.status_code == 412 and stale.parsed.code == "precondition_failed"
    assert Patient.objects.get(pk=patient.pk).phone == "+1 555 0100"
