"""Which validation library declares the hub's bodies and frames (issue 27): the cost of
the hot path, and how each behaves in strict mode.

The hot path of a chat publish, per message: validate the client's ``publish`` frame
(already parsed to a dict by the codec, which bounds its size first), encode the typed
body once (msgpack) for the store and the broker, and decode it once to build the
frame that every subscriber is sent. Each candidate declares the same chat body and
the same frame; every candidate installed is timed (``pip install msgspec pydantic
attrs cattrs`` into a scratch venv to compare all three), best of five rounds:

    .venv/bin/python -m bench.codec_choice [--rounds 5] [--n 50000]

The strict-mode check feeds each the inputs the hub must refuse (a number as text, a
bool as a number, an unknown field, a float seq) and prints what it accepted.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections.abc import Callable
from typing import Any

import msgpack

FRAME: dict[str, Any] = {"type": "publish", "channel": "ch_abcdefghijkl", "text": "x" * 100,
                         "client_msg_id": "c-0001", "priority": "urgent", "reply_to": 41}
BAD: dict[str, dict[str, Any]] = {
    "number as text": {**FRAME, "text": 5},
    "bool as seq": {**FRAME, "reply_to": True},
    "float seq": {**FRAME, "reply_to": 4.0},
    "unknown field": {**FRAME, "colour": "red"},
    "unknown priority": {**FRAME, "priority": "asap"},
}

Path = tuple[Callable[[dict[str, Any]], Any], Callable[[Any], bytes], Callable[[bytes], Any]]


def with_msgspec() -> Path:
    import msgspec

    class Frame(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
        type: str
        channel: str
        text: str
        client_msg_id: str
        priority: str = "normal"
        reply_to: int | None = None

    class Body(msgspec.Struct, omit_defaults=True, kw_only=True):
        text: str
        priority: str
        reply_to: int | None = None

    enc, dec = msgspec.msgpack.Encoder(), msgspec.msgpack.Decoder(Body)

    def validate(obj: dict[str, Any]) -> Body:
        f = msgspec.convert(obj, Frame, strict=True)
        if f.priority not in ("normal", "high", "urgent"):
            raise ValueError("priority")
        return Body(text=f.text, priority=f.priority, reply_to=f.reply_to)

    return validate, enc.encode, dec.decode


def with_pydantic() -> Path:
    from pydantic import BaseModel, ConfigDict

    class Frame(BaseModel):
        model_config = ConfigDict(strict=True, extra="forbid")
        type: str
        channel: str
        text: str
        client_msg_id: str
        priority: str = "normal"
        reply_to: int | None = None

    class Body(BaseModel):
        model_config = ConfigDict(strict=True)
        text: str
        priority: str
        reply_to: int | None = None

    def validate(obj: dict[str, Any]) -> Body:
        f = Frame.model_validate(obj)
        if f.priority not in ("normal", "high", "urgent"):
            raise ValueError("priority")
        return Body(text=f.text, priority=f.priority, reply_to=f.reply_to)

    def encode(body: Body) -> bytes:
        return bytes(msgpack.packb(body.model_dump(exclude_none=True)))

    def decode(data: bytes) -> Body:
        return Body.model_validate(msgpack.unpackb(data))

    return validate, encode, decode


def with_cattrs() -> Path:
    import attrs
    from cattrs.preconf.msgpack import make_converter

    @attrs.frozen(kw_only=True)
    class Frame:
        type: str
        channel: str
        text: str
        client_msg_id: str
        priority: str = "normal"
        reply_to: int | None = None

    @attrs.frozen(kw_only=True)
    class Body:
        text: str
        priority: str
        reply_to: int | None = None

    conv = make_converter(forbid_extra_keys=True, omit_if_default=True)

    def validate(obj: dict[str, Any]) -> Body:
        f = conv.structure(obj, Frame)
        if f.priority not in ("normal", "high", "urgent"):
            raise ValueError("priority")
        return Body(text=f.text, priority=f.priority, reply_to=f.reply_to)

    return validate, conv.dumps, lambda data: conv.loads(data, Body)


CANDIDATES: dict[str, tuple[str, Callable[[], Path]]] = {
    "msgspec": ("msgspec", with_msgspec), "pydantic": ("pydantic", with_pydantic),
    "attrs+cattrs": ("cattrs", with_cattrs)}


def timed(path: Path, n: int, rounds: int) -> tuple[float, float, float]:
    validate, encode, decode = path
    best = [float("inf")] * 3
    for _ in range(rounds):
        t0 = time.perf_counter()
        bodies = [validate(FRAME) for _ in range(n)]
        t1 = time.perf_counter()
        data = [encode(b) for b in bodies]
        t2 = time.perf_counter()
        for d in data:
            decode(d)
        t3 = time.perf_counter()
        for i, spent in enumerate((t1 - t0, t2 - t1, t3 - t2)):
            best[i] = min(best[i], spent / n * 1e6)
    return best[0], best[1], best[2]


def accepted(validate: Callable[[dict[str, Any]], Any]) -> list[str]:
    taken = []
    for name, frame in BAD.items():
        try:
            validate(frame)
        except Exception:
            continue
        taken.append(name)
    return taken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'library':14} {'validate µs':>12} {'encode µs':>10} {'decode µs':>10} "
          f"{'total µs':>9}  accepted of the inputs it must refuse")
    for name, (module, build) in CANDIDATES.items():
        if importlib.util.find_spec(module) is None:
            print(f"{name:14} not installed")
            continue
        path = build()
        v, e, d = timed(path, args.n, args.rounds)
        print(f"{name:14} {v:12.2f} {e:10.2f} {d:10.2f} {v + e + d:9.2f}  "
              f"{', '.join(accepted(path[0])) or 'none'}")


if __name__ == "__main__":
    main()
