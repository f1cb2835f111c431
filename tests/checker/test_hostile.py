"""`mtasts check` against hostile servers: one deadline per domain and a byte cap on every read.

The servers (tests/checker/loopback.py, :class:`loopback.Hostile`) trickle a byte per tick or flood without
end. The elapsed times are measured, but only against a generous margin past the deadline: the 2-core
machine is shared, and the cases this guards against took minutes, not a second too many.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from loopback import HOSTILE_HTTPS, Loopback

from mtasts.checker.checks import DomainReport, check_domain, check_domains
from mtasts.checker.net import Network, parse_connect_to, parse_nameserver

DEADLINE = 1.0
#: Far more than any scheduling delay, far less than what an unbounded read takes (minutes).
MARGIN = 6.0


def hostile_net(world: Loopback, timeout: float = DEADLINE) -> Network:
    return Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=timeout,
    )


def row(report: DomainReport, name: str) -> tuple[str, str]:
    found = [c for c in report.checks if c.name == name]
    assert found, [c.name for c in report.checks]
    return found[0].status, found[0].detail


def timed_check(domain: str, net: Network, starttls: bool = False) -> tuple[DomainReport, float]:
    start = time.monotonic()
    report = check_domain(domain, net, starttls=starttls)
    return report, time.monotonic() - start


@pytest.mark.parametrize("mode", ["slowstatus", "slowheaders", "slowbody", "slowchunks"])
def test_trickling_https_server_cannot_outlast_the_deadline(world: Loopback, mode: str) -> None:
    """A server sending status line, headers, body or chunks a byte at a time is cut off at the domain's deadline."""
    report, elapsed = timed_check(f"{mode}.example", hostile_net(world))
    assert elapsed < DEADLINE + MARGIN, HOSTILE_HTTPS[mode]
    assert row(report, "policy-fetch") == (
        "fail",
        f"no answer from mta-sts.{mode}.example within the 1 s deadline",
    )
    assert not report.ok


@pytest.mark.parametrize(
    ("mode", "cap"),
    [
        ("hugeheaders", "status line and headers larger than 16384 bytes"),
        ("endlesschunks", "the body is larger than 65536 bytes"),
    ],
)
def test_flooding_https_server_is_cut_off_at_the_byte_cap(world: Loopback, mode: str, cap: str) -> None:
    """Endless headers or an endless chunked body stop at their byte cap, long before the deadline."""
    report, elapsed = timed_check(f"{mode}.example", hostile_net(world, timeout=30.0))
    assert elapsed < 30.0
    status, detail = row(report, "policy-fetch")
    assert status == "fail"
    assert cap in detail


def test_slow_smtp_banner_cannot_outlast_the_deadline(world: Loopback) -> None:
    """An MX that sends its 220 banner a byte at a time is cut off at the domain's deadline."""
    report, elapsed = timed_check("slowbanner.example", hostile_net(world), starttls=True)
    assert elapsed < DEADLINE + MARGIN
    assert row(report, "starttls:mx.slowbanner.example") == (
        "fail",
        "no answer from mx.slowbanner.example within the 1 s deadline",
    )


def test_endless_smtp_continuation_lines_are_capped(world: Loopback) -> None:
    """An MX answering EHLO with 250- lines forever is stopped after 100 lines, not after memory runs out."""
    report, elapsed = timed_check("endless250.example", hostile_net(world, timeout=30.0), starttls=True)
    assert elapsed < 30.0
    assert row(report, "starttls:mx.endless250.example") == (
        "fail",
        "mx.endless250.example: SMTP reply of more than 100 lines",
    )


def test_one_hostile_domain_does_not_stall_the_run(world: Loopback) -> None:
    """Every hostile domain and a good one checked together end within one deadline plus margin; the good passes."""
    domains = ["good.example", "slowstatus.example", "slowbody.example", "slowbanner.example", "endless250.example"]
    start = time.monotonic()
    reports = check_domains(domains, hostile_net(world), starttls=True)
    assert time.monotonic() - start < DEADLINE + MARGIN
    assert [r.status for r in reports] == ["pass", "fail", "fail", "fail", "fail"]


@pytest.fixture
def silent_resolver() -> Iterator[str]:
    """A UDP socket that takes queries and never answers, as an unreachable resolver."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


def test_unreachable_resolver_costs_one_deadline_and_one_line(world: Loopback, silent_resolver: str) -> None:
    """With a resolver that never answers, the lookups run at once under one deadline and fail in one row."""
    net = Network(
        nameservers=[parse_nameserver(silent_resolver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(f":443::{world.https_port}")],  # the policy host is resolved, too
        timeout=DEADLINE,
    )
    report, elapsed = timed_check("good.example", net, starttls=True)
    assert elapsed < DEADLINE + MARGIN
    assert [(c.name, c.status) for c in report.checks] == [("dns", "unknown")]  # a failed lookup proves nothing
    assert report.checks[0].detail == (
        f"no answer from {silent_resolver} within the 1 s deadline; "
        "no result for mx-coverage, sts-record, policy-fetch, tlsrpt-record"
    )


def test_many_slow_mx_hosts_share_the_one_deadline(world: Loopback) -> None:
    """Twelve MX hosts with slow banners (more than run at once) still end within the domain's one deadline."""
    hosts = [f"mx{i}.manymx.example" for i in range(12)]
    world.zone.add("".join(f"manymx.example. 300 IN MX {i} {host}.\n" for i, host in enumerate(hosts)))
    net = Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(f":25:127.0.0.1:{world.hostile_ports['slowbanner']}")],
        timeout=DEADLINE,
    )
    report, elapsed = timed_check("manymx.example", net, starttls=True)
    assert elapsed < DEADLINE + MARGIN
    rows = [row(report, f"starttls:{host}") for host in hosts]
    assert rows == [("fail", f"no answer from {host} within the 1 s deadline") for host in hosts]
