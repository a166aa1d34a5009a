"""`isotrack audit-head`: print each practice's audit chain head (``practice:seq:hash``), to keep outside
the database. Given back to `isotrack verify-audit --head` (or ``--heads-file``), it shows whether rows were
removed from the end of the chain since. The nightly `isotrack refresh-worklist` prints the heads too, so the
job's log keeps one a day."""

from __future__ import annotations

from typing import Any

from isotrack.audit import chain
from isotrack.clinic.management.arguments import HyphenatedCommand


class Command(HyphenatedCommand):
    help = "Print each practice's audit chain head, to keep outside the database."

    def handle(self, *args: Any, **options: Any) -> None:
        for head in chain.heads():
            self.stdout.write(str(head))
