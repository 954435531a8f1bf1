"""Jobs: thin wrappers over app functions that take what the worker built in on_startup."""

from __future__ import annotations

from typing import Any

from app.notifications.outbox import relay_pending


async def relay_outbox(ctx: dict[str, Any]) -> int:
    """Relay every pending outbox event (safe to run twice: rows are claimed with SKIP LOCKED)."""
    return await relay_pending(ctx["db"].sessionmaker)
