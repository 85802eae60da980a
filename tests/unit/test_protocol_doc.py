"""docs/protocol.md cannot drift from the protocol package: everything there must be named here."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec
import pytest

from drawnet.protocol import ClientMessage, CloseCode, Limits, Op, ServerMessage

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()


def _members(union: object) -> list[type[msgspec.Struct]]:
    return list(union.__args__)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "message", _members(ClientMessage) + _members(ServerMessage), ids=lambda m: m.__name__
)
def test_every_message_and_its_fields_are_documented(message: type[msgspec.Struct]) -> None:
    tag = message.__struct_config__.tag
    assert f"| `{tag}`" in DOC or f"`{tag}`," in DOC, f"message {tag!r} is not in docs/protocol.md"
    for field in message.__struct_fields__:
        assert f"`{field}`" in DOC, f"field {message.__name__}.{field} is not in docs/protocol.md"


@pytest.mark.parametrize("op", _members(Op), ids=lambda m: m.__name__)
def test_every_durable_op_is_documented(op: type[msgspec.Struct]) -> None:
    assert f"| `{op.__struct_config__.tag}` |" in DOC


@pytest.mark.parametrize("code", list(CloseCode), ids=lambda c: c.name)
def test_every_close_code_is_documented(code: CloseCode) -> None:
    assert re.search(rf"\| {code.value} \| `{code.name}` \|", DOC), f"close code {code} is not documented"


@pytest.mark.parametrize("limit", Limits.__struct_fields__)
def test_every_limit_is_documented_with_its_default(limit: str) -> None:
    default = getattr(Limits(), limit)
    shown = str(int(default)) if isinstance(default, float) and default.is_integer() else str(default)
    assert f"| `{limit}` | {shown} |" in DOC, f"limit {limit} (default {shown}) is not in the table"
