"""The `isotrack` command.

`isotrack evaluate` needs no database and loads no Django: it runs the pure core on a course file. Every other
subcommand is a Django management command (`isotrack migrate`, `isotrack serve`, `isotrack demo`, ...).
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "evaluate":
        from isotrack.evaluate_command import run

        sys.exit(run(args[1:]))
    if args and not args[0].startswith("-"):
        args = [
            args[0].replace("-", "_"),
            *args[1:],
        ]  # `isotrack export-course` runs the export_course command
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isotrack.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 -- reads the configuration now, to refuse it in one line
    except ImproperlyConfigured as error:
        print(f"isotrack: {error}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    execute_from_command_line(["isotrack", *args])


if __name__ == "__main__":
    main()
