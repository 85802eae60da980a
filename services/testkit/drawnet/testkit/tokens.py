"""Join tokens for tests and benches, signed with a key the test room is configured to trust."""

from __future__ import annotations

from dataclasses import dataclass

from drawnet.protocol.tokens import JoinClaims, Role, parse_keys, sign

TEST_KID = "test"
TEST_SIGNING_KEYS = f"{TEST_KID}:drawnet-test-signing-key-not-a-secret"
"""`DRAWNET_ROOM_SIGNING_KEYS` for rooms started by tests."""


@dataclass(frozen=True)
class Signer:
    """Mints join tokens the way the drawing service does."""

    keys: str = TEST_SIGNING_KEYS
    kid: str = TEST_KID
    namespace: str = "default"

    def token(  # noqa: PLR0913 - every claim a test may set, by name
        self,
        session: str,
        *,
        role: Role = "editor",
        user: str | None = None,
        name: str = "tester",
        ttl_seconds: int = 3600,
        now: float | None = None,
        max_participants: int = 0,
        idle: int = 0,
        grant: str = "",
    ) -> str:
        claims = JoinClaims.issue(
            sub=user or f"user-{name.lower()}",
            name=name,
            ns=self.namespace,
            session=session,
            role=role,
            ttl_seconds=ttl_seconds,
            now=now,
            max_participants=max_participants,
            idle=idle,
            grant=grant,
        )
        return sign(claims, self.kid, parse_keys(self.keys)[self.kid])
