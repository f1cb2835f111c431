"""Network access as a sending MTA does it: DNS, the policy over HTTPS, STARTTLS on port 25, through seams.

Everything takes a :class:`Network` with the seams that make the checker usable on split-horizon networks and in
hermetic tests: the resolver address, a CA file, and curl-style ``--connect-to`` overrides that change where a
connection goes but never the name that TLS verifies. Every name, the policy host and the MX hosts included, is
resolved through the :class:`Network`'s resolver, never the system's ``getaddrinfo``.

One job per module below this one: :mod:`.deadline` (the one deadline per operation and the byte caps every
read counts against), :mod:`.dns` (dnspython's asynchronous resolver), :mod:`.https` (the policy fetch) and
:mod:`.smtp` (STARTTLS). This module holds the seams, parses the options that set them, and is the one door the
checks use; the names it re-exports are the checker's network API.
"""

from __future__ import annotations

import math
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field

from .deadline import Deadline, FetchError, NoAddressError
from .dns import NXDOMAIN, Lookups, MxAnswer, Pending, Resolved, ResolverError, cname_target, mx_answer, txt_values
from .https import MAX_BODY_WIRE_BYTES, MAX_HEAD_BYTES, PolicyResponse, fetch_policy
from .smtp import MAX_SMTP_BYTES, MAX_SMTP_LINE, MAX_SMTP_LINES, TlsSession, starttls_session

__all__ = [
    "MAX_BODY_WIRE_BYTES",
    "MAX_HEAD_BYTES",
    "MAX_SMTP_BYTES",
    "MAX_SMTP_LINE",
    "MAX_SMTP_LINES",
    "NXDOMAIN",
    "ConnectTo",
    "Deadline",
    "FetchError",
    "MxAnswer",
    "Network",
    "NoAddressError",
    "PolicyResponse",
    "Resolved",
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
#: Largest --ca-file read (a full public CA bundle is about 250 kB).
MAX_CA_FILE_BYTES = 8 * 1024 * 1024


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
    _lookups: Lookups | None = field(default=None, init=False, repr=False, compare=False)
    _tls: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)

    def deadline(self) -> Deadline:
        """A new deadline :attr:`timeout` seconds from now."""
        return Deadline(self.timeout)

    def lookups(self) -> Lookups:
        """DNS through :attr:`nameservers` (or the system's configuration); built once, as reading it is slow."""
        if self._lookups is None:
            self._lookups = Lookups(self.nameservers, self.timeout)
        return self._lookups

    def send_questions(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> Pending:
        """Ask every (name, type) now; the returned batch's ``answers()`` waits for them, in order.

        In between, the caller can do other work (the checker fetches the policy). See :meth:`Lookups.send`.
        """
        return self.lookups().send(questions, deadline)

    def resolve_many(self, questions: Sequence[tuple[str, str]], deadline: Deadline) -> list[Resolved]:
        """Ask every (name, type) at once, within ``deadline``; an answer per question, in order."""
        return self.lookups().resolve_many(questions, deadline)

    def txt(self, name: str, deadline: Deadline | None = None) -> tuple[list[str], str]:
        """TXT values at ``name`` (each RR's strings joined, RFC 8461 §3.1) and the name the CNAME chain ended at.

        No record is an empty list. Raises :class:`ResolverError` when the resolver does not answer.
        """
        return txt_values(name, self.resolve_many([(name, "TXT")], deadline or self.deadline())[0])

    def txt_values(self, name: str, answer: Resolved) -> tuple[list[str], str]:
        """:meth:`txt` of an answer of :meth:`resolve_many`."""
        return txt_values(name, answer)

    def cname_target(self, answer: Resolved) -> str | None:
        """The CNAME target in an answer of :meth:`resolve_many`, or ``None``."""
        return cname_target(answer)

    def mx_answer(self, domain: str, deadline: Deadline | None = None) -> MxAnswer:
        """The MX RRset of ``domain``, telling NXDOMAIN, no MX (implicit MX) and null MX apart."""
        return mx_answer(self.resolve_many([(domain, "MX")], deadline or self.deadline())[0])

    def mx(self, domain: str, deadline: Deadline | None = None) -> list[str]:
        """MX host names of ``domain``, by preference, lower case, no trailing dot; empty when none."""
        return list(self.mx_answer(domain, deadline).hosts)

    def addresses(self, host: str, deadline: Deadline | None = None) -> list[str]:
        """IP addresses of ``host`` through this resolver (A first, then AAAA); an IP literal is itself.

        :class:`NoAddressError` when the name has none; :class:`ResolverError` when the resolver does not answer.
        """
        return self.lookups().addresses(host, deadline or self.deadline())

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
                return socket.create_connection((address, to_port), deadline.remaining())
            except OSError as exc:  # TimeoutError included: the deadline is shared, so no other address has time
                if isinstance(exc, TimeoutError):
                    raise
                errors.append(exc)
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
        """GET ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` as RFC 8461 §3.3 asks (:mod:`.https`).

        Raises :class:`FetchError` (:class:`ResolverError` when the host name cannot be resolved).
        """
        return fetch_policy(domain, self.connect, self.tls_context(), deadline or self.deadline())

    def starttls(self, mx_host: str, deadline: Deadline | None = None) -> str:
        """:meth:`starttls_session`'s TLS version."""
        return self.starttls_session(mx_host, deadline).version

    def starttls_session(self, mx_host: str, deadline: Deadline | None = None) -> TlsSession:
        """EHLO, STARTTLS and a verified handshake with ``mx_host`` on port 25 (:mod:`.smtp`).

        Raises :class:`FetchError` (:class:`ResolverError` when the host name cannot be resolved).
        """
        return starttls_session(mx_host, self.connect, self.tls_context(), deadline or self.deadline())
