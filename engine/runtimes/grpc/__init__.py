"""`runtime: grpc`: plugins that are gRPC services speaking the musicfox.plugin proto (schemas/proto)."""
