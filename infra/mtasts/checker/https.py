"""The policy fetch over HTTPS as RFC 8461 §3.3 asks it: h11 for HTTP/1.1, the socket under one deadline.

SNI and certificate name for ``mta-sts.<domain>``, TLS 1.2 or later, redirects not followed (the 3xx is the
answer, and the check fails it), the status line and headers capped at :data:`MAX_HEAD_BYTES` and the body at
:data:`~mtasts.policy.MAX_POLICY_BYTES`, every step (resolving, connecting, the handshake, each read) within the
one :class:`~mtasts.checker.deadline.Deadline` of the domain.

Why h11: it is HTTP/1.1 without I/O (the parser under httpx and httpcore). It does what is easy to get wrong
(status line, header syntax, content-length and chunked framing, 1xx responses, a body cut short) and leaves
the socket to the caller, and the socket is where this fetch's guarantees live: each ``recv`` gets the time left
of the one deadline and counts against the byte cap (:class:`~mtasts.checker.deadline.DeadlineReader`), and the
connection goes through the :class:`~mtasts.checker.net.Network`'s resolver and ``--connect-to`` rules. httpx
and urllib3 give a timeout per read (a server trickling a byte per read never trips it), resolve through
``getaddrinfo`` unless a transport is rewritten, and read ahead of any cap the caller can set; bending them to
these rules would be more code than the loop below. bench/bench_check.py measures it (docs/check.md).
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import datetime

import h11

from ..policy import MAX_POLICY_BYTES, POLICY_PATH
from .deadline import Connect, Deadline, DeadlineReader, FetchError, TooLarge, certificate_not_after, fetch_error

__all__ = ["MAX_BODY_WIRE_BYTES", "MAX_HEAD_BYTES", "PolicyResponse", "fetch_policy"]

#: Status line and headers of the policy response, together (a real one is a few hundred bytes).
MAX_HEAD_BYTES = 16 * 1024
#: Bytes on the wire for the body, chunk framing included (the body itself is capped at MAX_POLICY_BYTES).
MAX_BODY_WIRE_BYTES = 2 * MAX_POLICY_BYTES
#: Bytes asked of the socket per read (a whole policy fits in four).
READ_SIZE = 16 * 1024
#: The User-Agent of the fetch.
USER_AGENT = "mtasts-check"


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


def _header(response: h11.Response, name: bytes) -> str | None:
    """A header's value (several joined by ``, ``, as http.client does), ``None`` when absent."""
    values = [value.decode("latin-1") for key, value in response.headers if key == name]
    return ", ".join(values) if values else None


def _next_event(connection: h11.Connection, reader: DeadlineReader) -> object:
    """The next HTTP event, reading from the socket (within the deadline and the cap) while h11 needs data."""
    event = connection.next_event()
    while event is h11.NEED_DATA:
        connection.receive_data(reader.recv(READ_SIZE))
        event = connection.next_event()
    return event


def _exchange(host: str, tls: socket.socket, deadline: Deadline) -> tuple[h11.Response, bytes]:
    """Send the GET and read the response: its head and its body, within the deadline and the caps."""
    connection = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES + 1)  # ours trips first
    headers = [("Host", host), ("User-Agent", USER_AGENT), ("Accept", "*/*"), ("Connection", "close")]
    request = connection.send(h11.Request(method="GET", target=POLICY_PATH, headers=headers)) or b""
    request += connection.send(h11.EndOfMessage()) or b""
    tls.settimeout(deadline.remaining())
    tls.sendall(request)
    reader = DeadlineReader(tls, deadline, MAX_HEAD_BYTES, "status line and headers")
    event = _next_event(connection, reader)
    while isinstance(event, h11.InformationalResponse):  # 1xx: the response is still to come
        event = _next_event(connection, reader)
    if not isinstance(event, h11.Response):
        raise h11.RemoteProtocolError(f"no HTTP response ({type(event).__name__})")
    reader.limit, reader.what = MAX_HEAD_BYTES + MAX_BODY_WIRE_BYTES, "response"
    body = bytearray()
    while True:
        part = _next_event(connection, reader)
        if isinstance(part, h11.Data):
            body += part.data
            if len(body) > MAX_POLICY_BYTES:
                raise FetchError(f"the body is larger than {MAX_POLICY_BYTES} bytes (RFC 8461 §3.3)")
        elif isinstance(part, h11.EndOfMessage | h11.ConnectionClosed):
            return event, bytes(body)
        else:
            raise h11.RemoteProtocolError(f"unexpected {type(part).__name__} in the response body")


def fetch_policy(domain: str, connect: Connect, context: ssl.SSLContext, deadline: Deadline) -> PolicyResponse:
    """GET ``https://mta-sts.<domain>/.well-known/mta-sts.txt`` (see the module for the rules).

    Raises :class:`~mtasts.checker.deadline.FetchError` (the resolver's error when the host cannot be resolved).
    """
    host = f"mta-sts.{domain}"
    tls: ssl.SSLSocket | None = None
    try:
        sock = connect(host, 443, deadline)
        try:
            sock.settimeout(deadline.remaining())  # the handshake keeps one deadline for all its reads
            tls = context.wrap_socket(sock, server_hostname=host)
        finally:
            if tls is None:
                sock.close()
        response, body = _exchange(host, tls, deadline)
        return PolicyResponse(
            response.status_code,
            _header(response, b"content-type") or "",
            body,
            _header(response, b"location"),
            tls.version() or "",
            certificate_not_after(tls),
        )
    except TooLarge as exc:
        raise FetchError(f"{host}: {exc}") from None
    except (OSError, h11.ProtocolError) as exc:
        raise fetch_error(exc, host, deadline, "cannot fetch from") from None
    finally:
        if tls is not None:
            tls.close()
