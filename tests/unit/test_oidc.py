"""Verification of Google-signed ID tokens against a local certs endpoint (tests/oidc.py)."""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from arco.cloud.oidc import OidcVerifier
from arco.domain.access import Identity
from arco.domain.errors import AuthUnavailable, Unauthenticated
from tests.oidc import PUSH_EMAIL, CertServer, SigningKey

AUDIENCE = "https://example.run.app/sensor_push"


@pytest.fixture
def certs() -> Iterator[CertServer]:
    with CertServer() as server:
        yield server


@pytest.fixture
def auth(certs: CertServer) -> OidcVerifier:
    return OidcVerifier(AUDIENCE, certs_url=certs.url)


def _refused(auth: OidcVerifier, header: str | None) -> str:
    with pytest.raises(Unauthenticated) as caught:
        auth.verify(header)
    return str(caught.value)


def test_a_valid_token_returns_the_verified_identity(certs: CertServer, auth: OidcVerifier) -> None:
    assert auth.verify("Bearer " + certs.token(AUDIENCE)) == Identity(PUSH_EMAIL)
    upper = certs.token(AUDIENCE, email="Someone@Example.COM")
    assert auth.verify(f"Bearer {upper}").principal == "someone@example.com"


def test_the_scheme_is_case_insensitive_and_the_bare_issuer_is_accepted(
    certs: CertServer, auth: OidcVerifier
) -> None:
    token = certs.token(AUDIENCE, issuer="accounts.google.com")
    assert auth.verify("bearer  " + token) == Identity(PUSH_EMAIL)


@pytest.mark.parametrize("header", [None, "", "   ", "Bearer", "Bearer   "])
def test_missing_token(auth: OidcVerifier, header: str | None) -> None:
    assert _refused(auth, header) == "missing bearer token"


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Token abc.def.ghi", "abc.def.ghi"])
def test_not_a_bearer_token(auth: OidcVerifier, header: str) -> None:
    assert _refused(auth, header) == "authorization is not a bearer token"


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "a.b", "e30.W10.AA", "W10.e30.AA"])
def test_a_malformed_token_is_refused_without_fetching_certs(
    certs: CertServer, auth: OidcVerifier, token: str
) -> None:
    assert _refused(auth, f"Bearer {token}") == "malformed token"
    assert certs.fetches == 0


def test_an_unsupported_algorithm_is_refused(auth: OidcVerifier) -> None:
    def seg(obj: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    token = f"{seg({'alg': 'none', 'kid': 'kid1'})}.{seg({'aud': AUDIENCE})}.AA"
    assert _refused(auth, f"Bearer {token}") == "token uses an unsupported signature algorithm"


def test_wrong_audience(certs: CertServer, auth: OidcVerifier) -> None:
    token = certs.token("https://example.run.app/other")
    assert _refused(auth, f"Bearer {token}") == "token audience mismatch"


def test_expired_beyond_the_clock_skew(certs: CertServer, auth: OidcVerifier) -> None:
    token = certs.token(AUDIENCE, expires_in=-120)
    assert _refused(auth, f"Bearer {token}") == "token expired"


def test_wrong_issuer(certs: CertServer, auth: OidcVerifier) -> None:
    token = certs.token(AUDIENCE, issuer="https://evil.example.com")
    assert _refused(auth, f"Bearer {token}") == "token issuer is not Google"


def test_a_token_without_an_email_is_refused(certs: CertServer, auth: OidcVerifier) -> None:
    claims = certs.claims(AUDIENCE)
    del claims["email"]
    assert "no e-mail" in _refused(auth, "Bearer " + certs.key.sign(claims))


def test_email_not_verified(certs: CertServer, auth: OidcVerifier) -> None:
    token = certs.token(AUDIENCE, email_verified=False)
    assert _refused(auth, f"Bearer {token}") == "token e-mail is not verified"


def test_a_token_from_an_unknown_key_id(certs: CertServer, auth: OidcVerifier) -> None:
    token = SigningKey.generate("kid-unknown").sign(certs.claims(AUDIENCE))
    assert _refused(auth, f"Bearer {token}") == "token signed by an unknown key"


def test_a_token_from_another_key_under_the_same_key_id(
    certs: CertServer, auth: OidcVerifier
) -> None:
    token = SigningKey.generate(certs.key.kid).sign(certs.claims(AUDIENCE))
    assert _refused(auth, f"Bearer {token}") == "token signature is invalid"


def test_unreachable_certs_are_unavailable_not_unauthorized(certs: CertServer) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port once the socket is closed: connection refused.
    auth = OidcVerifier(AUDIENCE, certs_url=f"http://127.0.0.1:{port}/certs")
    with pytest.raises(AuthUnavailable) as caught:
        auth.verify("Bearer " + certs.token(AUDIENCE))
    assert "could not fetch the token signing certificates" in str(caught.value)


def test_a_failing_certs_endpoint_is_unavailable(certs: CertServer, auth: OidcVerifier) -> None:
    certs.status = 503
    with pytest.raises(AuthUnavailable):
        auth.verify("Bearer " + certs.token(AUDIENCE))


def test_a_non_json_certs_answer_is_unavailable(certs: CertServer, auth: OidcVerifier) -> None:
    certs.body = b"<html>proxy error</html>"
    with pytest.raises(AuthUnavailable):
        auth.verify("Bearer " + certs.token(AUDIENCE))


def test_certs_are_fetched_per_request_without_cache_control(
    certs: CertServer, auth: OidcVerifier
) -> None:
    auth.verify("Bearer " + certs.token(AUDIENCE))
    auth.verify("Bearer " + certs.token(AUDIENCE))
    assert certs.fetches == 2


def test_certs_are_cached_per_max_age_and_refetched_for_a_new_key() -> None:
    with CertServer(max_age=300) as certs:
        auth = OidcVerifier(AUDIENCE, certs_url=certs.url)
        old = certs.token(AUDIENCE)
        auth.verify(f"Bearer {old}")
        auth.verify(f"Bearer {old}")
        assert certs.fetches == 1
        # Key rotation: the new kid is not in the cached certs, so they are fetched again.
        certs.rotate("kid2")
        assert auth.verify("Bearer " + certs.token(AUDIENCE)).principal == PUSH_EMAIL
        assert certs.fetches == 2
        # The retired key is refused from the fresh cache: a refetch was just forced.
        assert _refused(auth, f"Bearer {old}") == "token signed by an unknown key"
        assert certs.fetches == 2


def test_made_up_key_ids_cannot_force_a_fetch_per_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Anyone can sign a token with a key id Google never had: such tokens force at most one
    certificate fetch a minute, so they cost no round trip each and do not evict the cache."""
    from arco.cloud import oidc

    clock = [1000.0]
    monkeypatch.setattr(oidc.time, "monotonic", lambda: clock[0])
    with CertServer(max_age=3600) as certs:
        auth = OidcVerifier(AUDIENCE, certs_url=certs.url)
        auth.verify("Bearer " + certs.token(AUDIENCE))
        assert certs.fetches == 1
        stranger = SigningKey.generate("made-up")
        for n in range(20):
            key = SigningKey(f"made-up-{n}", stranger.private_pem, stranger.cert_pem)
            forged = key.sign(certs.claims(AUDIENCE))
            assert _refused(auth, f"Bearer {forged}") == "token signed by an unknown key"
        assert certs.fetches == 2  # one forced refetch, then the cache answers
        auth.verify("Bearer " + certs.token(AUDIENCE))  # good tokens still verify from cache
        assert certs.fetches == 2
        clock[0] += 61
        forged = stranger.sign(certs.claims(AUDIENCE))
        _refused(auth, f"Bearer {forged}")
        assert certs.fetches == 3  # a minute later a rotation can be seen again


def test_an_empty_audience_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="audience"):
        OidcVerifier("")


def test_importing_the_module_stays_light() -> None:
    script = (
        "import sys, arco.cloud.oidc\n"
        "print('google.auth' in sys.modules, 'pyarrow' in sys.modules, 'requests' in sys.modules)\n"
        # Control: the same check sees google.auth once a verification has run.
        "from arco.cloud.oidc import OidcVerifier\n"
        "from arco.domain.errors import Unauthenticated\n"
        "try:\n"
        "    OidcVerifier('a').verify('Bearer x.y.z')\n"
        "except Unauthenticated:\n"
        "    pass\n"
        "print('google.auth' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["False False False", "True"]
