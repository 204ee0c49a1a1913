"""hub/maptiles.py: a deployment's tile server, checked once, and the origin the CSP admits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hub.maptiles import tile_origin

TEMPLATE = "/{z}/{x}/{y}.png"


@pytest.mark.parametrize(("url", "origin"), [
    ("https://tiles.example.org/{z}/{x}/{y}.png", "https://tiles.example.org"),
    ("http://10.0.0.7:8080/osm/{z}/{x}/{y}.png", "http://10.0.0.7:8080"),
    ("https://Maps.Example.ORG:443/wmts/{z}/{y}/{x}", "https://maps.example.org:443"),
    ("http://[::1]:9000/t/{z}/{x}/{y}.png?style=topo", "http://[::1]:9000"),
])
def test_a_good_template_gives_its_origin(url: str, origin: str) -> None:
    assert tile_origin(url) == origin


@pytest.mark.parametrize(("url", "says"), [
    ("https://tiles.example.org/{z}/{x}.png", "{y}"),
    ("https://tiles.example.org/tiles.png", "{z}, {x}, {y}"),
    ("ftp://tiles.example.org" + TEMPLATE, "http"),
    ("//tiles.example.org" + TEMPLATE, "http"),
    ("https://" + TEMPLATE, "host"),
    ("https://user:secret@tiles.example.org" + TEMPLATE, "credentials"),
    ("https://{s}.tile.example.org" + TEMPLATE, "host"),
    ("https://tiles.example.org; script-src *" + TEMPLATE, "spaces"),
    ("https://a.example,https://b.example" + TEMPLATE, "spaces"),
    ("https://tiles.example.org:99999" + TEMPLATE, "port"),
    ("https://tïles.example.org" + TEMPLATE, "ASCII"),
])
def test_a_bad_template_is_refused_saying_why(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        tile_origin(url)


ORIGIN = re.compile(r"https?://(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(:\d{1,5})?")


@given(st.text(max_size=80) | st.builds(lambda s, h, p: f"{s}://{h}{p}",
                                        st.sampled_from(["http", "https", "ftp", "HTTPS"]),
                                        st.text(max_size=30),
                                        st.sampled_from([TEMPLATE, "/{z}/{x}", "", "/{z}{x}{y}"])))
def test_whatever_the_text_the_answer_is_a_clean_origin_or_a_refusal(url: str) -> None:
    try:
        origin = tile_origin(url)
    except ValueError as exc:
        assert str(exc).startswith("map_tile_url")
        return
    assert ORIGIN.fullmatch(origin), origin  # nothing that could widen the CSP
    assert all(p in url for p in ("{z}", "{x}", "{y}"))
