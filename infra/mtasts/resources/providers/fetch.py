"""The policy as a sender fetches it: HTTPS GET of ``/.well-known/mta-sts.txt`` with SNI and ``Host`` set.

The rollout step (:mod:`.rollout`) verifies each new policy with it before its TXT id changes (RFC 8461 §8.1).
One deadline per fetch, at most 64 KiB read (RFC 8461 §3.3), no redirect followed (RFC 8461 §3.3: senders
must not follow them).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time

from ...policy import POLICY_PATH, policy_id

__all__ = ["MAX_POLICY_BYTES", "fetch_policy", "served_policy_id"]

#: A policy is at most 64 KiB (RFC 8461 §3.3 lets senders refuse larger); read at most this much.
MAX_POLICY_BYTES = 65_536


def served_policy_id(body: bytes) -> str:
    """The id of the served bytes: :func:`mtasts.policy.policy_id`, the same hash the plan announces."""
    return policy_id(body)


def fetch_policy(
    host: str,
    *,
    connect_to: tuple[str, int] | None = None,
    ca_file: str | None = None,
    timeout: float = 10.0,
) -> bytes:
    """GET ``https://<host>/.well-known/mta-sts.txt`` with SNI and Host = ``host``; at most 64 KiB, one deadline.

    ``connect_to`` sends the connection elsewhere while keeping SNI and Host (tests: a loopback server).
    """
    deadline = time.monotonic() + timeout
    address = connect_to or (host, 443)
    context = ssl.create_default_context(cafile=ca_file)
    with (
        socket.create_connection(address, timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        request = (
            f"GET {POLICY_PATH} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: mtasts-rollout\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(request.encode("ascii"))
        response = http.client.HTTPResponse(tls)
        tls.settimeout(max(0.1, deadline - time.monotonic()))
        response.begin()
        if response.status != 200:
            raise ValueError(f"HTTP {response.status}")
        body = b""
        while len(body) <= MAX_POLICY_BYTES:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("deadline passed while reading the policy")
            tls.settimeout(remaining)
            chunk = response.read(8192)
            if not chunk:
                break
            body += chunk
        if len(body) > MAX_POLICY_BYTES:
            raise ValueError(f"policy larger than {MAX_POLICY_BYTES} bytes (RFC 8461 §3.3)")
        return body
