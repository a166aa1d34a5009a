"""isotrack import-labs FILE --as USERNAME: a lab file (CSV or FHIR Bundle) onto the right courses, or
nothing at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from isotrack.clinic.errors import ClinicError
from isotrack.clinic.imports.labs import MAX_BYTES, import_lab_file
from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import StaffUser


class Command(HyphenatedCommand):
    help = "Import lab results from a CSV (mrn, loinc, value, unit, date) or a FHIR Bundle of Observations."

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
        except ClinicError as error:
            raise CommandError(f"{options['file']}: {error.message}", returncode=2) from None
        self.stdout.write(
            f"{len(report.imported)} lab result(s) imported, {report.duplicates} duplicate(s) ignored."
        )
