"""What was known on the day: the course file's events dated on or before the day, by type, oldest first.

Events dated after the day are ignored everywhere (an as-of replay of a file must give the answer of that
day). Events of the same date keep their file order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from isotrack.core.course import (
    CourseFile,
    Dispense,
    Enrollment,
    LabResult,
    MoodScreen,
    PatientAttestation,
    PregnancyTest,
    PrescriberConfirmation,
)


@dataclass(frozen=True, slots=True)
class History:
    day: dt.date
    enrollments: tuple[Enrollment, ...]
    pregnancy_tests: tuple[PregnancyTest, ...]
    prescriber_confirmations: tuple[PrescriberConfirmation, ...]
    attestations: tuple[PatientAttestation, ...]
    dispenses: tuple[Dispense, ...]
    labs: tuple[LabResult, ...]
    mood_screens: tuple[MoodScreen, ...]
    positive_tests: tuple[PregnancyTest, ...]  # positive pregnancy tests, oldest first

    @property
    def last_dispense(self) -> Dispense | None:
        """The most recent dispense on or before the day (of several that day, the last listed)."""
        return self.dispenses[-1] if self.dispenses else None

    @property
    def first_dispense(self) -> Dispense | None:
        return self.dispenses[0] if self.dispenses else None

    def after_last_dispense(self, when: dt.date) -> bool:
        """Spec: dated later than the most recent dispense on or before the day (with none: any date)."""
        last = self.last_dispense
        return last is None or when > last.date


def history_until(course_file: CourseFile, day: dt.date) -> History:
    by_kind: dict[str, list[Any]] = {}
    for event in course_file.events:
        if event.date <= day:
            found = by_kind.get(event.kind)
            if found is None:
                by_kind[event.kind] = [event]
            else:
                found.append(event)

    def of(kind: str) -> tuple[Any, ...]:
        found = by_kind.get(kind)
        if not found:
            return ()
        # Files are usually in date order: sort (stably) only when they are not.
        if any(found[i].date > found[i + 1].date for i in range(len(found) - 1)):
            found.sort(key=_by_date)
        return tuple(found)

    tests: tuple[PregnancyTest, ...] = of(PregnancyTest.kind)
    return History(
        day=day,
        enrollments=of(Enrollment.kind),
        pregnancy_tests=tests,
        prescriber_confirmations=of(PrescriberConfirmation.kind),
        attestations=of(PatientAttestation.kind),
        dispenses=of(Dispense.kind),
        labs=of(LabResult.kind),
        mood_screens=of(MoodScreen.kind),
        positive_tests=tuple(t for t in tests if t.result == "positive"),
    )


_by_date = attrgetter("date")
