"""Verifying the Google-signed OIDC ID tokens every caller of a function presents.

Pub/Sub push, Cloud Tasks, Cloud Scheduler and people (`gcloud auth print-identity-token`) all
send `Authorization: Bearer <jwt>`: an ID token whose audience is the function's URL (or the
audience configured on the subscription / queue). `OidcVerifier.verify` checks the signature
against Google's certificates, the audience, the issuer, the expiry and that the e-mail is
verified, and returns who the caller is. What that caller may then do is decided elsewhere
(`arco.services.auth`).

Two failure kinds, so the caller can answer differently: `Unauthenticated` means the request is
not authentic (401); `AuthUnavailable` means the certificates could not be fetched, which says
nothing about the request (503, and the platform redelivers).

google-auth (and with it `requests`) is imported on first verification only: this module is
imported on the function's cold-start path.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from arco.domain.access import Identity, validate_principal
from arco.domain.errors import AuthUnavailable, InvalidInput, Unauthenticated

GOOGLE_CERTS_URL = "https://www.googleapis.com/oauth2/v1/certs"

# google-auth's default skew is 0 s: a token minted a moment "in the future" by Google's clock
# would be refused as "used too early" when this instance's clock lags slightly.
_CLOCK_SKEW_S = 10
# google-auth's transport waits 120 s by default; a push request must answer well before its
# acknowledgement deadline, so a hung certificate endpoint fails fast (and Pub/Sub retries).
_FETCH_TIMEOUT_S = 5.0
# Google's certs endpoint sends max-age of several hours; keys rotate with overlap, and an unknown
# key id forces a refetch anyway, so honouring it is safe. The cap bounds a bogus header.
_MAX_CACHE_S = 24 * 3600
# A token whose key id is not in the cached certificates forces a refetch (a rotation) at most
# this often; anyone can send such tokens.
_MIN_REFETCH_S = 60.0
_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)

# google-auth reports token problems as ValueError subclasses that differ only by message; these
# turn them into reasons a user can act on. Anything unmatched still fails closed as "invalid".
_REASONS: tuple[tuple[str, str], ...] = (
    ("token expired", "token expired"),
    ("token used too early", "token not yet valid"),
    ("wrong audience", "token audience mismatch"),
    ("certificate for key id", "token signed by an unknown key"),
    ("could not verify token signature", "token signature is invalid"),
    ("key type does not match", "token signature is invalid"),
    ("unsupported signature algorithm", "token uses an unsupported signature algorithm"),
    ("requires the cryptography package", "token uses an unsupported signature algorithm"),
    ("does not contain required claim", "token is missing its iat/exp claims"),
)


class _CertsTransport:
    """An HTTP transport for google-auth with a timeout and a cache of certificate responses.

    Without the cache every push message would cost a round trip to Google's certs endpoint.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[float, Any]] = {}  # url -> (expires, monotonic), response
        self._forced: dict[str, float] = {}  # url -> when a refetch was last forced (monotonic)

    def __call__(
        self,
        url: str,
        method: str = "GET",
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Same call shape as `google.auth.transport.Request`; GETs are served from the cache."""
        cacheable = method == "GET" and body is None
        now = time.monotonic()
        if cacheable:
            with self._lock:
                hit = self._cache.get(url)
            if hit is not None and hit[0] > now:
                return hit[1]
        response = _fetch(
            url, method, body, headers, _FETCH_TIMEOUT_S if timeout is None else timeout
        )
        if cacheable and response.status == 200:
            max_age = _max_age(response.headers)
            if max_age > 0:
                with self._lock:
                    self._cache[url] = (now + max_age, response)
        return response

    def cached(self, url: str) -> bool:
        with self._lock:
            hit = self._cache.get(url)
        return hit is not None and hit[0] > time.monotonic()

    def forget(self, url: str) -> bool:
        """Drop the cached certificates of `url` so the next call fetches them, at most once per
        `_MIN_REFETCH_S`: a key rotation is seen at once, while tokens signed by made-up key ids
        cannot make every request cost a fetch. False when it refused to forget."""
        now = time.monotonic()
        with self._lock:
            if now - self._forced.get(url, -_MIN_REFETCH_S) < _MIN_REFETCH_S:
                return False
            self._forced[url] = now
            self._cache.pop(url, None)
            return True


@dataclass(frozen=True)
class _Response:
    """What google-auth reads of an HTTP answer (`google.auth.transport.Response`)."""

    status: int
    headers: Mapping[str, str]
    data: bytes


def _fetch(
    url: str, method: str, body: bytes | None, headers: Mapping[str, str] | None, timeout: float
) -> _Response:
    """One HTTP call with the standard library: google-auth's `requests` transport would add
    `requests` and `urllib3` (~70 ms) to every cold start of every function."""
    import urllib.error
    import urllib.request

    from google.auth import exceptions as auth_exceptions

    request = urllib.request.Request(url, data=body, headers=dict(headers or {}), method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            got = {k.lower(): v for k, v in answer.headers.items()}
            return _Response(answer.status, got, answer.read())
    except urllib.error.HTTPError as exc:  # an answer, not a transport failure
        got = {k.lower(): v for k, v in exc.headers.items()} if exc.headers else {}
        return _Response(exc.code, got, exc.read() or b"")
    except (OSError, ValueError) as exc:  # refused, unreachable, timed out, bad URL
        transport_error: Any = auth_exceptions.TransportError  # untyped in google-auth
        raise transport_error(str(exc)) from exc


def _max_age(headers: Mapping[str, str] | None) -> int:
    match = _MAX_AGE.search((headers or {}).get("cache-control", "") or "")
    return min(int(match.group(1)), _MAX_CACHE_S) if match else 0


def _bearer(authorization: str | None) -> str:
    if not authorization or not authorization.strip():
        raise Unauthenticated("missing bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("authorization is not a bearer token")
    token = token.strip()
    if not token:
        raise Unauthenticated("missing bearer token")
    return token


def _reason(exc: Exception) -> str:
    message = str(exc).lower()
    for needle, reason in _REASONS:
        if needle in message:
            return reason
    return "invalid token"


_CERTS_DOWN = "could not fetch the token signing certificates; retry later"


@dataclass(frozen=True)
class OidcVerifier:
    """What a caller's token must satisfy. Build it once per instance: it caches the certs."""

    audience: str
    certs_url: str = GOOGLE_CERTS_URL
    issuers: tuple[str, ...] = ("accounts.google.com", "https://accounts.google.com")
    _transport: _CertsTransport = field(
        default_factory=_CertsTransport, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        # An empty audience would be a misconfiguration that google-auth treats as "any audience".
        if not self.audience:
            raise ValueError("audience must be non-empty")

    def verify(self, authorization: str | None) -> Identity:
        """The verified caller of a request with this `Authorization` header value.

        Raises Unauthenticated (not authentic) or AuthUnavailable (certs unreachable).
        """
        token = _bearer(authorization)
        claims = self._verified_claims(token)
        if claims.get("iss") not in self.issuers:
            raise Unauthenticated("token issuer is not Google")
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise Unauthenticated("token carries no e-mail (mint it with the e-mail scope)")
        if claims.get("email_verified") is not True:
            raise Unauthenticated("token e-mail is not verified")
        try:
            return Identity(validate_principal(email))
        except InvalidInput as exc:
            raise Unauthenticated(f"token e-mail is not an address: {email[:100]!r}") from exc

    def _verified_claims(self, token: str) -> dict[str, Any]:
        from google.auth import exceptions as auth_exceptions
        from google.auth import jwt
        from google.oauth2 import id_token

        # google-auth's annotations are partial (untyped functions; `Request` is an ABC our
        # caching transport only duck-types), hence the Any-typed handles.
        decode_header: Any = jwt.decode_header
        verify_token: Any = id_token.verify_token

        # Structure first: garbage is refused without touching the network, so it is a 401
        # even while the certs endpoint is down.
        try:
            decode_header(token)
        except (ValueError, TypeError, auth_exceptions.GoogleAuthError) as exc:
            raise Unauthenticated("malformed token") from exc

        # A key id missing from cached certs may be a rotation: refetch once before refusing.
        for attempt in range(2):
            from_cache = self._transport.cached(self.certs_url)
            try:
                claims = verify_token(
                    token,
                    self._transport,
                    audience=self.audience,
                    certs_url=self.certs_url,
                    clock_skew_in_seconds=_CLOCK_SKEW_S,
                )
            except auth_exceptions.TransportError as exc:
                # Connection errors, timeouts and non-200 answers from the certs endpoint.
                raise AuthUnavailable(_CERTS_DOWN) from exc
            except json.JSONDecodeError as exc:
                # The certs endpoint answered 200 with something that is not JSON (a proxy's
                # error page): the token's segments were already parsed above, so it is the certs.
                raise AuthUnavailable(_CERTS_DOWN) from exc
            except (ValueError, TypeError, auth_exceptions.GoogleAuthError) as exc:
                reason = _reason(exc)
                if (
                    reason == "token signed by an unknown key"
                    and from_cache
                    and attempt == 0
                    and self._transport.forget(self.certs_url)
                ):
                    continue
                raise Unauthenticated(reason) from exc
            except Exception as exc:
                # Fail closed on anything else google-auth may raise (e.g. a JWK set needing
                # pyjwt); the caller must never see a raw exception.
                raise Unauthenticated("token could not be verified") from exc
            return dict(claims)
        raise AssertionError("unreachable")  # pragma: no cover
