"""The promote workflow: scheduled, least-privileged, one pull request with the evidence, never a merge."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "promote.yml"


def load() -> dict[Any, Any]:
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data  # type: ignore[no-any-return]


def test_promote_workflow_matches_the_github_schema() -> None:
    """promote.yml validates against GitHub's workflow schema (check-jsonschema's vendored copy, offline)."""
    exe = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_scheduled_status_then_promote_into_one_pull_request() -> None:
    """On a schedule it runs status and promote per stack and opens or updates one fixed-branch pull request."""
    data = load()
    assert "schedule" in data["on"]
    assert data["concurrency"]["cancel-in-progress"] is False
    steps = data["jobs"]["promote"]["steps"]
    script = next(s["run"] for s in steps if s.get("id") == "promote")
    assert script.index("mtasts status") < script.index("mtasts promote")
    assert '--markdown "evidence/promote-$stack.md"' in script
    (pr,) = [s for s in steps if str(s.get("uses", "")).startswith("peter-evans/create-pull-request")]
    assert pr["with"]["branch"] == "mtasts/promote"
    assert pr["with"]["body-path"] == "body.md"
    assert pr["with"]["add-paths"].split() == ["Pulumi.*.yaml", ".mtasts/evidence/*.json"]
    assert '> ".mtasts/evidence/$stack.json"' in script


def test_it_never_merges_and_holds_no_write_scope() -> None:
    """No merge or auto-merge anywhere; the job can only read the repository and assume the read-only role."""
    text = WORKFLOW.read_text()
    for forbidden in ("gh pr merge", "auto-merge", "automerge", "merge-method"):
        assert forbidden not in text
    job = load()["jobs"]["promote"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}


def test_promote_role_trusts_only_main_and_reads_only_reports() -> None:
    """The reports role trusts GitHub OIDC for this repository's main branch and may only list and read reports."""
    trust = json.loads((ROOT / "iam" / "github-oidc-trust-promote.json").read_text())
    (statement,) = trust["Statement"]
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert equals["token.actions.githubusercontent.com:sub"] == "repo:OWNER/REPO:ref:refs/heads/main"
    policy = json.loads((ROOT / "iam" / "promote-policy-reports.json").read_text())
    assert sorted(s["Action"] for s in policy["Statement"]) == ["s3:GetObject", "s3:ListBucket"]
    assert "vars.AWS_PROMOTE_ROLE_ARN" in WORKFLOW.read_text()


def test_pull_request_diff_shows_the_committed_evidence() -> None:
    """The pull-request workflow passes the evidence the promote workflow committed to `mtasts diff --markdown`."""
    data = yaml.safe_load((ROOT / ".github" / "workflows" / "pull-request.yml").read_text())
    script = " ".join(s.get("run", "") for s in data["jobs"]["diff"]["steps"])
    assert '--evidence ".mtasts/evidence/$STACK.json"' in script
    assert '--markdown "${evidence[@]}"' in script
