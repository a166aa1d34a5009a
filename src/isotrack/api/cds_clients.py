"""Registering and revoking the EHRs that sign their CDS Hooks calls (``CdsClient``, checked by
``api.cds_jwt``): the same pattern as the API tokens (``api.tokens``: one transaction, an audit row).

Run from `isotrack cds-client` by whoever operates the server, not by a logged-in member. An audit row needs a
member of staff as its actor: it is the client's acting user, the account the registration lets the EHR act
as (its practice's trail is where the row belongs), who did not make the change; so the row's reason names
what did: the command (`isotrack cds-client add`, `revoke`) and the operating-system user who ran it.

Every text given (the issuer, the subject, the acting user's name, the key set URL, each text of a key set)
holds no control character and no lone surrogate, checked before any query: PostgreSQL refuses NUL in text
and in JSON, and a bad value is refused in words, never a database error."""

from __future__ import annotations

import getpass
import ipaddress
import uuid
from typing import Any
from urllib.parse import urlsplit

import jwt
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from isotrack.api.models import CdsClient
from isotrack.audit.chain import AUDIT, hold
from isotrack.audit.events import EventCode
from isotrack.audit.trail import record
from isotrack.clinic.errors import InvalidInput, RecordNotFound
from isotrack.clinic.inputs import BadInput, json_strings, parse_json, refuse_control_characters
from isotrack.clinic.models import Practice, StaffUser

TEXT_MAX = 255  # CdsClient.issuer, .subject; StaffUser.username is shorter
URL_MAX = 500  # CdsClient.jwks_url
LOOPBACK_NAMES = {"localhost"}
KEY_TYPES = {"EC": "ES384", "RSA": "RS384"}  # the JWK types of the two accepted algorithms
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}  # a private or a shared key's parts
MAX_KEYS = 20


def command_reason(action: str) -> str:
    """The audit row's reason: the command, and the operating-system user who ran it (when it can be told:
    ``getpass.getuser`` raises without a name for the process's uid), in printable characters."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError, ImportError):
        name = ""
    name = "".join(character if character.isprintable() else "?" for character in name)[:64]
    by = f", run by the operating-system user {name}" if name else ", run by an unnamed operating-system user"
    return f"isotrack cds-client {action} (command line){by}"


def check_text(value: str, words: str, field: str, *, longest: int = TEXT_MAX) -> None:
    """Text that is to reach a query or a row: at most ``longest`` characters, no control character
    (``clinic.inputs``), no lone surrogate (not UTF-8). ``InvalidInput`` in words otherwise."""
    if len(value) > longest:
        raise InvalidInput(f"{words} is longer than {longest} characters.", field=field)
    try:
        refuse_control_characters(value, words, multiline=False)
    except BadInput as error:
        raise InvalidInput(f"{error.message}.", field=field) from None
    try:
        value.encode()
    except UnicodeEncodeError:
        raise InvalidInput(f"{words} holds a lone surrogate, which is no character.", field=field) from None


def _audit_values(client: CdsClient) -> dict[str, Any]:
    return {
        "issuer": client.issuer,
        "subject": client.subject,
        "jwks_url": client.jwks_url,
        "jwks_kids": [key.get("kid") for key in (client.jwks or {}).get("keys", [])],
        "acting_user": client.acting_user.username,
        "acting_role": client.acting_role,
    }


def check_jwks_url(url: str) -> str:
    """An https URL; http only to this machine (127.0.0.1, ::1, localhost): tests and local setups. A key set
    fetched over plain http elsewhere could be swapped on the way."""
    url = url.strip()
    check_text(url, "The key set URL", "jwks_url", longest=URL_MAX)
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise InvalidInput(f"{url} is not an http(s) URL.", field="jwks_url") from None
    parts = urlsplit(url)
    if parts.scheme == "http" and not _loopback(parts.hostname or ""):
        raise InvalidInput(
            "The key set URL must be https (http is accepted for 127.0.0.1 and localhost only).",
            field="jwks_url",
        )
    return url


def _loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_jwks(data: Any) -> dict[str, Any]:
    """A JWK Set of public keys an ES384 or RS384 JWT can be checked with, each named by a distinct `kid`
    (CDS Hooks: the JWT's header names its key). A private key is refused: it is the EHR's to keep."""
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list) or not data["keys"]:
        raise InvalidInput('A JWK Set is a JSON object with a non-empty "keys" list.', field="jwks")
    if len(data["keys"]) > MAX_KEYS:
        raise InvalidInput(f"At most {MAX_KEYS} keys in the set.", field="jwks")
    for text in json_strings(data):  # stored as JSON: PostgreSQL's jsonb refuses NUL
        check_text(text, f"The key set's text {text[:20]!r}", "jwks", longest=64 * 1024)
    kids: set[str] = set()
    for n, key in enumerate(data["keys"], start=1):
        if not isinstance(key, dict):
            raise InvalidInput(f"Key {n} of the set is not a JSON object.", field="jwks")
        if PRIVATE_MEMBERS & key.keys():
            raise InvalidInput(
                f"Key {n} holds private or secret parts: give the public keys only.", field="jwks"
            )
        algorithm = KEY_TYPES.get(key.get("kty"))  # type: ignore[arg-type]
        if algorithm is None:
            raise InvalidInput(f"Key {n} is not an EC or RSA key (kty).", field="jwks")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise InvalidInput(f"Key {n} needs its own kid.", field="jwks")
        kids.add(kid)
        if algorithm == "ES384" and key.get("crv") != "P-384":
            raise InvalidInput(f"Key {n} (EC) is not on the P-384 curve that ES384 uses.", field="jwks")
        try:
            jwt.PyJWK(key, algorithm=algorithm)
        except (jwt.PyJWTError, ValueError, TypeError):
            raise InvalidInput(f"Key {n} is not a valid {key['kty']} public key.", field="jwks") from None
    return {"keys": data["keys"]}


def practice_named(name: str) -> Practice:
    """The practice of a UUID (practices have no other public name)."""
    practice = Practice.objects.filter(uuid=name).first() if _is_uuid(name) else None
    if practice is None:
        raise RecordNotFound(f"No practice {name!r} (give its UUID).")
    return practice


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def add_client(
    *,
    practice: Practice,
    issuer: str,
    subject: str,
    acting_username: str,
    jwks_url: str | None = None,
    jwks: Any = None,
) -> CdsClient:
    """A new client of the practice, its calls acting as ``acting_username`` (an active member of it)."""
    issuer, subject = issuer.strip(), subject.strip()
    for value, field, words in ((issuer, "issuer", "The issuer"), (subject, "subject", "The subject")):
        if not value:
            raise InvalidInput(
                f"{words} (the JWT's {'iss' if field == 'issuer' else 'sub'}) is empty.", field=field
            )
        check_text(value, words, field)
    check_text(acting_username, "The acting user", "acting_user")
    if (jwks_url is None) == (jwks is None):
        raise InvalidInput("Give the key set either as a URL or as a file, one of the two.", field="jwks")
    url = check_jwks_url(jwks_url) if jwks_url is not None else ""
    key_set = check_jwks(jwks) if jwks is not None else None
    actor = StaffUser.objects.filter(username=acting_username, is_active=True).first()
    if actor is None or actor.practice_id != practice.pk:
        raise InvalidInput(
            f"No active staff member {acting_username!r} in the practice {practice.name}.",
            field="acting_user",
        )
    taken = InvalidInput(
        f"The issuer {issuer!r} is registered already (one issuer, one client).", field="issuer"
    )
    try:
        with transaction.atomic():
            hold(AUDIT, practice.pk)  # the audit chain before any row (audit.chain.hold)
            if issuer_taken(issuer):
                raise taken
            client = CdsClient.objects.create(
                practice=practice,
                issuer=issuer,
                subject=subject,
                jwks_url=url,
                jwks=key_set,
                acting_user=actor,
                acting_role=actor.role,
            )
            record(
                actor=actor,
                action=EventCode.CDS_CLIENT_ADD,
                instance=client,
                after=_audit_values(client),
                reason=command_reason("add"),
            )
    except IntegrityError:  # the same issuer added at the same time for another practice (another chain)
        if CdsClient.objects.filter(issuer=issuer).exists():
            raise taken from None
        raise InvalidInput("Another write conflicted with this one: run the command again.") from None
    return client


def issuer_taken(issuer: str) -> bool:
    return CdsClient.objects.filter(issuer=issuer).exists()


def revoke_client(*, issuer: str) -> CdsClient:
    """The client of ``issuer`` stops being trusted now; revoking it again changes nothing."""
    issuer = issuer.strip()
    check_text(issuer, "The issuer", "issuer")
    found = CdsClient.objects.filter(issuer=issuer).first()
    if found is None:
        raise RecordNotFound(f"No CDS client with the issuer {issuer!r}.")
    with transaction.atomic():
        hold(AUDIT, found.practice_id)
        client = CdsClient.objects.select_for_update().select_related("acting_user").get(pk=found.pk)
        if client.revoked_at is None:
            client.revoked_at = timezone.now()
            client.save(update_fields=["revoked_at"])
            record(
                actor=client.acting_user,
                action=EventCode.CDS_CLIENT_REVOKE,
                instance=client,
                before={"revoked_at": None},
                after={"revoked_at": client.revoked_at.isoformat()},
                reason=command_reason("revoke"),
            )
    return client


def read_jwks_file(path: str) -> Any:
    """The JSON of a key set file (a JWK Set); ``InvalidInput`` for a file that cannot be read or parsed."""
    try:  # open() refuses NUL with a ValueError; a name undecodable from the file system is a name
        refuse_control_characters(path, "The key set file's name", multiline=False)
    except BadInput as error:
        raise InvalidInput(f"{error.message}.", field="jwks") from None
    try:
        with open(path, "rb") as source:
            content = source.read(1024 * 1024 + 1)
    except OSError as error:
        raise InvalidInput(f"{path}: {error.strerror}.", field="jwks") from None
    if len(content) > 1024 * 1024:
        raise InvalidInput(f"{path}: larger than 1 MiB, not a JWK Set.", field="jwks")
    try:  # bounded depth; no control character nor lone surrogate in any text
        return parse_json(content, f"{path}")
    except BadInput as error:
        raise InvalidInput(f"{error.message}.", field="jwks") from None
