"""Asking the drawing service to archive a session's board (the delete finalizer's one job)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import httpx


class ArchiveError(Exception):
    """The drawing service did not archive the board; the message says what it answered."""


@dataclass(frozen=True)
class Archived:
    strokes: int
    seq: int


def archive_url(base_url: str, namespace: str, session: str) -> str:
    """`POST <drawing>/api/v1/sessions/<session>/archive?namespace=<namespace>`: the session's own board
    (one drawing service stores every namespace's ops); `{namespace}` in the base URL is the session's
    namespace too (a drawing service per namespace)."""
    base = base_url.replace("{namespace}", namespace).rstrip("/")
    return f"{base}/api/v1/sessions/{quote(session, safe='')}/archive?namespace={quote(namespace, safe='')}"


async def archive_board(
    client: httpx.AsyncClient, *, base_url: str, token: str, namespace: str, session: str
) -> Archived:
    """Archive one board; idempotent on the drawing service's side, so a retry after a lost answer is fine."""
    url = archive_url(base_url, namespace, session)
    try:
        response = await client.post(url, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as error:
        raise ArchiveError(f"POST {url} failed: {error!r}") from error
    if response.status_code != 200:
        raise ArchiveError(f"POST {url} answered {response.status_code}: {response.text[:300]}")
    try:
        body = response.json()
        return Archived(strokes=int(body["strokes"]), seq=int(body["seq"]))
    except (ValueError, KeyError, TypeError) as error:
        raise ArchiveError(
            f"POST {url} answered 200 with an unexpected body: {response.text[:300]}"
        ) from error
