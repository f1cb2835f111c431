"""CAA (RFC 8659) as `mtasts plan --preflight` reads it, against the loopback DNS server."""

from __future__ import annotations

from loopback import Loopback

from mtasts.checker.caa import amazon_may_issue, caa_names, caa_problems, check_caa
from mtasts.checker.net import Network, parse_nameserver
from mtasts.config import TemplateStore, parse_stack_settings
from mtasts.plan import plan_stack


def setup_zone(world: Loopback) -> None:
    """CAA sets at the host, at the domain, at a parent, behind a CNAME, and none at all (once per session)."""
    if "caa-letsencrypt.example." in world.zone.by_name:
        return
    world.zone.add(
        'caa-letsencrypt.example. 300 IN CAA 0 issue "letsencrypt.org"\n'
        'caa-amazon.example. 300 IN CAA 0 issue "letsencrypt.org"\n'
        'caa-amazon.example. 300 IN CAA 0 issue "amazontrust.com; account=1"\n'
        'caa-iodef.example. 300 IN CAA 0 iodef "mailto:sec@caa-iodef.example"\n'
        'caa-critical.example. 300 IN CAA 128 tbs "x"\n'
        'caa-none-allowed.example. 300 IN CAA 0 issue ";"\n'
        'mta-sts.caa-host.example. 300 IN CAA 0 issue "amazon.com"\n'
        'caa-host.example. 300 IN CAA 0 issue "letsencrypt.org"\n'
        "sub.caa-parent.example. 300 IN A 127.0.0.1\n"
        'caa-parent.example. 300 IN CAA 0 issue "digicert.com"\n'
        "mta-sts.caa-cname.example. 300 IN CNAME edge.cdn.example.\n"
        'edge.cdn.example. 300 IN CAA 0 issue "amazon.com"\n'
        'caa-cname.example. 300 IN CAA 0 issue "letsencrypt.org"\n'
        "caa-free.example. 300 IN A 127.0.0.1\n"
    )


def test_the_climb_stops_at_the_first_non_empty_set_and_follows_aliases(world: Loopback, net: Network) -> None:
    """The relevant RRset is the closest non-empty one; a CNAME's target set counts as the name's (RFC 8659 §3)."""
    setup_zone(world)
    assert caa_names("mta-sts.a.b.example") == ["mta-sts.a.b.example", "a.b.example", "b.example", "example"]
    host = check_caa("mta-sts.caa-host.example", net)
    assert (host.allowed, host.where) == (True, "mta-sts.caa-host.example")
    parent = check_caa("mta-sts.sub.caa-parent.example", net)
    assert (parent.allowed, parent.where) == (False, "caa-parent.example")
    assert "digicert.com, not Amazon" in parent.reason
    cname = check_caa("mta-sts.caa-cname.example", net)
    assert (cname.allowed, cname.where) == (True, "mta-sts.caa-cname.example")
    free = check_caa("mta-sts.caa-free.example", net)
    assert (free.allowed, free.where) == (True, None)


def test_issue_properties_decide_and_a_critical_unknown_tag_forbids(world: Loopback, net: Network) -> None:
    """Only issue tags naming Amazon allow it; none at all allows any CA; `issue ";"` and critical unknowns forbid."""
    setup_zone(world)
    verdicts = {d: check_caa(f"mta-sts.caa-{d}.example", net).allowed for d in ("letsencrypt", "amazon", "iodef")}
    assert verdicts == {"letsencrypt": False, "amazon": True, "iodef": True}
    assert check_caa("mta-sts.caa-none-allowed.example", net).allowed is False
    assert check_caa("mta-sts.caa-critical.example", net).allowed is False
    for issuer in ("amazon.com", "amazontrust.com", "awstrust.com", "amazonaws.com", " Amazon.com ; x=y"):
        assert amazon_may_issue([(0, "issue", issuer)])[0] is True
    assert amazon_may_issue([(0, "issuewild", "letsencrypt.org")])[0] is True  # a wildcard rule: not this name


def test_preflight_names_the_domain_and_the_record_and_a_failed_lookup_is_no_problem(
    world: Loopback, net: Network
) -> None:
    """A blocking CAA set is one problem naming domain, record and fix; an unanswered lookup is unknown only."""
    setup_zone(world)
    domains = {d: {"mode": "none"} for d in ("caa-letsencrypt.example", "caa-amazon.example")}
    plan = plan_stack(parse_stack_settings({"domains": domains}, TemplateStore()))
    problems, verdicts = caa_problems(plan.domains, net)
    assert [p.path for p in problems] == ["domains.caa-letsencrypt.example"]
    assert problems[0].message.startswith(
        "CAA records at caa-letsencrypt.example keep Amazon from issuing the certificate for "
        "mta-sts.caa-letsencrypt.example: issue allows letsencrypt.org, not Amazon (RFC 8659 §4.2)"
    )
    assert 'add `caa-letsencrypt.example. CAA 0 issue "amazon.com"`' in problems[0].message
    dead = Network(nameservers=[parse_nameserver(f"127.0.0.1:{world.hang_port}")], timeout=0.5)
    problems, verdicts = caa_problems(plan.domains, dead)
    assert problems == []
    assert {v.allowed for v in verdicts} == {None}
