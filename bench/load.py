"""A bounded load run of the worklist: `make bench` (or `.venv/bin/python bench/load.py`; the environment:
`COURSES`, `CLIENTS`, `SECONDS`, `DATABASE_URL` as for bench/worklist.py).

Builds COURSES (default 5,000) synthetic active courses with bench/worklist.py's recipe in a throwaway
database, judges their lines (the nightly job), starts the production server (gunicorn, 2 workers, loopback
only) on it, logs a nurse in, then for SECONDS each (default 15) sends CLIENTS (default 20) concurrent clients
at a trivial logged-in page (the empty form for a new patient) and at the worklist (GET /), and prints the
requests per second of each. The target (issue 12): the worklist serves at least half the requests per second
of the trivial page. Exits 1 if it does not, or if any request failed.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import worklist as recipe  # bench/worklist.py: the courses, the throwaway database

COURSES = int(os.environ.get("COURSES", "5000"))
CLIENTS = int(os.environ.get("CLIENTS", "20"))
SECONDS = float(os.environ.get("SECONDS", "15"))
WORKERS = 2
TARGET_RATIO = 0.5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the server stopped before it answered")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("the server did not start within a minute")


def load(port: int, path: str, cookie: str) -> tuple[float, int, int]:
    """CLIENTS threads GET ``path`` for SECONDS; returns requests/s, requests and failures."""
    stop = time.monotonic() + SECONDS
    done, failed = [0] * CLIENTS, [0] * CLIENTS

    def client(number: int) -> None:
        while time.monotonic() < stop:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                connection.request("GET", path, headers={"Cookie": cookie, "Host": "localhost"})
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    done[number] += 1
                else:
                    failed[number] += 1
            except OSError:
                failed[number] += 1
            finally:
                connection.close()

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return sum(done) / elapsed, sum(done), sum(failed)


def main() -> int:
    with recipe.throwaway_database() as database:
        recipe.setup_django(database)
        from django.conf import settings
        from django.test import Client

        from isotrack.clinic.models import StaffUser
        from isotrack.clinic.worklist import refresh_for_the_day

        nurse = recipe.build(COURSES)
        nurse = StaffUser.objects.select_related("practice").get(pk=nurse.pk)
        refresh_for_the_day(nurse.practice, recipe.TODAY)
        from django.db import connection

        if connection.vendor == "postgresql":  # what autovacuum does after a bulk load (as bench/worklist.py)
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        browser = Client()
        browser.force_login(nurse)  # a session row in the database every worker reads
        cookie = f"{settings.SESSION_COOKIE_NAME}={browser.cookies[settings.SESSION_COOKIE_NAME].value}"
        from django.db import connections

        connections.close_all()

        port = free_port()
        environment = {**os.environ, "DATABASE_URL": database, "SECURE_SSL_REDIRECT": "0", "DEBUG": "0"}
        server = subprocess.Popen(  # noqa: S603 -- our own server, fixed arguments, loopback only
            [
                sys.executable,
                "-m",
                "gunicorn",
                "isotrack.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(WORKERS),
                "--log-level",
                "warning",
            ],
            env=environment,
        )
        try:
            wait_for(port, server)
            for path in ("/patients/new/", "/") * 4:  # both workers warm
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", path, headers={"Cookie": cookie, "Host": "localhost"})
                assert connection.getresponse().status == 200, path
                connection.close()
            print(f"{COURSES} courses, {WORKERS} workers, {CLIENTS} clients, {SECONDS:.0f} s each, loopback")
            figures = {}
            for name, path in (("trivial logged-in page", "/patients/new/"), ("worklist", "/")):
                rate, count, failed = load(port, path, cookie)
                figures[name] = (rate, failed)
                print(f"{name} (GET {path}): {rate:.1f} requests/s ({count} served, {failed} failed)")
        finally:
            server.terminate()
            server.wait(timeout=30)
    trivial, worklist = figures["trivial logged-in page"][0], figures["worklist"][0]
    ratio = worklist / trivial if trivial else 0.0
    print(f"the worklist serves {ratio:.2f}x the trivial page's requests/s (target >= {TARGET_RATIO})")
    failures = sum(failed for _, failed in figures.values())
    if ratio < TARGET_RATIO or failures:
        print("target missed")
        return 1
    print("target met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
