"""The record kinds of an operation's log that alerting reads and writes.

Every change to an operation's shared record is a versioned record of one of
these kinds, written with :meth:`hub.engine.port.Store.write_record`, which
also appends the log event and publishes it.
"""

from __future__ import annotations

__all__ = ["ALERT", "CAP", "CASE", "PIPELINE_STATE", "POLICY", "RULE", "SILENCE"]

CASE = "case"
ALERT = "alert"
RULE = "rule"
POLICY = "policy"
SILENCE = "silence"
#: A CAP message received: which case and alert it maps onto (alerting/cap_service.py).
CAP = "cap"

#: The key under which the pipeline saves its cursor and rule-engine state.
PIPELINE_STATE = "alerting"
