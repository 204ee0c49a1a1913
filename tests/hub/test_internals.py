"""The private shapes of uvicorn and websockets that hub.wsserver relies on
(hub/internals.py): checked against the installed releases, failing with the
dependency's name and version when one has moved; and the check itself finds a
moved shape (a stand-in class with an attribute renamed, a parser that never
reaches at_eof)."""

from __future__ import annotations

from typing import Any

import pytest

from hub import internals


def test_the_installed_uvicorn_and_websockets_have_the_shape_the_hub_needs() -> None:
    found = internals.problems()
    if found:
        pytest.fail("a dependency's internals changed shape:\n" + "\n".join(found))


def test_require_names_the_dependency_and_how_to_fix_it(monkeypatch: Any) -> None:
    monkeypatch.setattr(internals, "problems",
                        lambda: ["uvicorn 9.9: WebSocketsSansIOProtocol.handle_connect is gone"])
    with pytest.raises(internals.DependencyShapeError) as caught:
        internals.require()
    assert "uvicorn 9.9" in str(caught.value)
    assert "requirements.lock" in str(caught.value)


def test_a_renamed_uvicorn_attribute_is_reported_with_uvicorns_name(monkeypatch: Any) -> None:
    from uvicorn.protocols.websockets import websockets_sansio_impl as impl

    class Moved:  # what a release that renamed `writable` and dropped start_keepalive has
        def __init__(self) -> None:
            self.queue: Any = None
            self.can_write: Any = None

        def handle_connect(self, event: Any) -> None:
            self.queue.put_nowait(event)
            self.queue.peek()

    monkeypatch.setattr(impl, "WebSocketsSansIOProtocol", Moved)
    found = internals._uvicorn_problems()
    assert all(p.startswith("uvicorn ") for p in found), found
    assert any("start_keepalive is gone" in p for p in found), found
    assert any("no longer sets self.writable" in p for p in found), found
    assert any("self.queue.peek()" in p and "Inbox" in p for p in found), found


def test_a_parser_that_never_waits_at_eof_is_reported_with_websockets_name(
        monkeypatch: Any) -> None:
    from websockets.protocol import Protocol

    def parse(self: Any) -> Any:  # a release whose frame loop has another shape
        while True:
            data = yield from self.reader.read_exact(2)
            del data

    monkeypatch.setattr(Protocol, "parse", parse)
    [problem] = internals._websockets_problems()
    assert problem.startswith("websockets ") and "never dropped" in problem
