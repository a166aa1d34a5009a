"""``python -m isotrack.core``: a one-line reminder of what this package is and how to run it."""

from __future__ import annotations

from isotrack import __version__
from isotrack.core.rules import RULE_SETS


def main() -> None:
    print(
        f"isotrack.core {__version__} (rule sets: {', '.join(RULE_SETS)}). "
        "Evaluate a course file with: isotrack evaluate COURSE.json [--as-of YYYY-MM-DD]"
    )


if __name__ == "__main__":
    main()
