"""The revocations a room knows of (`drawnet.protocol.access`), kept while a token they concern may live."""

from __future__ import annotations

from collections import defaultdict

from drawnet.protocol.access import Revocation
from drawnet.protocol.tokens import JoinClaims


class Revocations:
    """By session: the revocations of the last `keep_seconds` (the access stream's retention)."""

    def __init__(self, keep_seconds: float) -> None:
        self.keep_seconds = keep_seconds
        self._by_session: defaultdict[tuple[str, str], list[Revocation]] = defaultdict(list)

    def add(self, revocation: Revocation) -> None:
        self._by_session[(revocation.ns, revocation.session)].append(revocation)

    def refusal(self, claims: JoinClaims, now: float) -> Revocation | None:
        """The newest revocation that closes this token, or None."""
        key = (claims.ns, claims.session)
        kept = self._by_session.get(key)
        if not kept:
            return None
        horizon = now - self.keep_seconds
        if kept[0].ts < horizon:
            kept[:] = [revocation for revocation in kept if revocation.ts >= horizon]
            if not kept:
                del self._by_session[key]
                return None
        for revocation in reversed(kept):
            if revocation.matches(claims):
                return revocation
        return None

    def __len__(self) -> int:
        return sum(len(kept) for kept in self._by_session.values())
