"""Configuration from the environment, checked in fresh processes as an operator would start the app."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ISOTRACK = str(Path(sys.executable).with_name("isotrack"))


def run_isotrack(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator starts it: none of the test run's own settings in its environment."""
    own = {"SECRET_KEY", "DEBUG", "SECURE_SSL_REDIRECT"}
    base = {k: v for k, v in os.environ.items() if k not in own and not k.startswith("DJANGO_")}
    return subprocess.run([ISOTRACK, *args], capture_output=True, text=True, env={**base, **env}, timeout=120)


def test_a_production_start_without_a_secret_key_refuses_to_run():
    for command in ("check", "refresh-worklist"):
        result = run_isotrack(command)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "isotrack: SECRET_KEY must be set when DEBUG is off (production); for local use on this machine, "
            "set DEBUG=1 (as `make run` does)."
        ]


def test_an_unknown_command_is_refused_in_one_line_as_it_was_typed():
    for asked in (("no-such-thing",), ("help", "no-such-thing"), ("no-such-thing", "--help")):
        result = run_isotrack(*asked, SECRET_KEY="k" * 50)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines() == [
            "isotrack: no command 'no-such-thing' (`isotrack help` lists them)"
        ]


def test_help_works_before_the_machine_is_configured_and_names_commands_as_the_readme():
    for asked in ((), ("help",), ("--help",)):
        result = run_isotrack(*asked)
        assert result.returncode == 0, result.stderr
        listed = set(result.stdout.split())
        assert {"evaluate", "refresh-worklist", "export-course", "import-course", "send-reminders"} <= listed
        assert not listed & {"refresh_worklist", "export_course", "import_course", "send_reminders"}
    for asked in (("refresh-worklist", "--help"), ("help", "refresh-worklist"), ("export-course", "-h")):
        result = run_isotrack(*asked)
        assert result.returncode == 0, result.stderr
        spelled = asked[1] if asked[0] == "help" else asked[0]
        assert result.stdout.startswith(f"usage: isotrack {spelled} ") and "--help" in result.stdout


def test_the_deployment_check_is_clean_under_production_settings():
    result = run_isotrack(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k" * 20 + "-production-like-secret-with-enough-entropy-9f8e7d6c5b4a",
        ALLOWED_HOSTS="isotrack.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked(settings):
    from isotrack.settings import env_flag

    os.environ.pop("ISOTRACK_TEST_FLAG", None)
    assert env_flag("ISOTRACK_TEST_FLAG") is False
    os.environ["ISOTRACK_TEST_FLAG"] = "1"
    try:
        assert env_flag("ISOTRACK_TEST_FLAG") is True
    finally:
        del os.environ["ISOTRACK_TEST_FLAG"]
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE
    assert settings.SECURE_HSTS_SECONDS >= 31536000


def test_a_postgres_url_switches_the_database():
    code = "from isotrack import settings; print(settings.DATABASES['default']['ENGINE'])"
    base = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**base, "DEBUG": "1", "DATABASE_URL": "postgres://u@db.example.org:5432/x"},
    )
    assert result.stdout.strip() == "django.db.backends.postgresql"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**base, "DEBUG": "1"}
    )
    assert result.stdout.strip() == "django.db.backends.sqlite3"


def test_a_bad_day_given_to_a_command_exits_2_with_one_line():
    for command in ("refresh-worklist", "send-reminders", "demo"):
        result = run_isotrack(command, "--today", "2026-02-30", DEBUG="1")
        assert result.returncode == 2, command
        assert result.stderr.strip().splitlines() == [
            "CommandError: --today: 2026-02-30 is not a valid date (YYYY-MM-DD)"
        ], command


def test_the_demo_command_exists_only_for_development():
    production = run_isotrack("demo", "--help", SECRET_KEY="k" * 50)
    assert production.returncode == 2
    assert production.stderr.strip().splitlines() == [
        "isotrack: `isotrack demo` is for local development only: run it with DEBUG=1"
    ]
    development = run_isotrack("demo", "--help", DEBUG="1")
    assert development.returncode == 0, development.stderr
    assert "--if-empty" in development.stdout


def test_an_ipledge_website_that_is_no_absolute_url_refuses_to_run():
    for value in ("www.ipledgeprogram.com", "ftp://ipledge.example", ""):
        result = run_isotrack("check", DEBUG="1", IPLEDGE_WEBSITE_URL=value)
        assert result.returncode == 2, value
        assert result.stderr.strip().splitlines() == [
            "isotrack: IPLEDGE_WEBSITE_URL must be an absolute http(s) URL (a card's link)."
        ]
    assert run_isotrack("check", DEBUG="1", IPLEDGE_WEBSITE_URL="https://ipledge.example.org").returncode == 0
