"""Sends one outgoing webhook request, safe against server-side request forgery.

A webhook's URL is user input, so the hub must not be turned into a way to
reach what only it can reach. :meth:`Sender.post`:

* resolves the host **once** and checks every address it resolves to: only
  public (global unicast) addresses are allowed, unless a network of the
  ``webhook_allow_networks`` setting names them (loopback, private, link-local
  including the cloud metadata address, unique-local, multicast, reserved,
  IPv4-mapped forms of those: all refused by default);
* connects to the address it checked (the request goes to that IP; ``Host``
  and TLS SNI / certificate checks use the name), so a second DNS answer
  cannot change where it goes;
* does not follow redirects (a 3xx is a failed attempt);
* bounds the whole attempt in time and reads at most a few kilobytes back.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

__all__ = ["Attempt", "Refused", "Sender", "address_allowed", "parse_networks"]

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_RESPONSE = 4096


class Refused(Exception):
    """The URL may not be called (an address it resolves to is not allowed)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    status: int | None  # the HTTP status, or None when no answer came
    error: str | None  # why it failed, for the delivery log (never a secret)

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def parse_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """The allowlist setting's networks (``10.0.0.0/8``, ``127.0.0.1``); ValueError if bad."""
    return tuple(ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip())


#: IPv6 ranges whose last 32 bits are an IPv4 address a packet may end up at:
#: IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d, RFC 2765) and the
#: NAT64 well-known prefix (64:ff9b::/96, RFC 6052).
_LAST_32 = tuple(ipaddress.IPv6Network(n) for n in ("::/96", "::ffff:0:0:0/96",
                                                    "64:ff9b::/96"))
#: NAT64 local-use prefix (RFC 8215): where it puts the IPv4 address depends on the
#: operator's prefix length, so it is refused unless allowlisted.
_OPAQUE = (ipaddress.IPv6Network("64:ff9b:1::/48"),)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, translated,
    NAT64, 6to4, Teredo), if it carries one."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in net for net in _LAST_32):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_allowed(address: Address, allow: Sequence[Network]) -> bool:
    if any(address in net for net in allow):
        return True
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in net for net in _OPAQUE):
            return False
        inner = _embedded_ipv4(address)
        if inner is not None:  # it reaches an IPv4 address: that one decides
            return address_allowed(inner, allow)
    return address.is_global and not address.is_multicast


class Sender:
    def __init__(self, *, allow: Sequence[Network], timeout: float,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._allow = tuple(allow)
        self._timeout = timeout
        self._client = httpx.AsyncClient(follow_redirects=False, transport=transport,
                                         timeout=httpx.Timeout(timeout))

    async def close(self) -> None:
        await self._client.aclose()

    async def check(self, url: str) -> Address:
        """The address a request to ``url`` would go to; :class:`Refused` if none may."""
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        if literal is not None:
            candidates = [literal]
        else:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise Refused(f"cannot resolve {host}: {exc.strerror or exc}") from None
            candidates = [ipaddress.ip_address(info[4][0]) for info in infos]
        refused = [a for a in candidates if not address_allowed(a, self._allow)]
        if refused or not candidates:
            shown = refused[0] if refused else "none"
            raise Refused(f"{host} resolves to a non-public address ({shown}); name its "
                          "network in webhook_allow_networks")
        return candidates[0]

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Attempt:
        """One attempt: the status, or why there was none."""
        try:
            address = await self.check(url)
        except Refused as exc:
            return Attempt(None, str(exc))
        parts = urlsplit(url)
        host = parts.hostname or ""
        ip = f"[{address}]" if address.version == 6 else str(address)
        pinned = parts._replace(netloc=f"{ip}:{parts.port}" if parts.port else ip).geturl()
        extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
        try:
            async with asyncio.timeout(self._timeout + 1):
                async with self._client.stream(
                        "POST", pinned, content=body,
                        headers={**headers, "host": parts.netloc.rsplit("@", 1)[-1]},
                        extensions=extensions) as response:
                    read = 0
                    async for chunk in response.aiter_raw():
                        read += len(chunk)
                        if read >= MAX_RESPONSE:
                            break
                    status = response.status_code
        except (httpx.HTTPError, TimeoutError, OSError) as exc:
            return Attempt(None, f"{type(exc).__name__}: {str(exc)[:200]}")
        if 300 <= status < 400:
            return Attempt(status, "redirects are not followed")
        return Attempt(status, None if 200 <= status < 300 else f"HTTP {status}")
