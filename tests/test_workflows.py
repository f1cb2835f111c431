"""The GitHub workflows are valid, least-privileged and do what docs/gitops.md says."""

import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))


def load(name: str) -> dict[Any, Any]:
    data = yaml.safe_load((WORKFLOWS / name).read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data  # type: ignore[no-any-return]


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    return job["steps"]  # type: ignore[no-any-return]


def test_workflows_exist() -> None:
    """Pull request, deploy, drift, promote and alerts workflows are shipped."""
    assert {f.name for f in FILES} == {"pull-request.yml", "deploy.yml", "drift.yml", "promote.yml", "alerts.yml"}


def test_workflows_match_the_github_schema() -> None:
    """Every workflow validates against GitHub's workflow schema (check-jsonschema's vendored copy, offline)."""
    exe = Path(sys.executable).parent / "check-jsonschema"
    result = subprocess.run(
        [str(exe), "--builtin-schema", "vendor.github-workflows", *map(str, FILES)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_permissions_are_minimal(path: Path) -> None:
    """Top-level permissions are read-only; write scopes appear only on the jobs that need them."""
    data = load(path.name)
    assert data["permissions"] == {"contents": "read"}
    allowed = {"id-token": "write", "pull-requests": "write", "contents": "read"}
    for name, job in data["jobs"].items():
        for scope, level in job.get("permissions", {}).items():
            assert allowed.get(scope) == level, (name, scope, level)
        assert "timeout-minutes" in job, name


@pytest.mark.parametrize("path", FILES, ids=[f.name for f in FILES])
def test_no_long_lived_aws_keys(path: Path) -> None:
    """AWS access goes through OIDC role assumption only: no access keys anywhere."""
    text = path.read_text()
    assert "aws-access-key-id" not in text
    assert "AWS_SECRET_ACCESS_KEY" not in text
    for job in load(path.name)["jobs"].values():
        for step in steps(job):
            if str(step.get("uses", "")).startswith("aws-actions/configure-aws-credentials"):
                assert "role-to-assume" in step["with"]
                assert job["permissions"]["id-token"] == "write"


def test_pull_request_runs_tests_diff_and_preview() -> None:
    """Pull requests run .ci/run, post the markdown diff and run pulumi preview."""
    data = load("pull-request.yml")
    assert "pull_request" in data["on"]
    assert any(s.get("run") == "bash .ci/run" for s in steps(data["jobs"]["test"]))
    diff_runs = " ".join(s.get("run", "") for s in steps(data["jobs"]["diff"]))
    assert "mtasts diff" in diff_runs
    assert "--markdown" in diff_runs
    assert "gh pr comment" in diff_runs
    preview = [s for s in steps(data["jobs"]["preview"]) if str(s.get("uses", "")).startswith("pulumi/actions")]
    assert preview[0]["with"]["command"] == "preview"


def test_deploy_runs_up_then_check_one_stack_at_a_time() -> None:
    """A push to main runs pulumi up, then mtasts check, never two deployments at once."""
    data = load("deploy.yml")
    assert data["on"]["push"]["branches"] == ["main"]
    assert data["concurrency"]["cancel-in-progress"] is False
    job = data["jobs"]["deploy"]
    assert job["strategy"]["max-parallel"] == 1
    uses = [str(s.get("uses", "")) for s in steps(job)]
    up = uses.index(next(u for u in uses if u.startswith("pulumi/actions")))
    assert steps(job)[up]["with"]["command"] == "up"
    check = next(i for i, s in enumerate(steps(job)) if "mtasts check" in s.get("run", ""))
    assert check > up


def test_drift_runs_daily_without_cloud_credentials() -> None:
    """The drift check is scheduled daily and needs no AWS access."""
    data = load("drift.yml")
    assert data["on"]["schedule"][0]["cron"].endswith("* * *")
    job = data["jobs"]["check"]
    assert "permissions" not in job
    assert any("mtasts check --stack" in s.get("run", "") for s in steps(job))


@pytest.mark.parametrize(("status", "expected"), [(0, 0), (1, 1), (3, 0)])
def test_drift_job_warns_on_unknown_and_fails_on_drift(tmp_path: Path, status: int, expected: int) -> None:
    """The drift step's script: check's exit 3 (could not be read) is a warning and passes; exit 1 (drift) fails."""
    (step,) = [s for s in steps(load("drift.yml")["jobs"]["check"]) if "mtasts check --stack" in s.get("run", "")]
    fake = tmp_path / ".venv" / "bin" / "mtasts"
    fake.parent.mkdir(parents=True)
    fake.write_text(f"#!/bin/sh\necho 'check output'\nexit {status}\n")
    fake.chmod(0o755)
    result = subprocess.run(
        ["bash", "-e", "-c", step["run"]], cwd=tmp_path, env={"STACK": "prod", "PATH": "/usr/bin:/bin"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == expected, result.stdout + result.stderr
    assert ("::warning::prod: some checks could not be read" in result.stdout) == (status == 3)
    assert "check output" in result.stdout


def test_alerts_runs_hourly_with_state_in_the_cache_and_secrets_in_env() -> None:
    """alerts.yml runs status --notify hourly, restores and always saves its state, and keeps URLs out of argv."""
    data = load("alerts.yml")
    assert data["on"]["schedule"][0]["cron"].split()[1:] == ["*", "*", "*", "*"]
    job = data["jobs"]["notify"]
    names = [str(s.get("uses", "")) for s in steps(job)]
    restore = names.index("actions/cache/restore@v4")
    save = names.index("actions/cache/save@v4")
    run = next(i for i, s in enumerate(steps(job)) if "mtasts status" in s.get("run", ""))
    assert restore < run < save
    assert steps(job)[save]["if"] == "always()"
    assert steps(job)[restore]["with"]["path"] == steps(job)[save]["with"]["path"] == ".mtasts/alerts"
    step = steps(job)[run]
    assert "--notify-state" in step["run"]
    assert "--notify " not in step["run"]  # the targets come from MTASTS_NOTIFY, a secret, not the command line
    assert step["env"]["MTASTS_NOTIFY"] == "${{ secrets.MTASTS_NOTIFY }}"
    assert step["env"]["MTASTS_WEBHOOK_SECRET"] == "${{ secrets.MTASTS_WEBHOOK_SECRET }}"
    assert "-ge 2" in step["run"]  # exit 3 (a post not delivered) fails the run; 1 (action-needed) does not


@pytest.mark.parametrize(
    ("name", "subject"),
    [("deploy", "repo:OWNER/REPO:environment:production"), ("preview", "repo:OWNER/REPO:pull_request")],
)
def test_oidc_trust_policies_pin_audience_and_subject(name: str, subject: str) -> None:
    """The roles trust only GitHub's OIDC tokens for this repository, for the deploy environment or pull requests."""
    import json

    policy = json.loads((ROOT / "iam" / f"github-oidc-trust-{name}.json").read_text())
    (statement,) = policy["Statement"]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"]["Federated"].endswith(":oidc-provider/token.actions.githubusercontent.com")
    equals = statement["Condition"]["StringEquals"]
    assert equals["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"
    assert equals["token.actions.githubusercontent.com:sub"] == subject
    assert "StringLike" not in statement["Condition"]
    workflow, job, role = {
        "deploy": ("deploy.yml", "deploy", "AWS_DEPLOY_ROLE_ARN"),
        "preview": ("pull-request.yml", "preview", "AWS_PREVIEW_ROLE_ARN"),
    }[name]
    text = yaml.safe_dump(load(workflow)["jobs"][job])
    assert f"vars.{role}" in text


def test_deploy_job_runs_in_the_environment_the_trust_policy_names() -> None:
    """The deploy role trusts subject environment:production, so the deploy job must run in that environment."""
    assert load("deploy.yml")["jobs"]["deploy"]["environment"] == "production"


@pytest.mark.parametrize(
    ("workflow", "job", "command"), [("pull-request.yml", "preview", "preview"), ("deploy.yml", "deploy", "up")]
)
def test_preview_and_deploy_run_the_policy_pack(workflow: str, job: str, command: str) -> None:
    """PR preview and deploy run `pulumi <command>` with the CrossGuard pack, in the venv it names, and refresh."""
    job_steps = steps(load(workflow)["jobs"][job])
    pulumi_step = next(i for i, s in enumerate(job_steps) if str(s.get("uses", "")).startswith("pulumi/actions"))
    options = job_steps[pulumi_step]["with"]
    assert options["command"] == command
    assert options["policyPacks"] == "policy_pack"
    # Refresh is on unless the repository turns it off for a large fleet (docs/gitops.md, "Refresh").
    assert options["refresh"] == "${{ vars.MTASTS_REFRESH != 'false' }}"
    pack = ROOT / options["policyPacks"]
    runtime = yaml.safe_load((pack / "PulumiPolicy.yaml").read_text())["runtime"]
    assert runtime["name"] == "python"
    # The pack runs in the virtualenv an earlier step creates, with the kit's own (non-dev) dependencies.
    venv = (pack / runtime["options"]["virtualenv"]).resolve()
    install = next(i for i, s in enumerate(job_steps) if "pip install" in s.get("run", ""))
    assert install < pulumi_step
    assert f"python3 -m venv {venv.relative_to(ROOT)} " in job_steps[install]["run"]
    assert "-e ." in job_steps[install]["run"]
    assert "[dev]" not in job_steps[install]["run"]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert any(dep.startswith("pulumi-policy") for dep in project["dependencies"])


def test_docs_give_the_policy_pack_commands() -> None:
    """docs/deploy.md and docs/gitops.md show the same pack flags the workflows pass."""
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    assert "pulumi preview --policy-pack policy_pack" in deploy
    assert "pulumi up --policy-pack policy_pack" in deploy
    gitops = (ROOT / "docs" / "gitops.md").read_text()
    assert "pulumi preview --refresh --policy-pack policy_pack" in gitops
    assert "pulumi up --refresh --policy-pack policy_pack" in gitops
    assert "iam/preview-policy.json" in gitops
