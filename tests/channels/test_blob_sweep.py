"""channels/blob_sweep.py: what a message's or a case's files name (the mark's unit)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from channels.blob_sweep import named_files

DIGEST = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)


@given(st.lists(st.fixed_dictionaries({"sha256": DIGEST}, optional={
    "preview": st.one_of(st.none(), DIGEST), "thumbnail": st.one_of(st.none(), DIGEST),
    "name": st.text(max_size=5)}), max_size=10))
def test_each_file_names_itself_and_its_copies_and_nothing_else(
        files: list[dict[str, Any]]) -> None:
    expected = [d for f in files for d in (f["sha256"], f.get("preview"), f.get("thumbnail"))
                if d is not None]
    assert list(named_files(files)) == expected


def test_anything_but_a_list_of_files_names_nothing() -> None:
    for value in (None, "ab" * 32, {"sha256": "ab" * 32}, [1, "x", None],
                  [{"sha256": 5}], [{"name": "a.jpg"}]):
        assert list(named_files(value)) == []
