"""The admin API of a running `foxplug run`, as `foxplug top|stats|rollback` use it.

Errors come back as the engine's own classes (the API sends the class name), so the CLI prints the same
`PluginNotFound: ...` line it would print for a local call.
"""

from __future__ import annotations

from typing import Any

import aiohttp

from engine.config import Monitoring
from engine.errors import FoxplugError, PermissionDenied, error_class


def admin_url(monitoring: Monitoring) -> str:
    """Where a local client reaches the configured admin server (a wildcard address means this machine)."""
    host, port = monitoring.listen
    host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(host, host)
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _error(payload: Any, status: int) -> FoxplugError:
    if not isinstance(payload, dict):
        return FoxplugError(f"the admin API answered {status}: {str(payload)[:200]}")
    message = str(payload.get("message", f"the admin API answered {status}"))
    if status == 401:
        return PermissionDenied(message, hint="pass --token, or set FOXPLUG_TOKEN")
    return (error_class(payload.get("error")) or FoxplugError)(message, plugin=payload.get("plugin"))


class AdminClient:
    def __init__(self, url: str, token: str | None = None) -> None:
        self.url = url.rstrip("/")
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AdminClient:
        self._session = aiohttp.ClientSession(headers=self._headers, timeout=aiohttp.ClientTimeout(total=30))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def _request(self, method: str, path: str) -> Any:
        assert self._session is not None, "use `async with AdminClient(...)`"
        try:
            async with self._session.request(method, self.url + path) as response:
                payload = await response.json(content_type=None)
                if response.status >= 400:
                    raise _error(payload, response.status)
                return payload
        except aiohttp.ClientConnectionError as exc:
            raise ConnectionError(
                f"no foxplug admin API answers at {self.url} ({exc}) — is `foxplug run` up? (or pass --url)"
            ) from None
        except ValueError as exc:
            raise ConnectionError(f"{self.url} is not a foxplug admin API: {exc}") from None

    async def plugins(self) -> dict[str, Any]:
        """`GET /api/v1/plugins`: `{"plugins": [...], "load_errors": [...]}`."""
        return await self._request("GET", "/api/v1/plugins")

    async def act(self, plugin_id: str, action: str) -> dict[str, Any]:
        """`POST /api/v1/plugins/{id}/{action}` (start, stop, reload, enable, disable, rollback)."""
        return await self._request("POST", f"/api/v1/plugins/{plugin_id}/{action}")
