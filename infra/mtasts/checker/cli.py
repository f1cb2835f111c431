"""``mtasts check``: verify live deployments as a sending MTA does."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..alerts.settings import DEFAULTS as ALERT_DEFAULTS
from ..alerts.settings import AlertSettings, alerts_from_settings, check_thresholds
from ..cli import EXIT_FAILED, stack_path
from ..config import TemplateStore
from ..errors import ConfigError, Problem
from ..inert import json_text
from ..names import HostnameError, normalize_hostname
from ..plan import DomainPlan, plan_stack_file
from .checks import DomainReport, check_domains
from .options import make_network as make_network  # re-exported: fleet and lifecycle commands import it here
from .options import network_options as network_options

F = TypeVar("F", bound=Callable[..., Any])
#: ``mtasts check``: no check failed, but some could not be read (a lookup failed): unknown, not drift.
EXIT_UNKNOWN = 3


def certificate_options(func: F) -> F:
    """``--cert-warn-days`` and ``--cert-action-days``: override the stack's ``mta-sts:alerts`` thresholds."""
    func = click.option(
        "--cert-action-days",
        type=click.IntRange(0, 398),
        help="Days left on a certificate at which it needs action (default: mta-sts:alerts, else 7).",
    )(func)
    return click.option(
        "--cert-warn-days",
        type=click.IntRange(0, 398),
        help="Days left on a certificate at which it warns (default: mta-sts:alerts, else 30).",
    )(func)


def certificate_thresholds(base: AlertSettings, warn: int | None, action: int | None) -> AlertSettings:
    """``base`` with the options' values; a warning that could never come first is a :class:`ConfigError`."""
    warn_days = base.certificate_warn_days if warn is None else warn
    action_days = base.certificate_action_days if action is None else action
    check_thresholds(warn_days, action_days, "--cert-warn-days/--cert-action-days")
    return AlertSettings(certificate_warn_days=warn_days, certificate_action_days=action_days)


def print_reports(reports: list[DomainReport]) -> None:
    """A readable table: one row per check (plain lines when stdout is not a terminal)."""
    from ..output import SECTION, Column, is_terminal, print_table

    colour = {"pass": "green", "warn": "yellow", "fail": "red", "pending": "cyan", "unknown": "magenta"}
    rows: list[Sequence[str | Sequence[str]]] = []
    every_row = not is_terminal()  # plain lines name their domain, so `grep example.com` finds all of them
    for report in reports:
        for index, check in enumerate(report.checks):
            status = f"[{colour[check.status]}]{check.status}[/]"
            rows.append([report.domain if index == 0 or every_row else "", check.name, status, check.detail])
        rows.append(SECTION)
    columns = [Column("Domain", copy=True), Column("Check"), Column("Status", markup=True), Column("Detail")]
    print_table("MTA-STS check", columns, rows)


@click.command()
@click.argument("domains", nargs=-1)
@click.option("--stack", "-s", help="Compare with Pulumi.<NAME>.yaml; without DOMAIN, check all of its domains.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), help="Stack file path.")
@click.option(
    "--templates",
    "templates_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of policy templates (default: policy_templates/ beside the stack file, else the kit's own).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--starttls", is_flag=True, help="Also connect to each MX host on port 25 and verify STARTTLS.")
@certificate_options
@network_options
def check(
    domains: tuple[str, ...],
    stack: str | None,
    config_path: Path | None,
    templates_dir: Path | None,
    as_json: bool,
    starttls: bool,
    nameservers: tuple[str, ...],
    ca_file: str | None,
    connect_to: tuple[str, ...],
    timeout: float,
    cert_warn_days: int | None,
    cert_action_days: int | None,
) -> None:
    """Verify DOMAIN... as a sending MTA sees it: DNS, the policy over HTTPS, MX coverage, TLS-RPT.

    With --stack, also compare with what the stack config publishes (drift); a `dns: external` domain whose
    owner has not published its CNAMEs yet is `pending`. --timeout bounds each domain's whole check. Days left on
    the policy host's certificate (and each MX's, with --starttls) warn at 30 and fail at 7 (the stack's
    mta-sts:alerts, or the options). A lookup the resolver did not answer is `unknown`, never drift.
    Exit status 0 when no check fails (pending domains included), 1 when one does, 2 on usage errors, 3 when
    none fails but some could not be read (unknown).
    """
    net = make_network(nameservers, ca_file, connect_to, timeout)
    expected: dict[str, DomainPlan] = {}
    alerts = ALERT_DEFAULTS
    if stack is not None or config_path is not None:
        plan = plan_stack_file(stack_path(stack, config_path), TemplateStore(templates_dir) if templates_dir else None)
        expected = {d.domain: d for d in plan.domains}
        alerts = alerts_from_settings(plan.config.settings)
    alerts = certificate_thresholds(alerts, cert_warn_days, cert_action_days)
    names: list[str] = []
    for domain in domains:
        try:
            names.append(normalize_hostname(domain))
        except HostnameError as exc:
            raise ConfigError(Problem(domain, str(exc))) from None
    if not names:
        if not expected:
            raise click.UsageError("name at least one DOMAIN, or a --stack to check all of its domains")
        names = list(expected)
    unknown = [n for n in names if expected and n not in expected]
    if unknown:
        raise ConfigError([Problem(f"domains.{n}", "is not in the stack config") for n in unknown])
    reports = check_domains(names, net, expected, starttls, alerts=alerts)
    if as_json:
        click.echo(json_text({"domains": [r.to_dict() for r in reports]}))
    else:
        print_reports(reports)
    if not all(r.ok for r in reports):
        sys.exit(EXIT_FAILED)
    if any(r.status == "unknown" for r in reports):
        sys.exit(EXIT_UNKNOWN)
