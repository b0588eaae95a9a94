"""OpenTelemetry tracing for one engine (`monitoring.tracing`): its own TracerProvider, never the global one,
so two engines in one process (or a host that traces itself) do not mix their spans.

Every plugin call is a span (`foxplug.call <plugin>.<function>`, running/plugin.py); a gRPC plugin's channel
carries it on (the client interceptor, engine/runtimes/grpc/channel.py), and a service that traces too continues
the same trace: engine span → client span → server span.
"""

from __future__ import annotations

import sys
from typing import Any

from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

from engine.config import TracingSettings


class Tracing:
    """The provider plugins' spans go to, and (with `exporter: memory`) the spans it finished."""

    def __init__(self, settings: TracingSettings, service_name: str = "foxplug") -> None:
        self.provider = TracerProvider(
            resource=Resource.create({"service.name": service_name}),
            sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
        )
        self._memory: InMemorySpanExporter | None = None
        if settings.exporter == "memory":
            self._memory = InMemorySpanExporter()
            self.provider.add_span_processor(SimpleSpanProcessor(self._memory))
        elif settings.exporter == "console":
            self.provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
        else:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            options: dict[str, Any] = {"endpoint": settings.endpoint} if settings.endpoint else {}
            self.provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(**options)))

    def spans(self) -> tuple[ReadableSpan, ...]:
        """Finished spans, oldest first (only with `exporter: memory`)."""
        return tuple(self._memory.get_finished_spans()) if self._memory is not None else ()

    def shutdown(self) -> None:
        """Export what is pending and stop."""
        self.provider.shutdown()
