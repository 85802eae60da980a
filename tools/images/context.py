"""The inputs of an image build, as a digest: `python3 context.py DOCKERFILE CONTEXT [EXTRA...]` prints the
sha256 of the Dockerfile, every file of the build context that its .dockerignore lets through (path,
executable bit and content) and the EXTRA strings (the base image's digest). tools/images/build.sh tags
each image with it, so an unchanged image keeps its tag and is not built again. `--list` prints the
files instead.

.dockerignore is read as Docker and buildah read it: patterns in Go's filepath.Match syntax plus `**`,
leading `!` re-includes, and the last pattern that matches a path (or one of its parent directories)
decides."""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path


def _regex(pattern: str) -> re.Pattern[str]:
    """Go's filepath.Match on slash-separated paths, with `**` for any number of directories."""
    out = ""
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern.startswith("/", i):  # `**/`: zero or more directories
                i += 1
                out += "(?:.*/)?"
            else:
                out += ".*"
            continue
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end < 0:
                out += re.escape(char)
            else:
                body = pattern[i + 1 : end]
                if body.startswith("^"):
                    body = "!" + body[1:]
                out += "[" + ("^" + body[1:] if body.startswith("!") else body) + "]"
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out += re.escape(pattern[i])
        else:
            out += re.escape(char)
        i += 1
    return re.compile(out + r"\Z")


class DockerIgnore:
    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, str, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negated = line.startswith("!")
            if negated:
                line = line[1:].strip()
            cleaned = os.path.normpath(line).lstrip("/")
            if cleaned in {"", "."}:
                continue
            self.rules.append((negated, cleaned, _regex(cleaned)))

    def excluded(self, path: str) -> bool:
        """Whether the context leaves out `path` (relative, slash-separated)."""
        parents = path.split("/")
        candidates = ["/".join(parents[: n + 1]) for n in range(len(parents))]
        result = False
        for negated, _, regex in self.rules:
            if any(regex.match(candidate) for candidate in candidates):
                result = not negated
        return result

    def may_include_below(self, directory: str) -> bool:
        """Whether some `!` rule could let in a path under an excluded `directory`."""
        for negated, pattern, _ in self.rules:
            if not negated:
                continue
            literal = re.split(r"[*?\[\\]", pattern, maxsplit=1)[0]
            if literal.startswith(directory + "/") or (directory + "/").startswith(literal):
                return True
        return False


def context_files(context: Path) -> list[str]:
    ignore_file = context / ".dockerignore"
    ignore = DockerIgnore(ignore_file.read_text(encoding="utf-8") if ignore_file.is_file() else "")
    found: list[str] = []
    for top, dirs, files in os.walk(context):
        rel_top = os.path.relpath(top, context)
        prefix = "" if rel_top == "." else rel_top.replace(os.sep, "/") + "/"
        kept = []
        for name in sorted(dirs):
            path = prefix + name
            if not ignore.excluded(path) or ignore.may_include_below(path):
                kept.append(name)
        dirs[:] = kept
        found.extend(
            prefix + name
            for name in sorted(files)
            if not ignore.excluded(prefix + name) and not (Path(top) / name).is_symlink()
        )
    return sorted(found)


def digest(dockerfile: Path, context: Path, extras: list[str]) -> str:
    h = hashlib.sha256()
    h.update(b"dockerfile\0" + dockerfile.read_bytes() + b"\0")
    for path in context_files(context):
        full = context / path
        executable = os.access(full, os.X_OK)
        h.update(f"file\0{path}\0{'x' if executable else '-'}\0{full.stat().st_size}\0".encode())
        h.update(full.read_bytes())
    for extra in extras:
        h.update(b"extra\0" + extra.encode() + b"\0")
    return h.hexdigest()


def main(argv: list[str]) -> None:
    if argv[:1] == ["--list"] and len(argv) == 2:
        sys.stdout.write("".join(f"{path}\n" for path in context_files(Path(argv[1]))))
    elif len(argv) >= 2 and not argv[0].startswith("-"):
        sys.stdout.write(digest(Path(argv[0]), Path(argv[1]), argv[2:]) + "\n")
    else:
        sys.exit("usage: context.py DOCKERFILE CONTEXT [EXTRA...] | --list CONTEXT")


if __name__ == "__main__":
    main(sys.argv[1:])
