"""Network access as a sending MTA does it: DNS (dnspython), the policy over HTTPS, STARTTLS on port 25.

Everything takes a :class:`Network` with the seams that make the checker
usable on split-horizon networks and in hermetic tests: the resolver address,
a CA file, and curl-style ``--connect-to`` overrides that change where a
connection goes but never the name that TLS verifies. Every name, the policy
host and the MX hosts included, is resolved through the :class:`Network`'s
resolver, never the system's ``getaddrinfo``.

Hostile peers are expected: every operation takes a :class:`Deadline` (one per
domain) and each socket read gets only the time left of it, so a server that
trickles bytes cannot stretch an operation past the deadline, and every read is
capped in bytes (status line and headers, body, SMTP replies).

Why over 400 lines: the DNS exchange, the HTTPS policy fetch and the SMTP STARTTLS client share one
:class:`Deadline` and the byte caps that tests/checker/test_hostile.py pins. Issue 20 item 3 measures a rebuild
on dnspython's resolver and an HTTP/1.1 library (bench_check, bench_status) before any of it is split or replaced.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import math
import os
import select
import smtplib
import socket
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.nameserver
import dns.query
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from ..policy import MAX_POLICY_BYTES, POLICY_PATH
from ..records import join_txt_strings

__all__ = [
    "NXDOMAIN",
    "ConnectTo",
    "Deadline",
    "FetchError",
    "MxAnswer",
    "Network",
    "NoAddressError",
    "PolicyResponse",
    "ResolverError",
    "TlsSession",
    "load_ca_file",
    "mx_answer",
    "parse_connect_to",
    "parse_nameserver",
    "parse_timeout",
]

#: RFC 8461 §3.3: senders should wait at least a minute for the policy; one domain's whole check gets this long.
DEFAULT_TIMEOUT = 60.0
#: Bounds of ``--timeout``: below, nothing can answer; above, a run of many domains would never end.
MIN_TIMEOUT, MAX_TIMEOUT = 0.1, 3600.0
#: Status line and headers of the policy response, together (a real one is a few hundred bytes).
MAX_HEAD_BYTES = 16 * 1024
#: Bytes on the wire for the body, chunk framing included (the body itself is capped at MAX_POLICY_BYTES).
MAX_BODY_WIRE_BYTES = 2 * MAX_POLICY_BYTES
#: One SMTP reply line (RFC 5321 §4.5.3.1.5 allows 512 octets; servers stretch it, so 4x that).
MAX_SMTP_LINE = 2048
#: Lines of one SMTP reply (an EHLO reply has one per extension, a dozen or two in practice).
MAX_SMTP_LINES = 100
#: Bytes read from one MX in one session, every reply together.
MAX_SMTP_BYTES = 64 * 1024
#: Largest --ca-file read (a full public CA bundle is about 250 kB).
MAX_CA_FILE_BYTES = 8 * 1024 * 1024
#: Largest DNS message read over UDP (RFC 6891 §6.2.5: 65,535 at most; answers here are far smaller).
MAX_UDP_BYTES = 65535


class _NXDomain:
    """The marker :meth:`Network.resolve_many` returns for a name that does not exist (NXDOMAIN)."""

    def __repr__(self) -> str:
        return "NXDOMAIN"


#: What :meth:`Network.resolve_many` returns for NXDOMAIN (``None`` is "no record of that type").
NXDOMAIN = _NXDomain()


class Deadline:
    """The moment one domain's check must be over; every step gets only the time left of it."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left; :class:`TimeoutError` once none are."""
        left = self.end - time.monotonic()
        if left <= 0:
            raise TimeoutError("deadline passed")
        return left

    def left(self) -> float:
        """Seconds left, 0 once the deadline has passed."""
        return max(0.0, self.end - time.monotonic())


def parse_timeout(value: float) -> float:
    """A ``--timeout`` value, finite and between the bounds; :class:`ValueError` with the reason otherwise."""
    if not math.isfinite(value) or not MIN_TIMEOUT <= value <= MAX_TIMEOUT:
        raise ValueError(f"{value!r} is not a number of seconds from {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g}")
    return value


def load_ca_file(path: str) -> str:
    """The PEM text of ``path``, read with a size cap and checked by OpenSSL; :class:`ValueError` with the reason."""
    try:
        with open(path, "rb") as stream:
            data = stream.read(MAX_CA_FILE_BYTES + 1)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_CA_FILE_BYTES:
        raise ValueError(f"{path}: larger than {MAX_CA_FILE_BYTES} bytes, not a file of CA certificates")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: not PEM text (binary content); give CA certificates in PEM") from None
    try:
        ssl.create_default_context().load_verify_locations(cadata=text)
    except (ssl.SSLError, ValueError) as exc:
        reason = getattr(exc, "reason", None) or str(exc)
        raise ValueError(f"{path}: no usable PEM CA certificate in it ({reason})") from None
    return text


@dataclass(frozen=True)
class ConnectTo:
    """``HOST:PORT:ADDR:PORT`` as curl's ``--connect-to``; an empty host or port matches any."""

    host: str
    port: int | None
    address: str
    to_port: int | None


def parse_connect_to(value: str) -> ConnectTo:
    """Parse ``HOST:PORT:ADDR:PORT`` (IPv6 addresses in brackets); :class:`ValueError` with the reason."""
    parts: list[str] = []
    rest = value
    while rest:
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                raise ValueError(f"{value!r}: unclosed '['")
            parts.append(rest[1:end])
            rest = rest[end + 1 :]
            rest = rest.removeprefix(":")
        else:
            part, sep, rest = rest.partition(":")
            parts.append(part)
            if sep and not rest:
                parts.append("")
    if len(parts) != 4:
        raise ValueError(f"{value!r} is not HOST:PORT:CONNECT-TO-HOST:CONNECT-TO-PORT")
    host, port, address, to_port = parts

    def number(text: str) -> int | None:
        if not text:
            return None
        if not text.isdigit() or not 0 < int(text) < 65536:
            raise ValueError(f"{value!r}: {text!r} is not a port")
        return int(text)

    return ConnectTo(host.lower().rstrip("."), number(port), address, number(to_port))


def parse_nameserver(value: str) -> tuple[str, int]:
    """``IP`` or ``IP:PORT`` (``[IPv6]:PORT``) → (address, port)."""
    if value.startswith("["):
        address, _, port = value[1:].partition("]:")
        address = address.rstrip("]")
    elif value.count(":") == 1:
        address, _, port = value.partition(":")
    else:
        address, port = value, ""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in address else socket.AF_INET, address)
    except OSError:
        raise ValueError(f"{value!r}: {address!r} is not an IP address") from None
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValueError(f"{value!r}: {port!r} is not a port")
    return address, int(port) if port else 53


class FetchError(Exception):
    """The policy could not be fetched the way RFC 8461 §3.3 requires (or an MX not reached); the message says why."""


class NoAddressError(FetchError):
    """The host name has no A or AAAA record (the resolver answered): nothing is published there."""


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


#: One answer of :meth:`Network.resolve_many`: the answer, NXDOMAIN, no record of the type, or why none came.
Resolved = dns.resolver.Answer | _NXDomain | ResolverError | None


@dataclass(frozen=True)
class PolicyResponse:
    """What the policy host answered."""

    status: int
    content_type: str
    body: bytes
    location: str | None
    tls_version: str
    certificate_not_after: datetime | None = None
    """When the policy host's certificate (verified in this handshake) expires; ``None`` when unknown."""


@dataclass(frozen=True)
class TlsSession:
    """What one verified STARTTLS handshake showed."""

    version: str
    """TLS version negotiated, e.g. ``TLSv1.3``."""
    certificate_not_after: datetime | None = None
    """When the MX host's certificate expires (its ``notAfter``, UTC); ``None`` when unknown."""


def certificate_not_after(tls: ssl.SSLSocket) -> datetime | None:
    """The ``notAfter`` of the peer certificate of a verified handshake, read from it (no second connection)."""
    try:
        value = (tls.getpeercert() or {}).get("notAfter")
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(str(value)), UTC) if value else None
    except (ValueError, OSError):
        return None


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
    """The :class:`MxAnswer` of an MX answer of :meth:`Network.resolve_many`; raises its :class:`ResolverError`."""
    if isinstance(answer, ResolverError):
        raise answer
    if answer is NXDOMAIN:
        return MxAnswer((), nxdomain=True)
    if not isinstance(answer, dns.resolver.Answer):
        return MxAnswer(())
    records = sorted(answer, key=lambda r: r.preference)
    hosts = tuple(r.exchange.to_text(omit_final_dot=True).lower() for r in records if r.exchange != dns.name.root)
    return MxAnswer(hosts, null_mx=bool(records) and not hosts)


@dataclass
class Network:
    """How to reach DNS, HTTPS and SMTP; the defaults are the system's."""

    nameservers: list[tuple[str, int]] = field(default_factory=list)
    """Resolver addresses; empty means the system resolver configuration."""
    ca_file: str | None = None
    """Trust anchors for HTTPS and STARTTLS (PEM); ``None`` means the system store."""
    connect_to: list[ConnectTo] = field(default_factory=list)
    """Where to connect instead, per host and port."""
    timeout: float = DEFAULT_TIMEOUT
    """One domain's whole check (every lookup, the fetch, every MX), in seconds; see :meth:`deadline`."""
    ca_data: str | None = None
    """PEM text of :attr:`ca_file`, read once by :func:`load_ca_file` (read here when not given)."""
    _resolver: dns.resolver.Resolver | None = field(default=None, init=False, repr=False, compare=False)
    _tls: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)

    def deadline(self) -> Deadline:
        """A new deadline :attr:`timeout` seconds from now."""
        return Deadline(self.timeout)

    def resolver(self) -> dns.resolver.Resolver:
        """A dnspython resolver using :attr:`nameservers` (or the system's); each query passes its own lifetime.

        Built once: reading the system configuration on every query would cost more than the query.
        """
        if self._resolver is not None:
            return self._resolver
        if self.nameservers:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = [address for address, _ in self.nameservers]
            resolver.nameserver_ports = dict(self.nameservers)
        else:
            resolver = dns.resolver.Resolver()
        resolver.timeout = min(self.timeout, 5.0)  # per try of one server; the deadline bounds the whole query
        self._resolver = resolver
        return resolver

    def _resolver_name(self) -> str:
        if self.nameservers:
            return ", ".join(f"[{a}]:{p}" if ":" in a else f"{a}:{p}" for a, p in self.nameservers)
        return "the system resolver"

    def _query(self, name: str, rdtype: str, deadline: Deadline | None) -> dns.resolver.Answer | None:
        """The answer, ``None`` for NXDOMAIN or no record of that type; :class:`ResolverError` when none came."""
        answer = self.resolve_many([(name, rdtype)], deadline or self.deadline())[0]
        if isinstance(answer, ResolverError):
            raise answer
        return answer if isinstance(answer, dns.resolver.Answer) else None

    def _udp_servers(self) -> list[tuple[str, int]] | None:
        """The resolver's servers as (address, port) when all are plain DNS over UDP/TCP, else ``None``."""
        if self.nameservers:
            return list(self.nameservers)
        resolver = self.resolver()
        servers: list[tuple[str, int]] = []
        for server in resolver.nameservers:
            if isinstance(server, str):
                servers.append((server, resolver.nameserver_ports.get(server, resolver.port)))
            elif isinstance(server, dns.nameserver.Do53Nameserver):
                servers.append((server.address, server.port))
            else:
                return None  # DNS over HTTPS, TLS or QUIC from the system configuration: dnspython's resolver
        return servers or None

    def resolve_many(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> list[Resolved]:
        """Ask every (name, type) at once, within ``deadline``; an answer per question, in order.

        Each answer is what :meth:`dns.resolver.Resolver.resolve` would give (CNAME chains followed), or
        :data:`NXDOMAIN`, or ``None`` (no record of that type), or the :class:`ResolverError` saying why none came.
        See :class:`_Batch` for how the resolver's rules (retries, next server on SERVFAIL or REFUSED, TCP when
        truncated) are kept.
        """
        return self.send_questions(questions, deadline).answers()

    def send_questions(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> _Batch | _OneByOne:
        """Send every (name, type) now; the returned batch's ``answers()`` waits for them (see :meth:`resolve_many`).

        In between, the caller can do other work (the checker fetches the policy): answers wait in the socket.
        """
        servers = self._udp_servers()
        if servers is None:
            return _OneByOne(self, questions, deadline)
        batch = _Batch(self, servers, questions, deadline)
        batch.send()
        return batch

    def _one_by_resolver(self, name: str, rdtype: str, deadline: Deadline) -> Resolved:
        """One question through dnspython's resolver (for system configurations that are not plain DNS)."""
        try:
            return self.resolver().resolve(name, rdtype, search=False, lifetime=deadline.remaining())
        except dns.resolver.NXDOMAIN:
            return NXDOMAIN
        except dns.resolver.NoAnswer:
            return None
        except (dns.exception.DNSException, TimeoutError) as exc:
            return self._resolver_error(exc, deadline)

    def _resolver_error(self, exc: Exception, deadline: Deadline) -> ResolverError:
        """One line for a lookup that got no answer, the same for every lookup that failed the same way."""
        if isinstance(exc, dns.exception.Timeout | TimeoutError):
            return ResolverError(f"no answer from {self._resolver_name()} within the {deadline.seconds:g} s deadline")
        if isinstance(exc, dns.resolver.NoNameservers):
            return ResolverError(f"{self._resolver_name()} failed to answer (SERVFAIL or refused)")
        return ResolverError(f"DNS lookup failed: {exc.__class__.__name__}: {exc}")

    def txt(self, name: str, deadline: Deadline | None = None) -> tuple[list[str], str]:
        """TXT values at ``name`` (each RR's strings joined, RFC 8461 §3.1) and the name the CNAME chain ended at.

        No record is an empty list. Raises :class:`ResolverError` when the resolver does not answer.
        """
        return self.txt_values(name, self.resolve_many([(name, "TXT")], deadline or self.deadline())[0])

    def mx_answer(self, domain: str, deadline: Deadline | None = None) -> MxAnswer:
        """The MX RRset of ``domain``, telling NXDOMAIN, no MX (implicit MX) and null MX apart."""
        return mx_answer(self.resolve_many([(domain, "MX")], deadline or self.deadline())[0])

    def txt_values(self, name: str, answer: Resolved) -> tuple[list[str], str]:
        """:meth:`txt` of an answer of :meth:`resolve_many`."""
        if isinstance(answer, ResolverError):
            raise answer
        if not isinstance(answer, dns.resolver.Answer):
            return [], name
        values = [join_txt_strings(rdata.strings) for rdata in answer]
        return values, answer.canonical_name.to_text(omit_final_dot=True)

    def cname_target(self, answer: Resolved) -> str | None:
        """The CNAME target in an answer of :meth:`resolve_many`, or ``None``."""
        if isinstance(answer, ResolverError):
            raise answer
        if not isinstance(answer, dns.resolver.Answer):
            return None
        return str(answer[0].target.to_text(omit_final_dot=True)).lower()

    def mx(self, domain: str, deadline: Deadline | None = None) -> list[str]:
        """MX host names of ``domain``, by preference, lower case, no trailing dot; empty when none."""
        return list(self.mx_answer(domain, deadline).hosts)

    def addresses(self, host: str, deadline: Deadline | None = None) -> list[str]:
        """IP addresses of ``host`` through this resolver (A first, then AAAA); an IP literal is itself.

        :class:`FetchError` when the name has none; :class:`ResolverError` when the resolver does not answer.
        """
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        deadline = deadline or self.deadline()
        deadline.remaining()  # a step that starts after the deadline (queued behind others) says so, not "DNS"
        found: list[str] = []
        for rdtype in ("A", "AAAA"):
            answer = self._query(host, rdtype, deadline)
            if answer is not None:
                found += [rdata.address for rdata in answer]
            if found:
                break
        if not found:
            raise NoAddressError(f"{host} has no A or AAAA record")
        return found

    def destination(self, host: str, port: int) -> tuple[str, int]:
        """Where a connection to ``host:port`` really goes, after ``--connect-to``."""
        for rule in self.connect_to:
            if rule.host in ("", host.lower()) and rule.port in (None, port):
                return rule.address or host, rule.to_port or port
        return host, port

    def connect(self, host: str, port: int, deadline: Deadline) -> socket.socket:
        """A TCP connection to ``host:port`` (after ``--connect-to``), names resolved through this resolver.

        Tries each address in turn, each with the time left of ``deadline``.
        """
        target, to_port = self.destination(host, port)
        errors: list[OSError] = []
        for address in self.addresses(target, deadline):
            try:
                sock = socket.create_connection((address, to_port), deadline.remaining())
            except OSError as exc:  # TimeoutError included: the deadline is shared, so no other address has time
                if isinstance(exc, TimeoutError):
                    raise
                errors.append(exc)
                continue
            return sock
        raise errors[-1]

    def tls_context(self) -> ssl.SSLContext:
        """Certificate chain and name verified, TLS 1.2 or later; built once (loading the trust store is slow)."""
        if self._tls is None:
            if self.ca_file is not None and self.ca_data is None:
                self.ca_data = load_ca_file(self.ca_file)
            context = ssl.create_default_context(cadata=self.ca_data) if self.ca_data else ssl.create_default_context()
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls = context
        return self._tls

    def fetch_policy(self, domain: str, deadline: Deadline | None = None) -> PolicyResponse:
        """GET ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` as RFC 8461 §3.3 asks.

        SNI and certificate name for ``mta-sts.<domain>``, TLS 1.2+, redirects not followed, at most
        :data:`MAX_HEAD_BYTES` of status line and headers and 64 KiB of body read, every step within
        ``deadline``. Raises :class:`FetchError` (:class:`ResolverError` when the host name cannot be resolved).
        """
        host = f"mta-sts.{domain}"
        deadline = deadline or self.deadline()
        connection = _HTTPSConnection(host, self, deadline)
        try:
            connection.request("GET", POLICY_PATH, headers={"Host": host, "User-Agent": "mtasts-check"})
            connection.limit(MAX_HEAD_BYTES, "status line and headers")
            response = connection.getresponse()
            connection.limit(MAX_HEAD_BYTES + MAX_BODY_WIRE_BYTES, "response")
            body = bytearray()
            while len(body) <= MAX_POLICY_BYTES:
                chunk = response.read(min(16384, MAX_POLICY_BYTES + 1 - len(body)))
                if not chunk:
                    break
                body += chunk
            if len(body) > MAX_POLICY_BYTES:
                raise FetchError(f"the body is larger than {MAX_POLICY_BYTES} bytes (RFC 8461 §3.3)")
            return PolicyResponse(
                response.status,
                response.getheader("Content-Type", "") or "",
                bytes(body),
                response.getheader("Location"),
                connection.tls_version,
                connection.not_after,
            )
        except _TooLarge as exc:
            raise FetchError(f"{host}: {exc}") from None
        except (OSError, http.client.HTTPException) as exc:
            raise _fetch_error(exc, host, deadline, "cannot fetch from") from None
        finally:
            connection.shutdown()

    def starttls(self, mx_host: str, deadline: Deadline | None = None) -> str:
        """:meth:`starttls_session`'s TLS version."""
        return self.starttls_session(mx_host, deadline).version

    def starttls_session(self, mx_host: str, deadline: Deadline | None = None) -> TlsSession:
        """EHLO, STARTTLS and a verified handshake with ``mx_host`` on port 25; the version and certificate expiry.

        The certificate is checked against the MX host name (RFC 8461 §4.2). Every reply is read within
        ``deadline`` and capped (:data:`MAX_SMTP_LINE`, :data:`MAX_SMTP_LINES`, :data:`MAX_SMTP_BYTES`). Raises
        :class:`FetchError` (:class:`ResolverError` when the host name cannot be resolved).
        """
        deadline = deadline or self.deadline()
        smtp = _SMTP(self, deadline)
        try:
            smtp.connect(mx_host, 25)
            smtp.ehlo("mtasts-check.invalid")
            if not smtp.has_extn("starttls"):
                raise FetchError(f"{mx_host} does not offer STARTTLS")
            smtp.starttls(context=self.tls_context())
            sock = smtp.sock
            tls = sock if isinstance(sock, ssl.SSLSocket) else None
            session = TlsSession((tls.version() if tls else None) or "", certificate_not_after(tls) if tls else None)
            smtp.ehlo("mtasts-check.invalid")
            return session
        except _TooLarge as exc:
            raise FetchError(f"{mx_host}: {exc}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise _fetch_error(exc, mx_host, deadline, "SMTP failed with") from None
        finally:
            smtp.goodbye()


def _fetch_error(exc: Exception, host: str, deadline: Deadline, otherwise: str) -> FetchError:
    """One line saying why talking to ``host`` failed: certificate, TLS, timeout, or anything else."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"certificate of {host} not accepted: {exc.verify_message}")
    if isinstance(exc, TimeoutError):
        return FetchError(f"no answer from {host} within the {deadline.seconds:g} s deadline")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"TLS with {host} failed: {exc.reason or exc}")
    return FetchError(f"{otherwise} {host}: {exc}")


class _TooLarge(Exception):
    """A peer sent more than a cap allows; the message names the cap."""


class _DeadlineReader(io.RawIOBase):
    """Reads ``sock`` giving each ``recv`` only the time left of the deadline, and at most ``limit`` bytes in all.

    Buffered readers (``readline``, ``read(n)``) call ``readinto`` again as long as bytes arrive; because each call
    gets only what is left, a server trickling one byte at a time still cannot outlast the deadline.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline, limit: int, what: str) -> None:
        super().__init__()
        self._sock = sock
        self._deadline = deadline
        self.limit = limit
        self.what = what
        self.consumed = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        room = self.limit - self.consumed
        if room <= 0:
            raise _TooLarge(f"{self.what} larger than {self.limit} bytes")
        self._sock.settimeout(self._deadline.remaining())
        view = memoryview(buffer).cast("B")
        count = self._sock.recv_into(view[: min(len(view), room)])
        self.consumed += count
        return count


class _DeadlineSocket:
    """What :mod:`http.client` needs of a socket, with every read bounded by :class:`_DeadlineReader`."""

    def __init__(self, tls: ssl.SSLSocket, deadline: Deadline) -> None:
        self.tls = tls
        self.reader = _DeadlineReader(tls, deadline, MAX_HEAD_BYTES, "status line and headers")
        self._deadline = deadline

    def sendall(self, data: bytes) -> None:
        self.tls.settimeout(self._deadline.remaining())
        self.tls.sendall(data)

    def makefile(self, mode: str) -> io.BufferedReader:
        return io.BufferedReader(self.reader)

    def close(self) -> None:
        """http.client closes its socket once the headers say ``Connection: close``; the body is still to read."""


class _HTTPSConnection(http.client.HTTPSConnection):
    """Speaks TLS (SNI, name check) and HTTP for ``host``, connecting where the :class:`Network` says.

    Every step (resolving, connecting, the handshake, each read) gets only the time left before the deadline,
    and every read counts against the byte cap set by :meth:`limit`.
    """

    def __init__(self, host: str, net: Network, deadline: Deadline) -> None:
        super().__init__(host, 443, context=net.tls_context())
        self._net = net
        self._deadline = deadline
        self._wrapped: _DeadlineSocket | None = None
        self.tls_version = ""
        self.not_after: datetime | None = None

    def connect(self) -> None:
        sock = self._net.connect(self.host, 443, self._deadline)
        try:
            sock.settimeout(self._deadline.remaining())  # the handshake keeps one deadline for all its reads
            tls = self._net.tls_context().wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self._wrapped = _DeadlineSocket(tls, self._deadline)
        self.sock = self._wrapped
        self.tls_version = tls.version() or ""
        self.not_after = certificate_not_after(tls)

    def limit(self, total: int, what: str) -> None:
        """Allow at most ``total`` bytes read from the start of the response, naming ``what`` when exceeded."""
        if self._wrapped is not None:
            self._wrapped.reader.limit = total
            self._wrapped.reader.what = what

    def shutdown(self) -> None:
        """Close the TLS socket whatever http.client did with it."""
        self.close()
        if self._wrapped is not None:
            self._wrapped.tls.close()


class _SMTP(smtplib.SMTP):
    """smtplib's client with a deadline on every read and write and caps on every reply.

    smtplib reads each reply line with the socket's whole timeout and appends continuation lines without limit
    (a server sending ``250-`` forever grows memory without end); :meth:`getreply` replaces that reading.
    """

    def __init__(self, net: Network, deadline: Deadline) -> None:
        super().__init__()
        self._net = net
        self._deadline = deadline
        self._reader: _DeadlineReader | None = None
        self._read_so_far = 0

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self._host = host  # the name STARTTLS sends as SNI and verifies (RFC 8461 §4.2), not the address
        return self._net.connect(host, port, self._deadline)

    def send(self, s: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._deadline.remaining())  # also what the STARTTLS handshake gets
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        if self.file is None or self._reader is None or self._reader._sock is not self.sock:
            if self._reader is not None:
                self._read_so_far += self._reader.consumed
            self._reader = _DeadlineReader(
                self.sock, self._deadline, MAX_SMTP_BYTES - self._read_so_far, "the SMTP session"
            )
            self.file = io.BufferedReader(self._reader, buffer_size=MAX_SMTP_LINE)
        lines: list[bytes] = []
        code = -1
        while True:
            line = self.file.readline(MAX_SMTP_LINE + 1)
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            if len(line) > MAX_SMTP_LINE:
                raise _TooLarge(f"SMTP reply line longer than {MAX_SMTP_LINE} bytes")
            if len(lines) >= MAX_SMTP_LINES:
                raise _TooLarge(f"SMTP reply of more than {MAX_SMTP_LINES} lines")
            lines.append(line[4:].strip(b" \t\r\n"))
            try:
                code = int(line[:3])
            except ValueError:
                code = -1
                break
            if line[3:4] != b"-":
                break
        return code, b"\n".join(lines)

    def goodbye(self) -> None:
        """Send QUIT without waiting for its reply (the result is known), then close."""
        try:
            if self.sock is not None and self._deadline.left() > 0:
                self.sock.settimeout(min(self._deadline.left(), 1.0) or 0.001)
                self.sock.sendall(b"QUIT\r\n")
        except OSError:
            pass
        finally:
            self.close()


def _address_key(address: str) -> str:
    """An IP address in one spelling, its IPv6 zone left out, to compare where an answer came from."""
    return str(ipaddress.ip_address(address.partition("%")[0]))


class _OneByOne:
    """Questions for a system resolver that is not plain DNS: asked through dnspython's resolver when read."""

    def __init__(self, net: Network, questions: Sequence[tuple[str, str]], deadline: Deadline) -> None:
        self.net, self.questions, self.deadline = net, questions, deadline

    def answers(self) -> list[Resolved]:
        """An answer per question, in order."""
        return [self.net._one_by_resolver(name, rdtype, self.deadline) for name, rdtype in self.questions]


class _Question:
    """One question of a :class:`_Batch`: its query, the servers still worth asking, and the current try."""

    __slots__ = ("index", "qname", "query", "rdtype", "retry_at", "server", "servers", "wire")

    def __init__(self, index: int, qname: dns.name.Name, rdtype: dns.rdatatype.RdataType, query: dns.message.Message):
        self.index = index
        self.qname = qname
        self.rdtype = rdtype
        self.query = query
        self.wire = query.to_wire()
        self.servers: list[tuple[str, int]] = []
        self.server = -1
        self.retry_at = 0.0


class _Batch:
    """Several questions on one UDP socket per address family, answered as dnspython's resolver answers them.

    What :meth:`dns.resolver.Resolver.resolve` does is kept: the query it builds (flags, EDNS), a try waits
    ``resolver.timeout`` (at most 5 s) before the question goes to the next server, round robin until the
    deadline; SERVFAIL, REFUSED, other error codes and answers that do not parse take the server out for that
    question, and with none left the question fails; a truncated answer is asked again over TCP of the same
    server; CNAME chains are followed by :class:`dns.resolver.Answer`. Answers are matched by id, question and the
    server asked; anything else is dropped. Query ids come from the system's CSPRNG (RFC 5452 §4.3). What it saves
    over one ``resolve`` per question: a thread, a socket and a selector each, which is most of the checker's CPU.
    """

    def __init__(
        self, net: Network, servers: list[tuple[str, int]], questions: Sequence[tuple[str, str]], deadline: Deadline
    ) -> None:
        self.net = net
        self.deadline = deadline
        resolver = net.resolver()
        self.try_timeout = resolver.timeout
        self.servers = [(str(ipaddress.ip_address(address)), port) for address, port in servers]
        self.results: list[Resolved] = [None] * len(questions)
        self.open: dict[int, _Question] = {}
        self.sockets: dict[int, socket.socket] = {}
        randomness = os.urandom(2 * len(questions) + 32)
        ids = iter(int.from_bytes(randomness[i : i + 2], "big") for i in range(0, len(randomness), 2))
        for index, (name, rdtype) in enumerate(questions):
            qid = next(ids)
            while qid in self.open:
                qid = next(ids, None) or int.from_bytes(os.urandom(2), "big")
            qname = dns.name.from_text(name)
            query = dns.message.make_query(qname, rdtype, id=qid)
            query.use_edns(resolver.edns, resolver.ednsflags, resolver.payload, options=resolver.ednsoptions)
            if resolver.flags is not None:
                query.flags = resolver.flags
            question = _Question(index, qname, dns.rdatatype.RdataType.make(rdtype), query)
            question.servers = list(self.servers)
            self.open[qid] = question

    def send(self) -> None:
        """Send every question to its first server (nothing once the deadline has passed)."""
        self.poller = select.poll()
        if self.deadline.left() > 0:
            for question in list(self.open.values()):
                self._send(question, self.poller)

    def answers(self) -> list[Resolved]:
        """Read answers until each question has one or the deadline passes; an answer per question, in order.

        Answers that arrived before the deadline are read even when the caller comes back after it.
        """
        poller = self.poller
        try:
            while self.open:
                left = self.deadline.left()
                now = time.monotonic()
                wait = max(0.0, min(left, min(q.retry_at for q in self.open.values()) - now))
                for fd, _ in poller.poll(math.ceil(wait * 1000)):
                    self._drain(self.sockets[fd])
                if left <= 0:
                    break
                now = time.monotonic()
                for question in [q for q in self.open.values() if q.retry_at <= now]:
                    self._send(question, poller)
        finally:
            for sock in self.sockets.values():
                sock.close()
        for question in self.open.values():
            self.results[question.index] = self.net._resolver_error(TimeoutError(), self.deadline)
        self.open.clear()
        return self.results

    def _socket(self, address: str, poller: select.poll) -> socket.socket:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        for sock in self.sockets.values():
            if sock.family == family:
                return sock
        sock = socket.socket(family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        self.sockets[sock.fileno()] = sock
        poller.register(sock.fileno(), select.POLLIN)
        return sock

    def _send(self, question: _Question, poller: select.poll) -> None:
        """(Re)send to the next server still worth asking."""
        question.server = (question.server + 1) % len(question.servers)
        question.retry_at = time.monotonic() + self.try_timeout
        address, port = question.servers[question.server]
        try:
            self._socket(address, poller).sendto(question.wire, (address, port))
        except OSError:
            self._server_failed(question)

    def _drain(self, sock: socket.socket) -> None:
        while True:
            try:
                wire, source = sock.recvfrom(MAX_UDP_BYTES)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # e.g. ICMP port unreachable reported on the socket: the try times out
                return
            question = self.open.get(int.from_bytes(wire[:2], "big")) if len(wire) >= 2 else None
            if question is None or (_address_key(source[0]), source[1]) != (
                _address_key(question.servers[question.server][0]),
                question.servers[question.server][1],
            ):
                continue  # not an answer to a question asked of this server
            try:
                response: dns.message.Message | None = dns.message.from_wire(wire)
            except dns.exception.DNSException:
                self._server_failed(question)
                continue
            if response is None or not question.query.is_response(response):
                continue
            if response.flags & dns.flags.TC:
                response = self._over_tcp(question)
            if response is not None:
                self._answered(question, response)

    def _over_tcp(self, question: _Question) -> dns.message.Message | None:
        """A truncated UDP answer: the same question over TCP to the same server (RFC 7766 §5)."""
        address, port = question.servers[question.server]
        try:
            return dns.query.tcp(question.query, address, timeout=self.deadline.remaining(), port=port)
        except (TimeoutError, dns.exception.Timeout):
            return None  # the deadline has passed: the question ends without an answer
        except (dns.exception.DNSException, OSError, EOFError):
            self._server_failed(question)
            return None

    def _answered(self, question: _Question, response: dns.message.Message) -> None:
        rcode = response.rcode()
        address, port = question.servers[question.server]
        result: Resolved
        try:
            if rcode == dns.rcode.NOERROR:
                query_response = cast(dns.message.QueryMessage, response)
                answer = dns.resolver.Answer(
                    question.qname, question.rdtype, dns.rdataclass.IN, query_response, address, port
                )
                result = answer if answer.rrset is not None else None
            elif rcode == dns.rcode.NXDOMAIN:
                query_response = cast(dns.message.QueryMessage, response)
                dns.resolver.Answer(question.qname, dns.rdatatype.ANY, dns.rdataclass.IN, query_response)
                result = NXDOMAIN
            elif rcode == dns.rcode.YXDOMAIN:
                result = ResolverError("DNS lookup failed: YXDOMAIN: the name is too long after DNAME substitution")
            else:
                self._server_failed(question)
                return
        except dns.exception.DNSException:  # a CNAME loop or a chain that does not parse: the server is no good
            self._server_failed(question)
            return
        self.results[question.index] = result
        del self.open[question.query.id]

    def _server_failed(self, question: _Question) -> None:
        """The server answered with an error or nothing usable: ask the next one, or give up when none is left."""
        del question.servers[question.server]
        question.server -= 1
        if not question.servers:
            self.results[question.index] = ResolverError(
                f"{self.net._resolver_name()} failed to answer (SERVFAIL or refused)"
            )
            del self.open[question.query.id]
        else:
            question.retry_at = 0.0  # sent again at once by the loop
