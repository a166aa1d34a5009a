"""`isotrack import-practice FILE --as USERNAME [--dry-run]`: the practice's current patients and courses
from a CSV (one row per course; docs/practice-import.md), all or nothing. With --dry-run, every course as it
would be imported and every row's problems, nothing written. A file with problems exits 2: each problem on its
own line, then one line saying nothing was imported."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.clinic.errors import ClinicError
from isotrack.clinic.imports.practice import PracticeFileRejected, RowProblem, import_practice, problem_words
from isotrack.clinic.management.arguments import HyphenatedCommand
from isotrack.clinic.models import StaffUser


class Command(HyphenatedCommand):
    help = "Import the practice's current patients and courses from a CSV file, in one transaction."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the CSV file (the template: docs/practice-import.md)")
        parser.add_argument(
            "--as", dest="actor", required=True, help="the username of the practice administrator importing"
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="show what would be imported and every problem; write nothing",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        actor = StaffUser.objects.filter(username=options["actor"], is_active=True).first()
        if actor is None or actor.practice_id is None:
            raise CommandError(f"--as: no active staff member {options['actor']!r}", returncode=2)
        try:
            with open(options["file"], "rb") as source:
                content = source.read()
        except OSError as error:
            raise CommandError(f"{options['file']}: {error.strerror}", returncode=2) from None
        try:
            report = import_practice(actor=actor, content=content, confirm=not options["dry_run"])
        except PracticeFileRejected as rejected:
            self._refuse(rejected.problems)
        except ClinicError as error:
            raise CommandError(error.message, returncode=2) from None
        for course in report.courses:
            completion = course.projected_completion.isoformat() if course.projected_completion else "-"
            self.stdout.write(
                f"row {course.row}\t{course.mrn}\t{course.phase}\tnext: {course.next_step}\t"
                f"completion {completion}\t{course.course_uuid if report.imported else ''}".rstrip()
            )
        if report.problems:
            self._refuse(report.problems)
        if report.imported:
            self.stdout.write(f"imported {len(report.courses)} courses (sha256 {report.sha256})")
        else:
            self.stdout.write(f"dry run: {len(report.courses)} courses would be imported; nothing written")

    def _refuse(self, problems: list[RowProblem]) -> None:
        for problem in problems:
            self.stderr.write(problem_words(problem))
        rows = sorted({p.row for p in problems})
        shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
        raise CommandError(
            f"nothing imported: {len(problems)} problem{'s' if len(problems) != 1 else ''} (row {shown})",
            returncode=2,
        )
