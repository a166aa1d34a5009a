"""`isotrack export-course COURSE_ID`: the stored course as a course file (the spec's interchange format)."""

from __future__ import annotations

import json
import uuid
from datetime import date
from typing import Any

from django.core.management.base import CommandError

from isotrack import core
from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import Course
from isotrack.clinic.records import course_facts, courses_with_facts


class Command(HyphenatedCommand):
    help = "Write a stored course as a course file (JSON) on standard output or to --output."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("course_id", help="the course's UUID")
        parser.add_argument("--as-of", help="the evaluation date to write into the file (YYYY-MM-DD)")
        parser.add_argument("--output", help="a file to write instead of standard output")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = uuid.UUID(options["course_id"])
        except ValueError:
            raise CommandError(
                f"COURSE_ID: {options['course_id']!r} is not a course id", returncode=2
            ) from None
        as_of = None
        if options["as_of"]:
            try:
                as_of = date.fromisoformat(options["as_of"])
            except ValueError:
                raise CommandError(f"--as-of: {options['as_of']} is not a valid date", returncode=2) from None
        course = courses_with_facts(Course.objects.filter(uuid=key)).first()
        if course is None:
            raise CommandError(f"COURSE_ID: no course {key}", returncode=2)
        text = json.dumps(core.dump_course_file(course_facts(course, as_of=as_of)), indent=2) + "\n"
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as out:
                out.write(text)
        else:
            self.stdout.write(text, ending="")
