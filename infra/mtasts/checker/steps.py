"""The steps of one domain's check under its one deadline: run now or in a thread, waited for no longer than it.

:class:`Run` holds the domain's deadline, its MX sessions' threads and the resolver failures it met (reported
once each); :class:`SharedSessions` shares one STARTTLS session per MX host among the domains of a run.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

import dns.exception

from ..alerts.settings import DEFAULTS as ALERT_DEFAULTS
from ..alerts.settings import AlertSettings
from .net import Deadline, Network, ResolverError, TlsSession

__all__ = [
    "DOMAIN_PARALLEL",
    "GRACE",
    "MAX_PARALLEL",
    "SHARED_PARALLEL",
    "Done",
    "Outcome",
    "Run",
    "SharedSessions",
]

#: Domains checked at once; each check waits on the network, not the CPU.
MAX_PARALLEL = 200
#: MX sessions of one domain (--starttls) run at once, at most this many.
DOMAIN_PARALLEL = 8
#: STARTTLS sessions open at once across the domains of one run that share their sessions (:class:`SharedSessions`).
SHARED_PARALLEL = 200
#: How long past its deadline a domain waits for a step that has not ended (every step ends by itself at the
#: deadline; this only guards against one that does not).
GRACE = 1.0
T = TypeVar("T")


class Outcome:
    """A step's value or the exception it raised, waited for no longer than the deadline (plus a grace)."""

    def __init__(self, future: Future[Any], deadline: Deadline, owned: bool = True) -> None:
        self._future = future
        self._deadline = deadline
        self._owned = owned  # a step shared with other domains is never cancelled by one of them

    def get(self) -> Any:
        """The value; re-raises the step's exception, :class:`TimeoutError` if it outlived the deadline."""
        try:
            return self._future.result(timeout=self._deadline.left() + GRACE)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            if self._owned:
                self._future.cancel()
            raise TimeoutError(f"not finished within the {self._deadline.seconds:g} s deadline") from None


class Done:
    """A step that has already run in this thread: its value or the exception it raised."""

    def __init__(self, step: Callable[..., T], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        try:
            self._value = step(*args)
        except Exception as exc:  # re-raised by get(), where each check handles what it expects
            self._error = exc

    def get(self) -> Any:
        """The value; re-raises the step's exception."""
        if self._error is not None:
            raise self._error
        return self._value


class SharedSessions:
    """STARTTLS sessions shared by the domains of one run: one per MX host, whichever domain asks first.

    Hosting providers serve thousands of domains from a few MX hosts; one session per host is faster and polite.
    The session runs under the deadline of the domain that started it, and every domain waits for it no longer
    than its own deadline, so ``--timeout`` still bounds each domain's whole check, STARTTLS included.
    """

    def __init__(self, net: Network, parallel: int = SHARED_PARALLEL) -> None:
        self._net = net
        self._pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="mtasts-starttls")
        self._sessions: dict[str, Future[TlsSession]] = {}
        self._lock = threading.Lock()

    def start(self, host: str, deadline: Deadline) -> Future[TlsSession]:
        """The session with ``host``: the one already started, else one started now under ``deadline``."""
        with self._lock:
            future = self._sessions.get(host)
            if future is None:
                future = self._sessions[host] = self._pool.submit(self._net.starttls_session, host, deadline)
            return future

    def close(self) -> None:
        """Stop waiting: sessions still running end by their own deadline."""
        self._pool.shutdown(wait=False, cancel_futures=True)


class Run:
    """The steps of one domain under its one deadline; resolver failures are collected once."""

    def __init__(
        self, deadline: Deadline, alerts: AlertSettings = ALERT_DEFAULTS, shared: SharedSessions | None = None
    ) -> None:
        self.deadline = deadline
        self.alerts = alerts
        self.shared = shared
        self.pool: ThreadPoolExecutor | None = None  # only for MX sessions, several at once
        self.dns_failures: dict[str, list[str]] = {}  # one message -> the checks it left without a result

    def start(self, step: Callable[..., T], *args: Any) -> Outcome:
        """Run ``step(*args, deadline)`` in one of the domain's threads (MX sessions run several at once)."""
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=DOMAIN_PARALLEL, thread_name_prefix="mtasts-check")
        return Outcome(self.pool.submit(step, *args, self.deadline), self.deadline)

    def session(self, net: Network, host: str) -> Outcome:
        """The STARTTLS session with ``host``, shared with the run's other domains when they share sessions."""
        if self.shared is None:
            return self.start(net.starttls_session, host)
        return Outcome(self.shared.start(host, self.deadline), self.deadline, owned=False)

    def now(self, step: Callable[..., T], *args: Any) -> Done:
        """Run ``step(*args, deadline)`` in this thread, keeping its value or its exception."""
        return Done(step, *args, self.deadline)

    def resolver_failed(self, check: str, exc: ResolverError | dns.exception.DNSException) -> None:
        """``check`` has no result because a lookup failed with ``exc`` (reported once per distinct failure)."""
        self.dns_failures.setdefault(str(exc), []).append(check)
