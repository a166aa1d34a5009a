"""`isotrack cds-client add|list|revoke`: the EHRs that sign their CDS Hooks calls with a JWT (docs/api.md).

- `add --practice UUID --issuer ISS --subject SUB (--jwks-url URL | --jwks-file PATH) --acting-user USERNAME`
- `list [--practice UUID]`
- `revoke --issuer ISS`

Each write is one transaction with its audit row (``api.cds_clients``), whose reason names the command and the
operating-system user who ran it. Bad input exits 2 with one line, never a traceback: every argument is first
checked for control characters (a NUL would reach a query or a file name)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from isotrack.api.cds_clients import add_client, practice_named, read_jwks_file, revoke_client
from isotrack.api.models import CdsClient
from isotrack.clinic.errors import ClinicError
from isotrack.clinic.inputs import control_character
from isotrack.clinic.management.arguments import HyphenatedCommand

OPTIONS = {
    "issuer": "--issuer",
    "subject": "--subject",
    "jwks_url": "--jwks-url",
    "jwks": "--jwks-url/--jwks-file",
    "acting_user": "--acting-user",
}
ARGUMENTS = {  # every text argument of the subcommands, by its option
    "practice": "--practice",
    "issuer": "--issuer",
    "subject": "--subject",
    "jwks_url": "--jwks-url",
    "jwks_file": "--jwks-file",
    "acting_user": "--acting-user",
}


class Command(HyphenatedCommand):
    help = "Register, list or revoke the EHRs (CDS Hooks clients) that sign their calls with a JWT."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="add|list|revoke")
        add = actions.add_parser("add", help="register an EHR of a practice")
        add.add_argument("--practice", required=True, help="the practice's UUID")
        add.add_argument("--issuer", required=True, help="the JWT's iss: names the EHR (unique)")
        add.add_argument("--subject", required=True, help="the JWT's sub: the EHR's client_id")
        add.add_argument("--jwks-url", help="the URL of the EHR's JWK Set (https)")
        add.add_argument("--jwks-file", help="a file holding the EHR's JWK Set (public keys)")
        add.add_argument("--acting-user", required=True, help="the username the EHR's calls act as")
        listing = actions.add_parser("list", help="the registered EHRs")
        listing.add_argument("--practice", help="only this practice's (its UUID)")
        revoke = actions.add_parser("revoke", help="stop trusting an EHR")
        revoke.add_argument("--issuer", required=True, help="the EHR's iss")

    def handle(self, *args: Any, **options: Any) -> None:
        for name, flag in ARGUMENTS.items():
            value = options.get(name)
            named = control_character(value, multiline=False) if isinstance(value, str) else None
            if named is not None:
                raise CommandError(
                    f"{flag}: holds a control character ({named}); type it again without it", returncode=2
                )
        try:
            getattr(self, f"_{options['action']}")(options)
        except ClinicError as error:
            option = OPTIONS.get(error.field or "")
            raise CommandError(
                f"{option}: {error.message}" if option else error.message, returncode=2
            ) from None

    def _add(self, options: dict[str, Any]) -> None:
        practice = practice_named(options["practice"])
        if (options["jwks_url"] is None) == (options["jwks_file"] is None):
            raise CommandError("give one of --jwks-url and --jwks-file", returncode=2)
        jwks = read_jwks_file(options["jwks_file"]) if options["jwks_file"] is not None else None
        client = add_client(
            practice=practice,
            issuer=options["issuer"],
            subject=options["subject"],
            acting_username=options["acting_user"],
            jwks_url=options["jwks_url"],
            jwks=jwks,
        )
        keys = client.jwks_url or f"{len(client.jwks['keys'])} inline key(s)"  # type: ignore[index]
        self.stdout.write(
            f"registered {client.issuer} for {practice.name}, acting as {client.acting_user.username}; "
            f"keys: {keys}"
        )

    def _list(self, options: dict[str, Any]) -> None:
        clients = CdsClient.objects.select_related("practice", "acting_user").order_by("created_at", "id")
        if options["practice"]:
            clients = clients.filter(practice=practice_named(options["practice"]))
        for client in clients:
            state = f"revoked {client.revoked_at.isoformat()}" if client.revoked_at else "active"
            keys = client.jwks_url or "inline key set"
            self.stdout.write(
                f"{client.issuer}\t{client.subject}\t{client.practice.uuid}\t{client.acting_user.username}\t"
                f"{keys}\t{state}"
            )

    def _revoke(self, options: dict[str, Any]) -> None:
        client = revoke_client(issuer=options["issuer"])
        self.stdout.write(f"revoked {client.issuer} ({client.revoked_at.isoformat()})")  # type: ignore[union-attr]
