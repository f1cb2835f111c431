"""DNS as a sending MTA reads it, on dnspython's own asynchronous resolver, every question under one deadline.

Each question is :meth:`dns.asyncresolver.Resolver.resolve` with the lifetime left of the domain's
:class:`~mtasts.checker.deadline.Deadline`, so the resolver's rules are dnspython's, not the kit's: the query it
builds (flags, EDNS), a try of at most ``resolver.timeout`` seconds per server, round robin until the lifetime
ends, SERVFAIL and REFUSED taking the server out (with none left, the question fails), a truncated UDP answer
asked again over TCP of the same server, random query ids, CNAME chains followed.

The checker runs a thread per domain; a question must cost neither a thread nor a socket of its own. Every
domain's questions are coroutines on the process's one DNS event loop (:class:`Pending`), and the questions of
one domain share one UDP socket (:mod:`.dnsbatch`, a :class:`~dns.nameserver.Do53Nameserver` extended the way
checkdmarc extends dnspython's nameservers): the domain hands them all over at once (:meth:`Lookups.send`),
fetches the policy meanwhile, and reads the answers (:meth:`Pending.answers`), which wait no longer than the
deadline. An answer is read as it arrives, so one that arrived before the deadline counts even when the
domain's thread asks for it after. bench/bench_check.py and bench_status.py measure this against the
hand-written exchange it replaced (docs/check.md, "The network layer, measured").
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ipaddress
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import dns.asyncresolver
import dns.exception
import dns.flags
import dns.inet
import dns.message
import dns.name
import dns.nameserver
import dns.resolver

from ..records import join_txt_strings
from .deadline import Deadline, NoAddressError
from .dnsbatch import BATCH, Batch, BatchNameserver, Datagrams

__all__ = [
    "NXDOMAIN",
    "Lookups",
    "MxAnswer",
    "Pending",
    "Resolved",
    "ResolverError",
    "cname_target",
    "mx_answer",
    "txt_values",
]

#: Seconds past the deadline that :meth:`Pending.answers` waits for the resolver's own lifetime timeouts to land.
GRACE = 0.5
#: The longest one try of one server may wait (dnspython's default is 2 s; the deadline bounds the whole question).
MAX_TRY = 5.0


class _NXDomain:
    """The marker :meth:`Lookups.send` answers for a name that does not exist (NXDOMAIN)."""

    def __repr__(self) -> str:
        return "NXDOMAIN"


#: What a lookup answers for NXDOMAIN (``None`` is "no record of that type").
NXDOMAIN = _NXDomain()


class ResolverError(dns.exception.DNSException):
    """The resolver did not answer (timeout, SERVFAIL, refused): nothing is known about the name.

    Not NXDOMAIN or an empty answer, which are answers. The message is one line, the same for every lookup that
    failed the same way, so a report can print it once.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)  # type: ignore[no-untyped-call]  # dnspython's __init__ is untyped
        self.message = message

    def __str__(self) -> str:
        return self.message


#: One answer of a lookup: the answer, NXDOMAIN, no record of the type, or why none came.
Resolved = dns.resolver.Answer | _NXDomain | ResolverError | None


@dataclass(frozen=True)
class MxAnswer:
    """The MX RRset of a domain as a sender reads it (RFC 5321 §5.1, RFC 7505)."""

    hosts: tuple[str, ...]
    """MX host names by preference, lower case, no trailing dot; empty when there are none."""
    nxdomain: bool = False
    """The domain does not exist."""
    null_mx: bool = False
    """The domain publishes a null MX (``0 .``, RFC 7505): it accepts no mail."""

    @property
    def implicit(self) -> bool:
        """No MX records at an existing name: senders deliver to the domain's own address (RFC 5321 §5.1)."""
        return not self.hosts and not self.nxdomain and not self.null_mx


def mx_answer(answer: Resolved) -> MxAnswer:
    """The :class:`MxAnswer` of an MX lookup's answer; raises its :class:`ResolverError`."""
    if isinstance(answer, ResolverError):
        raise answer
    if answer is NXDOMAIN:
        return MxAnswer((), nxdomain=True)
    if not isinstance(answer, dns.resolver.Answer):
        return MxAnswer(())
    records = sorted(answer, key=lambda r: r.preference)
    hosts = tuple(r.exchange.to_text(omit_final_dot=True).lower() for r in records if r.exchange != dns.name.root)
    return MxAnswer(hosts, null_mx=bool(records) and not hosts)


def txt_values(name: str, answer: Resolved) -> tuple[list[str], str]:
    """TXT values of a TXT lookup's answer (each RR's strings joined, RFC 8461 §3.1) and where the CNAMEs ended.

    No record is an empty list and ``name``. Raises the answer's :class:`ResolverError`.
    """
    if isinstance(answer, ResolverError):
        raise answer
    if not isinstance(answer, dns.resolver.Answer):
        return [], name
    values = [join_txt_strings(rdata.strings) for rdata in answer]
    return values, answer.canonical_name.to_text(omit_final_dot=True)


def cname_target(answer: Resolved) -> str | None:
    """The CNAME target in a CNAME lookup's answer, or ``None``; raises its :class:`ResolverError`."""
    if isinstance(answer, ResolverError):
        raise answer
    if not isinstance(answer, dns.resolver.Answer):
        return None
    return str(answer[0].target.to_text(omit_final_dot=True)).lower()


class _Loop:
    """The process's one event loop for DNS, in a daemon thread; started on first use, and again after a fork."""

    lock = threading.Lock()
    loop: asyncio.AbstractEventLoop | None = None
    pid = 0


def _event_loop() -> asyncio.AbstractEventLoop:
    with _Loop.lock:
        if _Loop.loop is None or _Loop.pid != os.getpid():
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="mtasts-dns", daemon=True).start()
            _Loop.loop, _Loop.pid = loop, os.getpid()
        return _Loop.loop


class Pending:
    """Questions sent together; :meth:`answers` waits for them, no longer than their deadline.

    The questions of every domain run on the process's one DNS event loop (:func:`_event_loop`, a thread of its
    own): the caller hands them over and goes on (the checker fetches the policy), answers are read as they
    arrive and retries go out on time, and :meth:`answers` waits for the last of them, no longer than the
    deadline. One loop for all domains, not one per domain's thread: with 200 domains checked at once, one
    thread reading every datagram wakes up far less often than 200 loops would, and each wake-up hands the
    interpreter lock over (bench_check, docs/check.md "The network layer, measured": 1.4 times the CPU with a
    loop per thread). A caller inside a running event loop (the Pulumi program's preflight) is served the same.
    """

    def __init__(self, lookups: Lookups, questions: Sequence[tuple[str, str]], deadline: Deadline) -> None:
        self._lookups, self._count, self._deadline = lookups, len(questions), deadline
        self._future = asyncio.run_coroutine_threadsafe(lookups.ask_all(questions, deadline), _event_loop())

    def answers(self) -> list[Resolved]:
        """An answer per question, in order; those that had none by the deadline are its :class:`ResolverError`."""
        try:
            return self._future.result(timeout=self._deadline.left() + GRACE)
        except concurrent.futures.TimeoutError:
            self._future.cancel()
            return [self._lookups.error(TimeoutError(), self._deadline)] * self._count


class Lookups:
    """DNS through the given resolver addresses (or the system's configuration), as :class:`Network` uses it."""

    def __init__(self, nameservers: Sequence[tuple[str, int]], try_timeout: float) -> None:
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [BatchNameserver(address, port) for address, port in nameservers]
        else:
            resolver = dns.asyncresolver.Resolver()  # DNS over TLS, HTTPS or QUIC there stay dnspython's
            resolver.nameservers = [
                BatchNameserver(ns.address, ns.port) if type(ns) is dns.nameserver.Do53Nameserver else ns
                for ns in resolver.nameservers
            ]
        self.families = {
            dns.inet.af_for_address(ns.address) for ns in resolver.nameservers if isinstance(ns, BatchNameserver)
        }
        resolver.timeout = min(try_timeout, MAX_TRY)  # per try of one server; the deadline bounds the whole question
        self.resolver = resolver
        self.name = (
            ", ".join(f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in nameservers)
            if nameservers
            else "the system resolver"
        )

    def send(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> Pending:
        """Ask every (name, type) now; the returned :class:`Pending` reads the answers, in the same order.

        Each answer is what :meth:`dns.resolver.Resolver.resolve` gives (CNAME chains followed), or
        :data:`NXDOMAIN`, or ``None`` (no record of that type), or the :class:`ResolverError` saying why none came.
        """
        return Pending(self, questions, deadline)

    def resolve_many(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> list[Resolved]:
        """:meth:`send` and wait for the answers."""
        return self.send(questions, deadline).answers()

    def addresses(self, host: str, deadline: Deadline) -> list[str]:
        """IP addresses of ``host`` (A first, then AAAA); an IP literal is itself.

        :class:`~mtasts.checker.deadline.NoAddressError` when the name has none; :class:`ResolverError` when the
        resolver does not answer.
        """
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        deadline.remaining()  # a step that starts after the deadline (queued behind others) says so, not "DNS"
        for rdtype in ("A", "AAAA"):
            (answer,) = self.resolve_many([(host, rdtype)], deadline)
            if isinstance(answer, ResolverError):
                raise answer
            if isinstance(answer, dns.resolver.Answer):
                return [rdata.address for rdata in answer]
        raise NoAddressError(f"{host} has no A or AAAA record")

    def error(self, exc: BaseException, deadline: Deadline) -> ResolverError:
        """One line for a lookup that got no answer, the same for every lookup that failed the same way."""
        if isinstance(exc, dns.exception.Timeout | TimeoutError):
            return ResolverError(f"no answer from {self.name} within the {deadline.seconds:g} s deadline")
        if isinstance(exc, dns.resolver.NoNameservers):
            return ResolverError(f"{self.name} failed to answer (SERVFAIL or refused)")
        if isinstance(exc, dns.resolver.YXDOMAIN):
            return ResolverError("DNS lookup failed: YXDOMAIN: the name is too long after DNAME substitution")
        return ResolverError(f"DNS lookup failed: {exc.__class__.__name__}: {exc}")

    async def ask_all(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> list[Resolved]:
        """Every question's answer, in order, its UDP tries sharing one socket per address family."""
        loop = asyncio.get_running_loop()
        batch = Batch()
        try:
            for family in self.families:
                _, batch.endpoints[family] = await loop.create_datagram_endpoint(Datagrams, family=family)
            BATCH.set(batch)
            asked = (self._ask(name, rdtype, deadline) for name, rdtype in questions)
            return list(await asyncio.gather(*asked))
        finally:
            for endpoint in batch.endpoints.values():
                if endpoint.transport is not None:
                    endpoint.transport.close()

    async def _ask(self, name: str, rdtype: str, deadline: Deadline) -> Resolved:
        try:
            answer = await self.resolver.resolve(
                name, rdtype, search=False, raise_on_no_answer=False, lifetime=deadline.remaining()
            )
        except dns.resolver.NXDOMAIN:
            return NXDOMAIN
        except (dns.exception.DNSException, TimeoutError) as exc:
            return self.error(exc, deadline)
        return answer if answer.rrset is not None else None
