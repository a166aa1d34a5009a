"""`isotrack verify-audit`: check every practice's audit chain from its first row (isotrack.audit.chain).

Exit 0: every row fits its seal and the one before it, every exported head given is still in the chain, and
the database's append-only triggers are in place. Exit 1: the first row that does not fit, per practice, and
why (changed, deleted, inserted out of order, forged, or a tail removed since a head was exported). Exit 2: a
head given in a form `isotrack audit-head` does not print. Prints places, seals and codes only (no patient
data).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.audit import chain
from isotrack.clinic.management.arguments import HyphenatedCommand


class Command(HyphenatedCommand):
    help = "Check the audit chain of every practice; name the first row that does not fit."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--head",
            action="append",
            default=[],
            metavar="PRACTICE:SEQ:HASH",
            help="a head printed earlier by `isotrack audit-head`, to check the chain still reaches it "
            "(repeat for each practice)",
        )
        parser.add_argument(
            "--heads-file",
            default=None,
            help="a file of heads as `isotrack audit-head` prints them (one a line; - reads standard input)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        exported = _heads(options["head"], options["heads_file"])
        verdict = chain.verify(exported)
        if not verdict.intact:
            for problem in verdict.breaks:
                self.stderr.write(f"audit chain broken: {problem}")
            raise CommandError(
                f"the audit trail does not verify: {len(verdict.breaks)} break(s)", returncode=1
            )
        checked = f", {len(exported)} exported head(s) reached" if exported else ""
        self.stdout.write(
            f"audit chain intact: {verdict.rows} row(s) in {len(verdict.heads)} chain(s){checked}"
        )
        for head in verdict.heads:
            self.stdout.write(f"head {head}")


HEAD = re.compile(chain.HEAD_PATTERN)


def _heads(given: list[str], file: str | None) -> list[chain.Head]:
    """The heads to check: each ``--head`` as given, then those of the file (the output of `audit-head`, or
    the nightly job's whole log: every head in it is read, the last of each practice kept)."""
    try:
        heads = [chain.Head.parse(text) for text in given]
    except ValueError as error:
        raise CommandError(f"--head: {error}", returncode=2) from error
    if len({(head.chain, head.practice_id) for head in heads}) != len(heads):
        raise CommandError("--head: two heads for one chain; give the latest of each", returncode=2)
    if file is not None:
        try:
            text = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise CommandError(f"--heads-file: cannot read {file}: {error}", returncode=2) from error
        found = {(head.chain, head.practice_id): head for head in map(chain.Head.parse, HEAD.findall(text))}
        if not found:
            raise CommandError(
                f"--heads-file: no head in {file} (as `isotrack audit-head` prints)", returncode=2
            )
        given_for = {(head.chain, head.practice_id) for head in heads}
        heads += [head for key, head in found.items() if key not in given_for]
    return heads
