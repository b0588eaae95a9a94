"""The engine as a player's sidecar: `foxplug serve` over stdio or gRPC."""
