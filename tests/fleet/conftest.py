"""Fixtures of the fleet's hermetic world (see fleetworld.py)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fleetworld import AS_OF, DAYS, DOMAINS, SESSIONS, STACK, generate, redate
from loopback import Loopback, Route, running

from mtasts.policy import Policy


@pytest.fixture(scope="session")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One real report per domain from the generator."""
    return generate(tmp_path_factory.mktemp("generator"), SESSIONS)


@pytest.fixture(scope="session")
def report_dir(tmp_path_factory: pytest.TempPathFactory, generated: dict[str, dict[str, Any]]) -> Path:
    """DAYS days of each domain's generated report, ending the day before AS_OF, one JSON file each."""
    folder = tmp_path_factory.mktemp("reports")
    for domain, document in generated.items():
        for back in range(1, DAYS + 1):
            day = AS_OF - dt.timedelta(days=back)
            (folder / f"{domain}-{day}.json").write_text(json.dumps(redate(document, day)))
    return folder


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loopback]:
    """Every domain published as the stack says, with an SMTP server and valid certificate per live MX."""
    smtp: dict[str, str | None] = {host: host for *_, live in DOMAINS.values() for host in live}
    with running(str(tmp_path_factory.mktemp("ca")), smtp) as w:
        for domain, (mode, max_age, mx, live) in DOMAINS.items():
            policy = Policy(mode=mode, max_age=max_age, mx=mx)  # type: ignore[arg-type]
            lines = [
                f'_mta-sts.{domain}. 300 IN TXT "v=STSv1; id={policy.id}"',
                f"mta-sts.{domain}. 300 IN A 127.0.0.1",
                f'_smtp._tls.{domain}. 300 IN TXT "v=TLSRPTv1; rua=mailto:tls@{domain}"',
                *(f"{domain}. 300 IN MX {10 * (i + 1)} {host}." for i, host in enumerate(live)),
            ]
            w.zone.add("\n".join(lines) + "\n")
            w.routes[f"mta-sts.{domain}"] = Route(body=policy.to_bytes())
        yield w


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """A fresh copy of the fleet stack file."""
    path = tmp_path / "Pulumi.fleet.yaml"
    path.write_text(STACK)
    return path
