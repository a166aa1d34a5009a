"""The CDS Hooks client's signed JWT: an EHR registered as a ``CdsClient`` calls the CDS Hooks URLs with
`Authorization: Bearer <JWT>`, signed with its private key, and its calls act as the practice's staff account
it was registered with. Optional, per practice: an EHR not registered keeps calling with a per-user API token
(``api.auth.token_or_session``), and so do the tests and the FHIR view.

What is relied on, from CDS Hooks' "Trusting CDS Clients" (cds-hooks/docs, docs/specification/current.md):
the client sends its JWT as a Bearer token on every call (discovery, service, feedback); the JWS header has
`alg`, `kid` (REQUIRED: the key in the client's JWK Set) and may have `jku` (the URL of the JWK Set); the
payload has `iss`, `aud` (a string or an array: "the URL of the CDS Service endpoint being invoked", as the
discovery response names it), `exp`, `iat` and `jti` (REQUIRED: "a nonce ... used to protect against replay
attacks"), `tenant` optional; services SHOULD allow-list `iss` and `jku`; `none` and the symmetric (HMAC)
algorithms SHALL NOT be used; ES384 and RS384 are RECOMMENDED. The text's example token also carries `sub`
(the client_id) and CDS Hooks 2.0 requires it: isotrack requires it and checks it against the registration.

What isotrack checks, and why each way:

- Only a bearer value shaped as a JWT (three base64url parts whose first is a JSON header with an `alg`) is
  judged here; any other value is a per-user API token, judged as before.
- `iss`, read before the signature is checked only to pick the client, names an active (not revoked)
  ``CdsClient``: the allow-list. Being unverified, it is first checked to be text a query can carry (at most
  255 characters, no control character: PostgreSQL refuses NUL, no lone surrogate: not UTF-8), as `jti` is
  before it is written; `sub` and `kid` reach no query (PyJWT compares `sub`, the key set is searched).
- `alg` is ES384 or RS384 and nothing else (never `none`, never HS*: a public key is not a shared secret);
  the key is the one of `kid` in the client's JWK Set, inline or fetched from its registered ``jwks_url``
  (PyJWT's ``PyJWKClient``: its cache, a short timeout); its type (EC P-384, RSA) fits the `alg`. A `jku`
  that is not the registered URL is refused: isotrack never fetches a URL a token names. A fetch that fails
  (the URL down, slow, or not a key set) is not tried again for ``JWKS_RETRY_AFTER`` seconds: meanwhile
  the calls naming that issuer are refused at once, so that callers who know an issuer cannot make every
  request wait for the timeout. The failures are kept per process (each worker learns on its own).
- The signature; `sub` is the registered subject; `aud` names the URL called (for the feedback, the
  service's URL also); `exp` is ahead and `iat` not ahead (``LEEWAY`` for the clocks), and the JWT lives at
  most ``MAX_LIFETIME`` (a long-lived JWT would be a password); `jti` is new for this client (``CdsJwtUse``,
  written in the request: a replay is refused).
- The acting user is active, still in the client's practice, and still has the role they had when the client
  was registered (``CdsClient.acting_role``, as an API token keeps its user's role).
- Every refusal is a 401 problem document saying what was wrong, never the token, and never a 500.
"""

from __future__ import annotations

import binascii
import json
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from django.contrib.auth.decorators import login_not_required
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from jwt.utils import base64url_decode

from isotrack.api.auth import bearer_value, token_or_session
from isotrack.api.models import CdsClient, CdsJwtUse
from isotrack.api.problems import problem, problem_response
from isotrack.clinic import looks
from isotrack.clinic.inputs import control_character

ALGORITHMS = ("ES384", "RS384")  # CDS Hooks' recommended pair; no other is accepted
LEEWAY = 60  # seconds of clock difference allowed on exp and iat
MAX_LIFETIME = 300  # seconds from iat to exp: a JWT made for one call, not a credential kept
MAX_TOKEN_LENGTH = 8192  # characters: far above a real JWT (an RS384 signature of a 4096-bit key is 683)
MAX_HEADER_LENGTH = 2048  # characters of the header part read to tell a JWT from an API token
JTI_MAX = 255  # CdsJwtUse.jti
ISSUER_MAX = 255  # CdsClient.issuer
JWKS_TIMEOUT = 3  # seconds to fetch a client's JWK Set
JWKS_LIFESPAN = 300  # seconds a fetched JWK Set is kept (PyJWKClient's cache)
JWKS_RETRY_AFTER = 60  # seconds a failed fetch of a JWK Set URL is not tried again

_clients: dict[str, jwt.PyJWKClient] = {}  # per JWK Set URL, so that the cache outlives the request
_clients_lock = threading.Lock()
_fetch_failures: dict[str, float] = {}  # per JWK Set URL: time.monotonic() of its last failed fetch
_fetch_failures_lock = threading.Lock()


class Refused(Exception):
    """The JWT does not authenticate its caller; ``detail`` says why (never the token itself)."""

    def __init__(self, detail: str, code: str = "unauthenticated") -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code


def refused_response(refusal: Refused) -> HttpResponse:
    return problem_response(
        problem(401, refusal.code, refusal.detail), headers={"WWW-Authenticate": 'Bearer realm="isotrack"'}
    )


def looks_like_jwt(value: str) -> bool:
    """Three dot-separated parts whose first decodes (base64url) to a JSON object with an `alg`: a JWT, to be
    judged as a CDS client's. An API token (``secrets.token_urlsafe``: no dots) never is one."""
    parts = value.split(".")
    if len(parts) != 3 or not parts[0] or len(parts[0]) > MAX_HEADER_LENGTH:
        return False
    try:
        header = json.loads(base64url_decode(parts[0]))
    except (ValueError, binascii.Error, UnicodeDecodeError, RecursionError):
        return False
    return isinstance(header, dict) and "alg" in header


def _check_text(value: str, what: str, longest: int) -> None:
    """Unverified text that is to reach a query: at most ``longest`` characters, no control character
    (``clinic.inputs``' check; PostgreSQL refuses NUL in text), no lone surrogate (not UTF-8)."""
    if len(value) > longest:
        raise Refused(f"{what} is longer than {longest} characters.")
    named = control_character(value, multiline=False)
    if named is not None:
        raise Refused(f"{what} holds a control character ({named}).")
    try:
        value.encode()
    except UnicodeEncodeError:
        raise Refused(
            f"{what} holds a lone surrogate (half of a UTF-16 pair), which is no character."
        ) from None


def verify(token: str, request: HttpRequest) -> CdsClient:
    """The active client whose JWT this is, after every check of the module's docstring; its ``jti`` is
    recorded (a replay is refused). Raises ``Refused``."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise Refused(f"The JWT is longer than {MAX_TOKEN_LENGTH} characters.")
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, ValueError, TypeError, RecursionError):
        raise Refused("The JWT cannot be read: it is not a signed JWT (JWS compact form).") from None
    issuer = unverified.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise Refused("The JWT names no issuer (iss).")
    _check_text(issuer, "The JWT's iss", ISSUER_MAX)  # before the query: unverified text
    client = (
        CdsClient.objects.select_related("acting_user").filter(issuer=issuer, revoked_at__isnull=True).first()
    )
    if client is None:
        raise Refused("The JWT's issuer (iss) is not a CDS client registered with isotrack, or was revoked.")
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise Refused("Sign the JWT with ES384 or RS384: no other algorithm is accepted.")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise Refused("The JWT's header names no key (kid).")
    jku = header.get("jku")
    if jku is not None and (not client.jwks_url or jku != client.jwks_url):
        raise Refused("The JWT's jku is not the key set URL registered for its issuer.")
    key = _public_key(client, kid, algorithm)
    claims = _verified_claims(token, key, algorithm, client, _audiences(request))
    _remember(client, claims["jti"], claims["exp"])
    return client


def _public_key(client: CdsClient, kid: str, algorithm: str) -> Any:
    """The public key of ``kid`` in the client's JWK Set (inline, or fetched from its registered URL), of the
    type the algorithm needs: an EC P-384 key for ES384, an RSA key for RS384."""
    jwk = _fetched_key(client.jwks_url, kid) if client.jwks_url else _inline_key(client, kid)
    key = jwk.key
    fits = (
        isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
        if algorithm == "ES384"
        else isinstance(key, rsa.RSAPublicKey)
    )
    if not fits:
        raise Refused(f"The JWT's key (kid) is not a public key for {algorithm}.")
    return key


NOT_IN_SET = "The JWT's key (kid) is not in its issuer's key set."


def _inline_key(client: CdsClient, kid: str) -> jwt.PyJWK:
    try:
        return jwt.PyJWKSet.from_dict(client.jwks or {})[kid]
    except KeyError:
        raise Refused(NOT_IN_SET) from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise Refused("The key set of the JWT's issuer could not be read.") from None


def _fetched_key(url: str, kid: str) -> jwt.PyJWK:
    """The key of ``kid`` in the JWK Set at ``url`` (PyJWKClient: cached ``JWKS_LIFESPAN``). A failed
    fetch is remembered: the URL is not fetched again for ``JWKS_RETRY_AFTER`` seconds (calls refused)."""
    with _fetch_failures_lock:
        failed_at = _fetch_failures.get(url)
    if failed_at is not None and (wait := JWKS_RETRY_AFTER - (time.monotonic() - failed_at)) > 0:
        raise _fetch_refused("fetched", wait)
    try:
        jwk = _jwks_client(url).get_signing_key(kid)
    except jwt.PyJWKClientConnectionError:
        raise _fetch_refused("fetched", JWKS_RETRY_AFTER, failed=url) from None
    except jwt.PyJWKClientError as error:
        if "matches" in str(error):  # PyJWKClient: "Unable to find a signing key that matches"
            raise Refused(NOT_IN_SET) from None
        # "did not return a JSON object", "did not contain any signing keys"
        raise _fetch_refused("read", JWKS_RETRY_AFTER, failed=url) from None
    except (jwt.PyJWTError, ValueError, TypeError, OSError):  # a page that is not a JWK Set, a broken read
        raise _fetch_refused("read", JWKS_RETRY_AFTER, failed=url) from None
    if failed_at is not None:
        with _fetch_failures_lock:
            _fetch_failures.pop(url, None)
    return jwk


def _fetch_refused(done: str, wait: float, failed: str | None = None) -> Refused:
    """The refusal of a key set not ``done`` (fetched, read); ``failed``: the URL whose failure is to be
    remembered from now."""
    if failed is not None:
        with _fetch_failures_lock:
            _fetch_failures[failed] = time.monotonic()
    return Refused(
        f"The key set of the JWT's issuer could not be {done} (jwks_url); retried after {math.ceil(wait)} "
        "seconds."
    )


def _jwks_client(url: str) -> jwt.PyJWKClient:
    with _clients_lock:
        client = _clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(url, timeout=JWKS_TIMEOUT, lifespan=JWKS_LIFESPAN)
            _clients[url] = client
        return client


def _audiences(request: HttpRequest) -> list[str]:
    """The URLs the JWT's aud may name: the one called, and for a service's feedback the service's own (an
    EHR may sign for the service it gives feedback on)."""
    called = request.build_absolute_uri(request.path)
    accepted = [called]
    if called.endswith("/feedback"):
        accepted.append(called.removesuffix("/feedback"))
    return accepted


CLAIM_ERRORS: list[tuple[type[Exception], str]] = [
    (jwt.ExpiredSignatureError, "The JWT has expired (exp)."),
    (jwt.ImmatureSignatureError, "The JWT was issued in the future (iat) or is not valid yet (nbf)."),
    (jwt.InvalidSignatureError, "The JWT's signature does not verify with its issuer's key."),
    (jwt.exceptions.InvalidSubjectError, "The JWT's sub is not the client id registered for its issuer."),
    (jwt.InvalidIssuedAtError, "The JWT's iat is not a time."),
    (jwt.exceptions.InvalidJTIError, "The JWT's jti is not a string."),
]


def _verified_claims(
    token: str, key: Any, algorithm: str, client: CdsClient, audiences: list[str]
) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key=key,
            algorithms=[algorithm],
            audience=audiences,
            issuer=client.issuer,
            subject=client.subject,
            leeway=LEEWAY,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )
    except jwt.MissingRequiredClaimError as error:
        raise Refused(f"The JWT has no {error.claim} claim.") from None
    except jwt.InvalidAudienceError:
        raise Refused(f"The JWT's aud does not name this endpoint ({audiences[0]}).") from None
    except jwt.PyJWTError as error:
        for kind, detail in CLAIM_ERRORS:
            if isinstance(error, kind):
                raise Refused(detail) from None
        raise Refused("The JWT is not valid.") from None
    except (ValueError, TypeError, OverflowError):
        raise Refused("The JWT is not valid.") from None
    expires, issued = claims["exp"], claims["iat"]
    if not all(isinstance(value, int | float) and not isinstance(value, bool) for value in (expires, issued)):
        raise Refused("The JWT's exp and iat are times in seconds.")
    if expires - issued > MAX_LIFETIME:
        raise Refused(f"The JWT lives longer than {MAX_LIFETIME} seconds (exp - iat): make one per call.")
    jti = claims["jti"]
    if not isinstance(jti, str) or not jti.strip() or len(jti) > JTI_MAX:
        raise Refused(f"The JWT's jti is a nonce of 1 to {JTI_MAX} characters.")
    _check_text(jti, "The JWT's jti", JTI_MAX)  # before it is written (CdsJwtUse)
    return claims


def _remember(client: CdsClient, jti: str, expires: float) -> None:
    """The jti kept until the JWT could no longer pass (exp and the leeway); a second use is a replay. The
    client's expired rows go first: bounded work on an index (client, expires_at)."""
    now = timezone.now()
    try:
        until = datetime.fromtimestamp(expires, tz=UTC) + timedelta(seconds=LEEWAY)
    except (OverflowError, ValueError, OSError):
        raise Refused("The JWT's exp is not a time.") from None
    try:
        with transaction.atomic():  # a savepoint inside a caller's transaction: the conflict stays here
            CdsJwtUse.objects.filter(client=client, expires_at__lt=now).delete()
            CdsJwtUse.objects.create(client=client, jti=jti, expires_at=until)
    except IntegrityError:
        raise Refused("The JWT was used already (its jti): make a new one for each call.") from None


def authenticate(request: HttpRequest, token: str) -> HttpResponse | None:
    """Sets ``request.api_user`` (the client's acting user) and ``request.cds_client``, or answers the 401."""
    try:
        client = verify(token, request)
    except Refused as refusal:
        return refused_response(refusal)
    user = client.acting_user
    if not user.is_active or user.practice_id != client.practice_id:
        return refused_response(
            Refused("The CDS client's acting user is not an active member of its practice.")
        )
    if user.role != client.acting_role:  # as an API token: the role it was given, not a later one
        return refused_response(
            Refused("The CDS client's acting user's role changed since the client was registered.")
        )
    request.api_user = user  # type: ignore[attr-defined]
    request.cds_client = client  # type: ignore[attr-defined]
    looks.by(user, f"CDS client {client.issuer}"[:200])  # the looks name the EHR, never its token
    return None


def cds_client_or_token(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """For the CDS Hooks views: a bearer JWT is a CDS client's (``authenticate``); anything else goes to
    ``token_or_session`` unchanged (a per-user API token, a session)."""
    by_token = token_or_session(view)

    @wraps(view)
    def checked(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        token = bearer_value(request)
        if token and looks_like_jwt(token):
            refused = authenticate(request, token)
            if refused is not None:
                return refused
            return view(request, *args, **kwargs)
        return by_token(request, *args, **kwargs)

    return login_not_required(csrf_exempt(checked))
