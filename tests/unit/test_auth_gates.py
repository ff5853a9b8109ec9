"""The gates every entry point passes before it reads or writes anything: what a loopback
(auth off) gate lets through, and what the closed gates say about themselves."""

from __future__ import annotations

import pytest

from arco.domain.errors import Forbidden
from arco.services.auth import (
    LOCAL_PRINCIPAL,
    Caller,
    LoopbackGate,
    TokenGate,
    UnconfiguredGate,
    is_loopback,
)

GATE = LoopbackGate()


@pytest.mark.parametrize("host", ["localhost:8000", "127.0.0.1:8000", "[::1]:8000", "localhost"])
def test_a_loopback_caller_for_localhost_is_the_local_developer(host: str) -> None:
    identity = GATE.identify(Caller.of({"Host": host}, "127.0.0.1"))
    assert (identity.principal, identity.local) == ("local-dev", True)
    assert LOCAL_PRINCIPAL == "local-dev"  # the name runs and events record for it


@pytest.mark.parametrize("header", ["Forwarded", "X-Forwarded-For", "X-Real-IP", "Via"])
def test_a_request_through_a_proxy_is_refused_when_auth_is_off(header: str) -> None:
    with pytest.raises(
        Forbidden, match=f"requests through a proxy are refused \\({header.lower()}\\)"
    ):
        GATE.identify(Caller.of({header: "1.2.3.4"}, "127.0.0.1"))


@pytest.mark.parametrize("peer", [None, "", "10.0.0.1", "not-an-ip"])
def test_only_loopback_peers_are_loopback(peer: str | None) -> None:
    assert is_loopback(peer) is False


def test_a_caller_without_headers_has_no_authorization() -> None:
    assert Caller().authorization is None
    assert Caller.of({"Authorization": "Bearer t"}, None).authorization == "Bearer t"


def test_only_the_loopback_gate_is_open() -> None:
    assert GATE.open is True
    assert TokenGate(verifier=None).open is False  # type: ignore[arg-type]
    assert UnconfiguredGate("ARCO_AUTH").open is False
