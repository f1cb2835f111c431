"""A loopback HTTPS "CloudFront" for the rollout step: serves each host's current body with SNI and Host checks."""

from __future__ import annotations

import http.server
import random
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import trustme

from mtasts.resources.providers.fetch import fetch_policy


@dataclass
class Edge:
    """What the loopback edge serves: host -> body; ``requests`` counts fetches per host."""

    bodies: dict[str, bytes] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    port: int = 0
    ca_file: str = ""

    def fetch(self, host: str) -> bytes:
        """Fetch ``host``'s policy through this edge, as the rollout step does through CloudFront."""
        return fetch_policy(host, connect_to=("127.0.0.1", self.port), ca_file=self.ca_file, timeout=5.0)


@contextmanager
def loopback_edge(hosts: list[str], tmp_dir: str) -> Iterator[Edge]:
    """Start an HTTPS server on 127.0.0.1 with a certificate for ``hosts``; stop it on exit."""
    ca = trustme.CA()
    cert = ca.issue_cert(*hosts)
    ca_file = f"{tmp_dir}/ca.pem"
    ca.cert_pem.write_to_path(ca_file)
    edge = Edge(ca_file=ca_file)
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            host = (self.headers.get("Host") or "").lower()
            with lock:
                edge.requests[host] = edge.requests.get(host, 0) + 1
                body = edge.bodies.get(host)
            if self.path != "/.well-known/mta-sts.txt" or body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            """Quiet."""

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    edge.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield edge
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class FakeClock:
    """Time that passes only when the code sleeps: a clock and a sleep for waits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        """Now."""
        return self.now

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        self.now += seconds


def moto_distribution(client: Any, reference: str) -> str:
    """A minimal CloudFront distribution in moto (HTTPS only, one S3 origin); its id."""
    created = client.create_distribution(
        DistributionConfig={
            "CallerReference": reference,
            "Comment": "",
            "Enabled": True,
            "Origins": {
                "Quantity": 1,
                "Items": [
                    {"Id": "o", "DomainName": "b.s3.amazonaws.com", "S3OriginConfig": {"OriginAccessIdentity": ""}}
                ],
            },
            "DefaultCacheBehavior": {"TargetOriginId": "o", "ViewerProtocolPolicy": "https-only", "MinTTL": 0},
        }
    )
    return str(created["Distribution"]["Id"])


def cloudfront_client(**config: Any) -> Any:
    """A real boto3 CloudFront client with placeholder credentials, for ``botocore.stub.Stubber`` (never sends)."""
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - a placeholder: Stubber answers before anything is signed
        region_name="us-east-1",
    )
    return session.client("cloudfront", config=Config(**config) if config else None)


def invalidation(
    invalidation_id: str, status: str, paths: tuple[str, ...] = ("/.well-known/mta-sts.txt",)
) -> dict[str, Any]:
    """An ``Invalidation`` as CloudFront's model shapes it (for Stubber responses)."""
    import datetime

    return {
        "Id": invalidation_id,
        "Status": status,
        "CreateTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
        "InvalidationBatch": {"Paths": {"Quantity": len(paths), "Items": list(paths)}, "CallerReference": "ref"},
    }


class StubbedCloudFront:
    """A boto3 CloudFront client answered through botocore's Stubber, with CloudFront's timing on a fake clock.

    Every request goes through the real client (so its parameters are validated against CloudFront's model)
    and every answer through Stubber (validated too). An invalidation completes ``complete_after`` seconds after
    its creation; ``refuse`` maps a target id to the error code its creation gets every time; one creation in
    ``throttle_every`` and one read in ``fail_read_every``, drawn by a seeded generator (a fixed period could
    keep hitting the same call of each polling round), fail with a transient error.
    ``calls`` records ``create <target>`` / ``get <invalidation>``; ``most_in_flight`` the most invalidations
    created and not yet read back completed, per distribution key (the caller's view of CloudFront's limit).
    """

    def __init__(
        self,
        clock: FakeClock,
        complete_after: float = 0.0,
        *,
        refuse: dict[str, str] | None = None,
        throttle_every: int = 0,
        fail_read_every: int = 0,
    ) -> None:
        from botocore.stub import Stubber

        self.client = cloudfront_client(retries={"total_max_attempts": 1})  # retries are the code's, not the client's
        self.exceptions = self.client.exceptions
        self.stub = Stubber(self.client)
        self.stub.activate()
        self.clock, self.complete_after = clock, complete_after
        self.refuse = refuse or {}
        self.throttle_every, self.fail_read_every = throttle_every, fail_read_every
        self.calls: list[str] = []
        self.created: dict[str, float] = {}
        self.open: set[str] = set()
        self.most_in_flight = 0
        self.creates = self.reads = 0
        self.injected = 0
        self.random = random.Random(16)  # noqa: S311 - reproducible fault injection, not cryptography

    def _fail(self, operation: str, code: str) -> None:
        status = 503 if code == "ServiceUnavailable" else 400
        self.injected += 1
        self.stub.add_client_error(operation, service_error_code=code, http_status_code=status)

    def _create(self, operation: str, target: str, kw: dict[str, Any]) -> Any:
        self.creates += 1
        self.calls.append(f"create {target}")
        if target in self.refuse:
            self.stub.add_client_error(operation, service_error_code=self.refuse[target], http_status_code=403)
        elif self.throttle_every and self.random.random() < 1 / self.throttle_every:
            self._fail(operation, "Throttling")
        else:
            iid = f"I{len(self.created)}"
            self.created[iid] = self.clock()
            self.open.add(iid)
            self.most_in_flight = max(self.most_in_flight, len(self.open))
            paths = tuple(kw["InvalidationBatch"]["Paths"]["Items"])
            answer = {
                "Location": f"https://cloudfront.amazonaws.com/{iid}",
                "Invalidation": invalidation(iid, "InProgress", paths),
            }
            self.stub.add_response(operation, answer, kw)
        return getattr(self.client, operation)(**kw)

    def _get(self, operation: str, kw: dict[str, Any]) -> Any:
        self.reads += 1
        iid = kw["Id"]
        self.calls.append(f"get {iid}")
        if self.fail_read_every and self.random.random() < 1 / self.fail_read_every:
            self._fail(operation, self.random.choice(("ServiceUnavailable", "Throttling")))
        else:
            done = self.clock() - self.created[iid] >= self.complete_after
            if done:
                self.open.discard(iid)
            self.stub.add_response(
                operation, {"Invalidation": invalidation(iid, "Completed" if done else "InProgress")}, kw
            )
        return getattr(self.client, operation)(**kw)

    def create_invalidation(self, **kw: Any) -> Any:
        """CreateInvalidation (a standard distribution)."""
        return self._create("create_invalidation", kw["DistributionId"], kw)

    def create_invalidation_for_distribution_tenant(self, **kw: Any) -> Any:
        """CreateInvalidationForDistributionTenant."""
        return self._create("create_invalidation_for_distribution_tenant", kw["Id"], kw)

    def get_invalidation(self, **kw: Any) -> Any:
        """GetInvalidation."""
        return self._get("get_invalidation", kw)

    def get_invalidation_for_distribution_tenant(self, **kw: Any) -> Any:
        """GetInvalidationForDistributionTenant."""
        return self._get("get_invalidation_for_distribution_tenant", kw)
