"""isotrack import-labs FILE --as USERNAME: a lab file (HL7 v2 ORU^R01, FHIR Bundle or CSV) onto the right
courses, or nothing at all. Every row's outcome is listed: imported, duplicate or ignored (stdout), or every
bad row and why (stderr, exit status 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from isotrack.clinic.errors import ClinicError
from isotrack.clinic.imports.labs import MAX_BYTES, LabFileRejected, import_lab_file
from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import StaffUser


class Command(HyphenatedCommand):
    help = (
        "Import lab results and pregnancy tests from an HL7 v2 ORU^R01 message, a FHIR Bundle of "
        "Observations or a CSV (mrn, loinc, value, unit, date)."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file", help="the lab file")
        parser.add_argument("--as", dest="username", required=True, help="the staff member importing it")

    def handle(self, *args: Any, **options: Any) -> None:
        user = StaffUser.objects.filter(username=options["username"], is_active=True).first()
        if user is None:
            raise CommandError(f"--as: no active staff member {options['username']!r}", returncode=2)
        try:
            path = Path(options["file"])
            too_large = path.stat().st_size > MAX_BYTES  # a file too large is refused before a byte is read
            if not too_large:
                with path.open("rb") as file:  # and one that grows as it is read (a pipe) at MAX_BYTES + 1
                    content = file.read(MAX_BYTES + 1)
                too_large = len(content) > MAX_BYTES
            if too_large:
                raise CommandError(
                    f"{options['file']}: larger than {MAX_BYTES // (1024 * 1024)} MB, nothing imported",
                    returncode=2,
                )
        except OSError as error:
            raise CommandError(f"{options['file']}: {error.strerror}", returncode=2) from None
        try:
            report = import_lab_file(actor=user, content=content)
        except LabFileRejected as error:
            for rejected in error.rejected:
                self.stderr.write(f"row {rejected.row}: rejected: {rejected.reason}")
            raise CommandError(f"{options['file']}: {error.message}", returncode=2) from None
        except ClinicError as error:
            raise CommandError(f"{options['file']}: {error.message}", returncode=2) from None
        for row in report.rows:
            self.stdout.write(f"row {row.row}: {row.outcome}: {row.detail}")
        left_out = sum(row.outcome == "ignored" for row in report.rows)
        self.stdout.write(
            f"{len(report.imported)} lab result(s) imported, {len(report.pregnancy_tests)} pregnancy test(s) "
            f"imported, {report.duplicates} duplicate(s) ignored, {left_out} row(s) left out (no result "
            "isotrack tracks)."
        )
