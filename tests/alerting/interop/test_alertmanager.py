"""alerting/interop/alertmanager.py: Alertmanager and Grafana webhook bodies read as alerts."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.interop.alertmanager import DEFAULT_SEVERITY, read_notification, severity_of
from hub.errors import BadRequest

#: The shape of Alertmanager's webhook v4 body (its documentation's fields), two alerts.
ALERTMANAGER = {
    "version": "4",
    "groupKey": '{}/{severity="critical"}:{alertname="RiverLevelHigh"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "liaison-hub",
    "groupLabels": {"alertname": "RiverLevelHigh"},
    "commonLabels": {"alertname": "RiverLevelHigh", "severity": "critical"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.org:9093",
    "notification_reason": "first notification",
    "alerts": [
        {"status": "firing",
         "labels": {"alertname": "RiverLevelHigh", "severity": "critical", "gauge": "kerns-7",
                    "instance": "gauge-7:9100"},
         "annotations": {"summary": "River at Kerns above 4 m",
                         "description": "Gauge 7 reads 4.2 m and rising 0.3 m/h.",
                         "runbook_url": "https://wiki.example.org/flood"},
         "startsAt": "2026-12-01T09:58:00.000Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=level%3E4",
         "fingerprint": "c4a1e7d2b9f03a15"},
        {"status": "firing",
         "labels": {"alertname": "RiverLevelHigh", "severity": "critical", "gauge": "sarnen-2"},
         "annotations": {"summary": "River at Sarnen above 4 m"},
         "startsAt": "2026-12-01T09:59:30.000Z", "endsAt": "0001-01-01T00:00:00Z",
         "generatorURL": "http://prometheus.example.org:9090/graph?g0.expr=level%3E4",
         "fingerprint": "0d9e8f7a6b5c4d3e"},
    ],
}
#: Grafana's unified-alerting webhook: the same alerts, its own version and extra links.
GRAFANA = {
    "receiver": "liaison", "status": "firing", "orgId": 1, "version": "1",
    "groupKey": '{}:{alertname="Shelter occupancy"}', "truncatedAlerts": 0,
    "groupLabels": {"alertname": "Shelter occupancy"},
    "commonLabels": {"alertname": "Shelter occupancy", "grafana_folder": "Shelters"},
    "commonAnnotations": {}, "externalURL": "https://grafana.example.org/",
    "title": "[FIRING:1] Shelter occupancy", "state": "alerting",
    "message": "Shelter School 4 at 98 %",
    "alerts": [{
        "status": "firing",
        "labels": {"alertname": "Shelter occupancy", "shelter": "school-4",
                   "priority": "P2"},
        "annotations": {"description": "School 4 is at 98 % of its 120 beds"},
        "startsAt": "2026-12-01T10:04:00Z", "endsAt": "0001-01-01T00:00:00Z",
        "generatorURL": "https://grafana.example.org/alerting/grafana/abc/view",
        "fingerprint": "a1b2c3d4e5f60718",
        "silenceURL": "https://grafana.example.org/alerting/silence/new?x=1",
        "dashboardURL": "https://grafana.example.org/d/shelters",
        "panelURL": "https://grafana.example.org/d/shelters?viewPanel=2",
        "values": {"B": 98.0}, "valueString": "[ var='B' value=98 ]",
    }],
}


def test_an_alertmanager_group_becomes_one_alert_per_fingerprint() -> None:
    first, second = read_notification(ALERTMANAGER)
    assert first.fingerprint == "am:c4a1e7d2b9f03a15" and first.firing
    assert first.severity == "critical" and first.summary == "River at Kerns above 4 m"
    assert first.labels["gauge"] == "kerns-7"
    assert first.annotations["runbook_url"] == "https://wiki.example.org/flood"
    assert first.links == {"generator": ALERTMANAGER["alerts"][0]["generatorURL"],  # type: ignore[index]
                           "source": "http://alertmanager.example.org:9093"}
    assert first.details.startswith("Gauge 7 reads 4.2 m and rising 0.3 m/h.")
    assert "runbook_url: https://wiki.example.org/flood" in first.details
    assert second.fingerprint == "am:0d9e8f7a6b5c4d3e"
    assert first.occurrence != second.occurrence and not first.exercise


def test_a_grafana_notification_keeps_its_links_and_a_configured_severity_label() -> None:
    [alert] = read_notification(GRAFANA, severity_label="priority")
    assert alert.severity == "major"  # P2
    assert alert.summary == "Shelter occupancy"  # no summary annotation: the alert's name
    assert alert.links["dashboard"] == "https://grafana.example.org/d/shelters"
    assert alert.links["silence"].startswith("https://grafana.example.org/alerting/silence")
    assert read_notification(GRAFANA)[0].severity == DEFAULT_SEVERITY  # no 'severity' label


def test_a_resend_is_recognisable_and_a_change_is_not() -> None:
    again = copy.deepcopy(ALERTMANAGER)
    again["notification_reason"] = "repeat interval elapsed"
    assert [a.occurrence for a in read_notification(again)] == \
        [a.occurrence for a in read_notification(ALERTMANAGER)]
    resolved = copy.deepcopy(ALERTMANAGER)
    resolved["alerts"][0].update(status="resolved", endsAt="2026-12-01T11:00:00Z")  # type: ignore[index]
    first = read_notification(resolved)[0]
    assert not first.firing and first.occurrence != read_notification(ALERTMANAGER)[0].occurrence


@pytest.mark.parametrize(("value", "severity"), [
    ("critical", "critical"), ("CRITICAL", "critical"), ("page", "critical"),
    ("error", "major"), ("warning", "minor"), ("info", "info"), ("none", "info"),
    ("P1", "critical"), ("", DEFAULT_SEVERITY), ("purple", DEFAULT_SEVERITY),
])
def test_severity_words(value: str, severity: str) -> None:
    assert severity_of({"severity": value}, "severity") == severity


def _with(change: dict[str, Any], alert: dict[str, Any] | None = None) -> dict[str, Any]:
    body = copy.deepcopy(ALERTMANAGER)
    body.update(change)
    if alert is not None:
        body["alerts"][0].update(alert)  # type: ignore[index]
    return body


@pytest.mark.parametrize(("body", "field"), [
    (_with({"version": "3"}), "'version'"),
    (_with({"version": 4}), "'version'"),
    (_with({"alerts": {}}), "'alerts'"),
    (_with({"alerts": [1]}), "'alerts[0]'"),
    (_with({}, {"status": "pending"}), "'alerts[0].status'"),
    (_with({}, {"labels": {"a": 1}}), "'alerts[0].labels.a'"),
    (_with({"commonLabels": {}}, {"labels": {}}), "'alerts[0].labels'"),
    (_with({}, {"labels": None}), "'alerts[0].labels'"),
    (_with({}, {"annotations": ["x"]}), "'alerts[0].annotations'"),
    (_with({}, {"fingerprint": "a b"}), "'alerts[0].fingerprint'"),
    (_with({}, {"startsAt": 5}), "'alerts[0].startsAt'"),
    (_with({"groupKey": ["x"]}), "'groupKey'"),
    (_with({"alerts": [ALERTMANAGER["alerts"][0]] * 501}), "'alerts'.* <= 500"),  # type: ignore[index]
])
def test_a_malformed_notification_is_refused_naming_the_field(body: dict[str, Any],
                                                              field: str) -> None:
    with pytest.raises(BadRequest, match=field.replace("[", r"\[").replace("]", r"\]")):
        read_notification(body)


def test_links_that_are_not_web_addresses_are_dropped() -> None:
    [alert, _] = read_notification(_with({"externalURL": "javascript:alert(1)"},
                                         {"generatorURL": "file:///etc/passwd"}))
    assert alert.links == {}


def test_an_exercise_label_marks_the_alert_as_exercise() -> None:
    body = _with({}, {"labels": {"alertname": "Drill", "exercise": "true"}})
    assert read_notification(body)[0].exercise


LABELS = st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), max_size=5)


@given(st.fixed_dictionaries({
    "version": st.sampled_from(["4", "1", "2", 4]),
    "alerts": st.lists(st.fixed_dictionaries({
        "status": st.sampled_from(["firing", "resolved", "x"]),
        "labels": LABELS | st.none(),
        "annotations": LABELS | st.integers(),
        "fingerprint": st.text(max_size=20) | st.none(),
        "startsAt": st.text(max_size=30),
    }), max_size=4) | st.integers()}))
def test_any_body_reads_or_is_refused_as_a_bad_request(body: dict[str, Any]) -> None:
    try:
        alerts = read_notification(body)
    except BadRequest as exc:
        assert str(exc).startswith(("'", "field '")), exc  # it names the field
        return
    for alert in alerts:
        assert alert.fingerprint.startswith("am:") and len(alert.fingerprint) <= 67
        assert alert.summary and alert.severity in ("critical", "major", "minor", "info")
