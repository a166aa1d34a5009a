"""`isotrack import-course FILE --patient MRN --as USERNAME`: a course from a course file, all or nothing."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from isotrack import core
from isotrack.clinic.errors import ClinicError
from isotrack.clinic.imports.courses import import_course
from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import Patient, StaffUser


class Command(HyphenatedCommand):
    help = "Create a course for a patient from a course file (JSON), in one transaction."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("file")
        parser.add_argument("--patient", required=True, help="the patient's MRN or UUID")
        parser.add_argument(
            "--as", dest="actor", required=True, help="the username of the staff member importing"
        )
        parser.add_argument("--prescriber", help="the username of the course's prescriber (default: --as)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = StaffUser.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None or actor.practice_id is None:
            raise CommandError(f"--as: no active staff member {options['actor']!r}", returncode=2)
        patients = Patient.objects.select_related("practice").filter(practice_id=actor.practice_id)
        patient = patients.filter(mrn=options["patient"]).first()
        if patient is None and len(options["patient"]) == 36:
            patient = patients.filter(uuid=options["patient"]).first()
        if patient is None:
            raise CommandError(f"--patient: no patient {options['patient']!r} in the practice", returncode=2)
        prescriber = None
        if options["prescriber"]:
            prescriber = StaffUser.objects.filter(
                practice_id=actor.practice_id, username=options["prescriber"]
            ).first()
            if prescriber is None:
                raise CommandError(f"--prescriber: no staff member {options['prescriber']!r}", returncode=2)
        try:
            with open(options["file"], encoding="utf-8") as source:
                data = json.load(source)
        except OSError as error:
            raise CommandError(f"{options['file']}: {error.strerror}", returncode=2) from None
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{options['file']}: not JSON ({error.msg}, line {error.lineno})", returncode=2
            ) from None
        try:
            course_file = core.parse_course_file(data)
            course = import_course(
                actor=actor, patient=patient, course_file=course_file, prescriber=prescriber
            )
        except core.CourseFileError as error:
            raise CommandError(str(error), returncode=2) from None
        except ClinicError as error:
            raise CommandError(error.message, returncode=2) from None
        self.stdout.write(str(course.uuid))
