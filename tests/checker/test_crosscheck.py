"""`mtasts check` next to checkdmarc.check_mta_sts on the same loopback world.

checkdmarc is pointed at the loopback nameserver (its ``resolver`` argument), trusts the throwaway CA through
``REQUESTS_CA_BUNDLE`` and reaches the HTTPS server because ``mta-sts.*:443`` resolves to it; SNI and the
certificate name check stay on the real host name, as they do for the checker's ``--connect-to``.
"""

from __future__ import annotations

import socket
from typing import Any

import dns.resolver
import pytest
from checkdmarc.mta_sts import check_mta_sts
from loopback import Loopback
from postfix_mta_sts_resolver.utils import is_plaintext

from mtasts.checker.checks import DomainReport, check_domain
from mtasts.checker.net import Network


@pytest.fixture
def checkdmarc(world: Loopback, monkeypatch: pytest.MonkeyPatch) -> Any:
    """check_mta_sts bound to the loopback world."""
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.nameserver_ports = {"127.0.0.1": world.dns_port}
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", world.ca_file)
    original = socket.getaddrinfo

    def loopback_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.startswith("mta-sts.") and port == 443:
            return original("127.0.0.1", world.https_port, *args, **kwargs)
        return original(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_getaddrinfo)
    return lambda domain: check_mta_sts(domain, resolver=resolver)


def fetched_ok(report: DomainReport) -> bool:
    """What checkdmarc's `valid` covers: the record, the fetch and the policy syntax (not MX or TLS-RPT)."""
    return all(c.status != "fail" for c in report.checks if c.name in ("sts-record", "policy-fetch", "policy-syntax"))


@pytest.mark.parametrize("domain", ["good.example", "testing.example", "split.example", "cname.example"])
def test_both_accept_good_deployments_with_the_same_id_and_policy(domain: str, net: Network, checkdmarc: Any) -> None:
    """Where the checker passes, checkdmarc finds the same id, mode, max_age and mx list."""
    report = check_domain(domain, net)
    theirs = checkdmarc(domain)
    assert fetched_ok(report)
    assert theirs["valid"], theirs
    ours = {c.name: c.detail for c in report.checks}
    assert ours["sts-record"].startswith(f"id={theirs['id']}")
    policy = theirs["policy"]
    assert ours["policy-syntax"] == f"mode {policy['mode']}, max_age {policy['max_age']}, {len(policy['mx'])} mx"


@pytest.mark.parametrize(
    ("domain", "their_error"),
    [
        ("redirect.example", "returned HTTP 301"),
        ("wrongname.example", "Hostname mismatch"),
        ("expired.example", "certificate has expired"),
        ("invalid.example", "Invalid mode: strict"),
        ("badid.example", "id value must be 1-32 letters or digits"),
        ("twotxt.example", "Multiple MTA-STS records"),
        ("none.example", "does not exist"),
    ],
)
def test_both_reject_broken_deployments(domain: str, their_error: str, net: Network, checkdmarc: Any) -> None:
    """Redirects, bad certificates, invalid policies, bad ids, two records and no record fail in both."""
    theirs = checkdmarc(domain)
    assert not theirs["valid"]
    assert their_error in theirs["error"]
    assert not fetched_ok(check_domain(domain, net))


def test_disagreement_wrong_media_type(net: Network, checkdmarc: Any) -> None:
    """text/html: checkdmarc only warns; the checker fails, because a sender (postfix-mta-sts-resolver) refuses it.

    RFC 8461 §3.3 has senders validate the media type as text/plain, and a real sender-side resolver drops
    such a policy, so the domain is unprotected: that is a failure for an operator, not a style warning.
    """
    theirs = checkdmarc("html.example")
    assert theirs["valid"]
    assert "should be text/plain, not text/html" in theirs["warnings"][0]
    assert not is_plaintext("text/html")
    assert not fetched_ok(check_domain("html.example", net))


def test_disagreement_oversized_body(net: Network, checkdmarc: Any) -> None:
    """A body over 64 KiB: checkdmarc reads it all; the checker fails, as senders stop reading at 64 KiB.

    postfix-mta-sts-resolver (HARD_RESP_LIMIT) and the kit (MAX_POLICY_BYTES) cap the policy at 64 KiB
    (RFC 8461 §3.3 lets senders bound what they read), so a sender would never see this policy.
    """
    from postfix_mta_sts_resolver.constants import HARD_RESP_LIMIT

    theirs = checkdmarc("big.example")
    assert theirs["valid"]
    assert HARD_RESP_LIMIT == 65536
    assert not fetched_ok(check_domain("big.example", net))
