"""Process plugins: programs speaking JSON-RPC over stdio (or a WebSocket), supervised; also the worker that
runs a script plugin in its own process (`isolation: process`)."""
