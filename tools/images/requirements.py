"""What an image installs, read from pyproject.toml: `python3 requirements.py room` prints `dependencies`
and the `room` extra (the extras it names, such as `drawnet[room,drawing]`, followed), one requirement a
line, for `pip install --constraint constraints.txt --requirement -`; `--build-system` prints
`build-system.requires` (hatchling). Standard library only: it runs inside images/*/Dockerfile's build
stage before the source is copied, so that the dependencies form their own cached layer."""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path
from typing import Any

SELF = re.compile(r"^\s*drawnet\s*\[([^\]]*)\]\s*$", re.IGNORECASE)


def requirements(project: dict[str, Any], extras: list[str]) -> list[str]:
    optional: dict[str, list[str]] = project.get("optional-dependencies", {})
    found: list[str] = list(project.get("dependencies", []))
    seen: set[str] = set()
    todo = list(extras)
    while todo:
        extra = todo.pop(0)
        if extra in seen:
            continue
        if extra not in optional:
            known = ", ".join(optional)
            sys.exit(f"requirements.py: pyproject.toml has no extra {extra!r} (it has: {known})")
        seen.add(extra)
        for requirement in optional[extra]:
            own = SELF.match(requirement)
            if own:
                todo.extend(name.strip() for name in own.group(1).split(",") if name.strip())
            elif requirement not in found:
                found.append(requirement)
    return found


def main(argv: list[str]) -> None:
    pyproject = tomllib.loads(Path("pyproject.toml").read_text(encoding="utf-8"))
    if argv == ["--build-system"]:
        lines = list(pyproject["build-system"]["requires"])
    elif argv and not any(arg.startswith("-") for arg in argv):
        lines = requirements(pyproject["project"], argv)
    else:
        sys.exit("usage: requirements.py EXTRA... | --build-system")
    sys.stdout.write("".join(f"{line}\n" for line in lines))


if __name__ == "__main__":
    main(sys.argv[1:])
