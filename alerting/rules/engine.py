"""The rule engine: cases and a clock in, decisions out. No I/O, no asyncio.

Two kinds of rule, both written as data (API, TOML or JSON):

* **case rules** — a condition over one case (``when``); one alert per
  matching case. ``severity == "critical"`` fires when a case becomes
  critical and not again while it stays critical; ``fields.casualties >= 10``
  is a threshold; ``severity == "critical" and since_update > 15m`` is
  staleness.
* **rate rules** — ``threshold`` or more cases created within ``window``,
  counted per ``group_by`` value (say 3 cases of one category in an hour),
  optionally only those matching ``when``.

Both take ``for`` (the condition must hold that long before firing, like
Prometheus) and ``keep_firing_for`` (stay firing that long after it clears).

Each (rule, key) — key being a case id or a group value — is tracked through
pending -> firing -> (clearing) -> resolved. :meth:`RuleEngine.evaluate`
returns :class:`Fire` and :class:`Resolve` decisions and remembers when it
must look again (:meth:`RuleEngine.next_deadline`): time-dependent
conditions report when they will flip, so nothing polls.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard

from alerting.pipeline.routing import TargetError, check_targets
from alerting.rules.expr import Compiled, ExprError, compile_expr, parse_duration
from alerting.rules.template import (
    CASE_NAMES,
    RATE_FIELDS,
    Template,
    TemplateError,
    compile_template,
)
from alerting.vocabulary import SEVERITIES

__all__ = ["Decision", "Fire", "Resolve", "Rule", "RuleEngine", "RuleError", "is_config_id",
           "parse_rule"]

_RULE_KEYS = {"id", "name", "kind", "when", "for", "keep_firing_for", "severity", "summary",
              "window", "group_by", "threshold", "route", "escalation", "enabled", "ack"}
#: Who must acknowledge an alert: anyone, or someone of each agency taking part.
ACK_MODES = ("any", "each_agency")


MAX_THRESHOLD = 100_000
#: Case fields a rate rule may count by.
GROUPABLE = frozenset({"category", "severity", "status", "reporting_agency", "created_by"})


class RuleError(ValueError):
    """Raised when a rule is invalid; the message names the rule and the part."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    kind: str  # "case" | "rate"
    when: Compiled | None
    hold: float = 0.0
    keep: float = 0.0
    severity: str = "major"
    summary: str = ""
    window: float = 0.0
    group_by: str | None = None
    threshold: int = 0
    route: tuple[str, ...] = ()
    escalation: str | None = None
    source: Mapping[str, Any] = field(default_factory=dict)
    template: Template | None = None
    ack: str = "any"  # see ACK_MODES

    def describe(self, case: Mapping[str, Any] | None, group: str | None, count: int) -> str:
        """The alert's summary; never raises (see :mod:`alerting.rules.template`)."""
        if self.template is None:
            return self.name
        values: dict[str, Any] = {"count": count, "group": group or "", "rule": self.name}
        if case is not None:
            values.update(case)
            values["rule"] = self.name
        return self.template.render(values) or self.name


def is_config_id(value: object) -> TypeGuard[str]:
    """Ids of rules and policies: 1-64 letters, digits, '-', '_' or '.'."""
    return isinstance(value, str) and 0 < len(value) <= 64 and \
        all(c.isalnum() or c in "-_." for c in value)


def parse_rule(data: Mapping[str, Any]) -> Rule:
    """Build a rule from data, or raise RuleError naming the offending part."""
    if not isinstance(data, Mapping):
        raise RuleError("a rule must be an object")
    rid = data.get("id")
    if not is_config_id(rid):
        raise RuleError("rule: 'id' must be 1-64 letters, digits, '-', '_' or '.'")

    def bad(part: str, why: str) -> RuleError:
        return RuleError(f"rule '{rid}': {part}: {why}")

    unknown = set(data) - _RULE_KEYS
    if unknown:
        raise bad(sorted(unknown)[0], "unknown setting")
    kind = data.get("kind", "case")
    if kind not in ("case", "rate"):
        raise bad("kind", "must be 'case' or 'rate'")
    when = None
    if data.get("when") is not None or kind == "case":
        try:
            when = compile_expr(data.get("when"))
        except ExprError as exc:
            raise bad("when", str(exc)) from None
    durations = {}
    for part in ("for", "keep_firing_for", "window"):
        try:
            durations[part] = parse_duration(data.get(part, "0s"))
        except ExprError as exc:
            raise bad(part, str(exc)) from None
    hold, keep, window = durations["for"], durations["keep_firing_for"], durations["window"]
    severity = data.get("severity", "major")
    if severity not in SEVERITIES:
        raise bad("severity", f"must be one of {', '.join(SEVERITIES)}")
    summary = data.get("summary", "")
    template = None
    if summary:
        try:
            template = compile_template(summary, CASE_NAMES if kind == "case" else RATE_FIELDS)
        except TemplateError as exc:
            raise bad("summary", str(exc)) from None
    name = data.get("name", rid)
    if not isinstance(name, str) or len(name) > 200:
        raise bad("name", "must be a string of at most 200 characters")
    threshold, group_by = 0, None
    if kind == "rate":
        raw_threshold = data.get("threshold")
        if isinstance(raw_threshold, bool) or not isinstance(raw_threshold, int) or \
                not 1 <= raw_threshold <= MAX_THRESHOLD:
            raise bad("threshold", f"must be an integer from 1 to {MAX_THRESHOLD}")
        threshold = raw_threshold
        if window <= 0:
            raise bad("window", "a rate rule needs a window, like 1h")
        group_by = data.get("group_by")
        if group_by is not None and group_by not in GROUPABLE:
            raise bad("group_by", f"must be one of {', '.join(sorted(GROUPABLE))}")
    try:
        route = check_targets(data.get("route", []), f"rule '{rid}': route")
    except TargetError as exc:
        raise RuleError(str(exc)) from None
    escalation = data.get("escalation")
    if escalation is not None and not is_config_id(escalation):
        raise bad("escalation", "must be the id of an escalation policy")
    enabled = data.get("enabled", True)
    if not isinstance(enabled, bool):
        raise bad("enabled", "must be true or false")
    ack = data.get("ack", "any")
    if ack not in ACK_MODES:
        raise bad("ack", f"must be one of {', '.join(ACK_MODES)}")
    return Rule(rid, name, kind, when, hold, keep, severity, summary, window, group_by,
                threshold, route, escalation, dict(data), template, ack)


@dataclass(frozen=True, slots=True)
class Fire:
    rule: str
    key: str
    case_id: str | None
    severity: str
    summary: str
    at: float
    count: int = 0
    #: A rate rule's: the cases it counted (their labels bound who may see the alert).
    counted: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Resolve:
    rule: str
    key: str
    case_id: str | None
    at: float


Decision = Fire | Resolve


@dataclass(slots=True)
class _Track:
    state: str  # "pending" | "firing"
    since: float
    clearing: float | None = None
    wake: float | None = None


class RuleEngine:
    """Evaluates rules over an operation's cases; holds only in-memory state.

    ``snapshot()``/``restore()`` carry the state across restarts (the caller
    stores it), so a ``for`` hold or a ``keep_firing_for`` survives them.
    """

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = {r.id: r for r in rules}
        self._case_rules = [r for r in self.rules.values() if r.kind == "case"]
        self._rate_rules = [r for r in self.rules.values() if r.kind == "rate"]
        self._keys_by_rule: dict[str, set[str]] = {}
        self._tracks: dict[tuple[str, str], _Track] = {}
        self._wakes: dict[tuple[str, str], float] = {}  # untracked keys to look at again
        # Every key's next look, as a heap with lazy deletion: (time, rule, key).
        self._heap: list[tuple[float, str, str]] = []
        self._due_at: dict[tuple[str, str], float] = {}
        #: Rules that failed at run time: id -> {"errors": n, "last_error": text, "at": t}.
        #: A failing rule is skipped for that case; every other rule keeps firing.
        self.failures: dict[str, dict[str, Any]] = {}

    # --- state ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {"tracks": [[r, k, t.state, t.since, t.clearing, t.wake]
                           for (r, k), t in self._tracks.items()],
                "wakes": [[r, k, w] for (r, k), w in self._wakes.items()],
                "failures": {r: dict(f) for r, f in self.failures.items() if r in self.rules}}

    def restore(self, snap: Mapping[str, Any]) -> None:
        self._tracks = {(r, k): _Track(s, since, clearing, wake)
                        for r, k, s, since, clearing, wake in snap.get("tracks", [])
                        if r in self.rules}
        self._keys_by_rule = {}
        for r, k in self._tracks:
            self._keys_by_rule.setdefault(r, set()).add(k)
        self._wakes = {(r, k): w for r, k, w in snap.get("wakes", []) if r in self.rules}
        failures = snap.get("failures")
        if isinstance(failures, Mapping):
            self.failures = {r: dict(f) for r, f in failures.items()
                             if r in self.rules and isinstance(f, Mapping)}
        self._heap, self._due_at = [], {}
        for key, t in self._tracks.items():
            self._schedule(key, t.wake)
        for key, w in self._wakes.items():
            self._schedule(key, w)

    def _schedule(self, key: tuple[str, str], at: float | None) -> None:
        if at is None:
            self._due_at.pop(key, None)
            return
        if self._due_at.get(key) != at:
            self._due_at[key] = at
            heapq.heappush(self._heap, (at, key[0], key[1]))

    def _pop_due(self, now: float) -> dict[str, set[str]]:
        due: dict[str, set[str]] = {}
        while self._heap and self._heap[0][0] <= now:
            at, rule, key = heapq.heappop(self._heap)
            if self._due_at.get((rule, key)) == at:  # not superseded since
                del self._due_at[(rule, key)]
                due.setdefault(rule, set()).add(key)
        return due

    def firing(self) -> set[tuple[str, str]]:
        return {key for key, t in self._tracks.items() if t.state == "firing"}

    def next_deadline(self) -> float | None:
        while self._heap and self._due_at.get((self._heap[0][1], self._heap[0][2])) != \
                self._heap[0][0]:
            heapq.heappop(self._heap)  # drop superseded entries
        return self._heap[0][0] if self._heap else None

    # --- evaluation ----------------------------------------------------------------

    def evaluate(self, cases: Mapping[str, Mapping[str, Any]], now: float, *,
                 changed: Iterable[str] | None = None,
                 previous: Mapping[str, Mapping[str, Any]] | None = None) -> list[Decision]:
        """Re-evaluate after a change (``changed`` case ids) or a timer (none).

        Without ``changed`` every case is looked at; with it, only those cases
        plus every key whose deadline has come. ``previous`` gives the cases'
        state before the change, for conditions on ``prev``.
        """
        decisions: list[Decision] = []
        due = self._pop_due(now)
        changed_ids = set(cases) if changed is None else set(changed)
        due_cases = set().union(*(due.get(r.id, ()) for r in self._case_rules))
        for case_id in sorted(changed_ids | due_cases):
            case = cases.get(case_id)
            env: dict[str, Any] | None = None
            if case is not None:
                env = dict(case)
                if previous is not None:
                    env["__prev__"] = previous.get(case_id)
            for rule in self._case_rules:
                if case_id in changed_ids or case_id in due.get(rule.id, ()):
                    self._isolated(rule, now, self._step_case, rule, case_id, env, now,
                                   decisions)
        for rule in self._rate_rules:
            if changed_ids or rule.id in due:
                self._isolated(rule, now, self._step_rate, rule, cases, now, decisions)
        return decisions

    def _isolated(self, rule: Rule, now: float, step: Any, *args: Any) -> None:
        """Run one rule's step; a failure is recorded against that rule only."""
        try:
            step(*args)
        except Exception as exc:  # one rule's defect must never cost another alert
            entry = self.failures.setdefault(rule.id, {"errors": 0})
            entry.update(errors=entry["errors"] + 1, at=now,
                         last_error=f"{type(exc).__name__}: {str(exc)[:200]}")

    def _step_case(self, rule: Rule, case_id: str, env: dict[str, Any] | None, now: float,
                   out: list[Decision]) -> None:
        times: list[float] = []
        holds = env is not None and rule.when is not None and rule.when(env, now, times)
        key = (rule.id, case_id)
        if not holds and not times and key not in self._tracks and key not in self._wakes:
            return  # the common case: nothing to track, nothing to wake for
        wake = min(times) if times else None
        self._advance(rule, key, holds, now, wake, out,
                      lambda: rule.describe(env, None, 0), case_id, 0)

    def _step_rate(self, rule: Rule, cases: Mapping[str, Mapping[str, Any]], now: float,
                   out: list[Decision]) -> None:
        groups: dict[str, list[tuple[float, str]]] = {}
        for case_id, case in cases.items():
            created = case.get("created_at")
            if not isinstance(created, int | float) or not now - rule.window < created <= now:
                continue
            if rule.when is not None and not rule.when(case, now):
                continue
            group = str(case.get(rule.group_by, "")) if rule.group_by else "*"
            groups.setdefault(group, []).append((created, case_id))
        keys = self._keys_by_rule.get(rule.id, set()) | set(groups)
        for group in sorted(keys):
            created = sorted(groups.get(group, []))
            count = len(created)
            holds = count >= rule.threshold
            # The count drops when the oldest counted case leaves the window.
            wake = created[0][0] + rule.window if created else None
            self._advance(rule, (rule.id, group), holds, now, wake, out,
                          lambda g=group, c=count: rule.describe(None, g, c), None, count,
                          tuple(sorted(c for _, c in created)))

    def _advance(self, rule: Rule, key: tuple[str, str], holds: bool, now: float,
                 wake: float | None, out: list[Decision], summary: Any,
                 case_id: str | None, count: int, counted: tuple[str, ...] = ()) -> None:
        track = self._tracks.get(key)
        self._wakes.pop(key, None)
        self._step(rule, key, track, holds, now, wake, out, summary, case_id, count, counted)
        current = self._tracks.get(key)
        self._schedule(key, current.wake if current is not None else self._wakes.get(key))

    def _forget(self, key: tuple[str, str]) -> None:
        del self._tracks[key]
        keys = self._keys_by_rule.get(key[0])
        if keys is not None:
            keys.discard(key[1])

    def _step(self, rule: Rule, key: tuple[str, str], track: _Track | None, holds: bool,
              now: float, wake: float | None, out: list[Decision], summary: Any,
              case_id: str | None, count: int, counted: tuple[str, ...] = ()) -> None:
        if holds:
            if track is None:
                track = self._tracks[key] = _Track("pending", now)
                self._keys_by_rule.setdefault(key[0], set()).add(key[1])
            track.clearing = None
            if track.state == "pending" and now - track.since >= rule.hold:
                track.state, track.since = "firing", now
                out.append(Fire(rule.id, key[1], case_id, rule.severity, summary(), now, count,
                                counted))
            track.wake = _earliest(wake, track.since + rule.hold
                                   if track.state == "pending" else None)
            return
        if track is None:
            if wake is not None:
                self._wakes[key] = wake
            return
        if track.state == "pending":
            self._forget(key)
            if wake is not None:
                self._wakes[key] = wake
            return
        if track.clearing is None:
            track.clearing = now
        if now - track.clearing >= rule.keep:
            self._forget(key)
            out.append(Resolve(rule.id, key[1], case_id, now))
            if wake is not None:
                self._wakes[key] = wake
            return
        track.wake = _earliest(wake, track.clearing + rule.keep)


def _earliest(*times: float | None) -> float | None:
    present = [t for t in times if t is not None]
    return min(present) if present else None
