"""Unknown is not drift, never deployed is not broken, and one deadline per domain (issue 17).

A resolver that never answers, a domain nothing has been published for yet, and an MX host that accepts the
connection and then says nothing: `check` and `status` must say what they know and nothing more, within the
``--timeout`` they were given.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fleetworld import AS_OF, network_args
from loopback import Loopback

from mtasts.cli import main

#: --timeout of these runs; the live part of every run must end within SLACK times it (issue 17: at most 1.2x).
TIMEOUT = 3.0
SLACK = 1.2


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def dead_resolver() -> Iterator[str]:
    """A UDP socket that takes queries and never answers: a resolver outage."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def status_json(stack: Path, reports: Path, *network: str) -> tuple[Result, dict[str, Any], float]:
    """The status document by domain, and the seconds its live part took (the run less the same run --no-live)."""
    args = ["status", "--config", str(stack), "--reports", str(reports), "--as-of", str(AS_OF), "--json"]
    start = time.monotonic()
    run(*args, "--no-live")
    offline = time.monotonic() - start
    start = time.monotonic()
    result = run(*args, *network)
    elapsed = time.monotonic() - start - offline
    assert result.exit_code in (0, 1), result.output
    return result, {d["domain"]: d for d in json.loads(result.stdout)["domains"]}, elapsed


def dead_network(world: Loopback, resolver: str) -> list[str]:
    """The world's seams, with the resolver replaced by one that never answers."""
    args = network_args(world)
    args[args.index("--nameserver") + 1] = resolver
    args[args.index("--timeout") + 1] = f"{TIMEOUT:g}"
    return args


def test_status_with_a_dead_resolver_is_unknown_never_drift(
    world: Loopback, report_dir: Path, stack: Path, dead_resolver: str
) -> None:
    """Every domain is `unknown` with the resolver's error as its reason: no drift, no promotion, one deadline."""
    result, domains, elapsed = status_json(stack, report_dir, *dead_network(world, dead_resolver))
    assert elapsed < SLACK * TIMEOUT, elapsed
    assert result.exit_code == 0  # nothing is known to need action
    for name, d in domains.items():
        assert d["verdict"] == "unknown", (name, d["reasons"])
        assert d["next"] is None
        assert d["demote"] is None
        assert d["reasons"][0].startswith(f"live state unknown: no answer from {dead_resolver}"), d["reasons"]
        assert not any("live drift" in r for r in d["reasons"])
        assert "sts-record" in d["live"]["unread"]
    text = run(
        "status", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
        *dead_network(world, dead_resolver),
    )  # fmt: skip
    assert "could not be read (DNS)" in text.stdout
    assert "id drift" not in text.stdout


def test_promote_with_a_dead_resolver_changes_nothing(
    world: Loopback, report_dir: Path, stack: Path, dead_resolver: str
) -> None:
    """promote refuses every domain while the live state is unknown, and leaves the stack file as it was."""
    before = stack.read_text()
    result = run(
        "promote", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF),
        *dead_network(world, dead_resolver),
    )  # fmt: skip
    assert stack.read_text() == before
    assert "0 domain(s) changed" in result.stdout, result.output
    assert "unknown: live state unknown" in result.stdout


def test_check_with_a_dead_resolver_says_could_not_be_read_and_exits_3(
    world: Loopback, stack: Path, dead_resolver: str
) -> None:
    """`check --stack`: the drift row could not be read (unknown), no row fails, exit 3, which the drift job allows."""
    start = time.monotonic()
    result = run("check", "--config", str(stack), "--json", *dead_network(world, dead_resolver))
    assert time.monotonic() - start < SLACK * TIMEOUT + 1  # the check itself plus reading the stack file
    assert result.exit_code == 3, result.output
    for domain in json.loads(result.stdout)["domains"]:
        assert domain["status"] == "unknown"
        rows = {c["name"]: c for c in domain["checks"]}
        assert "fail" not in {c["status"] for c in domain["checks"]}
        assert (rows["drift"]["status"], rows["dns"]["status"]) == ("unknown", "unknown")
        # the policy host is reached through --connect-to without DNS; the TXT record needed the resolver
        assert rows["drift"]["detail"].startswith("could not be read: no result for sts-record (see the dns row)")
        assert rows["drift"]["data"]["id_live"] is None
        assert rows["dns"]["data"]["error"] == f"no answer from {dead_resolver} within the {TIMEOUT:g} s deadline"


NEW = "fresh.example"


@pytest.fixture
def with_new_domain(tmp_path: Path) -> Path:
    """A stack with ready.example and a domain added in git but never deployed (no DNS record of any kind yet)."""
    stack = tmp_path / "Pulumi.new.yaml"
    stack.write_text(
        "config:\n  mta-sts:domains:\n"
        "    ready.example: {mode: testing, max_age: 86400, mx: [mx1.ready.example], "
        "rua: ['mailto:tls@ready.example']}\n"
        f"    {NEW}: {{mode: testing, mx: [mx1.{NEW}], rua: ['mailto:tls@{NEW}']}}\n"
    )
    return stack


def resolved_network(world: Loopback) -> list[str]:
    """The world's resolver and CA, and a --connect-to only for names the resolver knows (as on the internet)."""
    return [
        "--nameserver", world.nameserver, "--ca-file", world.ca_file, "--timeout", f"{TIMEOUT:g}",
        "--connect-to", f"mta-sts.ready.example:443:127.0.0.1:{world.https_port}", "--no-starttls",
    ]  # fmt: skip


def test_never_deployed_domain_is_not_deployed_not_drift(
    world: Loopback, report_dir: Path, with_new_domain: Path
) -> None:
    """A domain with no TXT record and no policy host is `not-deployed` (next step: deploy), never drift."""
    _, domains, _ = status_json(with_new_domain, report_dir, *resolved_network(world))
    d = domains[NEW]
    assert d["verdict"] == "not-deployed", d["reasons"]
    (reason,) = d["reasons"]
    assert reason.startswith(f"nothing published yet: no TXT record at _mta-sts.{NEW}")
    assert "next step: deploy (`pulumi up`)" in reason
    assert d["live"]["deployed"] is False
    assert domains["ready.example"]["live"]["deployed"] is True  # the other is judged as before
    assert domains["ready.example"]["verdict"] != "not-deployed"
    check = run("check", NEW, "--config", str(with_new_domain), "--json", *resolved_network(world)[:-1])
    rows = {c["name"]: c for c in json.loads(check.stdout)["domains"][0]["checks"]}
    assert rows["drift"]["detail"].startswith("not deployed: no TXT record")
    assert rows["drift"]["data"]["deployed"] is False


def test_silent_mx_costs_one_deadline_in_status(world: Loopback, report_dir: Path, tmp_path: Path) -> None:
    """An MX that accepts and never speaks: status with STARTTLS ends within 1.2x --timeout and names the MX."""
    domain = "silentmx.example"
    world.zone.add(
        f'_mta-sts.{domain}. 300 IN TXT "v=STSv1; id=x"\n'
        f"mta-sts.{domain}. 300 IN A 127.0.0.1\n"
        f"{domain}. 300 IN MX 10 mx.hang.example.\n"
    )
    stack = tmp_path / "Pulumi.silent.yaml"
    stack.write_text(
        "config:\n  mta-sts:domains:\n"
        f"    {domain}: {{mode: testing, mx: [mx.hang.example], rua: ['mailto:tls@{domain}']}}\n"
    )
    args = network_args(world)
    args[args.index("--timeout") + 1] = f"{TIMEOUT:g}"
    hang = f"mx.hang.example:25:127.0.0.1:{world.hang_port}"
    _, domains, elapsed = status_json(stack, report_dir, "--connect-to", hang, *args)
    assert elapsed < SLACK * TIMEOUT, elapsed
    reason = domains[domain]["live"]["starttls"]["mx.hang.example"]
    assert f"within the {TIMEOUT:g} s deadline" in reason, reason
