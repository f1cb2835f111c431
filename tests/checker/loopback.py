"""Hermetic servers on 127.0.0.1 for the checker; nothing leaves the machine.

Authoritative DNS (dnslib), HTTPS with a throwaway CA (trustme), SMTP with STARTTLS (aiosmtpd), a server
that accepts connections and never answers, and hostile servers (:class:`Hostile`) that trickle or flood.
"""

from __future__ import annotations

import datetime as dt
import http.server
import logging
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import TLSSetupException
from dnslib import QTYPE, RCODE, RR, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


class ZoneResolver(BaseResolver):  # type: ignore[misc]
    """Answers from a mutable set of records, following CNAMEs inside it, like an authoritative server would."""

    def __init__(self, delay: float = 0.0) -> None:
        self.by_name: dict[str, list[RR]] = {}  # lower-case name with trailing dot -> its records
        self.lock = threading.Lock()
        self.delay = delay  # seconds before each answer, to stand in for network latency in benchmarks

    def add(self, zone_text: str) -> None:
        """Add records written as zone-file lines (``name TTL IN TYPE data``)."""
        with self.lock:
            for record in RR.fromZone(zone_text):
                self.by_name.setdefault(str(record.rname).lower(), []).append(record)

    def resolve(self, request: DNSRecord, handler: Any) -> DNSRecord:
        if self.delay:
            time.sleep(self.delay)
        reply = request.reply()
        qname, qtype = str(request.q.qname).lower(), request.q.qtype
        name = qname
        for _ in range(8):
            with self.lock:
                here = list(self.by_name.get(name, ()))
            if not here:
                if name == qname:
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            cname = [r for r in here if r.rtype == QTYPE.CNAME]
            if cname and qtype != QTYPE.CNAME:
                reply.add_answer(*cname)
                name = str(cname[0].rdata.label).lower()
                continue
            reply.add_answer(*[r for r in here if r.rtype == qtype])
            return reply
        return reply


class _QuietLogger(DNSLogger):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


@dataclass
class Route:
    """How the HTTPS server answers one host."""

    status: int = 200
    content_type: str = "text/plain; charset=utf-8"
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Loopback:
    """Addresses and knobs of the running servers."""

    dns_port: int
    https_port: int
    hang_port: int
    ca_file: str
    zone: ZoneResolver
    routes: dict[str, Route]
    smtp_ports: dict[str, int]
    hostile_ports: dict[str, int] = field(default_factory=dict)
    """Hostile mode (see :data:`HOSTILE_HTTPS`, :data:`HOSTILE_SMTP`) -> port of the server behaving so."""

    @property
    def nameserver(self) -> str:
        """``--nameserver`` value."""
        return f"127.0.0.1:{self.dns_port}"

    def cli_args(self, timeout: float = 5) -> list[str]:
        """The command-line options that point ``mtasts check``/``status`` at these servers."""
        args = ["--nameserver", self.nameserver, "--ca-file", self.ca_file, "--timeout", f"{timeout:g}"]
        for rule in self.connect_to():
            args += ["--connect-to", rule]
        return args

    def connect_to(self) -> list[str]:
        """``--connect-to`` values: HTTPS to the HTTPS server (hang hosts to the silent one), port 25 per MX."""
        rules = [f"mta-sts.hang.example:443:127.0.0.1:{self.hang_port}"]
        hostile = self.hostile_ports.items()
        rules += [f"mta-sts.{mode}.example:443:127.0.0.1:{port}" for mode, port in hostile if mode in HOSTILE_HTTPS]
        rules += [f"mx.{mode}.example:25:127.0.0.1:{port}" for mode, port in hostile if mode in HOSTILE_SMTP]
        rules += [f":443:127.0.0.1:{self.https_port}"]
        rules += [f"{host}:25:127.0.0.1:{port}" for host, port in self.smtp_ports.items()]
        return rules


class _Handler(http.server.BaseHTTPRequestHandler):
    routes: ClassVar[dict[str, Route]] = {}
    delay: ClassVar[float] = 0.0

    def do_GET(self) -> None:
        if self.delay:
            time.sleep(self.delay)
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        route = self.routes.get(host, Route(status=404, body=b"no route"))
        self.send_response(route.status)
        if route.content_type:
            self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self.wfile.write(route.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HTTPSServer(http.server.ThreadingHTTPServer):
    # The default backlog of 5 drops the SYNs of a burst of clients, which then retry after 1 s, 3 s, ...
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client refusing our certificate, or hanging up, is what the tests are about; anything else is printed.

        The handshake runs in the request's thread (``do_handshake_on_connect=False``), so a checker that refuses
        ``mta-sts.expired.example``'s certificate, or one whose deadline cut the exchange, ends the handler with an
        :class:`ssl.SSLError` or :class:`ConnectionError`; socketserver would print each as a traceback on stderr.
        """
        if isinstance(sys.exc_info()[1], ssl.SSLError | ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: HTTPS servers that answer the policy request in a hostile way; each is domain ``<mode>.example``.
HOSTILE_HTTPS = {
    "slowstatus": "sends the status line one byte per tick, without end",
    "slowheaders": "sends a status line, then header bytes one per tick, without end",
    "slowbody": "announces a 60,000-byte body and sends it one byte per tick",
    "slowchunks": "sends a chunked body, one 1-byte chunk per tick, without end",
    "hugeheaders": "sends header lines of 1,000 bytes as fast as they are read, without end",
    "endlesschunks": "sends 1,000-byte chunks as fast as they are read, without end",
}
#: SMTP servers (MX ``mx.<mode>.example``) that answer in a hostile way.
HOSTILE_SMTP = {
    "slowbanner": "sends its 220 banner one byte per tick, without end",
    "endless250": "answers EHLO with 250- continuation lines as fast as they are read, without end",
}
#: Seconds between two trickled bytes (or lines, or chunks).
TICK = 0.05


class Hostile:
    """A server for one hostile mode; a thread per connection keeps it up until the client goes or it is stopped."""

    def __init__(self, mode: str, tls: ssl.SSLContext | None) -> None:
        self.mode = mode
        self.tls = tls
        self.stopped = threading.Event()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        try:
            if self.tls is not None:
                conn = self.tls.wrap_socket(conn, server_side=True)
                request = b""
                while b"\r\n\r\n" not in request:
                    data = conn.recv(4096)
                    if not data:
                        return
                    request += data
            getattr(self, "_" + self.mode)(conn)
        except OSError:  # the client gave up (its deadline), or the fixture stopped: both are the point
            pass
        finally:
            conn.close()

    def _forever(self, conn: socket.socket, first: bytes, each: bytes, pause: float = TICK) -> None:
        conn.sendall(first)
        while not self.stopped.is_set():
            conn.sendall(each)
            if pause:
                self.stopped.wait(pause)

    def _slowstatus(self, conn: socket.socket) -> None:
        self._forever(conn, b"HTTP/1.1 200 ", b"O")

    def _slowheaders(self, conn: socket.socket) -> None:
        self._forever(conn, b"HTTP/1.1 200 OK\r\nX-Slow: ", b"y")

    def _slowbody(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 60000\r\n\r\n"
        self._forever(conn, head, b"v")

    def _slowchunks(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        self._forever(conn, head, b"1\r\nv\r\n")

    def _hugeheaders(self, conn: socket.socket) -> None:
        self._forever(conn, b"HTTP/1.1 200 OK\r\n", b"X-Big: " + b"y" * 991 + b"\r\n", pause=0)

    def _endlesschunks(self, conn: socket.socket) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        self._forever(conn, head, b"3e8\r\n" + b"v" * 1000 + b"\r\n", pause=0)

    def _slowbanner(self, conn: socket.socket) -> None:
        self._forever(conn, b"220 ", b"x")

    def _endless250(self, conn: socket.socket) -> None:
        conn.sendall(b"220 hostile.example ESMTP\r\n")
        conn.recv(4096)  # EHLO
        self._forever(conn, b"", b"250-hostile.example says hello again\r\n", pause=0)

    def stop(self) -> None:
        self.stopped.set()
        self.listener.close()


class _Sink:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's own answer, logged as aiosmtpd logs it, except for a client that refused our certificate.

        A checker refusing an MX certificate (the bad-certificate MX hosts exist for that) ends the session with
        :class:`TLSSetupException`; aiosmtpd would log each as an error with its traceback.
        """
        if not isinstance(error, TLSSetupException):
            logging.getLogger("mail.log").error("SMTP session exception", exc_info=error)
        return f"500 Error: ({type(error).__name__}) {error}"


@contextmanager
def running(
    tmp_dir: str,
    smtp_certs: dict[str, str | None],
    latency: float = 0.0,
    https_hosts: tuple[str, ...] = (),
    lifetimes: dict[str, dt.timedelta] | None = None,
) -> Iterator[Loopback]:
    """Start every server; ``smtp_certs`` maps MX host → the name its certificate is for (None = no STARTTLS).

    ``lifetimes`` maps a certificate's name (MX host, or ``mta-sts.<domain>``) to the time left before it expires
    (default: trustme's, decades).

    ``latency`` (benchmarks only) delays every DNS answer and HTTP response, as a real network would;
    ``https_hosts`` get their certificates issued up front instead of on their first connection.
    """
    ca = trustme.CA()
    ca_file = f"{tmp_dir}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    now = dt.datetime.now(dt.UTC)

    def context_for(*names: str, expired: bool = False) -> ssl.SSLContext:
        kwargs = {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)} if expired else {}
        if names and names[0] in (lifetimes or {}):
            kwargs = {"not_before": now - dt.timedelta(days=30), "not_after": now + (lifetimes or {})[names[0]]}
        cert = ca.issue_cert(*names, **kwargs)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        return context

    default = context_for("mta-sts.default.invalid")
    special = {
        "mta-sts.wrongname.example": context_for("mta-sts.someone-else.example"),
        "mta-sts.expired.example": context_for("mta-sts.expired.example", expired=True),
    }
    contexts: dict[str, ssl.SSLContext] = {}

    def choose(sock: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        name = (server_name or "").lower()
        if name not in contexts:
            contexts[name] = special.get(name) or context_for(name or "unnamed.invalid")
        sock.context = contexts[name]

    default.sni_callback = choose  # type: ignore[assignment]
    for host in https_hosts:
        contexts[host] = context_for(host)

    zone = ZoneResolver(latency)
    dns_server = DNSServer(zone, address="127.0.0.1", port=0, logger=_QuietLogger())
    # A burst of queries (a benchmark's 200 domains at once) overflows the default receive buffer of this Python
    # server, and a dropped query costs the client a retry after seconds; a real resolver keeps up.
    dns_server.server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    dns_server.start_thread()
    dns_port = int(dns_server.server.server_address[1])

    routes: dict[str, Route] = {}
    handler = type("Handler", (_Handler,), {"routes": routes, "delay": latency})
    https = _HTTPSServer(("127.0.0.1", 0), handler)
    # The handshake happens in each request's thread, not in the accept loop, so clients are served in parallel.
    https.socket = default.wrap_socket(https.socket, server_side=True, do_handshake_on_connect=False)
    threading.Thread(target=https.serve_forever, daemon=True).start()

    hang = socket.socket()
    hang.bind(("127.0.0.1", 0))
    hang.listen(16)  # accepted by the kernel, never answered

    hostile_cert = context_for(*(f"mta-sts.{mode}.example" for mode in HOSTILE_HTTPS))
    hostile = [Hostile(mode, hostile_cert) for mode in HOSTILE_HTTPS] + [Hostile(mode, None) for mode in HOSTILE_SMTP]

    controllers = []
    smtp_ports: dict[str, int] = {}
    for host, cert_name in smtp_certs.items():
        port = _free_port()
        tls = context_for(cert_name) if cert_name else None
        controller = Controller(_Sink(), hostname="127.0.0.1", port=port, tls_context=tls, server_hostname=host)
        controller.start()
        controllers.append(controller)
        smtp_ports[host] = port
    try:
        yield Loopback(
            dns_port,
            int(https.server_address[1]),
            int(hang.getsockname()[1]),
            ca_file,
            zone,
            routes,
            smtp_ports,
            {h.mode: h.port for h in hostile},
        )
    finally:
        for server in hostile:
            server.stop()
        for controller in controllers:
            controller.stop()
        hang.close()
        https.shutdown()
        https.server_close()
        dns_server.stop()
        dns_server.server.server_close()  # dnslib's stop() leaves the socket open
