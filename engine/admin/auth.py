"""Bearer tokens, checked in constant time: the admin API's mutations and `/plugin/connect` both need one."""

from __future__ import annotations

import hmac

from aiohttp import web


def bearer_matches(request: web.Request, token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>`."""
    scheme, _, offered = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(offered.strip().encode(), token.encode())
