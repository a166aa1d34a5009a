"""`isotrack serve`: the app under gunicorn. It keeps no state of its own, so any number of processes (here or
on other machines behind a load balancer) can share one PostgreSQL database.

Access logs stay off: URLs can carry a patient search, and the logs must hold no PHI.
"""

from __future__ import annotations

from typing import Any

from isotrack.clinic.management.arguments import HyphenatedCommand


class Command(HyphenatedCommand):
    help = "Serve isotrack over HTTP with gunicorn."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--addr", default="127.0.0.1:8000", help="host:port to bind (default 127.0.0.1:8000)"
        )
        parser.add_argument("--workers", type=int, default=2)

    def handle(self, *args: Any, **options: Any) -> None:
        from gunicorn.app.base import BaseApplication

        from isotrack.wsgi import application

        class Server(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                self.cfg.set("bind", options["addr"])
                self.cfg.set("workers", options["workers"])
                self.cfg.set("accesslog", None)

            def load(self) -> Any:
                return application

        self.stdout.write(f"isotrack is serving http://{options['addr']}  (Ctrl-C stops it)")
        Server().run()
