"""hub/metrics.py: the hub's Prometheus metrics, each in its own registry."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from hub.boundary import note_repaired
from hub.metrics import Metrics


def samples(metrics: Metrics) -> dict[str, float]:
    out = {}
    for family in text_string_to_metric_families(metrics.render().decode()):
        for s in family.samples:
            label = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{label}}}" if label else s.name] = s.value
    return out


def test_counters_gauges_and_the_latency_histogram_render() -> None:
    m = Metrics()
    m.connections.set(3)
    m.frames_in.labels("publish").inc(2)
    m.out_message.inc()
    m.messages_stored.inc(5)
    m.fanout_latency.observe(0.002)
    got = samples(m)
    assert got["liaison_connections"] == 3
    assert got["liaison_frames_in_total{type=publish}"] == 2
    assert got["liaison_frames_out_total{type=message}"] == 1
    assert got["liaison_messages_stored_total"] == 5
    assert got["liaison_fanout_latency_seconds_count"] == 1
    assert got["liaison_fanout_latency_seconds_bucket{le=0.0025}"] == 1
    assert got["liaison_fanout_latency_seconds_bucket{le=0.001}"] == 0


def test_two_hubs_in_one_process_do_not_share_metrics() -> None:
    a, b = Metrics(), Metrics()
    a.messages_stored.inc()
    assert samples(a)["liaison_messages_stored_total"] == 1
    assert samples(b)["liaison_messages_stored_total"] == 0


def test_the_poisoned_records_counter_follows_repairs() -> None:
    m = Metrics()
    before = samples(m)["liaison_poisoned_records_total"]
    note_repaired("test record")
    assert samples(m)["liaison_poisoned_records_total"] == before + 1
