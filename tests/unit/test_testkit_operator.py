"""The operator log check the RBAC tests rely on: it must catch every refusal, and nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from drawnet.testkit.operator import OperatorProcess

if TYPE_CHECKING:
    from pathlib import Path


def _errors(tmp_path: Path, text: str) -> list[str]:
    log = tmp_path / "operator.log"
    log.write_text(text, encoding="utf-8")
    return OperatorProcess(tmp_path / "kubeconfig", log_path=log).permission_errors()


def test_a_random_namespace_containing_403_is_not_a_refusal(tmp_path: Path) -> None:
    text = "INFO drawnet.operator.reconcile: created Pod test-6bdce403738d/room-least\nINFO sessions: 14030\n"
    assert _errors(tmp_path, text) == []


def test_refusals_are_found_however_they_are_worded(tmp_path: Path) -> None:
    lines = [
        "ERROR kopf.objects: APIForbiddenError: pods is forbidden",
        "ERROR kubernetes: (403)",
        "ERROR kubernetes: HTTP 403: Forbidden",
        'ERROR drawnet: {"kind": "Status", "code": 403}',
    ]
    assert _errors(tmp_path, "INFO fine\n" + "\n".join(lines) + "\n") == lines
