"""The worst inputs we know how to build for each parser of untrusted input.

Each is a request a hostile client can send (any member, or anyone at all for
the WebSocket hello and the webhooks), sized at or just under the limits the hub
enforces, and shaped to cost the parser the most: deep nesting, many keys, many
attributes, long runs the lexer walks, backtracking bait. The availability
benchmark (bench/hostile_load.py) sends them while measuring another client's
publish -> delivery latency; the fuzz targets (tests/fuzz) start from them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import msgpack

__all__ = ["HOSTILE", "Hostile", "cap_document"]

NS = "urn:oasis:names:tc:emergency:cap:1.2"


@dataclass(frozen=True, slots=True)
class Hostile:
    name: str
    #: "ws-json", "ws-msgpack" (a frame on a socket) or "http" (a POST to ``path``,
    #: with ``{op}`` for the operation id; ``{hook}``: an incoming webhook's path).
    via: str
    body: bytes
    path: str = ""
    content_type: str = "application/json"


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def cap_document(*, attributes: int = 0, elements: int = 0, depth: int = 0) -> bytes:
    """A CAP <alert> swollen in one dimension (each past what the hub accepts)."""
    attrs = " ".join(f'a{i}="{i}"' for i in range(attributes))
    inner = "<note>x</note>" * elements + "<info>" * depth + "</info>" * depth
    return f'<alert xmlns="{NS}" {attrs}>{inner}</alert>'.encode()


def _frames() -> list[Hostile]:
    big_text = "x" * 3990
    wide = {"type": "publish", "channel": "c", "text": big_text,
            **{f"k{i}": i for i in range(1500)}}
    return [
        Hostile("frame: 64 KiB of nesting", "ws-json", _nested(32_000).encode()),
        Hostile("frame: 1,500 keys", "ws-json", json.dumps(wide).encode()),
        Hostile("frame: invalid UTF-8", "ws-json", b'{"type":"publish","text":"\xff\xfe' +
                b"\xc0" * 60_000 + b'"}'),
        Hostile("frame: msgpack nesting", "ws-msgpack", b"\x91" * 60_000 + b"\xc0"),
        Hostile("frame: msgpack huge declared map", "ws-msgpack", b"\xdf\xff\xff\xff\xff"),
        Hostile("frame: msgpack 6,000 keys", "ws-msgpack",
                msgpack.packb({f"k{i}": i for i in range(6_000)})),
    ]


def _bodies() -> list[Hostile]:
    return [
        Hostile("JSON body: 64 KiB of nesting", "http", _nested(32_000).encode(),
                "/api/operations/{op}/cases"),
        Hostile("JSON body: 4,000 keys", "http",
                json.dumps({f"k{i}": "v" for i in range(4_000)}).encode(),
                "/api/operations/{op}/cases"),
        Hostile("CAP: 12,000 attributes", "http", cap_document(attributes=12_000),
                "/api/operations/{op}/cap", "application/cap+xml"),
        Hostile("CAP: 60,000 elements", "http", cap_document(elements=60_000),
                "/api/operations/{op}/cap", "application/cap+xml"),
        Hostile("CAP: depth 20,000", "http", cap_document(depth=20_000),
                "/api/operations/{op}/cap", "application/cap+xml"),
        Hostile("Alertmanager: 500 alerts x 64 labels", "http", json.dumps({
            "version": "4", "status": "firing", "alerts": [
                {"status": "firing", "labels": {f"l{j}": "v" * 8 for j in range(64)},
                 "annotations": {"summary": "s" * 200}} for _ in range(500)]}).encode(),
                "/api/operations/{op}/receivers/alertmanager"),
        Hostile("rule: expression of 2,000 nested parentheses", "http", json.dumps({
            "id": "hostile", "when": "(" * 2_000 + "true" + ")" * 2_000}).encode(),
                "/api/operations/{op}/rules/dry-run"),
        Hostile("rule: a template of 4,000 braces", "http", json.dumps({
            "id": "hostile", "when": "true", "summary": "{" * 4_000}).encode(),
                "/api/operations/{op}/rules/dry-run"),
        Hostile("label: 5,000 category values", "http", json.dumps({
            "title": "t", "severity": "minor",
            "label": {"level": "UNCLASSIFIED",
                      "categories": {"REL TO": [f"A{i}" for i in range(5_000)]}}}
        ).encode(), "/api/operations/{op}/cases"),
        Hostile("Slack webhook: 560 attachments of fields and blocks", "http", json.dumps({
            "text": "*" * 2_000, "attachments": [
                {"text": "_~`" * 10, "fields": [{"title": "t", "value": "<@x|y>" * 4}]}
                for _ in range(560)]}).encode(), "{hook}"),
    ]


HOSTILE: tuple[Hostile, ...] = (*_frames(), *_bodies())
