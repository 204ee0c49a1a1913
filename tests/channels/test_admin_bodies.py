"""channels/admin_bodies.py: operations, channels, members and incoming webhooks as the
hub accepts them, and the published schema that says so (exactly)."""

from __future__ import annotations

import re
import typing
from typing import Any

import jsonschema
import msgspec
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from channels.admin_bodies import (
    OPERATION_STATUS_NAMES,
    ROLE_NAMES,
    ChannelChanges,
    MemberRole,
    NewChannel,
    NewIncomingWebhook,
    NewOperation,
    OperationChanges,
    agencies,
)
from hub.bodies import convert, schema
from hub.errors import BadRequest
from hub.models import Role
from hub.vocabulary import OPERATION_STATUSES

texts = st.one_of(st.text(max_size=6), st.sampled_from(
    ["", " ", "  OP-1 ", "General", "-x", "a b", "é", "x" * 33, "x" * 49, "c" * 65]))
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), st.floats(-1, 1), texts,
                    st.sampled_from(["planned", "active", "closed", "member", "observer",
                                     "RESTRICTED"]))
values = st.one_of(scalars, st.lists(texts, max_size=3),
                   st.fixed_dictionaries({"level": texts}, optional={"x": scalars}))
KINDS: list[type[msgspec.Struct]] = [NewOperation, OperationChanges, NewChannel,
                                     ChannelChanges, MemberRole, NewIncomingWebhook]
bodies = st.dictionaries(st.sampled_from(
    ["code", "name", "status", "agencies", "exercise", "label", "classification", "topic",
     "role", "channel", "extra"]), values, max_size=5)


@settings(max_examples=500, deadline=None)
@given(bodies)
@example({"code": " OP-1 ", "name": "Flood"})
@example({"name": "General", "agencies": [" ", "POLICE"]})
@example({"name": "x", "channel": "ch_1"})
def test_each_schema_accepts_exactly_what_the_hub_accepts(body: dict[str, Any]) -> None:
    for kind in KINDS:
        try:
            convert(body, kind)
            hub_says = True
        except BadRequest:
            hub_says = False
        assert hub_says == jsonschema.Draft202012Validator(schema(kind)).is_valid(body), \
            (kind.__name__, body)


def test_the_words_are_the_cores() -> None:
    assert typing.get_args(OPERATION_STATUS_NAMES) == OPERATION_STATUSES
    assert typing.get_args(ROLE_NAMES) == tuple(str(r) for r in Role)


def test_agencies_are_stored_trimmed_once_each() -> None:
    assert agencies([" POLICE", "ARMY", "POLICE "]) == ("POLICE", "ARMY")
    assert agencies(None) == agencies(msgspec.UNSET) == ()


@pytest.mark.parametrize(("body", "kind", "words"), [
    ({"code": "-x", "name": "n"}, NewOperation, "field 'code' must be a code"),
    ({"code": "X", "name": " "}, NewOperation, "field 'name' is empty"),
    ({"name": "two words"}, NewChannel, "field 'name' must be a channel name"),
    ({"agencies": ["POLICE", " "]}, ChannelChanges, "field 'agencies[1]' is empty"),
    ({"role": "boss"}, MemberRole, "field 'role'"),
    ({"name": "n", "channel": ""}, NewIncomingWebhook, "field 'channel'"),
    ({"code": "X"}, OperationChanges, "field 'code' is not accepted"),
])
def test_a_refusal_names_the_field(body: dict[str, Any], kind: type[msgspec.Struct],
                                   words: str) -> None:
    with pytest.raises(BadRequest, match=re.escape(words)):
        convert(body, kind)
