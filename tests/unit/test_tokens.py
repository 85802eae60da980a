"""Join tokens: one session, one role, a key id so keys rotate; everything else is refused with a reason."""

from __future__ import annotations

import pytest

from drawnet.protocol import CloseCode
from drawnet.protocol.tokens import JoinClaims, Role, TokenError, parse_keys, sign, verify

KEYS = parse_keys("k1:" + "a" * 32 + ",k2:" + "b" * 32)


def token(
    session: str = "board", role: Role = "editor", ttl: int = 60, kid: str = "k1", now: float | None = None
) -> str:
    claims = JoinClaims.issue(
        sub="u1", name="Ann", ns="default", session=session, role=role, ttl_seconds=ttl, now=now
    )
    return sign(claims, kid, KEYS[kid])


def test_a_valid_token_gives_its_claims() -> None:
    claims = verify(token(), KEYS, ns="default", session="board")
    assert (claims.sub, claims.name, claims.role, claims.can_write) == ("u1", "Ann", "editor", True)


def test_viewers_cannot_write() -> None:
    assert not verify(token(role="viewer"), KEYS, ns="default", session="board").can_write


def test_a_token_for_another_session_is_refused() -> None:
    with pytest.raises(TokenError, match="for session default/other, not default/board") as caught:
        verify(token(session="other"), KEYS, ns="default", session="board")
    assert caught.value.code is CloseCode.FORBIDDEN


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(TokenError, match="expired"):
        verify(token(ttl=10, now=1_000_000), KEYS, ns="default", session="board")


def test_a_forged_token_is_refused() -> None:
    forged = sign(
        JoinClaims.issue(sub="u1", name="x", ns="default", session="board", role="owner", ttl_seconds=60),
        "k1",
        b"not-the-key-but-32-bytes-long-!!",
    )
    with pytest.raises(TokenError, match="Signature verification failed"):
        verify(forged, KEYS, ns="default", session="board")


def test_keys_rotate_by_key_id() -> None:
    assert verify(token(kid="k2"), KEYS, ns="default", session="board").sub == "u1"
    with pytest.raises(TokenError, match="unknown key 'k1'"):
        verify(token(kid="k1"), {"k2": KEYS["k2"]}, ns="default", session="board")


def test_garbage_is_refused() -> None:
    with pytest.raises(TokenError, match="invalid join token"):
        verify("not.a.jwt", KEYS, ns="default", session="board")


@pytest.mark.parametrize("spec", ["k1", "k1:short", ":" + "a" * 32])
def test_weak_or_malformed_key_settings_fail_at_start_up(spec: str) -> None:
    with pytest.raises(ValueError, match="expected kid:secret"):
        parse_keys(spec)
