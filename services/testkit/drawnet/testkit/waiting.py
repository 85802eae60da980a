"""Wait for a condition with a deadline, instead of sleeping and hoping."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class ConditionTimeoutError(AssertionError):
    """The condition did not hold before the deadline; says what was last seen."""


def eventually(
    predicate: Callable[[], T], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """Return `predicate()`'s first truthy value, polling until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = predicate()
        except Exception as error:  # noqa: BLE001 - the last error is the explanation if we time out
            last = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise ConditionTimeoutError(f"not true after {timeout}s: {what or predicate!r} (last: {last!r})")
        time.sleep(interval)


def holds(condition: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    """A plain condition as `eventually_async`'s predicate: `eventually_async(holds(lambda: x > 1))`."""

    async def check() -> bool:
        return condition()

    return check


async def eventually_async(
    predicate: Callable[[], Awaitable[T]], *, timeout: float = 10.0, interval: float = 0.02, what: str = ""
) -> T:
    """`eventually` for coroutines: awaits `predicate()` until it is truthy or `timeout` passes."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = await predicate()
        except Exception as error:  # noqa: BLE001
            last = error
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise ConditionTimeoutError(f"not true after {timeout}s: {what or predicate!r} (last: {last!r})")
        await asyncio.sleep(interval)
