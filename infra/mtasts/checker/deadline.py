"""One deadline per operation and a byte cap on every read: what the DNS, HTTPS and SMTP exchanges share.

Hostile peers are expected. Every operation of one domain's check takes the one :class:`Deadline` of that
domain, and each socket read gets only the time left of it (:class:`DeadlineReader`), so a server that trickles
bytes cannot stretch an operation past the deadline; every read also counts against a byte cap, checked while
reading, never after. The errors here are the ones the checks turn into report rows.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "Connect",
    "Deadline",
    "DeadlineReader",
    "FetchError",
    "NoAddressError",
    "TooLarge",
    "certificate_not_after",
    "fetch_error",
]


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


#: Opens a TCP connection to (host, port) within the deadline, after the ``--connect-to`` rules.
Connect = Callable[[str, int, Deadline], socket.socket]


class FetchError(Exception):
    """The policy could not be fetched the way RFC 8461 §3.3 requires (or an MX not reached); the message says why."""


class NoAddressError(FetchError):
    """The host name has no A or AAAA record (the resolver answered): nothing is published there."""


class TooLarge(Exception):
    """A peer sent more than a cap allows; the message names the cap."""


def fetch_error(exc: Exception, host: str, deadline: Deadline, otherwise: str) -> FetchError:
    """One line saying why talking to ``host`` failed: certificate, TLS, timeout, or anything else."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return FetchError(f"certificate of {host} not accepted: {exc.verify_message}")
    if isinstance(exc, TimeoutError):
        return FetchError(f"no answer from {host} within the {deadline.seconds:g} s deadline")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"TLS with {host} failed: {exc.reason or exc}")
    return FetchError(f"{otherwise} {host}: {exc}")


def certificate_not_after(tls: ssl.SSLSocket | ssl.SSLObject) -> datetime | None:
    """The ``notAfter`` of the peer certificate of a verified handshake, read from it (no second connection)."""
    try:
        value = (tls.getpeercert() or {}).get("notAfter")
        return datetime.fromtimestamp(ssl.cert_time_to_seconds(str(value)), UTC) if value else None
    except (ValueError, OSError):
        return None


class DeadlineReader:
    """Reads ``sock`` giving each ``recv`` only the time left of the deadline, and at most ``limit`` bytes in all.

    A caller reading again as long as bytes arrive still cannot outlast the deadline: each read gets only what is
    left of it, so a server trickling one byte at a time is cut off when the deadline passes. Going over
    ``limit`` raises :class:`TooLarge` naming ``what``, before the bytes past the cap are read.
    """

    def __init__(self, sock: socket.socket, deadline: Deadline, limit: int, what: str) -> None:
        self.sock = sock
        self.deadline = deadline
        self.limit = limit
        self.what = what
        self.consumed = 0

    def room(self) -> int:
        """Bytes still allowed; :class:`TooLarge` when none are."""
        room = self.limit - self.consumed
        if room <= 0:
            raise TooLarge(f"{self.what} larger than {self.limit} bytes")
        return room

    def recv(self, size: int) -> bytes:
        """At most ``size`` bytes (fewer when the cap is near), within the deadline; ``b""`` at the end."""
        size = min(size, self.room())
        self.sock.settimeout(self.deadline.remaining())
        data = self.sock.recv(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        """:meth:`recv` into ``buffer`` (what :class:`io.RawIOBase` readers call)."""
        room = self.room()
        self.sock.settimeout(self.deadline.remaining())
        view = memoryview(buffer).cast("B")
        count = self.sock.recv_into(view[: min(len(view), room)])
        self.consumed += count
        return count
