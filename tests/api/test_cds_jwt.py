"""CDS Hooks: the EHR's signed JWT (api.cds_jwt), per practice, beside the per-user API token; and
`isotrack cds-client` (api.cds_clients). Real keys (cryptography), real signatures (PyJWT), the real database,
and for the key set URL a real HTTP server on loopback."""

from __future__ import annotations

import base64
import getpass
import hashlib
import hmac
import json
import socket
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, transaction
from django.test import Client
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from isotrack.api import cds_clients, cds_jwt
from isotrack.api.models import CdsClient, CdsJwtUse
from isotrack.audit.events import EventCode
from isotrack.audit.models import AccessEvent, AuditEvent
from isotrack.clinic.errors import InvalidInput
from isotrack.clinic.models import Role
from tests.api.conftest import TokenClient, token_for
from tests.api.test_fhir_and_cds import call, order_sign_request

pytestmark = pytest.mark.django_db

HOST = "http://testserver"  # the Django test client's host: the aud of a call
ORDER_SIGN = f"{HOST}/cds-services/isotrack-order-sign"
ISSUER = "https://ehr.example.org/"
SUBJECT = "isotrack-client-7"

EC_KEY = ec.generate_private_key(ec.SECP384R1())  # once per module: the tests stay fast
RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
OTHER_EC_KEY = ec.generate_private_key(ec.SECP384R1())


def public_jwk(key, kid: str) -> dict:
    algorithm = ECAlgorithm if isinstance(key, ec.EllipticCurvePrivateKey) else RSAAlgorithm
    return {**algorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid, "use": "sig"}


KEY_SET = {"keys": [public_jwk(EC_KEY, "ec-1"), public_jwk(RSA_KEY, "rsa-1")]}


class KeySetServer(BaseHTTPRequestHandler):
    requests = 0  # the GETs served: what isotrack fetched
    status = 200  # 503: the key set's server is down

    def do_GET(self) -> None:  # noqa: N802 -- http.server's name
        KeySetServer.requests += 1
        body = json.dumps(KEY_SET).encode() if self.status == 200 else b"down"
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def jwks_url():
    server = ThreadingHTTPServer(("127.0.0.1", 0), KeySetServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json"
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def fresh_key_set_state():
    """Each test starts with no key set cached, no fetch failure remembered (module state: per process), and
    the key set server up with nothing served yet."""
    cds_jwt._clients.clear()
    cds_jwt._fetch_failures.clear()
    KeySetServer.requests, KeySetServer.status = 0, 200
    yield
    cds_jwt._clients.clear()
    cds_jwt._fetch_failures.clear()


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/jwks.json"  # nothing listens there any more


def register(demo, *, issuer=ISSUER, jwks_url=None, jwks=None, user="doctor", practice=None) -> CdsClient:
    return cds_clients.add_client(
        practice=practice or demo.practice,
        issuer=issuer,
        subject=SUBJECT,
        acting_username=demo.staff[user].username,
        jwks_url=jwks_url,
        jwks=KEY_SET if jwks is None and jwks_url is None else jwks,
    )


def signed(
    *, alg="ES384", kid="ec-1", key=None, header=None, drop=(), lifetime=120, issued=None, **claims
) -> str:
    now = int(time.time()) if issued is None else issued
    payload = {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": ORDER_SIGN,
        "iat": now,
        "exp": now + lifetime,
        "jti": str(uuid.uuid4()),
        "tenant": "ehr-tenant-1",
        **claims,
    }
    for name in drop:
        del payload[name]
    if key is None:
        key = RSA_KEY if alg == "RS384" else EC_KEY
    return jwt.encode(payload, key, algorithm=alg, headers={"kid": kid, "typ": "JWT", **(header or {})})


def order_sign(demo, token: str, patient=None):
    patient = patient or demo.courses["window_missed"][0].patient
    return call(TokenClient(token), "isotrack-order-sign", order_sign_request(str(patient.uuid)))


TOKEN_DETAIL = "Send Authorization: Bearer <token>."  # the per-user API token's 401 (api.problems)


def refused(answer, words: str) -> None:
    assert answer.status_code == 401, answer.content
    assert answer["Content-Type"] == "application/problem+json"
    assert answer["WWW-Authenticate"].startswith("Bearer")
    document = answer.json()
    assert document["status"] == 401 and document["code"] == "unauthenticated"
    assert words in document["detail"], document["detail"]
    assert document["detail"] != TOKEN_DETAIL  # judged as a JWT, not as a per-user token


def window_cards(answer) -> list[str]:
    assert answer.status_code == 200, answer.content
    return [card["detail"] for card in answer.json()["cards"] if "WINDOW_EXPIRED" in card["detail"]]


# ------------------------------------------------------------------------------------------ accepted


def test_a_good_es384_jwt_gets_the_cards_as_the_acting_user(demo):
    client = register(demo)
    patient = demo.courses["window_missed"][0].patient
    before = AccessEvent.objects.filter(patient=patient).count()
    answer = order_sign(demo, signed())
    assert window_cards(answer)
    look = AccessEvent.objects.filter(patient=patient).order_by("-id").first()
    assert AccessEvent.objects.filter(patient=patient).count() == before + 1
    assert look.actor == client.acting_user and look.detail == f"CDS client {ISSUER}"


def test_the_acting_users_practice_scopes_the_patients(demo):
    register(demo, user="lakeside.doctor", practice=demo.staff["lakeside.doctor"].practice)
    answer = order_sign(demo, signed())  # a patient of the other practice: unknown here
    assert answer.status_code == 200 and not window_cards(answer)


def test_rs384_and_the_discovery_and_feedback_urls(demo):
    register(demo)
    assert window_cards(order_sign(demo, signed(alg="RS384", kid="rsa-1")))
    discovery = TokenClient(signed(aud=[f"{HOST}/cds-services", "https://elsewhere.example/"])).get(
        "/cds-services"
    )
    assert discovery.status_code == 200 and len(discovery.json()["services"]) == 2
    entry = {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": "2026-01-02T03:04:05Z"}
    for aud in (f"{ORDER_SIGN}/feedback", ORDER_SIGN):  # the feedback's URL, or its service's
        answer = TokenClient(signed(aud=aud)).post(
            "/cds-services/isotrack-order-sign/feedback",
            json.dumps({"feedback": [entry]}),
            "application/json",
        )
        assert answer.status_code == 200, answer.content


def test_the_key_set_fetched_from_its_url(demo, jwks_url):
    register(demo, jwks_url=jwks_url)
    assert window_cards(order_sign(demo, signed(header={"jku": jwks_url})))
    assert window_cards(order_sign(demo, signed(alg="RS384", kid="rsa-1")))


def test_a_per_user_api_token_still_works_beside_a_registered_client(demo):
    register(demo)
    assert window_cards(order_sign(demo, token_for(demo.staff["doctor"])))


# ------------------------------------------------------------------------------------------ refused


def test_an_unknown_or_revoked_issuer_is_refused(demo):
    refused(order_sign(demo, signed()), "not a CDS client registered")
    register(demo)
    cds_clients.revoke_client(issuer=ISSUER)
    refused(order_sign(demo, signed()), "not a CDS client registered")


def test_a_signature_of_another_key_is_refused(demo):
    register(demo)
    refused(order_sign(demo, signed(key=OTHER_EC_KEY)), "signature does not verify")
    refused(order_sign(demo, signed(kid="nobody")), "not in its issuer's key set")
    refused(order_sign(demo, signed(alg="RS384", kid="ec-1")), "not a public key for RS384")


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"sub": "another-client"}, "sub is not the client id"),
        (
            {"aud": "https://other.example/cds-services/isotrack-order-sign"},
            "aud does not name this endpoint",
        ),
        ({"aud": [f"{HOST}/cds-services/isotrack-patient-view"]}, "aud does not name this endpoint"),
        ({"issued": int(time.time()) - 400, "lifetime": 200}, "expired"),
        ({"issued": int(time.time()) + 600}, "issued in the future"),
        ({"lifetime": 301}, "longer than 300 seconds"),
        ({"drop": ("jti",)}, "no jti claim"),
        ({"drop": ("sub",)}, "no sub claim"),
        ({"drop": ("exp",)}, "no exp claim"),
        ({"jti": ""}, "jti is a nonce"),
        ({"jti": "x" * 256}, "jti is a nonce"),
        ({"jti": 7}, "jti"),
        ({"iat": "yesterday"}, "iat"),
    ],
)
def test_claims_that_do_not_hold_are_refused(demo, claims, words):
    register(demo)
    refused(order_sign(demo, signed(**claims)), words)


def test_a_replayed_jti_is_refused(demo):
    client = register(demo)
    token = signed()
    assert window_cards(order_sign(demo, token))
    refused(order_sign(demo, token), "used already")
    assert CdsJwtUse.objects.filter(client=client).count() == 1


def test_expired_nonces_are_deleted_when_a_new_one_is_written(demo):
    client = register(demo)
    old = CdsJwtUse.objects.create(client=client, jti="old", expires_at="2020-01-01T00:00:00Z")
    assert window_cards(order_sign(demo, signed()))
    assert not CdsJwtUse.objects.filter(pk=old.pk).exists()


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_alg_none_and_hmac_with_the_public_key_are_refused(demo):
    register(demo)
    claims = jwt.decode(signed(), options={"verify_signature": False})
    unsigned = f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-1'})}.{b64(claims)}."
    refused(order_sign(demo, unsigned), "ES384 or RS384")
    public_pem = EC_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64({"alg": "HS384", "typ": "JWT", "kid": "ec-1"})
    body = b64(claims)
    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha384).digest()
    refused(order_sign(demo, f"{header}.{body}.{b64(mac)}"), "ES384 or RS384")
    refused(
        order_sign(demo, signed(alg="ES256", key=ec.generate_private_key(ec.SECP256R1()))), "ES384 or RS384"
    )


def test_a_jku_other_than_the_registered_url_is_refused_and_never_fetched(demo, jwks_url):
    register(demo)  # inline keys: no URL at all
    refused(order_sign(demo, signed(header={"jku": jwks_url})), "jku is not the key set URL")
    assert KeySetServer.requests == 0  # the URL the token named was not fetched
    CdsClient.objects.all().delete()
    register(demo, jwks_url=jwks_url)
    refused(order_sign(demo, signed(header={"jku": "https://attacker.example/jwks"})), "jku is not")
    assert KeySetServer.requests == 0  # refused before the registered URL is fetched either
    assert window_cards(order_sign(demo, signed(header={"jku": jwks_url})))
    assert KeySetServer.requests == 1  # the server counts: the zeros above are no blind spot


def test_a_key_set_url_that_is_down_is_a_401_not_a_500(demo):
    register(demo, jwks_url=closed_port_url())
    refused(order_sign(demo, signed()), "could not be fetched (jwks_url); retried after 60 seconds")
    started = time.monotonic()
    refused(order_sign(demo, signed()), "could not be fetched (jwks_url); retried after")
    assert time.monotonic() - started < 1  # answered at once, not tried again


def test_a_failed_key_set_fetch_is_not_tried_again_before_the_cooldown(demo, jwks_url, monkeypatch):
    register(demo, jwks_url=jwks_url)
    KeySetServer.status = 503
    refused(order_sign(demo, signed()), "could not be fetched (jwks_url); retried after 60 seconds")
    assert KeySetServer.requests == 1
    KeySetServer.status = 200  # the server is back, but the failure is remembered: no request
    refused(order_sign(demo, signed()), "could not be fetched (jwks_url); retried after")
    refused(order_sign(demo, signed(alg="RS384", kid="rsa-1")), "retried after")
    assert KeySetServer.requests == 1
    monkeypatch.setattr(cds_jwt, "JWKS_RETRY_AFTER", 0)  # the cooldown is over
    assert window_cards(order_sign(demo, signed()))
    assert KeySetServer.requests == 2 and jwks_url not in cds_jwt._fetch_failures  # the failure cleared
    monkeypatch.setattr(cds_jwt, "JWKS_RETRY_AFTER", 60)
    assert window_cards(order_sign(demo, signed(alg="RS384", kid="rsa-1")))  # the set cached, no failure
    assert KeySetServer.requests == 2


@pytest.mark.parametrize(
    ("claims", "words"),
    [
        ({"iss": "a\u0000"}, "iss holds a control character (NUL)"),
        ({"iss": ISSUER + "\u0000"}, "iss holds a control character (NUL)"),
        ({"iss": "a\x1b[2J"}, "iss holds a control character (U+001B)"),
        ({"iss": "a\nb"}, "iss holds a control character (U+000A)"),
        ({"iss": "\ud800"}, "iss holds a lone surrogate"),
        ({"iss": "x" * 256}, "iss is longer than 255 characters"),
        ({"jti": "a\u0000"}, "jti holds a control character (NUL)"),
        ({"jti": "\udc80"}, "jti holds a lone surrogate"),
    ],
)
def test_an_iss_or_jti_no_query_can_carry_is_refused_before_any(demo, claims, words):
    """PostgreSQL refuses NUL in text (psycopg's DataError), and a lone surrogate is not UTF-8: refused in
    words, on both databases, before the query of the unverified iss or the write of the jti."""
    client = register(demo)
    refused(order_sign(demo, signed(**claims)), words)
    assert not CdsJwtUse.objects.filter(client=client).exists()


JWT_SHAPED_GARBAGE = [
    (f"{b64({'alg': 'ES384'})}.b.c", "cannot be read"),
    (f"{b64({'alg': 'ES384'})}.not-base64!.c2ln", "cannot be read"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{b64(b'[1, 2]')}.c2ln", "cannot be read"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{b64(b'{broken')}.c2ln", "cannot be read"),
    (f"{b64({'alg': 'ES384'})}..", "cannot be read"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{b64({'iss': ['x']})}.c2ln", "names no issuer"),
    (f"{b64({'alg': 'ES384', 'kid': ['ec-1']})}.{b64({'iss': ISSUER})}.c2ln", "cannot be read"),
    (f"{b64({'alg': 'ES384'})}.{b64({'iss': ISSUER})}.c2ln", "names no key (kid)"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{b64({'iss': ISSUER})}.", "signature does not verify"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{b64({'iss': ISSUER})}.c2ln", "signature does not verify"),
    (f"{b64({'alg': 'ES384'})}.{'A' * 20000}.c2ln", "longer than 8192 characters"),
    (f"{b64({'alg': 'ES384', 'kid': 'ec-1'})}.{'A' * 100_000}.{'A' * 100}", "longer than 8192 characters"),
]


@pytest.mark.parametrize(("token", "words"), JWT_SHAPED_GARBAGE, ids=lambda value: value[:40])
def test_garbage_shaped_as_a_jwt_is_a_jwt_401_never_500(demo, token, words):
    register(demo)
    assert cds_jwt.looks_like_jwt(token)  # so judged by cds_jwt.verify, not as a per-user token
    answer = order_sign(demo, token)
    refused(answer, words)
    assert token not in answer.content.decode()  # never the token echoed


@pytest.mark.parametrize(
    "token",
    [
        "a.b.c",
        f"{b64(b'not json')}.{b64({'iss': ISSUER})}.c2ln",
        f"{b64({'typ': 'JWT'})}.e30.",
        "x" * 100_000,
    ],
)
def test_garbage_not_shaped_as_a_jwt_is_judged_as_a_per_user_token(demo, token):
    register(demo)
    assert not cds_jwt.looks_like_jwt(token)
    answer = order_sign(demo, token)
    assert answer.status_code == 401 and answer.json()["detail"] == TOKEN_DETAIL, answer.content


def test_an_acting_user_deactivated_or_moved_is_refused(demo):
    client = register(demo)
    user = client.acting_user
    user.is_active = False
    user.save(update_fields=["is_active"])
    refused(order_sign(demo, signed()), "acting user is not an active member")
    user.is_active = True  # reactivated: the EHR's calls work again (docs/api.md says so)
    user.save(update_fields=["is_active"])
    assert window_cards(order_sign(demo, signed()))
    user.practice = demo.pinned_practice  # moved to another practice, still active, same role
    user.save(update_fields=["practice"])
    assert user.is_active and user.role == client.acting_role
    refused(order_sign(demo, signed()), "acting user is not an active member of its practice")


def test_an_acting_user_whose_role_changed_is_refused(demo):
    client = register(demo)
    assert client.acting_role == Role.PRESCRIBER
    user = client.acting_user
    user.role = Role.NURSE
    user.save(update_fields=["role"])
    refused(order_sign(demo, signed()), "acting user's role changed since the client was registered")
    user.role = Role.PRACTICE_ADMIN  # no other role either: the one registered
    user.save(update_fields=["role"])
    refused(order_sign(demo, signed()), "role changed")
    user.role = Role.PRESCRIBER
    user.save(update_fields=["role"])
    assert window_cards(order_sign(demo, signed()))


# ------------------------------------------------------------------------------------------ the command


def run(*args: str) -> str:
    out = StringIO()
    call_command("cds_client", *args, stdout=out)
    return out.getvalue()


def test_the_command_adds_lists_and_revokes_with_audit_rows(demo, tmp_path, jwks_url):
    key_file = tmp_path / "keys.json"
    key_file.write_text(json.dumps(KEY_SET))
    practice = str(demo.practice.uuid)
    said = run(
        "add",
        "--practice",
        practice,
        "--issuer",
        ISSUER,
        "--subject",
        SUBJECT,
        "--jwks-file",
        str(key_file),
        "--acting-user",
        "doctor",
    )
    assert "registered https://ehr.example.org/" in said
    client = CdsClient.objects.get(issuer=ISSUER)
    assert client.jwks == KEY_SET and client.jwks_url == "" and client.acting_user.username == "doctor"
    assert client.acting_role == Role.PRESCRIBER
    added = AuditEvent.objects.get(action=EventCode.CDS_CLIENT_ADD, object_uuid=client.uuid)
    assert added.practice_id == demo.practice.pk and added.after["issuer"] == ISSUER
    assert added.reason == (
        f"isotrack cds-client add (command line), run by the operating-system user {getpass.getuser()}"
    )
    run(
        "add",
        "--practice",
        practice,
        "--issuer",
        "https://second.example/",
        "--subject",
        "s2",
        "--jwks-url",
        jwks_url,
        "--acting-user",
        "doctor",
    )
    listed = run("list", "--practice", practice)
    assert ISSUER in listed and jwks_url in listed and "active" in listed
    assert "revoked https://ehr.example.org/" in run("revoke", "--issuer", ISSUER)
    assert "revoked" in run("list").splitlines()[0]
    revoked = AuditEvent.objects.get(action=EventCode.CDS_CLIENT_REVOKE, object_uuid=client.uuid)
    assert revoked.reason.startswith("isotrack cds-client revoke (command line), run by the operating-system")
    run("revoke", "--issuer", ISSUER)  # again: nothing changes, no second row
    assert AuditEvent.objects.filter(action=EventCode.CDS_CLIENT_REVOKE, object_uuid=client.uuid).count() == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"--jwks-url": "http://ehr.example.org/jwks.json", "--jwks-file": None}, "must be https"),
        ({"--jwks-url": "ftp://127.0.0.1/jwks.json", "--jwks-file": None}, "not an http(s) URL"),
        ({"--jwks-url": "https://ehr.example.org/jwks.json"}, "one of --jwks-url and --jwks-file"),
        ({"--jwks-file": None}, "one of --jwks-url and --jwks-file"),
        ({"--acting-user": "nobody"}, "No active staff member 'nobody'"),
        ({"--acting-user": "lakeside.doctor"}, "No active staff member 'lakeside.doctor'"),
        ({"--practice": "alder"}, "No practice 'alder'"),
        ({"--issuer": " "}, "--issuer"),
        ({"--jwks-file": "PRIVATE"}, "private or secret parts"),
        ({"--jwks-file": "NOT-JSON"}, "is not valid JSON"),
        ({"--jwks-file": "MISSING"}, "No such file"),
        ({"--jwks-file": "HMAC"}, "private or secret parts"),  # a shared secret is no public key
        ({"--jwks-file": "OKP"}, "not an EC or RSA key"),
        ({"--jwks-file": "P256"}, "not on the P-384 curve"),
    ],
)
def test_bad_input_exits_2_with_one_line(demo, tmp_path, changes, words):
    files = {
        "GOOD": KEY_SET,
        "PRIVATE": {"keys": [{**public_jwk(EC_KEY, "ec-1"), "d": "AAAA"}]},
        "HMAC": {"keys": [{"kty": "oct", "kid": "h", "k": "c2VjcmV0"}]},
        "OKP": {
            "keys": [
                {
                    "kty": "OKP",
                    "kid": "o",
                    "crv": "Ed25519",
                    "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
                }
            ]
        },
        "P256": {"keys": [public_jwk(ec.generate_private_key(ec.SECP256R1()), "p256")]},
    }
    for name, content in files.items():
        (tmp_path / name).write_text(json.dumps(content))
    (tmp_path / "NOT-JSON").write_text("{")
    options = {
        "--practice": str(demo.practice.uuid),
        "--issuer": ISSUER,
        "--subject": SUBJECT,
        "--jwks-file": "GOOD",
        "--acting-user": "doctor",
        **changes,
    }
    args = ["add"]
    for option, value in options.items():
        if value is not None:
            path = tmp_path / value if option == "--jwks-file" else None
            args += [option, str(path) if path is not None else value]
    with pytest.raises(CommandError) as failure:
        run(*args)
    assert failure.value.returncode == 2
    assert words in str(failure.value) and "\n" not in str(failure.value)
    assert not CdsClient.objects.exists()


def test_the_audit_reason_without_an_operating_system_user(demo, monkeypatch):
    def no_name() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", no_name)
    client = register(demo)
    added = AuditEvent.objects.get(action=EventCode.CDS_CLIENT_ADD, object_uuid=client.uuid)
    assert added.reason == "isotrack cds-client add (command line), run by an unnamed operating-system user"


def add_args(demo, **changes: str) -> list[str]:
    options = {
        "--practice": str(demo.practice.uuid),
        "--issuer": ISSUER,
        "--subject": SUBJECT,
        "--jwks-url": "https://ehr.example.org/jwks.json",
        "--acting-user": "doctor",
        **changes,
    }
    return ["add", *[part for pair in options.items() for part in pair]]


@pytest.mark.parametrize(
    "args",
    [
        lambda demo, path: add_args(demo, **{"--issuer": "a\x00"}),
        lambda demo, path: add_args(demo, **{"--subject": "s\x00"}),
        lambda demo, path: add_args(demo, **{"--acting-user": "doctor\x00"}),
        lambda demo, path: add_args(demo, **{"--jwks-url": "https://ehr.example.org/\x00"}),
        lambda demo, path: add_args(demo, **{"--practice": "\x00"}),
        lambda demo, path: add_args(demo, **{"--issuer": "a\nb"}),
        lambda demo, path: [
            *add_args(demo)[:-4],
            "--jwks-file",
            str(path) + "\x00",
            "--acting-user",
            "doctor",
        ],
        lambda demo, path: [*add_args(demo)[:-4], "--jwks-file", str(path), "--acting-user", "doctor"],
        lambda demo, path: ["revoke", "--issuer", "a\x00"],
        lambda demo, path: ["list", "--practice", "\x00"],
    ],
    ids=[
        "issuer",
        "subject",
        "acting-user",
        "jwks-url",
        "practice",
        "issuer-line-feed",
        "jwks-file-name",
        "jwks-file-kid",
        "revoke-issuer",
        "list-practice",
    ],
)
def test_a_control_character_in_any_argument_exits_2_with_one_line(demo, tmp_path, args):
    nul_kid = tmp_path / "nul-kid.json"  # the kid spelled with JSON's escape: a NUL once parsed
    nul_kid.write_text(json.dumps({"keys": [public_jwk(EC_KEY, "ec-1")]}).replace('"ec-1"', '"ec\\u0000"'))
    assert "\\u0000" in nul_kid.read_text()
    with pytest.raises(CommandError) as failure:
        run(*args(demo, nul_kid))
    assert failure.value.returncode == 2
    assert "control character" in str(failure.value) and "\n" not in str(failure.value), str(failure.value)
    assert not CdsClient.objects.exists()


def test_the_functions_refuse_a_nul_before_any_query(demo):
    """The command checks its arguments first; the functions check them again (no DataError on PostgreSQL)."""
    for call_ in (
        lambda: register(demo, issuer="a\x00"),
        lambda: cds_clients.add_client(
            practice=demo.practice, issuer=ISSUER, subject=SUBJECT, acting_username="doc\x00tor", jwks=KEY_SET
        ),
        lambda: register(demo, jwks={"keys": [public_jwk(EC_KEY, "ec\x00")]}),
        lambda: register(demo, jwks={"keys": [{**public_jwk(EC_KEY, "ec-1"), "use": "sig\x00"}]}),
        lambda: register(demo, jwks_url="https://ehr.example.org/\x00"),
        lambda: cds_clients.revoke_client(issuer="a\x00"),
        lambda: register(demo, issuer="\udcff"),
    ):
        with pytest.raises(InvalidInput) as failure:
            call_()
        assert "control character" in failure.value.message or "surrogate" in failure.value.message
    assert not CdsClient.objects.exists()


def test_the_same_issuer_added_at_once_for_two_practices_exits_2(demo, monkeypatch):
    """Two commands at once, for two practices (two audit chains, no common lock): both find the issuer
    free, the second insert breaks the unique issuer. Its IntegrityError is the same one line, exit 2."""
    register(demo)
    monkeypatch.setattr(
        cds_clients, "issuer_taken", lambda issuer: False
    )  # checked before the first's commit
    lakeside = demo.staff["lakeside.doctor"].practice
    with pytest.raises(CommandError) as failure:
        run(*add_args(demo, **{"--practice": str(lakeside.uuid), "--acting-user": "lakeside.doctor"}))
    assert failure.value.returncode == 2 and "\n" not in str(failure.value)
    assert "--issuer: The issuer 'https://ehr.example.org/' is registered already" in str(failure.value)
    assert CdsClient.objects.count() == 1
    assert not AuditEvent.objects.filter(action=EventCode.CDS_CLIENT_ADD, practice=lakeside).exists()


def test_an_issuer_is_registered_once_across_practices(demo):
    register(demo)
    with pytest.raises(CommandError) as failure:
        run(
            "add",
            "--practice",
            str(demo.staff["lakeside.doctor"].practice.uuid),
            "--issuer",
            ISSUER,
            "--subject",
            "x",
            "--jwks-url",
            "https://ehr.example.org/jwks",
            "--acting-user",
            "lakeside.doctor",
        )
    assert failure.value.returncode == 2 and "registered already" in str(failure.value)


def test_revoking_an_unknown_issuer_exits_2():
    with pytest.raises(CommandError) as failure:
        run("revoke", "--issuer", "https://nobody.example/")
    assert failure.value.returncode == 2


def test_the_key_set_must_be_one_of_url_or_inline_in_the_database(demo):
    with pytest.raises(IntegrityError), transaction.atomic():
        CdsClient.objects.create(
            practice=demo.practice,
            issuer="both",
            subject="s",
            jwks_url="https://a.example/",
            jwks=KEY_SET,
            acting_user=demo.staff["doctor"],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        CdsClient.objects.create(
            practice=demo.practice, issuer="neither", subject="s", acting_user=demo.staff["doctor"]
        )


def test_a_plain_client_without_a_token_is_still_401(demo):
    answer = Client().get("/cds-services")
    assert answer.status_code == 401
