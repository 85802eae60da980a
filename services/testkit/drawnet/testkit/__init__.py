"""Test helpers that are product code: real components on free ports, a scripted client, waiting."""

from drawnet.testkit.client import RoomClient
from drawnet.testkit.waiting import eventually, eventually_async, holds

__all__ = ["RoomClient", "eventually", "eventually_async", "holds"]
