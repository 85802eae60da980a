"""Reading a Prometheus text exposition in tests."""

from __future__ import annotations


def metric(text: str, series: str) -> float:
    """The value of one series (its name, with its labels as exposed) in a Prometheus text exposition."""
    for row in text.splitlines():
        if row.startswith(series + " "):
            return float(row.rsplit(" ", 1)[1])
    raise AssertionError(f"{series} is not exported")
