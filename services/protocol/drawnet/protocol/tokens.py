"""Join tokens: signed by the drawing service, verified by the room. Each names one session and one role.

JWTs (HS256) with a key id (`kid`) in the header, so keys can rotate: the signer uses its active key, the
verifier accepts every key it knows. Keys come from a setting in the form `kid1:secret1,kid2:secret2`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Literal

import jwt
import msgspec

from drawnet.protocol.errors import CloseCode, ProtocolError

AUDIENCE = "drawnet-room"
ALGORITHM = "HS256"
Role = Literal["owner", "editor", "viewer"]
WRITERS: frozenset[str] = frozenset({"owner", "editor"})


class JoinClaims(msgspec.Struct, frozen=True, kw_only=True):
    sub: str
    """The user: an account id, or `guest:<id>` for a guest."""
    name: str
    """Display name shown to the others."""
    ns: str
    session: str
    role: Role
    exp: int
    iat: float
    """When it was minted, to the microsecond: a revocation closes the tokens minted before it."""
    grant: str = ""
    """The authority it was minted on, which a renewal must still hold and a revocation names:
    `owner`, `link:<link id>`, `public` (a public or open board), or `anonymous` (a room that lets
    tokenless clients in). Empty in tokens minted outside the drawing service (tests)."""
    max_participants: int = 0
    """The session's own limit on participants when the token was minted (0: the room's)."""
    idle: int = 0
    """The session's own idle timeout in seconds when the token was minted (0: none): an embedded room
    unloads the session's board this long after its last participant left, if sooner than its linger."""
    lid: str = ""
    """The login it was minted with (an id of it, not the login token): logging out revokes it, and a
    renewal keeps it and needs that login still to exist. Empty: a guest's, or minted by no login."""
    aud: str = AUDIENCE

    @classmethod
    def issue(  # noqa: PLR0913 - every claim, by name
        cls,
        *,
        sub: str,
        name: str,
        ns: str,
        session: str,
        role: Role,
        ttl_seconds: int,
        grant: str = "",
        max_participants: int = 0,
        lid: str = "",
        idle: int = 0,
        now: float | None = None,
    ) -> JoinClaims:
        issued = round(now if now is not None else time.time(), 6)
        return cls(
            sub=sub,
            name=name,
            ns=ns,
            session=session,
            role=role,
            iat=issued,
            exp=int(issued) + ttl_seconds,
            grant=grant,
            max_participants=max_participants,
            lid=lid,
            idle=idle,
        )

    @property
    def guest(self) -> bool:
        return self.sub.startswith("guest:")

    @property
    def can_write(self) -> bool:
        return self.role in WRITERS


class TokenError(ProtocolError):
    """A token that does not let its bearer in: forged, expired, or for another session."""

    def __init__(self, reason: str) -> None:
        super().__init__(CloseCode.FORBIDDEN, reason)


def parse_keys(spec: str) -> dict[str, bytes]:
    """`kid1:secret1,kid2:secret2` → {kid: secret}; secrets must be at least 32 bytes."""
    keys: dict[str, bytes] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        kid, sep, secret = entry.partition(":")
        if not sep or not kid or len(secret.encode()) < 32:
            raise ValueError(
                f"signing key {kid or entry[:8]!r}: expected kid:secret with a secret of >= 32 bytes"
            )
        keys[kid] = secret.encode()
    return keys


def sign(claims: JoinClaims, kid: str, key: bytes) -> str:
    return jwt.encode(msgspec.to_builtins(claims), key, algorithm=ALGORITHM, headers={"kid": kid})


def verify(
    token: str, keys: Mapping[str, bytes], *, ns: str, session: str, leeway: float = 5.0
) -> JoinClaims:
    """The claims of a valid token for this session, or TokenError saying why not."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError as error:
        raise TokenError(f"invalid join token: {error}") from error
    key = keys.get(kid) if isinstance(kid, str) else None
    if key is None:
        raise TokenError(f"join token signed with unknown key {kid!r}")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            leeway=leeway,
            options={"require": ["exp", "iat", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError as error:
        raise TokenError("join token expired") from error
    except jwt.InvalidTokenError as error:
        raise TokenError(f"invalid join token: {error}") from error
    try:
        claims = msgspec.convert(payload, JoinClaims)
    except msgspec.ValidationError as error:
        raise TokenError(f"invalid join token claims: {error}") from error
    if (claims.ns, claims.session) != (ns, session):
        raise TokenError(f"join token is for session {claims.ns}/{claims.session}, not {ns}/{session}")
    return claims
