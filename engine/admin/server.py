"""The admin HTTP server: Prometheus `/metrics` and a REST API to inspect and steer plugins while they serve.

Reads are open (it listens on loopback unless told otherwise) and never run plugin code: a web page can make a
browser send GETs, so a GET must not be a way to make a plugin work or fail. Every POST needs
`Authorization: Bearer <token>`. Only requests naming a loopback host or one of `monitoring.allowed_hosts` in `Host`
are answered, so a page whose DNS name is rebound to 127.0.0.1 reads nothing. Failures are JSON
`{error, message, ...}` with a status code; a traceback never leaves the process.
"""

from __future__ import annotations

import json
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from engine.admin.auth import bearer_matches
from engine.admin.connect import add_plugin_routes
from engine.engine import Engine
from engine.errors import (
    FoxplugError,
    PluginCrashed,
    PluginNotFound,
    PluginSuspended,
    PluginTimeout,
    ResourceLimitExceeded,
)
from engine.running.plugin import PluginInfo

log = logging.getLogger(__name__)

ACTIONS = {
    "start": "start_plugin",
    "stop": "stop_plugin",
    "reload": "reload",
    "enable": "enable",
    "disable": "disable",
    "rollback": "rollback",
}
"""POST /api/v1/plugins/{id}/{action} → the Engine method that does it."""

_CALL_STATUS: dict[type[FoxplugError], int] = {
    PluginNotFound: 404,
    PluginTimeout: 504,
    PluginCrashed: 503,
    ResourceLimitExceeded: 503,
    PluginSuspended: 503,
}
"""A probe call's failure; anything else the plugin raises is a 502: the upstream (the plugin) failed."""


_PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"
"""The text format `generate_latest` writes, which every Prometheus since 2.0 scrapes."""


@dataclass(frozen=True, slots=True)
class AdminEndpoint:
    """Where the admin server listens, and the token its mutations need."""

    host: str
    port: int
    token: str
    generated_token: bool
    """True when `monitoring.token` was unset and this run made one up (so it must be shown to the operator)."""

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def _nameable(host: str) -> bool:
    """A listen address clients can name (not a wildcard such as 0.0.0.0 or ::)."""
    return host not in ("", "0.0.0.0", "::")


def _host_name(header: str) -> str:
    """`127.0.0.1:9797` -> `127.0.0.1`, `[::1]:9797` -> `::1`, `Example.com` -> `example.com`."""
    if header.startswith("["):
        return header[1:].partition("]")[0].lower()
    return (header.rpartition(":")[0] if ":" in header else header).lower()


def _error(status: int, error: str, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": error, "message": message}, status=status, headers=headers or None)


def _failure(error: FoxplugError, status: int) -> web.Response:
    return web.json_response(error.to_dict(), status=status)


@web.middleware
async def _json_errors(request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]) -> Any:
    try:
        return await handler(request)
    except web.HTTPException as exc:  # aiohttp's own: unknown route, wrong method
        if exc.status == 404:
            return _error(404, "NotFound", f"no endpoint {request.method} {request.path}")
        return _error(exc.status, exc.reason.replace(" ", ""), f"{request.method} {request.path}: {exc.reason}")
    except PluginNotFound as error:
        return _failure(error, 404)
    except FoxplugError as error:
        return _failure(error, 500)
    except Exception:
        log.exception("admin request %s %s failed", request.method, request.path)
        return _error(500, "InternalError", "the engine failed to answer this request; its log has the details")


LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """The last answer of a plugin's `health()`, asked for by a POST."""

    report: Any
    healthy: bool
    at: float
    """Unix time of the check."""


class AdminServer:
    def __init__(self, engine: Engine, token: str | None) -> None:
        self._engine = engine
        self._token = token or secrets.token_urlsafe(24)
        self._generated = token is None
        self._runner: web.AppRunner | None = None
        self._hosts = {*LOOPBACK_NAMES, *engine.config.monitoring.allowed_hosts}
        self._checks: dict[str, HealthCheck] = {}
        self.endpoint: AdminEndpoint | None = None
        self._app = web.Application(middlewares=[self._known_host, _json_errors, self._authorized])
        self._app.add_routes(
            [
                web.get("/metrics", self._metrics),
                web.get("/api/v1/plugins", self._list),
                web.get("/api/v1/plugins/{id}", self._inspect),
                web.get("/api/v1/plugins/{id}/health", self._health),
                web.post("/api/v1/plugins/{id}/health", self._check_health),
                web.post("/api/v1/plugins/{id}/call/{method}", self._call),
                web.post("/api/v1/plugins/{id}/{action}", self._act),
            ]
        )
        # a check of a version or run that is gone says nothing about the one serving now
        self._forget_checks = [
            engine.on(event, lambda payload: self._checks.pop(payload["id"], None))
            for event in ("plugin_reloaded", "plugin_unloaded", "plugin_started", "plugin_enabled", "plugin_stopped")
        ]
        add_plugin_routes(self._app, engine)  # /plugin/connect: its own token (security.plugin_connect)

    async def start(self, host: str, port: int) -> AdminEndpoint:
        """Bind (port 0: a free one) and serve; raises OSError when the address is taken."""
        if self.endpoint is not None:
            return self.endpoint
        sock = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        # A request still running when the engine stops (a slow plugin probe) gets a second, not aiohttp's minute;
        # aiohttp's keep-alive timer also runs from the connection's start until its headers are in.
        runner = web.AppRunner(
            self._app,
            access_log=None,
            shutdown_timeout=1.0,
            keepalive_timeout=self._engine.config.monitoring.header_timeout,
        )
        await runner.setup()
        try:
            await web.SockSite(runner, sock).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        if _nameable(host):
            self._hosts.add(host.lower())
        self.endpoint = AdminEndpoint(host, sock.getsockname()[1], self._token, self._generated)
        return self.endpoint

    async def close(self) -> None:
        for unsubscribe in self._forget_checks:
            unsubscribe()
        self._forget_checks = []
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner, self.endpoint = None, None

    @web.middleware
    async def _known_host(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Answer only for the names this server is: a rebound DNS name arrives with its own name in `Host`."""
        name = _host_name(request.headers.get("Host", ""))
        if name not in self._hosts:
            return _error(
                421,
                "MisdirectedRequest",
                f"this server does not answer for host {name[:100]!r}; add it to monitoring.allowed_hosts",
            )
        return await handler(request)

    @web.middleware
    async def _authorized(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Mutations need the bearer token; reads do not."""
        if request.method in ("GET", "HEAD"):
            return await handler(request)
        if not bearer_matches(request, self._token):
            return _error(
                401,
                "Unauthorized",
                "this request changes the engine and needs `Authorization: Bearer <token>` "
                "(monitoring.token in the config, or the token `foxplug run` printed at start)",
                **{"WWW-Authenticate": 'Bearer realm="foxplug"'},
            )
        return await handler(request)

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=await self._engine.metrics_text(), headers={"Content-Type": _PROMETHEUS_TEXT})

    async def _entries(self, plugin_id: str | None = None) -> list[dict[str, Any]]:
        """Each plugin's info with its `performance` report."""
        engine = self._engine
        infos = [engine.plugin(plugin_id)] if plugin_id else engine.plugins
        reports = [await engine.report(plugin_id)] if plugin_id else await engine.reports()
        by_id = {report.plugin: report.to_dict() for report in reports}
        return [{**info.to_dict(), "performance": by_id.get(info.id)} for info in infos]

    async def _list(self, request: web.Request) -> web.Response:
        failed = [{"path": path, **error.to_dict()} for path, error in self._engine.load_errors.items()]
        return web.json_response({"plugins": await self._entries(), "load_errors": failed})

    async def _inspect(self, request: web.Request) -> web.Response:
        return web.json_response((await self._entries(request.match_info["id"]))[0])

    async def _health(self, request: web.Request) -> web.Response:
        """Whether the plugin is running and, if a POST asked its `health()` since it last (re)started, that
        answer; 200 when healthy, 503 when not. Runs no plugin code."""
        info = self._engine.plugin(request.match_info["id"])
        answer: dict[str, Any] = {"id": info.id, "state": info.state}
        healthy = info.state == "running"
        if (check := self._checks.get(info.id)) is not None:
            healthy = healthy and check.healthy
            answer.update(health=check.report, checked_at=check.at)
        answer["healthy"] = healthy
        return web.json_response(answer, status=200 if healthy else 503)

    async def _check_health(self, request: web.Request) -> web.Response:
        """Ask the plugin's own `health()` now (unhealthy if it fails or returns false or `{ok: false}`), keep
        the answer for GETs, and answer as a GET would."""
        info = self._engine.plugin(request.match_info["id"])
        if "health" in info.exports:
            try:
                report = await self._engine.call(info.id, "health")
            except FoxplugError as error:
                report, healthy = error.to_dict(), False
            else:
                healthy = report is not False and not (isinstance(report, dict) and report.get("ok") is False)
            self._checks[info.id] = HealthCheck(report, healthy, time.time())
        return await self._health(request)

    async def _act(self, request: web.Request) -> web.Response:
        action, plugin_id = request.match_info["action"], request.match_info["id"]
        if action not in ACTIONS:
            return _error(404, "NotFound", f"no action `{action}` (one of: {', '.join(ACTIONS)})")
        self._engine.plugin(plugin_id)  # an unknown plugin is a 404, not a conflict
        try:
            info: PluginInfo | None = await getattr(self._engine, ACTIONS[action])(plugin_id)
        except PluginTimeout as error:
            return _failure(error, 504)
        except FoxplugError as error:  # the plugin is there, but its state or files do not allow it
            return _failure(error, 409)
        return web.json_response(info.to_dict() if info else {"id": plugin_id, "state": "unloaded"})

    async def _call(self, request: web.Request) -> web.Response:
        plugin_id, method = request.match_info["id"], request.match_info["method"]
        info = self._engine.plugin(plugin_id)
        try:
            args = json.loads(await request.text() or "[]")
        except ValueError as exc:
            return _error(400, "BadRequest", f"the body is not JSON: {exc}")
        if not isinstance(args, list):
            return _error(400, "BadRequest", f"the body must be a JSON array of arguments, got {type(args).__name__}")
        try:
            result = await self._engine.call(plugin_id, method, *args)
        except FoxplugError as error:  # a disabled or stopped plugin: the engine's "plugin `x` is disabled"
            idle = info.state in ("disabled", "stopped")
            return _failure(error, 409 if idle else _CALL_STATUS.get(type(error), 502))
        return web.json_response({"result": result}, dumps=lambda value: json.dumps(value, default=str))
