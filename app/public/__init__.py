"""The public read path: Status API v2 feeds, RSS/Atom, the SSE stream and the HTML page, served as
snapshots (bytes rendered once per page revision) by a bare ASGI fast path in front of FastAPI."""
