"""Network access as a sending MTA does it: DNS (dnspython), the policy over HTTPS, STARTTLS on port 25.

Everything takes a :class:`Network` with the seams that make the checker
usable on split-horizon networks and in hermetic tests: the resolver address,
a CA file, and curl-style ``--connect-to`` overrides that change where a
connection goes but never the name that TLS verifies.
"""

from __future__ import annotations

import http.client
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field

import dns.exception
import dns.name
import dns.resolver

from ..policy import MAX_POLICY_BYTES, POLICY_PATH
from ..records import join_txt_strings

__all__ = ["ConnectTo", "FetchError", "Network", "PolicyResponse", "parse_connect_to", "parse_nameserver"]

#: RFC 8461 §3.3: senders should wait at least a minute for the policy.
DEFAULT_TIMEOUT = 60.0


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
    """The policy could not be fetched the way RFC 8461 §3.3 requires; the message says why."""


@dataclass(frozen=True)
class PolicyResponse:
    """What the policy host answered."""

    status: int
    content_type: str
    body: bytes
    location: str | None
    tls_version: str


@dataclass
class Network:
    """How to reach DNS, HTTPS and SMTP; the defaults are the system's."""

    nameservers: list[tuple[str, int]] = field(default_factory=list)
    """Resolver addresses; empty means the system resolver configuration."""
    ca_file: str | None = None
    """Trust anchors for HTTPS and STARTTLS; ``None`` means the system store."""
    connect_to: list[ConnectTo] = field(default_factory=list)
    """Where to connect instead, per host and port."""
    timeout: float = DEFAULT_TIMEOUT
    """Overall time allowed for one fetch or one SMTP session, in seconds."""
    _resolver: dns.resolver.Resolver | None = field(default=None, init=False, repr=False, compare=False)
    _tls: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)

    def resolver(self) -> dns.resolver.Resolver:
        """A dnspython resolver using :attr:`nameservers` (or the system's), bounded by :attr:`timeout`.

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
        resolver.lifetime = min(self.timeout, 30.0)
        resolver.timeout = min(self.timeout, 5.0)
        self._resolver = resolver
        return resolver

    def txt(self, name: str) -> tuple[list[str], str]:
        """TXT values at ``name`` (each RR's strings joined, RFC 8461 §3.1) and the name the CNAME chain ended at.

        No record is an empty list. Raises :class:`dns.exception.DNSException` on resolver failure.
        """
        try:
            answer = self.resolver().resolve(name, "TXT", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return [], name
        values = [join_txt_strings(rdata.strings) for rdata in answer]
        return values, answer.canonical_name.to_text(omit_final_dot=True)

    def cname(self, name: str) -> str | None:
        """The CNAME target at ``name``, or ``None``."""
        try:
            answer = self.resolver().resolve(name, "CNAME", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return str(answer[0].target.to_text(omit_final_dot=True)).lower()

    def mx(self, domain: str) -> list[str]:
        """MX host names of ``domain``, by preference, lower case, no trailing dot; empty when none."""
        try:
            answer = self.resolver().resolve(domain, "MX", search=False)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        records = sorted(answer, key=lambda r: r.preference)
        return [r.exchange.to_text(omit_final_dot=True).lower() for r in records if r.exchange != dns.name.root]

    def destination(self, host: str, port: int) -> tuple[str, int]:
        """Where a connection to ``host:port`` really goes, after ``--connect-to``."""
        for rule in self.connect_to:
            if rule.host in ("", host.lower()) and rule.port in (None, port):
                return rule.address or host, rule.to_port or port
        return host, port

    def tls_context(self) -> ssl.SSLContext:
        """Certificate chain and name verified, TLS 1.2 or later; built once (loading the trust store is slow)."""
        if self._tls is None:
            context = ssl.create_default_context(cafile=self.ca_file)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            self._tls = context
        return self._tls

    def fetch_policy(self, domain: str) -> PolicyResponse:
        """GET ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` as RFC 8461 §3.3 asks.

        SNI and certificate name for ``mta-sts.<domain>``, TLS 1.2+, redirects not followed, at most
        64 KiB read, one deadline for the whole exchange. Raises :class:`FetchError`.
        """
        host = f"mta-sts.{domain}"
        deadline = time.monotonic() + self.timeout
        address, port = self.destination(host, 443)
        connection = _HTTPSConnection(host, address, port, self.tls_context(), deadline)
        try:
            connection.request("GET", POLICY_PATH, headers={"Host": host, "User-Agent": "mtasts-check"})
            connection.limit_to_deadline()
            response = connection.getresponse()
            body = bytearray()
            while len(body) <= MAX_POLICY_BYTES:
                connection.limit_to_deadline()
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
            )
        except (OSError, http.client.HTTPException) as exc:
            raise _fetch_error(exc, host, self.timeout, "cannot fetch from") from None
        finally:
            connection.close()

    def starttls(self, mx_host: str) -> str:
        """EHLO, STARTTLS and a verified handshake with ``mx_host`` on port 25; returns the TLS version.

        The certificate is checked against the MX host name (RFC 8461 §4.2). Raises :class:`FetchError`.
        """
        address, port = self.destination(mx_host, 25)
        deadline = time.monotonic() + self.timeout

        def limit(smtp: smtplib.SMTP) -> smtplib.SMTP:
            """Give the next command only the time left of the session's deadline."""
            if smtp.sock is not None:
                smtp.sock.settimeout(_remaining(deadline))
            return smtp

        try:
            with smtplib.SMTP(timeout=self.timeout) as smtp:
                smtp.connect(address, port)
                smtp._host = mx_host  # type: ignore[attr-defined]  # the name STARTTLS verifies, not the address
                limit(smtp).ehlo("mtasts-check.invalid")
                if not smtp.has_extn("starttls"):
                    raise FetchError(f"{mx_host} does not offer STARTTLS")
                limit(smtp).starttls(context=self.tls_context())
                sock = smtp.sock
                version = sock.version() if isinstance(sock, ssl.SSLSocket) else None
                limit(smtp).ehlo("mtasts-check.invalid")
                return version or ""
        except (OSError, smtplib.SMTPException) as exc:
            raise _fetch_error(exc, mx_host, self.timeout, "SMTP failed with") from None


def _fetch_error(exc: Exception, host: str, timeout: float, otherwise: str) -> FetchError:
    """One line saying why talking to ``host`` failed: certificate, TLS, timeout, or anything else."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"certificate of {host} not accepted: {exc.verify_message}")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"TLS with {host} failed: {exc.reason or exc}")
    if isinstance(exc, TimeoutError):
        return FetchError(f"no answer from {host} within {timeout:g} s")
    return FetchError(f"{otherwise} {host}: {exc}")


class _HTTPSConnection(http.client.HTTPSConnection):
    """Connects to ``address:port`` but speaks TLS (SNI, name check) and HTTP for ``host``.

    Every step (connect, handshake, each read) gets only the time left before ``deadline``, so the
    whole exchange honours one overall timeout, however slowly a server trickles bytes.
    """

    def __init__(self, host: str, address: str, port: int, context: ssl.SSLContext, deadline: float) -> None:
        super().__init__(host, port, context=context)  # connect() sets every timeout from the deadline
        self._address = address
        self._context = context
        self._deadline = deadline
        self._tls: ssl.SSLSocket | None = None  # kept: http.client drops self.sock on "Connection: close"
        self.tls_version = ""

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), _remaining(self._deadline))
        try:
            sock.settimeout(_remaining(self._deadline))
            tls = self._context.wrap_socket(sock, server_hostname=self.host)
        except BaseException:
            sock.close()
            raise
        self.sock = self._tls = tls
        self.tls_version = tls.version() or ""

    def limit_to_deadline(self) -> None:
        """Give the next read only the time left; :class:`TimeoutError` when none is."""
        if self._tls is not None and self._tls.fileno() != -1:  # closed once a whole Content-Length was read
            self._tls.settimeout(_remaining(self._deadline))


def _remaining(deadline: float) -> float:
    """Seconds left before ``deadline``; :class:`TimeoutError` once it has passed."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("deadline passed")
    return left
