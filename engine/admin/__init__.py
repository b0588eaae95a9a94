"""The admin HTTP API, both ends: the server that stands above an Engine (`serve_admin`) and its client."""

from __future__ import annotations

from engine.admin.server import AdminEndpoint, AdminServer
from engine.engine import Engine


async def serve_admin(engine: Engine, listen: tuple[str, int] | None = None) -> AdminEndpoint:
    """Start the admin HTTP server (`/metrics`, `/api/v1/plugins...`) on `monitoring.listen` (port 0: any free
    one); returns where it listens and its token. It stops when the engine closes."""
    server = AdminServer(engine, engine.config.monitoring.token)
    endpoint = await server.start(*(listen or engine.config.monitoring.listen))
    engine.on_close(server.close)
    return endpoint


__all__ = ["AdminEndpoint", "serve_admin"]
