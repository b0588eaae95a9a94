"""A plugin service as someone else would write it straight from the seed's proto: generated stubs, only
MusicSourceService.Search, PluginService and the standard grpc.health.v1, no foxplug SDK.

    python seed_search_service.py --name a [--host H] [--port 0] [--delay 0.0] [--title-bytes N]
        [--trace-file spans.jsonl] [--tls-cert cert.pem --tls-key key.pem]

Prints its port on stdout once serving. SIGUSR1 makes it report NOT_SERVING, SIGUSR2 SERVING again.
Each song it returns names the replica in `metadata["replica"]`, so tests can tell who answered.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from concurrent import futures

import grpc
from google.protobuf.empty_pb2 import Empty
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from script_api.protos.musicfox import plugin_pb2 as pb
from script_api.protos.musicfox import plugin_pb2_grpc as pb_grpc


class Source(pb_grpc.MusicSourceServiceServicer):
    def __init__(self, name: str, delay: float, title_bytes: int) -> None:
        self.name = name
        self.delay = delay
        self.title_bytes = title_bytes

    def Search(self, request, context):
        time.sleep(self.delay)
        song = pb.SongInfo(
            id=f"{self.name}-1",
            title=request.query.ljust(self.title_bytes, "x"),
            artist="Stranger",
            album="Seed",
            duration=1000,
            metadata={"replica": self.name},
        )
        return pb.SearchResponse(songs=[song], total=1)


class Plugin(pb_grpc.PluginServiceServicer):
    def __init__(self, name: str) -> None:
        self.name = name

    def Initialize(self, request, context):
        return pb.InitializeResponse(success=True, message=f"hello {request.plugin_id}")

    def Start(self, request, context):
        return Empty()

    def Stop(self, request, context):
        return Empty()

    def HealthCheck(self, request, context):
        return pb.HealthResponse(status=pb.HealthResponse.SERVING)

    def GetInfo(self, request, context):
        return pb.PluginInfo(id="stranger", name=self.name, version="1.0.0", capabilities=["search"])

    def GetCapabilities(self, request, context):
        return pb.CapabilitiesResponse(capabilities=["search"])


def tracing_interceptors(path: str) -> list:
    """OpenTelemetry's server interceptor, writing each finished span as a JSON line to `path`."""
    from opentelemetry.instrumentation.grpc import server_interceptor
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class FileExporter(SpanExporter):
        def export(self, spans):
            with open(path, "a") as out:
                for span in spans:
                    parent = span.parent
                    out.write(
                        json.dumps(
                            {
                                "name": span.name,
                                "kind": span.kind.name,
                                "trace_id": format(span.context.trace_id, "032x"),
                                "span_id": format(span.context.span_id, "016x"),
                                "parent_id": format(parent.span_id, "016x") if parent else None,
                            }
                        )
                        + "\n"
                    )
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(FileExporter()))
    return [server_interceptor(tracer_provider=provider)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--title-bytes", type=int, default=0, help="pad every title to this many bytes")
    parser.add_argument("--trace-file")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    interceptors = tracing_interceptors(args.trace_file) if args.trace_file else []
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8), interceptors=interceptors)
    pb_grpc.add_MusicSourceServiceServicer_to_server(Source(args.name, args.delay, args.title_bytes), server)
    pb_grpc.add_PluginServiceServicer_to_server(Plugin(args.name), server)
    checker = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(checker, server)
    address = f"{args.host}:{args.port}"
    if args.tls_cert:
        with open(args.tls_key, "rb") as key, open(args.tls_cert, "rb") as cert:
            port = server.add_secure_port(address, grpc.ssl_server_credentials([(key.read(), cert.read())]))
    else:
        port = server.add_insecure_port(address)
    server.start()

    def set_all(status: int) -> None:
        for service in ("", "musicfox.plugin.MusicSourceService", "musicfox.plugin.PluginService"):
            checker.set(service, status)

    set_all(health_pb2.HealthCheckResponse.SERVING)
    signal.signal(signal.SIGUSR1, lambda *_: set_all(health_pb2.HealthCheckResponse.NOT_SERVING))
    signal.signal(signal.SIGUSR2, lambda *_: set_all(health_pb2.HealthCheckResponse.SERVING))
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    print(port, flush=True)
    while not done.wait(0.2):
        pass
    server.stop(0)
    os._exit(0)  # not waiting for a handler still asleep in --delay


if __name__ == "__main__":
    main()
