"""The operator's view of a session's children: what its watches deliver and what its own writes return,
in the order they reach it."""

from __future__ import annotations

from typing import Any

from drawnet.operator.builders import admitted, build_route
from drawnet.operator.reconcile import ClusterView
from drawnet.operator.settings import OperatorSettings

KEY = ("drawnet", "retro")


def ingress(uid: str, *, address: bool) -> dict[str, Any]:
    settings = OperatorSettings(exposure="ingress", public_host="draw.example")
    route = build_route(*KEY, settings)
    assert route is not None
    route["metadata"] = {**route["metadata"], "uid": uid, "namespace": KEY[0]}
    if address:
        route["status"] = {"loadBalancer": {"ingress": [{"ip": "198.18.0.1"}]}}
    return route


def test_a_create_response_older_than_the_watch_does_not_hide_the_controllers_admission() -> None:
    """Found on the real node: Traefik wrote the new Ingress's address while the operator's create was in
    flight; the watch delivered it first, then the create's response (no status) replaced it, and the
    session stayed RouteNotAdmitted for ever (Traefik writes the status once)."""
    view = ClusterView()
    view.sessions[KEY] = {"metadata": {"namespace": KEY[0], "name": KEY[1]}}
    assert view.observe_child("Ingress", "ADDED", ingress("u1", address=True)) == KEY
    view.observe_own_write("Ingress", KEY, ingress("u1", address=False))
    assert admitted("Ingress", view.routes[KEY]) == (True, "")


def test_our_own_write_is_kept_when_the_watch_has_not_seen_that_object() -> None:
    view = ClusterView()
    view.observe_own_write("Ingress", KEY, ingress("u1", address=False))
    assert view.routes[KEY]["metadata"]["uid"] == "u1"
    # A new incarnation (the old one deleted and made again) replaces the old one's copy.
    view.observe_own_write("Ingress", KEY, ingress("u2", address=False))
    assert view.routes[KEY]["metadata"]["uid"] == "u2"
    assert "managedFields" not in view.routes[KEY]["metadata"]
