"""alerting/rules/lexer.py: the words of the condition language, with the column of every error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.rules.lexer import MAX_DURATION, ExprError, Tok, parse_duration, tokens, unquote


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in tokens(text)]


def test_a_condition_splits_into_its_tokens_with_columns() -> None:
    toks = tokens('severity >= "major" and since_update > 15m')
    assert toks == [Tok("name", "severity", 1), Tok("op", ">=", 10),
                    Tok("string", '"major"', 13), Tok("name", "and", 21),
                    Tok("name", "since_update", 25), Tok("op", ">", 38),
                    Tok("duration", "15m", 40), Tok("end", "", 43)]


def test_numbers_durations_and_punctuation() -> None:
    assert kinds("fields.casualties[0] >= -2.5, (1.5h)") == [
        ("name", "fields"), ("op", "."), ("name", "casualties"), ("op", "["),
        ("number", "0"), ("op", "]"), ("op", ">="), ("number", "-2.5"), ("op", ","),
        ("op", "("), ("duration", "1.5h"), ("op", ")"), ("end", "")]


def test_a_number_glued_to_a_word_is_not_a_duration() -> None:
    assert kinds("5min") == [("number", "5"), ("name", "min"), ("end", "")]


def test_names_may_be_any_letters_but_not_start_with_a_digit() -> None:
    assert kinds("zone_Ω1") == [("name", "zone_Ω1"), ("end", "")]
    assert kinds("_x") == [("name", "_x"), ("end", "")]


def test_both_quotes_and_escaped_quotes_inside_strings() -> None:
    assert kinds(r"""'it\'s' "say \"hi\"" """) == [
        ("string", r"'it\'s'"), ("string", r'"say \"hi\""'), ("end", "")]


@pytest.mark.parametrize(("text", "column"), [
    ("severity = 'x'", 10),  # a single = is not an operator
    ("a && b", 3),
    ('title == "open', 10),  # an unterminated string
    ("x @ y", 3),
])
def test_an_unexpected_character_names_its_column(text: str, column: int) -> None:
    with pytest.raises(ExprError, match=f"at column {column}$"):
        tokens(text)


def test_the_end_token_sits_one_past_the_text() -> None:
    assert tokens("") == [Tok("end", "", 1)]
    assert tokens("   ")[-1] == Tok("end", "", 4)


@pytest.mark.parametrize(("literal", "value"), [
    ('"plain"', "plain"),
    (r'"a\\b"', "a\\b"),
    (r'"line\nnext\ttab"', "line\nnext\ttab"),
    (r"""'both \' and \"'""", "both ' and \""),
    ('""', ""),
])
def test_string_literals_and_their_escapes(literal: str, value: str) -> None:
    assert unquote(literal, 1) == value


def test_an_unknown_escape_names_its_column() -> None:
    with pytest.raises(ExprError, match=r"unknown escape '\\x' at column 13"):
        unquote(r'"ab\x"', 10)


@given(st.text(max_size=40))
def test_any_string_survives_quoting_and_unquoting(value: str) -> None:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    literal = f'"{escaped}"'
    [tok, end] = tokens(literal)
    assert tok == Tok("string", literal, 1) and end.kind == "end"
    assert unquote(tok.text, tok.col) == value


@given(st.text(max_size=40))
def test_any_text_tokenises_or_fails_with_a_column(text: str) -> None:
    try:
        toks = tokens(text)
    except ExprError as exc:
        assert "at column" in str(exc)
    else:
        assert toks[-1] == Tok("end", "", len(text) + 1)
        assert all(1 <= t.col <= len(text) + 1 for t in toks)
        for t in toks[:-1]:  # every token is the text at its column
            assert text[t.col - 1:t.col - 1 + len(t.text)] == t.text


@pytest.mark.parametrize(("text", "seconds"), [
    ("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), (" 1.5h ", 5400),
    ("0s", 0), ("90d", MAX_DURATION),
])
def test_durations_are_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(("value", "shown"), [
    ("30", "'30'"), ("15 m", "'15 m'"), ("1w", "'1w'"), ("-5m", "'-5m'"), (30, "30"),
    (None, "NoneType"), (["1h"], "list"), ("", "''"),
])
def test_anything_else_is_not_a_duration_and_says_how_to_write_one(value: object,
                                                                    shown: str) -> None:
    with pytest.raises(ExprError) as err:
        parse_duration(value)
    assert str(err.value) == (f"{shown} is not a duration: write a number with its unit, "
                              "like 90s, 15m, 2h or 1d")


def test_a_duration_longer_than_the_maximum_is_refused() -> None:
    with pytest.raises(ExprError, match="'91d' is longer than the maximum of 90d"):
        parse_duration("91d")
    with pytest.raises(ExprError, match="longer than the maximum"):
        parse_duration(f"{MAX_DURATION + 1}s")


@given(st.integers(0, 10**9), st.sampled_from("smhd"))
def test_whole_durations_are_exact_or_refused(n: int, unit: str) -> None:
    seconds = n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]
    try:
        assert parse_duration(f"{n}{unit}") == seconds
    except ExprError:
        assert seconds > MAX_DURATION
