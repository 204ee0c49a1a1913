"""alerting/interop/outgoing_sender.py: outgoing requests go to public addresses only, pinned,
not redirected."""

from __future__ import annotations

import ipaddress

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerting.interop.outgoing_sender import Refused, Sender, address_allowed, parse_networks


@pytest.mark.parametrize(("address", "allowed"), [
    ("93.184.216.34", True), ("2606:2800:220:1:248:1893:25c8:1946", True),
    ("127.0.0.1", False), ("::1", False), ("10.1.2.3", False), ("172.16.5.4", False),
    ("192.168.1.1", False), ("169.254.169.254", False), ("fe80::1", False),
    ("fd00::1", False), ("100.64.0.1", False), ("0.0.0.0", False), ("::", False),
    ("224.0.0.1", False), ("ff02::1", False), ("240.0.0.1", False),
    ("255.255.255.255", False), ("::ffff:127.0.0.1", False), ("::ffff:10.0.0.1", False),
    ("::ffff:93.184.216.34", True), ("192.0.2.1", False), ("198.18.0.1", False),
    # Issue 24, finding 9: every IPv6 form that carries an IPv4 address is judged by it.
    ("::127.0.0.1", False), ("::10.0.0.1", False), ("::93.184.216.34", True),
    ("::ffff:0:127.0.0.1", False), ("::ffff:0:93.184.216.34", True),
    ("64:ff9b::127.0.0.1", False), ("64:ff9b::169.254.169.254", False),
    ("64:ff9b::93.184.216.34", True), ("64:ff9b:1::7f00:1", False),
    ("2002:7f00:1::1", False), ("2002:a00:1::1", False), ("2002:5db8:d822::1", True),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo to 127.0.0.1
])
def test_only_public_addresses_are_called_by_default(address: str, allowed: bool) -> None:
    assert address_allowed(ipaddress.ip_address(address), ()) is allowed


def test_an_allowlist_names_the_private_networks_a_deployment_calls() -> None:
    allow = parse_networks(["127.0.0.1", "10.20.0.0/16", " "])
    assert address_allowed(ipaddress.ip_address("127.0.0.1"), allow)
    assert address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"), allow)
    assert address_allowed(ipaddress.ip_address("10.20.9.9"), allow)
    assert not address_allowed(ipaddress.ip_address("10.21.0.1"), allow)
    assert not address_allowed(ipaddress.ip_address("127.0.0.2"), allow)
    with pytest.raises(ValueError):
        parse_networks(["not-a-network"])


@given(st.ip_addresses())
def test_no_private_address_is_ever_allowed_without_an_allowlist(address: object) -> None:
    assert isinstance(address, ipaddress.IPv4Address | ipaddress.IPv6Address)
    if address_allowed(address, ()):
        plain = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) and \
            address.ipv4_mapped else address
        assert plain.is_global and not plain.is_private and not plain.is_loopback
        assert not plain.is_link_local and not plain.is_multicast


async def test_names_are_resolved_and_checked() -> None:
    sender = Sender(allow=(), timeout=5)
    for url in ("http://localhost:8080/x", "http://127.0.0.1/x", "http://[::1]/x",
                "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/"):
        with pytest.raises(Refused, match="webhook_allow_networks"):
            await sender.check(url)
    with pytest.raises(Refused, match="cannot resolve"):
        await sender.check("http://nonexistent.invalid/")
    allowed = Sender(allow=parse_networks(["127.0.0.0/8", "::1"]), timeout=5)
    assert str(await allowed.check("http://localhost:9/")) in ("127.0.0.1", "::1")
    await sender.close()
    await allowed.close()


class Body(httpx.AsyncByteStream):
    """A response body as a server streams it (MockTransport's own bodies come pre-read)."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def __aiter__(self):  # type: ignore[no-untyped-def]
        for i in range(0, len(self.data), 65536):
            yield self.data[i:i + 65536]


async def test_the_request_goes_to_the_checked_address_with_the_name_as_host() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == "/moved":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/"},
                                  stream=Body(b""))
        if request.url.path == "/big":
            return httpx.Response(200, stream=Body(b"x" * 1_000_000))
        return httpx.Response(204, stream=Body(b""))

    sender = Sender(allow=parse_networks(["127.0.0.0/8"]), timeout=5,
                    transport=httpx.MockTransport(answer))
    got = await sender.post("http://localhost:8125/hook?x=1", {"webhook-id": "dl_1"}, b"{}")
    assert got.ok and got.status == 204 and got.error is None
    request = seen[-1]
    assert request.url.host == "127.0.0.1" and request.url.port == 8125
    assert request.url.query == b"x=1" and request.headers["host"] == "localhost:8125"
    moved = await sender.post("http://localhost:8125/moved", {}, b"{}")
    assert (moved.status, moved.error, moved.ok) == (302, "redirects are not followed", False)
    assert len(seen) == 2  # the redirect was not followed
    assert (await sender.post("http://localhost:8125/big", {}, b"{}")).ok
    refused = await sender.post("http://10.0.0.1/", {}, b"{}")
    assert refused.status is None and "non-public" in (refused.error or "")
    assert len(seen) == 3  # never sent
    await sender.close()


async def test_a_receiver_that_is_not_there_is_a_failed_attempt() -> None:
    from tests.conftest import free_port
    sender = Sender(allow=parse_networks(["127.0.0.1"]), timeout=2)
    got = await sender.post(f"http://127.0.0.1:{free_port()}/", {}, b"{}")
    assert got.status is None and got.error and "Connect" in got.error
    await sender.close()


@given(st.ip_addresses(v=4), st.sampled_from(["::{}", "::ffff:{}", "::ffff:0:{}",
                                                "64:ff9b::{}", "2002:{}::1"]))
def test_an_ipv4_address_is_judged_alike_in_every_ipv6_form(v4: ipaddress.IPv4Address,
                                                           form: str) -> None:
    if form.startswith("2002"):
        packed = int(v4)
        inside = form.format(f"{packed >> 16:x}:{packed & 0xFFFF:x}")
    else:
        inside = form.format(v4)
    wrapped = ipaddress.ip_address(inside)
    if str(v4) in ("0.0.0.0", "0.0.0.1") and form == "::{}":
        return  # "::" and "::1" themselves: never allowed either way
    assert address_allowed(wrapped, ()) is address_allowed(v4, ())
