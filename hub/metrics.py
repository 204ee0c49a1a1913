"""Prometheus metrics, one registry per app so several hubs can share a process."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from hub import boundary

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.connections = Gauge("liaison_connections", "Open WebSocket connections",
                                 registry=r)
        self.frames_in = Counter("liaison_frames_in_total", "Frames received, by type",
                                 ["type"], registry=r)
        self.frames_out = Counter("liaison_frames_out_total", "Frames queued to send, by type",
                                  ["type"], registry=r)
        self.refusals = Counter("liaison_refusals_total",
                                "Refused requests, frames and connections, by reason",
                                ["reason"], registry=r)
        self.messages_stored = Counter("liaison_messages_stored_total",
                                       "Chat messages durably stored", registry=r)
        self.fanout_latency = Histogram(
            "liaison_fanout_latency_seconds",
            "From broker publish to the message queued for every local subscriber",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
            registry=r)
        self.out_message = self.frames_out.labels("message")
        r.register(_Poisoned())

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Poisoned(Collector):
    """Stored documents that had to be repaired before they could be served."""

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "liaison_poisoned_records",
            "Stored records or events served after repairing values that cannot be encoded "
            "(run 'liaison repair')", value=boundary.repaired_total())
