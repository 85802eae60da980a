"""Revocations: what the drawing service tells every room when access is taken back.

The drawing service publishes one `Revocation` per change (a link revoked, a participant kicked or
banned, a board made private, guests switched off, a session deleted or archived) to the JetStream
stream `DRAWNET_ACCESS` on `drawnet.access.<namespace>.<session>`. Every room hosting the session closes
the connections it names at once, and refuses their tokens from then on. A revocation names the tokens
minted up to its `ts`: tokens minted after it passed the drawing service's checks against the new state.
The stream keeps each revocation for longer than a join token lives, so a room that starts later still
learns of every one that concerns a token that has not expired.
"""

from __future__ import annotations

import msgspec

from drawnet.protocol.errors import CloseCode
from drawnet.protocol.tokens import JoinClaims

ACCESS_STREAM = "DRAWNET_ACCESS"
ACCESS_SUBJECTS = "drawnet.access.>"


def access_subject(namespace: str, session: str) -> str:
    return f"drawnet.access.{namespace}.{session}"


class Revocation(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens of one session minted up to `ts` that no longer admit: those of `subs` (users), of
    `grants` (`link:<id>`, `public`), of `logins` (the `lid` of a login that logged out), every guest's
    (`guests`), or all of them (`everyone`)."""

    ns: str
    session: str
    ts: float
    """Unix time, taken after the change was committed."""
    code: int
    """The close code the room closes matching connections with (`CloseCode`)."""
    reason: str
    everyone: bool = False
    subs: list[str] = []
    grants: list[str] = []
    logins: list[str] = []
    guests: bool = False

    def matches(self, claims: JoinClaims) -> bool:
        if claims.iat > self.ts or (claims.ns, claims.session) != (self.ns, self.session):
            return False
        return (
            self.everyone
            or claims.sub in self.subs
            or (bool(claims.grant) and claims.grant in self.grants)
            or (bool(claims.lid) and claims.lid in self.logins)
            or (self.guests and claims.guest)
        )

    @property
    def close_code(self) -> CloseCode:
        try:
            return CloseCode(self.code)
        except ValueError:
            return CloseCode.REVOKED
