"""The chart's alerts through promtool (Debian's prometheus package): the rendered rule file passes
`promtool check rules`, and every alert has unit tests (`promtool test rules`, alerts.test.yaml) that make
it fire and keep it quiet. Every alert says what to do: a summary, a description, a runbook note and a
runbook link to its section of docs/deploy.md."""

from __future__ import annotations

import copy
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.chart.helm import ROOT
from tests.monitoring.rules import alerts, promtool, rendered_rules

HERE = Path(__file__).parent


def _promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *map(str, args)], capture_output=True, text=True, check=False, timeout=60
    )


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return rendered_rules(tmp_path_factory.mktemp("rules"), {"monitoring": {"alertLabels": {}}})


def test_promtool_checks_the_rendered_rules(rules: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = _promtool("check", "rules", path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alerts(rules))} rules found" in result.stdout


def test_promtool_unit_tests_of_every_alert_pass(rules: dict[str, Any], tmp_path: Path) -> None:
    # The comparison covers labels and the summary; the longer notes are checked below.
    rules = copy.deepcopy(rules)
    for alert in alerts(rules):
        alert["annotations"] = {"summary": alert["annotations"]["summary"]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules), encoding="utf-8")
    shutil.copy(HERE / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    result = _promtool("test", "rules", tmp_path / "alerts.test.yaml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_keeps_it_quiet(rules: dict[str, Any]) -> None:
    tests = yaml.safe_load((HERE / "alerts.test.yaml").read_text(encoding="utf-8"))["tests"]
    fired: set[str] = set()
    quiet: set[str] = set()
    for case in tests:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    names = {alert["alert"] for alert in alerts(rules)}
    assert names - fired == set(), "alerts no test makes fire"
    assert names - quiet == set(), "alerts no test keeps quiet"
    assert (fired | quiet) - names == set(), "tests of alerts that do not exist"


def test_every_alert_says_what_to_do_and_links_its_runbook(rules: dict[str, Any]) -> None:
    deploy = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    anchors = {
        re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
        for heading in re.findall(r"^#+ (.+)$", deploy, flags=re.MULTILINE)
    }
    for alert in alerts(rules):
        name, annotations = alert["alert"], alert["annotations"]
        assert alert["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert {"summary", "description", "runbook", "runbook_url"} <= annotations.keys(), name
        anchor = annotations["runbook_url"].rsplit("#", 1)[1]
        assert anchor == name.lower()
        assert anchor in anchors, f"docs/deploy.md has no section {name} (the runbook of the alert)"


def test_extra_alert_labels_reach_every_alert(tmp_path: Path) -> None:
    rules = rendered_rules(tmp_path, {"monitoring": {"alertLabels": {"team": "draw"}}})
    for alert in alerts(rules):
        assert alert["labels"]["team"] == "draw"
        assert "severity" in alert["labels"]
