"""STARTTLS with an MX host as a sending MTA does it (RFC 8461 §4.2, RFC 3207): smtplib under one deadline.

smtplib speaks the protocol (EHLO, the extension list, STARTTLS, the second EHLO); what it does not do is
bound a hostile server: it reads each reply line with the socket's whole timeout, so a server trickling one
byte per second never times out, and it appends continuation lines without limit (a server sending ``250-``
forever grows memory without end). :class:`_SMTP` gives every read and write only the time left of the one
:class:`~mtasts.checker.deadline.Deadline` (connect, banner, EHLO, STARTTLS, the handshake and the second EHLO
together) and caps every reply line, the lines of a reply and the bytes of the whole session.
"""

from __future__ import annotations

import io
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .deadline import Connect, Deadline, DeadlineReader, FetchError, TooLarge, certificate_not_after, fetch_error

__all__ = ["MAX_SMTP_BYTES", "MAX_SMTP_LINE", "MAX_SMTP_LINES", "TlsSession", "starttls_session"]

#: One SMTP reply line (RFC 5321 §4.5.3.1.5 allows 512 octets; servers stretch it, so 4x that).
MAX_SMTP_LINE = 2048
#: Lines of one SMTP reply (an EHLO reply has one per extension, a dozen or two in practice).
MAX_SMTP_LINES = 100
#: Bytes read from one MX in one session, every reply together.
MAX_SMTP_BYTES = 64 * 1024
#: The name the checker gives in EHLO (RFC 2606 §2: ``.invalid`` cannot belong to anyone).
EHLO_NAME = "mtasts-check.invalid"


@dataclass(frozen=True)
class TlsSession:
    """What one verified STARTTLS handshake showed."""

    version: str
    """TLS version negotiated, e.g. ``TLSv1.3``."""
    certificate_not_after: datetime | None = None
    """When the MX host's certificate expires (its ``notAfter``, UTC); ``None`` when unknown."""


class _Raw(io.RawIOBase):
    """A :class:`DeadlineReader` as the raw stream under smtplib's buffered reader."""

    def __init__(self, reader: DeadlineReader) -> None:
        super().__init__()
        self.reader = reader

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self.reader.readinto(buffer)


class _SMTP(smtplib.SMTP):
    """smtplib's client with a deadline on every read and write and caps on every reply (see the module)."""

    def __init__(self, connect: Connect, deadline: Deadline) -> None:
        super().__init__()
        self._connect = connect
        self._deadline = deadline
        self._reader: DeadlineReader | None = None
        self._read_so_far = 0

    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        self._host = host  # the name STARTTLS sends as SNI and verifies (RFC 8461 §4.2), not the address
        return self._connect(host, port, self._deadline)

    def send(self, s: Any) -> None:
        if self.sock is not None:
            self.sock.settimeout(self._deadline.remaining())  # also what the STARTTLS handshake gets
        super().send(s)

    def getreply(self) -> tuple[int, bytes]:
        if self.sock is None:
            raise smtplib.SMTPServerDisconnected("not connected")
        if self.file is None or self._reader is None or self._reader.sock is not self.sock:
            if self._reader is not None:
                self._read_so_far += self._reader.consumed  # the cap covers the session, before and after TLS
            self._reader = DeadlineReader(
                self.sock, self._deadline, MAX_SMTP_BYTES - self._read_so_far, "the SMTP session"
            )
            self.file = io.BufferedReader(_Raw(self._reader), buffer_size=MAX_SMTP_LINE)
        lines: list[bytes] = []
        code = -1
        while True:
            line = self.file.readline(MAX_SMTP_LINE + 1)
            if not line:
                self.close()
                raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
            if len(line) > MAX_SMTP_LINE:
                raise TooLarge(f"SMTP reply line longer than {MAX_SMTP_LINE} bytes")
            if len(lines) >= MAX_SMTP_LINES:
                raise TooLarge(f"SMTP reply of more than {MAX_SMTP_LINES} lines")
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


def starttls_session(mx_host: str, connect: Connect, context: ssl.SSLContext, deadline: Deadline) -> TlsSession:
    """EHLO, STARTTLS and a verified handshake with ``mx_host`` on port 25; the version and certificate expiry.

    The certificate is checked against the MX host name (RFC 8461 §4.2). Every reply is read within
    ``deadline`` and capped (:data:`MAX_SMTP_LINE`, :data:`MAX_SMTP_LINES`, :data:`MAX_SMTP_BYTES`). Raises
    :class:`~mtasts.checker.deadline.FetchError` (the resolver's error when the host name cannot be resolved).
    """
    smtp = _SMTP(connect, deadline)
    try:
        smtp.connect(mx_host, 25)
        smtp.ehlo(EHLO_NAME)
        if not smtp.has_extn("starttls"):
            raise FetchError(f"{mx_host} does not offer STARTTLS")
        smtp.starttls(context=context)
        sock = smtp.sock
        tls = sock if isinstance(sock, ssl.SSLSocket) else None
        session = TlsSession((tls.version() if tls else None) or "", certificate_not_after(tls) if tls else None)
        smtp.ehlo(EHLO_NAME)
        return session
    except TooLarge as exc:
        raise FetchError(f"{mx_host}: {exc}") from None
    except (OSError, smtplib.SMTPException) as exc:
        raise fetch_error(exc, mx_host, deadline, "SMTP failed with") from None
    finally:
        smtp.goodbye()
