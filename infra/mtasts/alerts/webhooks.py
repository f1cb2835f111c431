"""Posting verdict changes to Slack, Microsoft Teams and signed JSON webhooks, with bounded retries.

Targets are written ``KIND=URL`` (``slack=``, ``teams=``, ``json=``; a bare URL is ``json``). URLs must be
``https``, except on a loopback address (tests, a local relay). A webhook URL is a secret (whoever has a Slack
or Teams URL can post to the channel), so messages name only its scheme and host.

* Slack: an incoming-webhook message, ``text`` (the notification fallback) and ``mrkdwn`` section blocks of at
  most 3,000 characters each (Slack's limit per section text), ``&``, ``<`` and ``>`` escaped as Slack asks.
* Teams: a ``message`` with one Adaptive Card (version 1.4) of ``TextBlock`` elements, the shape Teams
  workflows' "post to a channel when a webhook request is received" and incoming webhooks accept.
* JSON: ``{"type": "mtasts.verdicts", "version": 1, "stack", "as_of", "test", "changes": [...], "truncated"}``,
  signed: ``X-Mtasts-Timestamp`` (Unix seconds) and ``X-Mtasts-Signature: sha256=<hex>``, the HMAC-SHA256 of
  ``<timestamp>.<body>`` keyed with the secret of the environment variable :data:`SECRET_ENV` (never a command
  line argument, which other users of the machine can read). A receiver recomputes it and rejects old timestamps.

Every delivery is bounded: at most :data:`ATTEMPTS` tries, waiting :data:`BASE_DELAY` × 2ⁿ between them (or the
``Retry-After`` the server asks, at most :data:`MAX_DELAY`), all within :data:`DEADLINE` seconds; each try has
:data:`TIMEOUT` seconds and reads at most :data:`MAX_RESPONSE_BYTES` of the answer. Connection errors, timeouts,
408, 429 and 5xx are retried; other answers are final. The clock and sleep are injectable, so tests never sleep.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import ssl
import time
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..inert import no_autolinks
from .changes import Change

__all__ = ["SECRET_ENV", "Delivery", "Sender", "Target", "parse_target", "payload", "signature"]

Kind = Literal["slack", "teams", "json"]
KINDS: tuple[Kind, ...] = ("slack", "teams", "json")
#: Environment variable holding the generic webhook's HMAC secret.
SECRET_ENV = "MTASTS_WEBHOOK_SECRET"  # noqa: S105  # the name of the variable, not a secret
ATTEMPTS = 4
BASE_DELAY = 2.0
MAX_DELAY = 30.0
#: Seconds for one target's whole delivery, retries included.
DEADLINE = 120.0
#: Seconds for one try (connect, send, answer).
TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 4096
#: Domains listed in a Slack or Teams message (the rest are counted); changes in one JSON body.
MAX_LISTED, MAX_JSON_CHANGES = 50, 1000
#: Characters of listed lines in one Slack or Teams message: Teams refuses messages over 28 KB, Slack truncates
#: ``text`` past 40,000 characters; lines past this budget are counted instead of listed.
MESSAGE_BUDGET = 20_000
#: Slack: characters of one section's text.
SLACK_SECTION_CHARS = 3000
USER_AGENT = "mtasts-alerts"


@dataclass(frozen=True)
class Target:
    """Where to post, and in which shape."""

    kind: Kind
    url: str

    @property
    def shown(self) -> str:
        """The URL without its path and query (which carry the webhook's secret)."""
        parts = urllib.parse.urlsplit(self.url)
        return f"{self.kind}={parts.scheme}://{parts.netloc.rpartition('@')[2]}/…"


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_target(value: str) -> Target:
    """``KIND=URL`` or ``URL``; :class:`ValueError` with the reason (the URL itself is never echoed)."""
    kind, sep, url = value.partition("=")
    if not sep or kind not in KINDS:
        if sep and "://" not in kind:
            raise ValueError(f"unknown kind {kind[:20]!r} (use {', '.join(KINDS)})")
        kind, url = "json", value
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError(f"{kind}: not an http(s) URL")
    if parts.scheme == "http" and not _loopback(parts.hostname):
        raise ValueError(f"{kind}: plain http only to a loopback address; use https")
    return Target(kind, url)  # type: ignore[arg-type]  # checked against KINDS above


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _line(change: Change) -> str:
    if change.outage is not None:
        was = f" (last verdict {change.previous}, kept)" if change.previous else ""
        return f"{change.domain}: not checked, the resolver failed: {change.outage}{was}; this is not drift"
    arrow = f"{change.previous} → {change.verdict}" if change.previous else f"{change.verdict} (first seen)"
    why = "; ".join(change.reasons + [f"warning: {w}" for w in change.warnings])
    return f"{change.domain}: {arrow}" + (f" — {why}" if why else "")


def _title(stack: str, changes: Sequence[Change], test: bool) -> str:
    outages = sum(1 for c in changes if c.outage is not None)
    parts = []
    if len(changes) - outages:
        parts.append(f"{len(changes) - outages} verdict change(s)")
    if outages:
        parts.append(f"{outages} domain(s) not checked (resolver outage)")
    prefix = "[test] " if test else ""
    return f"{prefix}MTA-STS stack {stack}: " + ", ".join(parts or ["nothing changed"])


def _outage_lines(outages: Sequence[Change]) -> list[str]:
    """One line per distinct resolver failure: an outage of the whole resolver is one line, not 10,000."""
    groups: dict[str, list[Change]] = {}
    for change in outages:
        groups.setdefault(change.outage or "", []).append(change)
    lines = []
    for message, group in groups.items():
        if len(group) == 1:
            lines.append(_line(group[0]))
            continue
        names = ", ".join(c.domain for c in group[:5]) + (", …" if len(group) > 5 else "")
        lines.append(
            f"{len(group)} domains not checked ({names}), the resolver failed: {message}; last verdicts kept; "
            "this is not drift"
        )
    return lines


def _lines(changes: Sequence[Change]) -> list[str]:
    """Verdict changes (action-needed first), then outages grouped by failure; within the list and size limits."""
    ordered = sorted((c for c in changes if c.outage is None), key=lambda c: (c.verdict != "action-needed", c.domain))
    candidates = [_line(c) for c in ordered[:MAX_LISTED]]
    outages = sorted((c for c in changes if c.outage is not None), key=lambda c: c.domain)
    candidates += _outage_lines(outages)
    lines: list[str] = []
    used = 0
    for line in candidates:
        if used + len(line) > MESSAGE_BUDGET:
            break
        lines.append(line)
        used += len(line)
    shown = min(len(lines), len(ordered[:MAX_LISTED]))
    if len(ordered) > shown:
        lines.append(f"… and {len(ordered) - shown} more verdict change(s) (see `mtasts status`)")
    return lines


def _teams_text(text: str) -> str:
    """Text for an Adaptive Card TextBlock, whose markdown would turn ``[text](url)`` from a server into a link."""
    return text.replace("](", "]\u200b(").replace("<", "\u2039").replace(">", "\u203a")


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def payload(kind: Kind, stack: str, as_of: str, changes: Sequence[Change], test: bool = False) -> bytes:
    """The request body for ``kind`` (UTF-8 JSON)."""
    title = _title(stack, changes, test)
    document: dict[str, Any]
    if kind == "slack":
        blocks: list[dict[str, Any]] = []
        chunk = ""
        for line in (f"*{_slack_escape(title)}*", *(f"• {_slack_escape(no_autolinks(x))}" for x in _lines(changes))):
            line = line[: SLACK_SECTION_CHARS - 1]
            if chunk and len(chunk) + 1 + len(line) > SLACK_SECTION_CHARS:
                blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
                chunk = ""
            chunk = f"{chunk}\n{line}" if chunk else line
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
        document = {"text": _slack_escape(title), "blocks": blocks}
    elif kind == "teams":
        body = [{"type": "TextBlock", "text": _teams_text(title), "weight": "Bolder", "wrap": True}]
        body += [
            {"type": "TextBlock", "text": f"- {_teams_text(no_autolinks(line))}", "wrap": True}
            for line in _lines(changes)
        ]
        card = {
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "body": body,
        }
        document = {
            "type": "message",
            "attachments": [
                {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
            ],
        }
    else:
        document = {
            "type": "mtasts.verdicts",
            "version": 1,
            "stack": stack,
            "as_of": as_of,
            "test": test,
            "summary": title,
            "changes": [c.to_dict() for c in changes[:MAX_JSON_CHANGES]],
            "truncated": max(0, len(changes) - MAX_JSON_CHANGES),
        }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Delivery:
    """How one post went."""

    target: Target
    ok: bool
    attempts: int
    status: int | None
    """The last HTTP status, ``None`` when no answer came."""
    error: str
    """Why it failed (empty when it did not)."""

    def __str__(self) -> str:
        if self.ok:
            return f"notified {self.target.shown} (HTTP {self.status}, {self.attempts} attempt(s))"
        return f"notification to {self.target.shown} failed after {self.attempts} attempt(s): {self.error}"


class Sender:
    """Posts bodies with bounded retries; ``clock``, ``wall`` and ``sleep`` are injectable for tests."""

    def __init__(
        self,
        secret: bytes | None,
        *,
        clock: Callable[[], float] | None = None,
        wall: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        attempts: int = ATTEMPTS,
        deadline: float = DEADLINE,
        timeout: float = TIMEOUT,
        context: ssl.SSLContext | None = None,
    ) -> None:
        self.secret = secret
        self.clock = clock or time.monotonic
        self.wall = wall or time.time
        self.sleep = sleep or time.sleep
        self.attempts, self.deadline, self.timeout = attempts, deadline, timeout
        self.context = context

    def headers(self, target: Target, body: bytes) -> dict[str, str]:
        """Content type, user agent and, for the generic webhook, the timestamp and signature."""
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
        if target.kind == "json":
            if self.secret is None:
                raise ValueError(f"json webhooks are signed: set {SECRET_ENV}")
            timestamp = str(int(self.wall()))
            headers["X-Mtasts-Timestamp"] = timestamp
            headers["X-Mtasts-Signature"] = signature(self.secret, timestamp, body)
        return headers

    def _try(self, target: Target, body: bytes, timeout: float) -> tuple[int, str | None]:
        """One POST: (status, Retry-After header)."""
        parts = urllib.parse.urlsplit(target.url)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection: http.client.HTTPConnection
        if parts.scheme == "https":
            context = self.context or ssl.create_default_context()
            connection = http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=timeout, context=context)
        else:
            connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
        try:
            connection.request("POST", path, body=body, headers=self.headers(target, body))
            response = connection.getresponse()
            response.read(MAX_RESPONSE_BYTES)  # drained, bounded; never shown (it may echo the secret URL)
            return response.status, response.getheader("Retry-After")
        finally:
            connection.close()

    def post(self, target: Target, body: bytes) -> Delivery:
        """Deliver ``body`` to ``target``; never raises for network trouble, the :class:`Delivery` says."""
        start = self.clock()
        status: int | None = None
        error = ""
        attempt = 0
        while attempt < self.attempts:
            attempt += 1
            left = self.deadline - (self.clock() - start)
            if left <= 0:
                error += " (deadline reached)"
                break
            retry_after: str | None = None
            try:
                status, retry_after = self._try(target, body, min(self.timeout, left))
            except (OSError, http.client.HTTPException) as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"[:200]
            else:
                if 200 <= status < 300:
                    return Delivery(target, True, attempt, status, "")
                error = f"HTTP {status}"
                if status not in (408, 429) and status < 500:
                    break  # the receiver refused it; the same request will be refused again
            if attempt >= self.attempts:
                break
            delay = min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1))
            if retry_after is not None and retry_after.strip().isdigit():
                delay = min(MAX_DELAY, float(retry_after.strip()))
            if self.clock() - start + delay >= self.deadline:
                error += " (no time left for another attempt)"
                break
            self.sleep(delay)
        return Delivery(target, False, attempt, status, error)
