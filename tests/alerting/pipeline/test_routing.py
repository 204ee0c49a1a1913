"""alerting/pipeline/routing.py: which targets are valid, and who and where they name."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.pipeline.routing import Member, TargetError, channels_of, check_targets, people

MEMBERS = [
    Member("alice", "coordinator", "POLICE"),
    Member("bruno", "member", "ARMY"),
    Member("chen", "member", "POLICE"),
    Member("olga", "observer", "RED-CROSS"),
    Member("zed", "coordinator", "ARMY", active=False),
]
CASE = {"assignees": ["bruno", "zed", "stranger"]}


def test_every_documented_form_is_accepted_as_written() -> None:
    targets = ["assignees", "coordinators", "everyone", "role:coordinator", "role:member",
               "role:observer", "agency:POLICE", "user:olga", "channel:alerts"]
    assert check_targets(targets, "step 1") == tuple(targets)
    assert check_targets((), "step 1") == ()


@pytest.mark.parametrize(("targets", "message"), [
    ("assignees", "step 2: must be a list of at most 50 targets"),
    (["everyone"] * 51, "step 2: must be a list of at most 50 targets"),
    ([7], "step 2: targets must be strings"),
    (["admins"], "step 2: unknown target 'admins'"),
    (["role:admin"], "step 2: unknown target 'role:admin'"),
    (["user:"], "step 2: unknown target 'user:'"),
    (["channel:" + "x" * 65], "step 2: unknown target"),
    (["team:blue"], "step 2: unknown target 'team:blue'"),
    (["everyone:now"], "step 2: unknown target 'everyone:now'"),
])
def test_an_invalid_target_is_refused_naming_where_and_which(targets: object,
                                                            message: str) -> None:
    with pytest.raises(TargetError) as err:
        check_targets(targets, "step 2")
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(("targets", "expected"), [
    (["assignees"], ["bruno"]),  # zed is disabled, "stranger" is no member
    (["coordinators"], ["alice"]),
    (["role:coordinator"], ["alice"]),
    (["role:member"], ["bruno", "chen"]),
    (["agency:POLICE"], ["alice", "chen"]),
    (["agency:police"], []),  # agency codes are exact
    (["user:olga"], ["olga"]),
    (["user:zed"], []),
    (["everyone"], ["alice", "bruno", "chen", "olga"]),
    (["user:olga", "agency:POLICE", "coordinators"], ["alice", "chen", "olga"]),
    (["channel:alerts"], []),
])
def test_targets_name_active_members_sorted_and_once(targets: list[str],
                                                     expected: list[str]) -> None:
    assert people(targets, MEMBERS, CASE) == expected


def test_without_a_case_there_are_no_assignees() -> None:
    assert people(["assignees"], MEMBERS, None) == []
    assert people(["assignees"], MEMBERS, {"assignees": None}) == []


def test_channels_are_named_once_sorted() -> None:
    assert channels_of(["channel:ops", "everyone", "channel:alerts", "channel:ops"]) == \
        ["alerts", "ops"]
    assert channels_of(["assignees"]) == []


TARGET = st.sampled_from(["assignees", "coordinators", "everyone", "role:member",
                          "role:observer", "agency:POLICE", "agency:ARMY", "user:alice",
                          "user:olga", "channel:alerts"])


@given(st.lists(TARGET, max_size=8), st.lists(TARGET, max_size=8))
def test_people_of_a_union_is_the_union_of_people(a: list[str], b: list[str]) -> None:
    together = set(people(a + b, MEMBERS, CASE))
    assert together == set(people(a, MEMBERS, CASE)) | set(people(b, MEMBERS, CASE))
    assert together <= {m.username for m in MEMBERS if m.active}


@given(st.text(max_size=30))
def test_any_single_target_is_accepted_or_refused_never_crashes(target: str) -> None:
    try:
        assert check_targets([target], "w") == (target,)
    except TargetError as exc:
        assert str(exc).startswith("w: ")
