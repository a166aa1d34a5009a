"""``isotrack evaluate COURSE.json [--as-of YYYY-MM-DD]``: evaluate a course file and print the answer.

Exit 0 with one JSON object on standard output; exit 2 with nothing on standard output and one line on
standard error (``path: problem``) for a file that cannot be read, invalid JSON, a malformed course file, an
impossible history, or bad arguments. The day is ``--as-of``, else the file's ``as_of``, else today in the
practice time zone (``ISOTRACK_TIME_ZONE``, default America/New_York). This module loads no Django.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import sys
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from isotrack.core import CourseFileError, evaluate, parse_course_file
from isotrack.core.coursefile import date_out_of_range

USAGE = "usage: isotrack evaluate COURSE.json [--as-of YYYY-MM-DD]"
DEFAULT_TIME_ZONE = "America/New_York"
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


class UsageError(Exception):
    """Bad input to the command; the text is the one line printed on standard error."""


def run(argv: list[str]) -> int:
    try:
        path, as_of = _arguments(argv)
        if path is None:
            print(USAGE)
            return 0
        course_file = parse_course_file(_read_json(path))
        day = as_of or course_file.as_of or _today()
    except (UsageError, CourseFileError) as error:
        print(error, file=sys.stderr)
        return 2
    answer = evaluate(course_file, day).to_dict()
    sys.stdout.write(json.dumps(answer, indent=2) + "\n")
    return 0


def _arguments(argv: list[str]) -> tuple[str | None, dt.date | None]:
    """(course file path or None for --help, --as-of date or None)."""
    path: str | None = None
    as_of: dt.date | None = None
    rest = list(argv)
    while rest:
        arg = rest.pop(0)
        if arg in ("-h", "--help"):
            return None, None
        if arg == "--as-of" or arg.startswith("--as-of="):
            value = arg.partition("=")[2] if "=" in arg else (rest.pop(0) if rest else "")
            as_of = _as_of(value)
        elif arg.startswith("-") and arg != "-":
            raise UsageError(f"unknown option {arg} ({USAGE})")
        elif path is None:
            path = arg
        else:
            raise UsageError(f"unexpected argument {arg} ({USAGE})")
    if path is None:
        raise UsageError(f"no course file given ({USAGE})")
    return path, as_of


def _as_of(value: str) -> dt.date:
    if not _ISO_DATE.fullmatch(value):
        raise UsageError(f"--as-of: expected a date as YYYY-MM-DD, got {value!r}")
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--as-of: {value} is not a valid date") from None
    problem = date_out_of_range(day)
    if problem:
        raise UsageError(f"--as-of: {problem}")
    return day


def _read_json(path: str) -> object:
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as handle:
                text = handle.read()
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
        raise UsageError(f"{path}: cannot read the file: {reason}") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"{path}: invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        ) from None
    except ValueError as error:
        raise UsageError(f"{path}: invalid JSON: {error}") from None
    except RecursionError:
        raise UsageError(f"{path}: invalid JSON: nested too deeply") from None


def _reject_constant(name: str) -> object:
    raise ValueError(f"{name} is not a JSON number")


def _today() -> dt.date:
    """Today in the practice time zone: the one place the engine's day comes from the clock."""
    name = os.environ.get("ISOTRACK_TIME_ZONE") or DEFAULT_TIME_ZONE
    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"ISOTRACK_TIME_ZONE: {name!r} is not a known time zone") from None
    return dt.datetime.now(zone).date()
