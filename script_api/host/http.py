"""`fox.http`: aiohttp on the engine's loop, every hop (redirects included) checked by the gate first."""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from engine.errors import PluginError, PluginTimeout, ResourceLimitExceeded
from script_api.context import PluginContext

MAX_REDIRECTS = 5
DEFAULT_TIMEOUT = 30.0


def url_host(url: Any) -> str:
    """The host a URL would connect to; the gate decides on it before any connection is made."""
    parts = urlsplit(url if isinstance(url, str) else "")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PluginError(f"fox.http: {url!r} is not an http(s) URL", hint="use a URL like https://host/path")
    return parts.hostname


class HttpClient:
    """One connection pool for all plugins; responses are capped before they are read into memory."""

    def __init__(self, max_response_bytes: int) -> None:
        self.max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None

    async def fetch(self, ctx: PluginContext, method: str, url: str, opts: dict[str, Any]) -> dict[str, Any]:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers={"User-Agent": "foxplug"})
        call = f"fox.http.request({method} {url})"
        body = opts.get("body")
        if "json" in opts:
            body = json.dumps(opts["json"])
        headers = {str(k): str(v) for k, v in (opts.get("headers") or {}).items()}
        if "json" in opts:
            headers.setdefault("Content-Type", "application/json")
        params = {str(k): str(v) for k, v in (opts.get("query") or {}).items()} or None
        for _ in range(MAX_REDIRECTS + 1):
            async with self._session.request(
                method, url, headers=headers, params=params, data=body, allow_redirects=False
            ) as response:
                if response.status in (301, 302, 303, 307, 308) and "Location" in response.headers:
                    url = urljoin(str(response.url), response.headers["Location"])
                    ctx.authorize("network", url_host(url), call)
                    if response.status == 303:
                        method, body = "GET", None
                    params = None
                    continue
                return await self._read(ctx, response)
        raise PluginError(f"{call}: more than {MAX_REDIRECTS} redirects", plugin=ctx.plugin_id)

    async def _read(self, ctx: PluginContext, response: aiohttp.ClientResponse) -> dict[str, Any]:
        limit = self.max_response_bytes
        if (response.content_length or 0) > limit:
            raise ResourceLimitExceeded(
                f"fox.http: response of {response.content_length} bytes from {response.url} exceeds the "
                f"{limit}-byte cap",
                plugin=ctx.plugin_id,
            )
        data = bytearray()
        async for chunk in response.content.iter_chunked(65536):
            data += chunk
            if len(data) > limit:
                raise ResourceLimitExceeded(
                    f"fox.http: response from {response.url} exceeds the {limit}-byte cap",
                    plugin=ctx.plugin_id,
                )
        text = data.decode(response.charset or "utf-8", errors="replace")
        result: dict[str, Any] = {
            "status": response.status,
            "ok": 200 <= response.status < 300,
            "url": str(response.url),
            "headers": {k.lower(): v for k, v in response.headers.items()},
            "body": text,
        }
        if response.content_type == "application/json":
            with contextlib.suppress(json.JSONDecodeError):
                result["json"] = json.loads(text)
        return result

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def request(ctx: PluginContext, method: str, url: str, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    opts = opts or {}
    call = f"fox.http.request({method} {url})"
    timeout = min(float(opts.get("timeout", DEFAULT_TIMEOUT)), ctx.remaining(call))
    try:
        return ctx.services.run(ctx.services.http.fetch(ctx, method.upper(), url, opts), timeout)
    except TimeoutError:
        raise PluginTimeout(f"{call} took longer than {timeout:.3g} s", plugin=ctx.plugin_id) from None
    except aiohttp.ClientError as exc:
        raise PluginError(f"{call} failed: {exc}", plugin=ctx.plugin_id) from None


def get(ctx: PluginContext, url: str, opts: dict[str, Any] | None = None) -> dict[str, Any]:
    return request(ctx, "GET", url, opts)
