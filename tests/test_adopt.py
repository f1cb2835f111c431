"""`adopt`: plan says what an import needs, and with --preflight which live field differs."""

from __future__ import annotations

from pathlib import Path

import dns.exception
import pytest
from click.testing import CliRunner

from mtasts.cli import main
from mtasts.config import parse_stack_settings
from mtasts.lifecycle.adopt import live_adopt_warnings
from mtasts.plan import StackPlan, plan_stack

ADOPT = {"zone_id": "Z0123456789ABC", "records": ["_mta-sts", "_smtp._tls", "mta-sts"]}


def make_plan(**extra: object) -> StackPlan:
    settings = {"mode": "testing", "mx": ["mx.example.com"], "rua": ["mailto:tls@example.com"], "adopt": ADOPT}
    return plan_stack(parse_stack_settings({"domains": {"example.com": {**settings, **extra}}}))


class FakeNet:
    """Answers TXT lookups from a dict; a value of None raises like an unreachable resolver."""

    def __init__(self, answers: dict[str, list[str] | None]) -> None:
        self.answers = answers

    def txt(self, name: str) -> tuple[list[str], str]:
        values = self.answers.get(name, [])
        if values is None:
            raise dns.exception.Timeout
        return values, name

    def deadline(self) -> None:
        """No deadline: nothing waits."""

    def resolve_many(self, questions: list[tuple[str, str]], deadline: None) -> list[None]:
        """No record of any other type (the preflight's CAA lookups find none)."""
        return [None for _ in questions]


def test_plan_warns_what_each_adopted_record_must_match() -> None:
    """Each adopted TXT record gets a warning with the exact value and TTL the import needs; mta-sts is explained."""
    plan = make_plan()
    d = plan.domains[0]
    lines = [str(w) for w in plan.warnings]
    assert (
        f"domains.example.com.adopt: _mta-sts.example.com is imported only if the live record already equals the "
        f"plan exactly (value '{d.sts_record.value}', TTL 300); on any difference pulumi up fails. "
        "`mtasts plan --preflight` compares the live value"
    ) in lines
    assert any(
        line.startswith("domains.example.com.adopt: _smtp._tls.example.com is imported only if") for line in lines
    )
    assert any("mta-sts.example.com A/AAAA can be imported only if they already alias" in line for line in lines)


def test_no_adopt_no_warning() -> None:
    """A domain without adopt gets none of these warnings."""
    plan = plan_stack(parse_stack_settings({"domains": {"example.com": {"mode": "none"}}}))
    assert not [w for w in plan.warnings if w.path.endswith(".adopt")]


def test_live_values_are_compared_naming_the_field() -> None:
    """A differing live value, a missing record and a failed lookup each give one warning naming the record."""
    plan = make_plan()
    d = plan.domains[0]
    tlsrpt = d.tlsrpt_record
    assert tlsrpt is not None
    net = FakeNet({"_mta-sts.example.com": ["v=STSv1; id=old1"], "_smtp._tls.example.com": [tlsrpt.value]})
    warnings = [str(w) for w in live_adopt_warnings(plan, net)]
    assert warnings == [
        "domains.example.com.adopt: _mta-sts.example.com: the live value 'v=STSv1; id=old1' differs from the planned "
        f"'{d.sts_record.value}' (field: value); the import would fail. Set the live record to the planned value "
        "first, or use allow_overwrite: true"
    ]
    net = FakeNet({"_mta-sts.example.com": [], "_smtp._tls.example.com": None})
    warnings = [str(w) for w in live_adopt_warnings(plan, net)]
    assert warnings == [
        "domains.example.com.adopt: _mta-sts.example.com: no live TXT record to import; pulumi up would fail. "
        "Remove it from adopt",
        "domains.example.com.adopt: _smtp._tls.example.com: cannot read the live record to compare (Timeout)",
    ]


def test_matching_live_values_give_no_warning() -> None:
    """When the live records equal the plan, --preflight adds nothing."""
    plan = make_plan()
    d = plan.domains[0]
    assert d.tlsrpt_record is not None
    net = FakeNet({d.sts_record.name: [d.sts_record.value], d.tlsrpt_record.name: [d.tlsrpt_record.value]})
    assert live_adopt_warnings(plan, net) == []


def test_plan_preflight_prints_the_live_difference(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`mtasts plan --preflight` prints the live difference as a warning line and still exits 0."""
    import mtasts.checker.cli

    path = tmp_path / "Pulumi.t.yaml"
    path.write_text(
        "config:\n  mta-sts:domains:\n    example.com:\n      mode: none\n      rua: [mailto:tls@example.com]\n"
        "      adopt: {zone_id: Z0123456789ABC, records: [_smtp._tls]}\n"
    )
    monkeypatch.setattr(mtasts.checker.cli, "make_network", lambda *args: FakeNet({}))
    result = CliRunner().invoke(main, ["plan", "--config", str(path), "--preflight", "--json"])
    assert result.exit_code == 0, result.stderr
    assert "warning: domains.example.com.adopt: _smtp._tls.example.com: no live TXT record to import" in result.stderr
