"""Typed bodies and frames: what a feature declares, and the one place they are checked.

The core stores, orders, replicates and delivers **envelopes** (ids, channel, seq,
sender, ``client_msg_id``, label, real-world marking, timestamp) around an **opaque
body**: msgpack bytes with the body's type name and schema version. A body's fields
belong to the feature that declares it, as a :class:`Body` (a ``msgspec`` struct):
the engines never read one, and the wire frame shows its fields beside the
envelope's (:func:`fields`), as clients have always read them.

Features declare the frames clients send them the same way, as :class:`Frame`
structs tagged with their ``type``; :func:`convert` validates an untrusted, already
parsed value into one, strictly (no number as text, no bool as a number, no unknown
field), and turns a refusal into the hub's error naming the field. Pure, no I/O.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, TypeVar

import msgpack
import msgspec
import msgspec.inspect

from hub.boundary import check_value
from hub.errors import BadRequest, ErrorCode, FrameError

__all__ = ["NOT_BLANK", "Body", "Frame", "Ref", "Reply", "convert", "decode", "encode",
           "fields", "frame_type", "pattern", "refusal", "schema"]

B = TypeVar("B", bound="Body")
S = TypeVar("S", bound=msgspec.Struct)

_ENCODER = msgspec.msgpack.Encoder()


class Body(msgspec.Struct, kw_only=True, frozen=True):
    """A feature's typed body; a subclass names its type and schema version, and takes
    its fields from a plain struct it shares with the frames that carry them.

    Defaults are stored (a reader always finds them); a field that may be absent is
    typed ``X | msgspec.UnsetType`` and left out until set. Stored bodies are read
    leniently (a field a newer schema added is ignored); what clients send is checked
    by the :class:`Frame` that carries it.
    """

    BODY_TYPE: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1


class Frame(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True,
            tag_field="type"):
    """A frame a feature accepts from clients: subclasses set ``tag=<frame type>`` and
    ``kw_only=True`` and declare ``ref: Ref = None`` (this base has no fields, so a frame
    may also take its fields from a body's)."""

    if TYPE_CHECKING:  # declared by each subclass; here for those who read any frame
        ref: str | None

    @property
    def type(self) -> str:
        return frame_type(type(self))


class Reply(msgspec.Struct, kw_only=True, frozen=True, tag_field="type"):
    """A frame the server sends: subclasses set ``tag=<frame type>``. Declared where it is
    sent (the core's in :mod:`hub.replies`, a feature's beside its handlers), so the SDK's
    frames are checked against the declarations; a field typed ``X | UnsetType`` is left
    out of the frame until set."""


#: The pattern of a string that must hold a character that is not blank.
NOT_BLANK = r"\S"
#: What a pattern declared with :func:`pattern` means, in words, for its refusals.
_WORDS: dict[str, str] = {}


def pattern(regex: str, words: str) -> msgspec.Meta:
    """A string constraint whose refusal says ``words`` ("field 'route[0]' must be one of
    ...") instead of the regex; the words are also its OpenAPI description."""
    _WORDS[regex] = words
    return msgspec.Meta(pattern=regex, description=words)


#: A frame's ``ref`` as the core's codec has already checked it.
Ref = Annotated[str, msgspec.Meta(max_length=64)] | None


def frame_type(kind: type[msgspec.Struct]) -> str:
    """The ``type`` a frame class is tagged with."""
    return str(kind.__struct_config__.tag)


def encode(body: Body) -> bytes:
    """The body as stored and carried: msgpack, encoded once per message."""
    return _ENCODER.encode(body)


@cache
def _decoder(kind: type[B]) -> msgspec.msgpack.Decoder[B]:
    return msgspec.msgpack.Decoder(kind)


def decode(data: bytes, kind: type[B]) -> B:
    """A stored body as the feature's type (what the feature reads, never the core)."""
    found: B = _decoder(kind).decode(data)
    return found


def fields(data: bytes) -> dict[str, Any]:
    """A stored body's fields as plain values, for the frame the envelope builds."""
    if not data:
        return {}
    found = msgpack.unpackb(data, raw=False)
    return found if isinstance(found, dict) else {}


_AT = re.compile(r"^(?P<what>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_UNKNOWN = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")
_MISSING = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")


def refusal(exc: msgspec.ValidationError) -> tuple[str, ErrorCode]:
    """A validation error as the hub says it: the field named, and its error code."""
    found = _AT.match(str(exc))
    what, path = (found["what"], found["path"] or "") if found else (str(exc), "")
    name = path.lstrip(".")
    unknown, missing = _UNKNOWN.match(what), _MISSING.match(what)
    if unknown:
        where = f"{name}." if name else ""
        return f"field '{where}{unknown['name']}' is not accepted", ErrorCode.BAD_REQUEST
    if missing:
        where = f"{name}." if name else ""
        return f"field '{where}{missing['name']}' is required", ErrorCode.BAD_REQUEST
    code = ErrorCode.TOO_LARGE if "length <=" in what else ErrorCode.BAD_REQUEST
    if name and what.endswith(f"matching regex {NOT_BLANK!r}"):
        return f"field '{name}' is empty", code
    for regex, words in _WORDS.items():
        if name and what.endswith(f"matching regex {regex!r}"):
            return f"field '{name}' must be {words}", code
    if not name:  # a check of the frame's own (__post_init__) names its field itself
        return what, code
    return f"field '{name}': {what[0].lower()}{what[1:]}", code


def convert(value: object, kind: type[S], *, ref: str | None = None) -> S:
    """``value`` (parsed, bounded untrusted input) as ``kind``, strictly; a refusal is a
    :class:`~hub.errors.FrameError` (a frame) or :class:`~hub.errors.BadRequest`."""
    try:
        return msgspec.convert(value, kind, strict=True)
    except msgspec.ValidationError as exc:
        said = _key_refusal(exc, value, kind)
        if said is None:  # a value refused: its map key named, then its words or why
            keyed = _keyed(exc, value, kind)
            said = _word_refusal(keyed, kind) or refusal(keyed)
        message, code = said
    except UnicodeEncodeError:  # a lone surrogate, which the edge's check_value names
        message, code = _unicode_refusal(value), ErrorCode.BAD_REQUEST
    if issubclass(kind, Frame):
        raise FrameError(message, code=code, ref=ref) from None
    raise BadRequest(message, code=code) from None


def _unicode_refusal(value: object) -> str:
    """What :func:`hub.boundary.check_value` says of ``value``'s invalid text."""
    try:
        check_value(value)
    except BadRequest as exc:
        return str(exc)
    return "the body holds text that is not valid Unicode"


_SEGMENT = re.compile(r"\.[^.\[]+|\[[^\]]*\]")
_WORD = re.compile(r"^Invalid enum value .* - at `\$(?P<path>[^`]*)`$", re.DOTALL)


def _word_refusal(exc: msgspec.ValidationError,
                  kind: type[msgspec.Struct]) -> tuple[str, ErrorCode] | None:
    """A word outside a Literal or an enum, refused with the words it may be."""
    found = _WORD.match(str(exc))
    if not found:
        return None
    info: msgspec.inspect.Type | None = msgspec.inspect.type_info(kind)
    for seg in _SEGMENT.findall(found["path"]):
        info = _inside(info, seg)
    words = list(_words(info)) if info is not None else []
    if not words or not found["path"]:
        return None
    return (f"field '{found['path'].lstrip('.')}' must be one of {', '.join(words)}",
            ErrorCode.BAD_REQUEST)


def _inside(info: msgspec.inspect.Type | None, seg: str) -> msgspec.inspect.Type | None:
    """The type a path segment (``.name``, ``[3]``, ``[...]``) leads to inside ``info``."""
    if isinstance(info, msgspec.inspect.Metadata):
        return _inside(info.type, seg)
    if isinstance(info, msgspec.inspect.UnionType):
        return next((found for t in info.types if (found := _inside(t, seg)) is not None),
                    None)
    if seg.startswith(".") and isinstance(info, msgspec.inspect.StructType):
        return next((f.type for f in info.fields if f.encode_name == seg[1:]), None)
    if isinstance(info, msgspec.inspect.DictType):  # [...] or, once keyed, .key / ['k']
        return info.value_type
    if seg.startswith("[") and isinstance(info, msgspec.inspect.ListType
                                          | msgspec.inspect.SetType
                                          | msgspec.inspect.VarTupleType):
        return info.item_type
    return None


def _words(info: msgspec.inspect.Type) -> dict[str, None]:
    """The words a Literal or an enum allows, in the order they are declared."""
    if isinstance(info, msgspec.inspect.Metadata):
        return _words(info.type)
    if isinstance(info, msgspec.inspect.UnionType):
        return {w: None for t in info.types for w in _words(t)}
    if isinstance(info, msgspec.inspect.LiteralType):
        return dict.fromkeys(str(v) for v in info.values)
    if isinstance(info, msgspec.inspect.EnumType):
        return dict.fromkeys(str(m.value) for m in info.cls)
    return {}
_KEYED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def _at(value: object, segments: list[str]) -> object:
    """The part of ``value`` a path's segments (``.name``, ``[3]``) lead to."""
    for seg in segments:
        if seg.startswith(".") and isinstance(value, dict):
            value = value.get(seg[1:])
        elif seg[1:-1].isdigit() and isinstance(value, list) and int(seg[1:-1]) < len(value):
            value = value[int(seg[1:-1])]
        else:
            return None
    return value


def _with(value: object, segments: list[str], part: object) -> object:
    """A copy of ``value`` with the part at ``segments`` replaced (only that path copied)."""
    if not segments:
        return part
    seg, rest = segments[0], segments[1:]
    if seg.startswith(".") and isinstance(value, dict):
        return {**value, seg[1:]: _with(value.get(seg[1:]), rest, part)}
    if isinstance(value, list):
        i = int(seg[1:-1])
        return [*value[:i], _with(value[i], rest, part), *value[i + 1:]]
    return value


def _keyed(exc: msgspec.ValidationError, value: object,
           kind: type[msgspec.Struct]) -> msgspec.ValidationError:
    """``exc`` with the map key it failed at named: msgspec says ``labels[...]`` for a
    value (or key) of a map, so the entries are tried one at a time (only on refusal,
    and a map holds at most a few dozen) to find the one that fails the same way."""
    text = str(exc)
    found = _AT.match(text)
    if not found or not found["path"] or "[...]" not in found["path"]:
        return exc
    path = found["path"]
    head, _, tail = path.partition("[...]")
    segments = _SEGMENT.findall(head)
    entries = _at(value, segments)
    if not isinstance(entries, dict):
        return exc
    for key, item in entries.items():
        try:
            msgspec.convert(_with(value, segments, {key: item}), kind, strict=True)
        except msgspec.ValidationError as again:
            if str(again) == text:
                named = f".{key}" if _KEYED.match(str(key)) else f"[{key!r}]"
                return msgspec.ValidationError(text.replace(f"`${path}`",
                                                            f"`${head}{named}{tail}`"))
    return exc


_KEY_AT = re.compile(r"^(?P<what>.*) - at `key` in `\$(?P<path>[^`]*)`$", re.DOTALL)


def _key_refusal(exc: msgspec.ValidationError, value: object,
                 kind: type[msgspec.Struct]) -> tuple[str, ErrorCode] | None:
    """A map key refused (``- at `key` in `$.fields```): the key named, and what it must be."""
    found = _KEY_AT.match(str(exc))
    if not found:
        return None
    segments = _SEGMENT.findall(found["path"])
    entries = _at(value, segments)
    name = found["path"].lstrip(".") or "body"
    what = found["what"]
    said = next((f" must be {words}" for regex, words in _WORDS.items()
                 if what.endswith(f"matching regex {regex!r}")), None)
    said = said or f": {what[0].lower()}{what[1:]}"
    if isinstance(entries, dict):
        for key, item in entries.items():
            try:
                msgspec.convert(_with(value, segments, {key: item}), kind, strict=True)
            except msgspec.ValidationError as again:
                if str(again) == str(exc):
                    return (f"field '{name}': the key {str(key)[:64]!r}{said}",
                            ErrorCode.BAD_REQUEST)
    return f"field '{name}': a key{said}", ErrorCode.BAD_REQUEST


def _structs(info: msgspec.inspect.Type, into: dict[str, type]) -> dict[str, type]:
    """Every struct class a type reaches, by the name its schema definition takes."""
    if isinstance(info, msgspec.inspect.StructType):
        if info.cls.__name__ in into:
            return into
        into[info.cls.__name__] = info.cls
        for field in info.fields:
            _structs(field.type, into)
    for name in ("type", "item_type", "key_type", "value_type"):
        inner = getattr(info, name, None)
        if isinstance(inner, msgspec.inspect.Type):
            _structs(inner, into)
    for inner in getattr(info, "types", ()):
        _structs(inner, into)
    return into


def schema(kind: type[msgspec.Struct]) -> dict[str, Any]:
    """The JSON Schema (2020-12, inlined) of a declared struct, for OpenAPI.

    A struct's ``SCHEMA_RULES`` (a class variable: JSON Schema keywords, such as
    ``dependentRequired`` or ``not``) states the rules between its fields that its
    ``__post_init__`` checks, so the document is as strict as the hub.
    """
    found: dict[str, Any] = msgspec.json.schema(kind, schema_hook=None)
    defs = found.pop("$defs", {})
    for name, cls in _structs(msgspec.inspect.type_info(kind), {}).items():
        if name in defs:
            defs[name].update(getattr(cls, "SCHEMA_RULES", {}))

    def inline(node: Any, named: bool = False) -> Any:
        """``node`` with its references inlined and its ``title`` keywords dropped;
        ``named``: node maps names to schemas (``properties``), so a key is a name."""
        if isinstance(node, dict):
            if named:
                return {k: inline(v) for k, v in node.items()}
            if "$ref" in node:  # the definition, with what the reference adds to it
                found = inline(defs[node["$ref"].rsplit("/", 1)[1]])
                return {**found, **{k: inline(v, k == "properties") for k, v in node.items()
                                    if k not in ("$ref", "title")}}
            return {k: inline(v, k == "properties") for k, v in node.items() if k != "title"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return dict(inline(found))
