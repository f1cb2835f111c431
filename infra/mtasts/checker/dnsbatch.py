"""One UDP socket for the questions of one domain: dnspython's plain-DNS nameserver, extended for a batch.

dnspython's resolver asks a :class:`~dns.nameserver.Nameserver` for each try; its stock plain-DNS one opens,
connects and closes a UDP socket per try. :class:`BatchNameserver` is the same nameserver whose UDP tries go
through the socket of the batch they belong to (:class:`Batch`, set by :mod:`.dns` for the questions of one
domain), the way checkdmarc extends dnspython through its ``Nameserver`` classes instead of writing a resolver
loop: which server, when to retry, when to go over TCP and what an answer means stay dnspython's. Only the
exchange of one UDP try is here. As dnspython's ``udp(ignore_unexpected=True, ignore_errors=True)``: a datagram
from another address or port, with another id, for another question, or that does not parse is ignored, and the
try goes on waiting until its timeout. A try's timeout is a timer, not ``asyncio.timeout``: an answer already in
the socket when the loop runs again wins over a timer that is due, so a busy loop never turns an answer that
arrived in time into a timeout.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import ipaddress
import os
from typing import Any, cast

import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.nameserver

__all__ = ["BATCH", "Batch", "BatchNameserver", "Datagrams"]


@functools.lru_cache(maxsize=256)  # called for every datagram and every try: a few resolvers, parsed once each
def _address_key(address: str) -> str:
    """An IP address in one spelling, its IPv6 zone left out, to compare where an answer came from."""
    return str(ipaddress.ip_address(address.partition("%")[0]))


class Datagrams(asyncio.DatagramProtocol):
    """One UDP socket of a batch; each datagram goes to the try waiting for its (id, server address, port)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.waiting: dict[tuple[int, str, int], asyncio.Future[bytes]] = {}

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport to send with."""
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        """Hand the datagram to the try waiting for its id from its source, if any (else it is dropped)."""
        future = self.waiting.get((int.from_bytes(data[:2], "big"), _address_key(addr[0]), addr[1]))
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        """An ICMP error (port unreachable) on the socket: the try it belongs to times out."""


class Batch:
    """The questions of one :meth:`Lookups.send`: their UDP sockets, one per address family."""

    def __init__(self) -> None:
        self.endpoints: dict[int, Datagrams] = {}


#: The batch a question belongs to (a contextvar: each gathered question sees the batch it was asked in).
BATCH: contextvars.ContextVar[Batch | None] = contextvars.ContextVar("BATCH", default=None)


def _expire(future: asyncio.Future[bytes], timeout: float) -> None:
    if not future.done():
        future.set_exception(dns.exception.Timeout(timeout=timeout))  # type: ignore[no-untyped-call]


class BatchNameserver(dns.nameserver.Do53Nameserver):
    """Plain DNS whose UDP tries share the socket of their batch (TCP after truncation is dnspython's own).

    dnspython's resolver drives it like any :class:`~dns.nameserver.Do53Nameserver` (which server, when to retry,
    when to switch to TCP, what an answer means); only the exchange of one UDP try is here, to spare each
    question a socket of its own (bench_check: the checker's CPU per domain, docs/check.md). As dnspython's
    ``udp(ignore_unexpected=True, ignore_errors=True)``: a datagram from another address or port, with another
    id, for another question or that does not parse is ignored, and the try goes on waiting until its timeout.
    """

    async def async_query(  # noqa: D102  # dnspython's Nameserver.async_query: one try of one question
        self,
        request: dns.message.QueryMessage,
        timeout: float,
        source: str | None,
        source_port: int,
        max_size: bool,
        backend: Any,
        one_rr_per_rrset: bool = False,
        ignore_trailing: bool = False,
    ) -> dns.message.Message:
        batch = BATCH.get()
        endpoint = batch.endpoints.get(dns.inet.af_for_address(self.address)) if batch else None
        if batch is None or max_size or endpoint is None or endpoint.transport is None:
            return await super().async_query(
                request, timeout, source, source_port, max_size, backend, one_rr_per_rrset, ignore_trailing
            )
        server = (_address_key(self.address), self.port)
        while (request.id, *server) in endpoint.waiting:  # another question of the batch asks this server with it
            request.id = int.from_bytes(os.urandom(2), "big")
        key = (request.id, *server)
        loop = asyncio.get_running_loop()
        expiry = loop.time() + timeout
        try:
            endpoint.transport.sendto(request.to_wire(), (self.address, self.port))
            while True:
                # A timer, not asyncio.timeout(): an answer that is in when the loop runs again wins over it.
                future = endpoint.waiting[key] = loop.create_future()
                timer = loop.call_at(expiry, _expire, future, timeout)
                try:
                    wire = await future
                finally:
                    timer.cancel()
                try:
                    response = dns.message.from_wire(
                        wire, one_rr_per_rrset=one_rr_per_rrset, ignore_trailing=ignore_trailing
                    )
                except Exception:  # noqa: S112  # as dnspython's ignore_errors: not an answer, keep waiting
                    continue
                if request.is_response(response):
                    if response.flags & dns.flags.TC:
                        raise dns.message.Truncated(message=response)  # type: ignore[no-untyped-call]  # TCP next
                    return response
        finally:
            endpoint.waiting.pop(key, None)
