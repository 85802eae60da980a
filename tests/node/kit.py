"""What the real-node tests share: sessions applied as a platform team would, people in Chromium at a
release's public URL, and what its PostgreSQL stored."""

from __future__ import annotations

import contextlib
import copy
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from drawnet.testkit.cluster import pod_exec
from drawnet.testkit.operator import DrawingSessions, RawKube
from tests.browser.board_page import BoardPage

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from playwright.sync_api import Browser, BrowserContext

    from drawnet.testkit.cluster import Drawnet

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "drawingsession.yaml"
STROKE = [(120, 120), (180, 160), (240, 140), (300, 200)]


@contextlib.contextmanager
def sessions_of_the_test(kube: RawKube, namespace: str) -> Iterator[DrawingSessions]:
    """DrawingSessions in `namespace`; those made inside are deleted on leaving."""
    found = DrawingSessions(kube.api, namespace)
    before = {item["metadata"]["name"] for item in found.list()}
    yield found
    for item in found.list():
        if item["metadata"]["name"] not in before:
            found.delete(item["metadata"]["name"])


@contextlib.contextmanager
def people_at(browser: Browser, url: str) -> Iterator[Callable[[str], BoardPage]]:
    """Makes new people, each with a browser context of their own, at a web app's `url`."""
    contexts: list[BrowserContext] = []

    def new_person(name: str) -> BoardPage:
        context = browser.new_context(viewport={"width": 1100, "height": 720})
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = BoardPage(context.new_page(), url)
        page.as_person(name)
        return page

    yield new_person
    for context in contexts:
        context.close()


def apply_example(sessions: DrawingSessions, name: str | None = None) -> str:
    """`kubectl apply -f examples/drawingsession.yaml` (under another name when given); its name."""
    manifest = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    if name is not None:
        manifest = copy.deepcopy(manifest)
        manifest["metadata"]["name"] = name
    sessions.create(manifest)
    session_name: str = manifest["metadata"]["name"]
    return session_name


def people_at_a_new_board(
    sessions: DrawingSessions, person: Callable[[str], BoardPage], prefix: str, *names: str
) -> tuple[str, list[BoardPage]]:
    """The example session applied under a new name, Ready; then each of `names` opens it, live."""
    name = apply_example(sessions, unique(prefix))
    sessions.wait_for_condition(name, "Ready", timeout=90)
    people = [person(who) for who in names]
    for someone in people:
        someone.open(name)
    return name, people


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def sql(drawnet: Drawnet, kube: RawKube, query: str) -> str:
    """A query run with psql in the evaluation PostgreSQL's pod (its socket: local trust); its output."""
    pod = kube.list("v1", "Pod", drawnet.namespace, selector="app.kubernetes.io/component=postgresql")[0]
    output = pod_exec(
        kube.api,
        drawnet.namespace,
        pod["metadata"]["name"],
        ["psql", "-U", "drawnet", "-d", "drawnet", "-tAc", query],
    )
    return output.strip()


def stored_ops(drawnet: Drawnet, kube: RawKube, session: str, namespace: str = "") -> int:
    # Names of DNS labels: no quote can be in them.
    namespace = namespace or drawnet.namespace
    query = f"select count(*) from ops where namespace = '{namespace}' and session = '{session}'"  # noqa: S608
    return int(sql(drawnet, kube, query))


def draw_strokes(person: BoardPage, count: int, *, offset: int = 0) -> None:
    for index in range(count):
        dy = 12 * (index + offset)
        person.draw_stroke([(x, y + dy) for x, y in STROKE])
