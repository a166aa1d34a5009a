"""The `isotrack` command.

`isotrack evaluate` needs no database and loads no Django: it runs the pure core on a course file. Every other
subcommand is a Django management command (`isotrack migrate`, `isotrack serve`, `isotrack demo`, ...), named
with hyphens as the README spells them (`isotrack export-course` runs `export_course`).

Help (`isotrack`, `isotrack help`, `isotrack help COMMAND`, `isotrack COMMAND --help`) works on a machine that
is not configured yet: it needs no SECRET_KEY and touches no database.
"""

from __future__ import annotations

import os
import sys

HELP = frozenset({"help", "--help", "-h"})
DEVELOPMENT_COMMANDS = frozenset({"demo"})  # the demo app's, installed with DEBUG on only (settings.py)
# Help only prints: a placeholder key lets the settings load where no SECRET_KEY is set yet (nothing is served
# or signed with it).
_HELP_ONLY_KEY = "isotrack-help-only-never-used-to-sign-anything"  # noqa: S105
_NOT_CONFIGURED_HINT = "; for local use on this machine, set DEBUG=1 (as `make run` does)"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] == "evaluate":
        from isotrack.evaluate_command import run

        sys.exit(run(args[1:]))
    asks_help = not args or args[0] in HELP or "--help" in args or "-h" in args
    args = _django_names(args)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "isotrack.settings")
    if asks_help:
        os.environ.setdefault("SECRET_KEY", _HELP_ONLY_KEY)
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import ManagementUtility, execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018 -- reads the configuration now, to refuse it in one line
    except ImproperlyConfigured as error:
        hint = _NOT_CONFIGURED_HINT if "SECRET_KEY" in str(error) else ""
        print(f"isotrack: {str(error).rstrip('.')}{hint}.", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    import django
    from django.core.management import get_commands

    django.setup()
    if not args or args in (["help"], ["--help"], ["-h"]):
        print(main_help(ManagementUtility(["isotrack"]).main_help_text()))  # noqa: T201
        return
    named = args[1] if args[0] == "help" and len(args) > 1 else args[0]
    if not named.startswith("-") and named not in get_commands():
        spelled = named.replace("_", "-")
        why = (
            f"`isotrack {spelled}` is for local development only: run it with DEBUG=1"
            if named in DEVELOPMENT_COMMANDS
            else f"no command {spelled!r} (`isotrack help` lists them)"
        )
        print(f"isotrack: {why}", file=sys.stderr)  # noqa: T201
        sys.exit(2)
    execute_from_command_line(["isotrack", *args])


def _django_names(args: list[str]) -> list[str]:
    """The command named as Django names it (`export-course` is `export_course`), and so the command that
    `isotrack help` is asked about."""
    if args and not args[0].startswith("-"):
        args = [args[0].replace("-", "_"), *args[1:]]
    if len(args) > 1 and args[0] == "help" and not args[1].startswith("-"):
        args = ["help", args[1].replace("-", "_"), *args[2:]]
    return args


def main_help(django_text: str) -> str:
    """Django's list of commands with their names as isotrack spells them (hyphens), and `evaluate` first."""
    lines = ["Type 'isotrack help <command>' for help on a command.", "", "[isotrack]", "    evaluate"]
    listing = False
    for line in django_text.splitlines():
        if line.startswith("Available subcommands"):
            listing = True
            continue
        if not listing:
            continue
        lines.append(line.replace("_", "-") if line.startswith("    ") else line)
    return "\n".join(lines)


if __name__ == "__main__":
    main()
