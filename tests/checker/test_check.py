"""`mtasts check` against the loopback world: each way a deployment can be right or wrong."""

from __future__ import annotations

import ipaddress
import json
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from loopback import Loopback
from scenarios import GOOD, NEW, OLD, serve

from mtasts.checker.checks import DomainReport, check_domain
from mtasts.checker.net import Network, parse_connect_to, parse_nameserver
from mtasts.checker.preflight import preflight
from mtasts.cli import main
from mtasts.config import parse_stack_settings
from mtasts.plan import DomainPlan, StackPlan, plan_stack, plan_stack_file


def status(report: DomainReport, name: str) -> tuple[str, str]:
    found = [c for c in report.checks if c.name == name]
    assert found, [c.name for c in report.checks]
    return found[0].status, found[0].detail


def test_good_domain_passes_everything(net: Network) -> None:
    """A correct deployment passes every check, with STARTTLS verified against the MX name."""
    report = check_domain("good.example", net, starttls=True)
    assert report.ok, report.to_dict()
    assert [c.status for c in report.checks] == ["pass"] * len(report.checks)
    assert status(report, "sts-record") == ("pass", f"id={GOOD.id}")
    assert status(report, "starttls:mx.good.example")[0] == "pass"
    assert "TLSv1." in status(report, "policy-fetch")[1]


def test_testing_mode_uncovered_mx_is_a_warning(net: Network) -> None:
    """An MX the policy does not cover is only a warning in testing mode."""
    report = check_domain("testing.example", net)
    assert report.ok
    assert status(report, "mx-coverage") == (
        "warn",
        "MX mx.elsewhere.example not covered; enforce mode would refuse it",
    )


def test_enforce_mode_uncovered_mx_fails(net: Network) -> None:
    """An MX the policy does not cover fails in enforce mode (RFC 8461 §4.1)."""
    report = check_domain("uncovered.example", net)
    assert not report.ok
    assert status(report, "mx-coverage")[0] == "fail"
    assert "backup.elsewhere.example" in status(report, "mx-coverage")[1]


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("redirect.example", "HTTP 301 redirect to https://elsewhere.example/: senders do not follow it"),
        ("html.example", "media type text/html, not text/plain"),
        ("big.example", "larger than 65536 bytes"),
        ("wrongname.example", "certificate of mta-sts.wrongname.example not accepted: Hostname mismatch"),
        ("expired.example", "certificate of mta-sts.expired.example not accepted: certificate has expired"),
        ("hang.example", "no answer from mta-sts.hang.example within the 1 s deadline"),
    ],
)
def test_policy_fetch_failures(world: Loopback, domain: str, expected: str) -> None:
    """Redirects, wrong media type, oversized bodies, bad certificates and silent servers all fail the fetch."""
    net = Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=1.0,
    )
    report = check_domain(domain, net)
    fetch = status(report, "policy-fetch")
    assert fetch[0] == "fail"
    assert expected in fetch[1]
    assert not report.ok


def test_invalid_policy_body(net: Network) -> None:
    """A served body that is not a valid policy fails policy-syntax, naming the line."""
    report = check_domain("invalid.example", net)
    assert status(report, "policy-fetch")[0] == "pass"
    result, detail = status(report, "policy-syntax")
    assert result == "fail"
    assert "line 2: mode 'strict'" in detail


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("badid.example", "is not 1-32 letters and digits"),
        ("twotxt.example", "2 TXT records begin with 'v=STSv1'"),
        ("none.example", "no TXT record at _mta-sts.none.example"),
    ],
)
def test_sts_record_failures(net: Network, domain: str, expected: str) -> None:
    """A bad id, two records, or none at all mean senders see no policy."""
    result, detail = status(check_domain(domain, net), "sts-record")
    assert result == "fail"
    assert expected in detail


def test_txt_split_into_two_strings_is_joined(net: Network) -> None:
    """One TXT record made of two strings is read as their concatenation (RFC 8461 §3.1)."""
    report = check_domain("split.example", net)
    assert status(report, "sts-record")[0] == "pass"


def test_cname_delegated_record_is_followed(net: Network) -> None:
    """_mta-sts delegated by CNAME is followed, and the detail says where it led."""
    result, detail = status(check_domain("cname.example", net), "sts-record")
    assert result == "pass"
    assert "via CNAME to _mta-sts.cname.example.hosting.example.net" in detail


def test_stale_body_after_id_change_is_named(net: Network, stack_file: Path) -> None:
    """TXT announces the new id while the old body is served: the stale-cache case is diagnosed by name."""
    expected = plan_stack_file(stack_file).get("stale.example")
    assert expected.policy_bytes == NEW.to_bytes()
    result, detail = status(check_domain("stale.example", net, expected), "drift")
    assert result == "fail"
    assert detail.startswith(f"stale cache: the TXT record announces the new id {NEW.id}")


def test_drift_data_says_which_half_of_a_rollout_is_live(net: Network, world: Loopback, stack_file: Path) -> None:
    """The drift check's data tells the stale-cache case (id live, old body) from the unfinished one (body live)."""
    stale = check_domain("stale.example", net, plan_stack_file(stack_file).get("stale.example"))
    drift = next(c for c in stale.checks if c.name == "drift")
    assert drift.data == {
        "planned_id": NEW.id,
        "live_id": NEW.id,
        "served_id": OLD.id,
        "id_live": True,
        "policy_equal": False,
        "deployed": True,
    }
    serve(world, "halfway.example", NEW, txt=f"v=STSv1; id={OLD.id}")
    settings = {"mode": "enforce", "max_age": 604800, "mx": ["mx.stale.example"]}
    plan = plan_stack(parse_stack_settings({"domains": {"halfway.example": settings}})).get("halfway.example")
    assert plan.policy_bytes == NEW.to_bytes()
    halfway = check_domain("halfway.example", net, plan)
    data = {c.name: c.data for c in halfway.checks}
    assert data["drift"]["policy_equal"] is True
    assert data["drift"]["id_live"] is False
    assert data["sts-record"] == {"id": OLD.id, "name": "_mta-sts.halfway.example"}
    assert data["policy-syntax"] == {"mode": "enforce", "max_age": 604800, "mx": ["mx.stale.example"]}
    assert data["mx-coverage"]["hosts"] == ["mx.halfway.example"]
    assert data["mx-coverage"]["uncovered"] == ["mx.halfway.example"]


def test_no_drift_when_live_matches_the_stack(net: Network, stack_file: Path) -> None:
    """A live domain that matches the stack config passes drift and its TLS-RPT comparison."""
    expected = plan_stack_file(stack_file).get("good.example")
    report = check_domain("good.example", net, expected)
    assert status(report, "drift")[0] == "pass"
    assert status(report, "tlsrpt-record") == ("pass", "rua=mailto:tls@good.example")


@pytest.mark.parametrize(
    ("domain", "expected"),
    [
        ("nostarttls.example", "mx.nostarttls.example does not offer STARTTLS"),
        ("badcert.example", "certificate of mx.badcert.example not accepted"),
    ],
)
def test_starttls_failures(net: Network, domain: str, expected: str) -> None:
    """An MX without STARTTLS, or with a certificate for another name, fails."""
    result, detail = status(check_domain(domain, net, starttls=True), f"starttls:mx.{domain}")
    assert result == "fail"
    assert expected in detail


def cli(world: Loopback, *args: str) -> Result:
    seams = ["--nameserver", world.nameserver, "--ca-file", world.ca_file, "--timeout", "5"]
    for rule in world.connect_to():
        seams += ["--connect-to", rule]
    return CliRunner().invoke(main, ["check", *args, *seams])


def test_cli_json_shape_and_exit_status(world: Loopback) -> None:
    """--json prints one document of the documented shape; exit 1 when a check fails."""
    result = cli(world, "good.example", "redirect.example", "--json")
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert [d["domain"] for d in doc["domains"]] == ["good.example", "redirect.example"]
    assert [d["ok"] for d in doc["domains"]] == [True, False]
    for d in doc["domains"]:
        assert set(d) == {"domain", "ok", "status", "checks"}
        for c in d["checks"]:
            assert set(c) == {"name", "status", "detail", "data"}
            assert c["status"] in ("pass", "warn", "fail", "pending")
            assert isinstance(c["data"], dict)
    assert [d["status"] for d in doc["domains"]] == ["pass", "fail"]
    good = {c["name"]: c["data"] for c in doc["domains"][0]["checks"]}
    assert good["sts-record"]["id"]
    assert good["mx-coverage"]["hosts"] == ["mx.good.example"]
    assert good["mx-coverage"]["uncovered"] == []
    assert good["policy-fetch"]["http_status"] == 200
    redirect = {c["name"]: c["data"] for c in doc["domains"][1]["checks"]}
    assert 300 <= redirect["policy-fetch"]["http_status"] < 400
    assert redirect["policy-fetch"]["location"]


def test_cli_all_good_exits_0_with_a_table(world: Loopback) -> None:
    """A passing domain exits 0 and prints the table."""
    result = cli(world, "good.example")
    assert result.exit_code == 0, result.stdout
    assert "sts-record" in result.stdout
    assert "pass" in result.stdout


def test_cli_stack_checks_all_its_domains(world: Loopback, stack_file: Path) -> None:
    """--config without DOMAIN checks every domain of the stack, with drift."""
    result = cli(world, "--config", str(stack_file), "--json")
    doc = json.loads(result.stdout)
    assert sorted(d["domain"] for d in doc["domains"]) == ["good.example", "stale.example"]
    assert result.exit_code == 1


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["x.example", "--connect-to", "nonsense"],
        ["x.example", "--nameserver", "not-an-ip"],
        ["bad domain!"],
    ],
)
def test_cli_usage_errors_exit_2(args: list[str]) -> None:
    """Missing domains, malformed seams and invalid names are usage errors, without touching the network."""
    assert CliRunner().invoke(main, ["check", *args]).exit_code == 2


def test_preflight_refuses_uncovered_mx(world: Loopback) -> None:
    """The preflight gate names the enforce domain and the live MX host its patterns do not cover."""
    plan = plan_stack(
        parse_stack_settings(
            {
                "domains": {
                    "uncovered.example": {"template": "enforce", "mx": ["mx.uncovered.example"]},
                    "testing.example": {"mx": ["mx.testing.example"], "rua": ["mailto:t@testing.example"]},
                }
            }
        )
    )
    problems = preflight(plan, Network(nameservers=[parse_nameserver(world.nameserver)], timeout=5))
    assert [p.path for p in problems] == ["domains.uncovered.example.mx"]
    assert "live MX host backup.elsewhere.example is not covered" in problems[0].message


def test_plan_preflight_cli(world: Loopback, tmp_path: Path) -> None:
    """`mtasts plan --preflight` exits 2 with the same line; without it, plan stays offline and exits 0."""
    path = tmp_path / "Pulumi.p.yaml"
    path.write_text(
        "config:\n  mta-sts:domains:\n    uncovered.example:\n"
        "      template: enforce\n      mx: [mx.uncovered.example]\n"
    )
    result = CliRunner().invoke(main, ["plan", "--config", str(path), "--preflight", "--nameserver", world.nameserver])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: domains.uncovered.example.mx: live MX host backup.elsewhere.example")
    assert CliRunner().invoke(main, ["plan", "--config", str(path)]).exit_code == 0


def test_diff_preflight_warns_when_a_live_mx_loses_its_pattern(world: Loopback, tmp_path: Path) -> None:
    """`mtasts diff --preflight` warns when an MX pattern removed from an enforce policy still covers a live MX."""
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    (tmp_path / "Pulumi.yaml").write_text("name: mta-sts\nruntime: python\n")
    stack = tmp_path / "Pulumi.t.yaml"
    base = "config:\n  mta-sts:domains:\n    good.example:\n      template: enforce\n      mx: [{}]\n"
    stack.write_text(base.format("mx.good.example, mx2.good.example"))
    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-q", "-m", "base")
    stack.write_text(base.format("mx2.good.example"))
    result = CliRunner().invoke(
        main,
        ["diff", "--config", str(stack), "--base", "main", "--json", "--preflight", "--nameserver", world.nameserver],
    )
    assert result.exit_code == 0, result.stderr
    (domain,) = json.loads(result.stdout)["domains"]
    assert (
        "live MX host mx.good.example is only covered by a removed pattern: senders will refuse it"
        in domain["warnings"]
    )


def test_delegation_cnames_are_checked(world: Loopback) -> None:
    """For dns: external domains, each CNAME the owner must publish is reported present or missing."""
    world.zone.add(
        "mta-sts.partner.example. 300 IN CNAME mta-sts.partner.example.hosting.example.net.\n"
        "_mta-sts.partner.example. 300 IN CNAME _mta-sts.partner.example.hosting.example.net.\n"
    )
    plan = plan_stack(
        parse_stack_settings(
            {
                "hostingZone": "hosting.example.net",
                "domains": {"partner.example": {"dns": "external", "template": "none"}},
            }
        )
    )
    net = Network(nameservers=[parse_nameserver(world.nameserver)], ca_file=world.ca_file, timeout=2)
    report = check_domain("partner.example", net, plan.get("partner.example"))
    assert status(report, "delegation:mta-sts.partner.example") == (
        "pass",
        "CNAME to mta-sts.partner.example.hosting.example.net",
    )
    assert status(report, "delegation:_mta-sts.partner.example")[0] == "pass"


def external_plan(domain: str) -> DomainPlan:
    """The plan of one ``dns: external`` domain with TLS-RPT, hosted in hosting.example.net."""
    plan = plan_stack(
        parse_stack_settings(
            {
                "hostingZone": "hosting.example.net",
                "domains": {domain: {"dns": "external", "mx": [f"mx.{domain}"], "rua": [f"mailto:t@{domain}"]}},
            }
        )
    )
    return plan.get(domain)


def test_missing_delegation_cnames_are_pending_and_named(world: Loopback) -> None:
    """Owner CNAMEs not yet published make the domain pending (not failed), each missing record named with its value."""
    expected = external_plan("absent.example")
    first, *rest = expected.delegation
    assert rest, "the plan lists more than one delegation CNAME"
    world.zone.add(f"{first.name}. 300 IN CNAME {first.value}.\n")  # the owner has published one of them
    world.zone.add("absent.example. 300 IN MX 10 mx.absent.example.\n")
    net = Network(nameservers=[parse_nameserver(world.nameserver)], ca_file=world.ca_file, timeout=2)
    report = check_domain("absent.example", net, expected)
    assert status(report, f"delegation:{first.name}") == ("pass", f"CNAME to {first.value}")
    for record in rest:
        assert status(report, f"delegation:{record.name}") == (
            "pending",
            f"not published yet: the owner must publish CNAME {record.value}",
        )
    assert status(report, "live")[0] == "pending"
    assert not {"sts-record", "policy-fetch", "drift", "tlsrpt-record"} & {c.name for c in report.checks}
    assert status(report, "mx-coverage")[0] == "pass"  # checked against the stack's policy meanwhile
    assert report.ok
    assert report.status == "pending"


def test_wrong_delegation_cname_fails(world: Loopback) -> None:
    """An owner CNAME pointing somewhere else is a failure, not pending, and says what to publish instead."""
    expected = external_plan("wrongcname.example")
    for record in expected.delegation:
        world.zone.add(f"{record.name}. 300 IN CNAME elsewhere.example.\n")
    net = Network(nameservers=[parse_nameserver(world.nameserver)], ca_file=world.ca_file, timeout=2)
    report = check_domain("wrongcname.example", net, expected)
    record = expected.delegation[0]
    assert status(report, f"delegation:{record.name}") == (
        "fail",
        f"CNAME to elsewhere.example; the owner must publish CNAME {record.value}",
    )
    assert report.status == "fail"


def test_cli_pending_domain_exits_0_and_says_pending(world: Loopback, tmp_path: Path) -> None:
    """`mtasts check --json` marks a domain waiting for its owner's CNAMEs pending and exits 0."""
    world.zone.add("waiting.example. 300 IN MX 10 mx.waiting.example.\n")
    path = tmp_path / "Pulumi.ext.yaml"
    path.write_text(
        "config:\n  mta-sts:hostingZone: hosting.example.net\n  mta-sts:domains:\n    waiting.example:\n"
        "      dns: external\n      mx: [mx.waiting.example]\n"
    )
    result = cli(world, "--config", str(path), "--json")
    assert result.exit_code == 0, result.output
    (domain,) = json.loads(result.stdout)["domains"]
    assert (domain["ok"], domain["status"]) == (True, "pending")
    assert {c["status"] for c in domain["checks"] if c["name"].startswith("delegation:")} == {"pending"}


def test_one_deadline_covers_the_whole_fetch(world: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """One timeout bounds connect, handshake and reads together: a prompt server fails once the budget is spent.

    A clock that advances 0.3 s per look stands in for a server that trickles bytes.
    """
    import types

    import mtasts.checker.deadline as deadline_module
    import mtasts.checker.net as net_module

    clock = iter(x * 0.3 for x in range(1000))
    monkeypatch.setattr(deadline_module, "time", types.SimpleNamespace(monotonic=lambda: next(clock)))
    net = Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=1.0,
    )
    with pytest.raises(net_module.FetchError, match=r"no answer from mta-sts\.good\.example within the 1 s deadline"):
        net.fetch_policy("good.example")


def test_pulumi_program_stops_on_the_live_gate(world: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Pulumi program's preflight, run for real against live (loopback) DNS, stops with the one-line error."""
    import pulumi

    import mtasts.checker.preflight as gate
    from mtasts.resources import gates

    def loopback_network(**kwargs: float) -> Network:
        return Network(nameservers=[parse_nameserver(world.nameserver)], **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gate, "Network", loopback_network)
    plan = plan_stack(
        parse_stack_settings(
            {"domains": {"uncovered.example": {"template": "enforce", "mx": ["mx.uncovered.example"]}}}
        )
    )
    with pytest.raises(pulumi.RunError) as info:
        gates.preflight(plan)
    assert str(info.value).splitlines() == [
        "preflight failed:",
        "error: domains.uncovered.example.mx: live MX host backup.elsewhere.example is not covered by "
        "mx.uncovered.example: in enforce mode senders would refuse to deliver to it (RFC 8461 §4.1)",
    ]


def test_every_name_goes_through_the_chosen_resolver(world: Loopback, monkeypatch: pytest.MonkeyPatch) -> None:
    """The policy host and the MX host are resolved through --nameserver, never the system resolver (split horizon)."""
    original = socket.getaddrinfo
    asked: list[str] = []

    def no_names(host: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            asked.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "the system resolver must not be asked") from None
        return original(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_names)
    net = Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        # only the ports change: the addresses come from the loopback zone's A records
        connect_to=[
            parse_connect_to(f":443::{world.https_port}"),
            parse_connect_to(f"mx.nsonly.example:25::{world.smtp_ports['mx.nsonly.example']}"),
        ],
        timeout=5,
    )
    report = check_domain("nsonly.example", net, starttls=True)
    assert report.status == "pass", report.to_dict()
    assert status(report, "starttls:mx.nsonly.example")[0] == "pass"
    assert asked == []


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--timeout", "inf"], "error: --timeout: inf is not a number of seconds from 0.1 to 3600"),
        (["--timeout", "1e308"], "error: --timeout: 1e+308 is not a number of seconds from 0.1 to 3600"),
        (["--timeout", "nan"], "error: --timeout: nan is not a number of seconds from 0.1 to 3600"),
        (["--timeout", "0"], "error: --timeout: 0.0 is not a number of seconds from 0.1 to 3600"),
        (["--ca-file", "/dev/zero"], "error: --ca-file: /dev/zero: larger than 8388608 bytes"),
        (["--ca-file", "/nonexistent/ca.pem"], "error: --ca-file: /nonexistent/ca.pem: cannot read it"),
    ],
)
def test_cli_bad_timeout_and_ca_file_are_one_line(args: list[str], line: str) -> None:
    """Infinite, huge, NaN or zero timeouts and unreadable CA files are one error line and exit 2, before any lookup."""
    result = CliRunner().invoke(main, ["check", "x.example", *args])
    assert result.exit_code == 2
    assert result.stderr.startswith(line)
    assert len(result.stderr.splitlines()) == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"not a certificate\n", "no usable PEM CA certificate in it"),
        (b"", "no usable PEM CA certificate in it"),
        (b"\x30\x82\x01\x0a\x02\x82\x01\x01\x00\xff", "not PEM text (binary content)"),
    ],
)
def test_cli_non_pem_ca_file_is_one_line(tmp_path: Path, content: bytes, reason: str) -> None:
    """A CA file that is not PEM (text, empty, or DER bytes) is one error line naming the file, exit 2."""
    path = tmp_path / "ca.der"
    path.write_bytes(content)
    result = CliRunner().invoke(main, ["check", "x.example", "--ca-file", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [result.stderr.splitlines()[0]]
    assert result.stderr.startswith(f"error: --ca-file: {path}: {reason}")


def enforce_plan(domain: str, mx: str) -> StackPlan:
    return plan_stack(parse_stack_settings({"domains": {domain: {"template": "enforce", "mx": [mx]}}}))


@pytest.mark.parametrize(
    ("domain", "mx", "problem"),
    [
        ("nowhere.example", "mx.nowhere.example", "nowhere.example does not exist in DNS (NXDOMAIN)"),
        ("implicit.example", "mx.implicit.example", "implicit.example has no MX records, so senders deliver to"),
    ],
)
def test_preflight_refuses_nxdomain_and_uncovered_implicit_mx(
    world: Loopback, domain: str, mx: str, problem: str
) -> None:
    """An enforce domain that does not exist, or has no MX and whose own name its patterns miss, is an error."""
    problems = preflight(enforce_plan(domain, mx), Network(nameservers=[parse_nameserver(world.nameserver)], timeout=5))
    assert [p.path for p in problems] == [f"domains.{domain}.mx"]
    assert problems[0].message.startswith(problem)


@pytest.mark.parametrize(("domain", "mx"), [("implicit.example", "implicit.example"), ("nullmx.example", "mx.x")])
def test_preflight_accepts_covered_implicit_mx_and_null_mx(world: Loopback, domain: str, mx: str) -> None:
    """The implicit MX covered by a pattern, or a null MX (no mail at all), passes the gate."""
    net = Network(nameservers=[parse_nameserver(world.nameserver)], timeout=5)
    assert preflight(enforce_plan(domain, mx), net) == []


def test_preflight_with_an_unreachable_resolver_is_bounded(world: Loopback) -> None:
    """Ten enforce domains behind a resolver that never answers cost about one timeout, one line each."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        names = [f"d{i}.example" for i in range(10)]
        plan = plan_stack(
            parse_stack_settings({"domains": {n: {"template": "enforce", "mx": [f"mx.{n}"]} for n in names}})
        )
        start = time.monotonic()
        problems = preflight(plan, Network(nameservers=[("127.0.0.1", silent.getsockname()[1])], timeout=1))
        assert time.monotonic() - start < 1 + 6  # ten lookups one after another took 10 timeouts
    assert [p.path for p in problems] == [f"domains.{n}.mx" for n in names]
    assert "no answer from 127.0.0.1:" in problems[0].message


def test_plan_preflight_cli_refuses_an_enforce_domain_without_mx(world: Loopback, tmp_path: Path) -> None:
    """`mtasts plan --preflight` exits 2 naming the domain when its live DNS has no MX covering the implicit MX."""
    path = tmp_path / "Pulumi.p.yaml"
    path.write_text(
        "config:\n  mta-sts:domains:\n    implicit.example:\n      template: enforce\n      mx: [mx.implicit.example]\n"
        "    nowhere.example:\n      template: enforce\n      mx: [mx.nowhere.example]\n"
    )
    result = CliRunner().invoke(main, ["plan", "--config", str(path), "--preflight", "--nameserver", world.nameserver])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert [line.split(":")[1].strip() for line in lines] == [
        "domains.implicit.example.mx",
        "domains.nowhere.example.mx",
    ]
    assert "implicit MX implicit.example" in lines[0]
    assert "NXDOMAIN" in lines[1]


def test_pulumi_program_stops_on_an_enforce_domain_that_does_not_exist(
    world: Loopback, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Pulumi program's gate refuses an enforce domain whose MX lookup is NXDOMAIN instead of passing silently."""
    import pulumi

    import mtasts.checker.preflight as gate
    from mtasts.resources import gates

    def loopback_network(**kwargs: float) -> Network:
        return Network(nameservers=[parse_nameserver(world.nameserver)], **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(gate, "Network", loopback_network)
    with pytest.raises(pulumi.RunError) as info:
        gates.preflight(enforce_plan("nowhere.example", "mx.nowhere.example"))
    lines = str(info.value).splitlines()
    assert lines[0] == "preflight failed:"
    assert lines[1].startswith("error: domains.nowhere.example.mx: nowhere.example does not exist in DNS (NXDOMAIN)")
    assert len(lines) == 2


def test_slow_policy_host_does_not_hold_back_starttls(world: Loopback) -> None:
    """With --starttls, a policy host that never answers uses up the deadline, yet the MX sessions run meanwhile."""
    world.zone.add("hang.example. 300 IN MX 20 mx.good.example.\n")
    net = Network(
        nameservers=[parse_nameserver(world.nameserver)],
        ca_file=world.ca_file,
        connect_to=[parse_connect_to(c) for c in world.connect_to()],
        timeout=2.0,
    )
    report = check_domain("hang.example", net, starttls=True)
    assert status(report, "policy-fetch") == ("fail", "no answer from mta-sts.hang.example within the 2 s deadline")
    assert status(report, "starttls:mx.good.example")[0] == "pass"
