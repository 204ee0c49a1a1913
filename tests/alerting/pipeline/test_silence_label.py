"""alerting/pipeline/silence_label.py on the real embedded store: whatever a client sends as a
silence's ``label``, the answer is a labelled silence or a 400 naming the field."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from hub.errors import BadRequest
from tests.conftest import Embedded

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True)
    | st.text(max_size=40) | st.sampled_from(["UNCLASSIFIED", "RESTRICTED", "SECRET", "TOP"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["level", "categories", "REL TO", "x"]) | st.text(max_size=8),
        inner, max_size=4),
    max_leaves=12)


async def test_any_label_value_is_stored_readably_or_refused_by_name(
        embedded: Embedded) -> None:
    drawn: list[Any] = []

    @settings(max_examples=80, database=None)
    @given(_JSON)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    drawn += [None, "UNCLASSIFIED", float("inf"), {"level": "SECRET"}, "\ud800"]
    outcomes = {"stored": 0, "refused": 0}
    alice = await embedded.principal("alice")  # a coordinator
    op = embedded.ops["A"].id
    alerts = embedded.services.alerts
    policy = embedded.services.hub.settings.labels
    for value in drawn:
        body = {"matchers": [{"label": "severity", "value": "info"}], "duration": "1h",
                "reason": "hypothesis", "label": value}
        try:
            event = await alerts.create_silence(alice, op, body, "test")
        except BadRequest as exc:
            assert "'label" in str(exc), (value, str(exc))
            outcomes["refused"] += 1
            continue
        stored = event.data["record"]
        assert isinstance(stored, dict)
        assert policy.of_record(stored["label"]) is not None, value  # reads back
        outcomes["stored"] += 1
    assert outcomes["stored"] >= 2 and outcomes["refused"] >= 3, outcomes
