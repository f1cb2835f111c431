"""`mtasts diff` on a temporary git repository with real commits."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mtasts.cli import main

ROOT = Path(__file__).resolve().parents[1]

BASE = """config:
  mta-sts:domains:
    a.example:
      template: enforce
      mx: [mx1.a.example, mx2.a.example]
      rua: [mailto:tls@a.example]
    b.example:
      mx: [mx.b.example]
      rua: [mailto:tls@b.example]
    c.example:
      template: google-workspace
      rua: [mailto:tls@c.example]
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def commit(repo: Path, body: str, message: str) -> None:
    (repo / "Pulumi.t.yaml").write_text(body)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project repository with Pulumi.yaml, the kit's templates and one committed stack."""
    (tmp_path / "Pulumi.yaml").write_text("name: mta-sts\nruntime: python\n")
    shutil.copytree(ROOT / "policy_templates", tmp_path / "policy_templates")
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.invalid")
    git(tmp_path, "config", "user.name", "t")
    commit(tmp_path, BASE, "base")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(*args: str) -> Result:
    return CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "main", *args], catch_exceptions=False)


def diff_json(*args: str) -> dict[str, dict[str, object]]:
    result = run("--json", *args)
    assert result.exit_code == 0, result.stderr
    return {d["domain"]: d for d in json.loads(result.stdout)["domains"]}


def test_no_change_is_reported_as_such(repo: Path) -> None:
    """An untouched stack changes nothing for senders."""
    result = run()
    assert result.exit_code == 0
    assert "No change for senders" in result.stdout
    assert all(d["status"] == "unchanged" for d in diff_json().values())


def test_enforce_switched_on_is_a_warning_with_new_id(repo: Path) -> None:
    """Moving a domain to enforce shows the mode change, old and new id, and warns."""
    (repo / "Pulumi.t.yaml").write_text(BASE.replace("    b.example:\n", "    b.example:\n      mode: enforce\n"))
    d = diff_json()["b.example"]
    assert d["status"] == "changed"
    assert d["changes"]["mode"] == {"old": "testing", "new": "enforce"}
    assert d["changes"]["max_age"] == {"old": 86400, "new": 604800}
    assert d["old_policy_id"] != d["new_policy_id"]
    assert any("enforce is switched on" in w for w in d["warnings"])  # type: ignore[attr-defined]
    assert diff_json()["a.example"]["status"] == "unchanged"


def test_mx_changes_while_enforcing_warn_both_ways(repo: Path) -> None:
    """Added patterns are rejected by cached policies; removed ones can strand mail: both warned."""
    (repo / "Pulumi.t.yaml").write_text(BASE.replace("mx1.a.example, mx2.a.example", "mx2.a.example, mx3.a.example"))
    d = diff_json()["a.example"]
    assert d["mx_added"] == ["mx3.a.example"]
    assert d["mx_removed"] == ["mx1.a.example"]
    warnings = " ".join(d["warnings"])  # type: ignore[arg-type]
    assert "MX patterns added (mx3.a.example)" in warnings
    assert "MX patterns removed (mx1.a.example)" in warnings


def test_lower_max_age_while_enforcing_warns(repo: Path) -> None:
    """Lowering max_age in enforce mode warns that old caches keep the old lifetime."""
    (repo / "Pulumi.t.yaml").write_text(
        BASE.replace("template: enforce\n", "template: enforce\n      max_age: 86400\n")
    )
    d = diff_json()["a.example"]
    assert d["changes"]["max_age"] == {"old": 604800, "new": 86400}
    assert any("max_age lowered from 604800 to 86400" in w for w in d["warnings"])  # type: ignore[attr-defined]


def test_removed_domain_and_rua(repo: Path) -> None:
    """Removing a live domain warns to retire it first; dropping rua warns that reports stop."""
    body = BASE.replace("    c.example:\n      template: google-workspace\n      rua: [mailto:tls@c.example]\n", "")
    body = body.replace("      rua: [mailto:tls@b.example]\n", "")
    (repo / "Pulumi.t.yaml").write_text(body)
    diffs = diff_json()
    assert diffs["c.example"]["status"] == "removed"
    assert any("Retire it first" in w for w in diffs["c.example"]["warnings"])  # type: ignore[attr-defined]
    assert diffs["b.example"]["rua_removed"] == ["mailto:tls@b.example"]
    assert any("TLS-RPT is switched off" in w for w in diffs["b.example"]["warnings"])  # type: ignore[attr-defined]


def test_added_domain(repo: Path) -> None:
    """A new domain is listed as added with its settings."""
    (repo / "Pulumi.t.yaml").write_text(BASE + "    d.example:\n      template: none\n")
    d = diff_json()["d.example"]
    assert d["status"] == "added"
    assert d["old_policy_id"] is None


def test_template_change_uses_the_base_commits_templates(repo: Path) -> None:
    """Editing a template changes the domains that use it, because the base side plans with the old template."""
    path = repo / "policy_templates" / "google-workspace.yaml"
    path.write_text(path.read_text().replace("  - aspmx5.googlemail.com\n", ""))
    d = diff_json()["c.example"]
    assert d["mx_removed"] == ["aspmx5.googlemail.com"]
    assert diff_json()["b.example"]["status"] == "unchanged"


def test_new_stack_has_everything_added(repo: Path) -> None:
    """A stack file that did not exist at the base shows every domain as added."""
    shutil.copy(repo / "Pulumi.t.yaml", repo / "Pulumi.n.yaml")
    result = CliRunner().invoke(main, ["diff", "--stack", "n", "--base", "main", "--json"])
    assert result.exit_code == 0, result.stderr
    assert {d["status"] for d in json.loads(result.stdout)["domains"]} == {"added"}


def test_markdown_is_a_pr_comment(repo: Path) -> None:
    """--markdown prints a heading, a table row per changed domain and the warnings."""
    (repo / "Pulumi.t.yaml").write_text(BASE.replace("    b.example:\n", "    b.example:\n      mode: enforce\n"))
    result = run("--markdown")
    assert result.exit_code == 0
    assert result.stdout.startswith("### MTA-STS changes for stack `t` (against `main`)")
    assert "| `b.example` | changed |" in result.stdout
    assert "mode: testing → enforce" in result.stdout
    assert "**Warnings**" in result.stdout
    assert "1 domain(s) change, 2 unchanged." in result.stdout


def test_bad_base_ref_is_exit_2(repo: Path) -> None:
    """An unknown ref is one error line and exit 2."""
    result = CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "no-such-branch"])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: --base: 'no-such-branch' is not a commit of {repo.resolve()}"


def test_invalid_config_at_base_names_the_ref(repo: Path) -> None:
    """An invalid stack at the base ref is reported with the ref in the location."""
    commit(repo, BASE.replace("mx: [mx.b.example]", "mx: mx.b.example"), "broken")
    commit(repo, BASE, "fixed")
    result = CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "HEAD~1"])
    assert result.exit_code == 2
    assert "error: HEAD~1:domains.b.example.mx: expected a list of MX patterns" in result.stderr


SHORT_ENFORCE = BASE.replace("      template: enforce\n", "      template: enforce\n      max_age: 3600\n")


def test_plan_warnings_appear_once_in_every_format(repo: Path) -> None:
    """An enforce max_age of 3600 (a plan warning) is in the JSON, the markdown and the table run, once each."""
    (repo / "Pulumi.t.yaml").write_text(SHORT_ENFORCE)
    advice = "max_age: 3600 s is short for enforce mode"
    doc = diff_json()
    assert [w for w in doc["a.example"]["warnings"] if str(w).startswith(advice)]
    as_json = run("--json")
    assert advice not in as_json.stderr
    markdown = run("--markdown")
    assert markdown.stdout.count(advice) == 1
    assert advice not in markdown.stderr
    table = run()
    assert table.stderr.count(advice) == 1
    assert advice not in table.stdout
    assert table.stderr.startswith("warning: a.example: max_age: 3600 s is short")


def test_unchanged_domains_still_show_their_plan_warnings(repo: Path) -> None:
    """A warning the plan gives for a domain the pull request does not touch is not dropped either."""
    commit(repo, SHORT_ENFORCE, "short max_age")
    result = run()
    assert "No change for senders" in result.stdout
    assert "warning: a.example: max_age: 3600 s is short for enforce mode" in result.stderr


def test_a_stack_file_symlinked_outside_the_repository_at_base_is_one_line(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A base-ref stack file that is a symbolic link (here to /etc/passwd) is refused with one line, exit 2."""
    (repo / "Pulumi.t.yaml").unlink()
    (repo / "Pulumi.t.yaml").symlink_to("/etc/passwd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile")
    (repo / "Pulumi.t.yaml").unlink()
    (repo / "Pulumi.t.yaml").write_text(BASE)
    result = CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "HEAD"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: HEAD:Pulumi.t.yaml: is a symbolic link at that commit; diff reads only regular files\n"
    )


def test_a_symlinked_template_at_base_is_one_line(repo: Path) -> None:
    """A template that is a symbolic link at the base ref is refused too, naming it."""
    (repo / "policy_templates" / "evil.yaml").symlink_to("/etc/passwd")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "hostile template")
    result = CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "HEAD"])
    assert result.exit_code == 2
    assert result.stderr == (
        "error: HEAD:policy_templates/evil.yaml: is a symbolic link at that commit; diff reads only regular files\n"
    )


def test_a_working_stack_file_leading_outside_the_repository_is_one_line(
    repo: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A working-tree stack file that is a link out of the repository is refused, not a ValueError."""
    outside = tmp_path_factory.mktemp("outside") / "Pulumi.t.yaml"
    outside.write_text(BASE)
    (repo / "Pulumi.t.yaml").unlink()
    (repo / "Pulumi.t.yaml").symlink_to(outside)
    result = run()
    assert result.exit_code == 2
    assert len(result.stderr.splitlines()) == 1
    assert "leads outside the repository" in result.stderr


def test_an_alias_bomb_at_base_is_refused_quickly(repo: Path) -> None:
    """A billion-laughs stack file committed at the base ref is one short error line naming the ref."""
    bomb = 'config:\n  x: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n'
    for level in range(1, 10):
        bomb += f"  x{level}: &{'a' * (level + 1)} [" + ", ".join([f"*{'a' * level}"] * 10) + "]\n"
    commit(repo, bomb + "  mta-sts:domains: *aaaaaaaaaa\n", "bomb")
    commit(repo, BASE, "fixed")
    result = CliRunner().invoke(main, ["diff", "--stack", "t", "--base", "HEAD~1"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: HEAD~1:")
    assert "expands to more than 1,000,000 values" in result.stderr
    assert len(result.stderr) < 300


def test_live_mx_lookups_of_a_diff_run_concurrently() -> None:
    """`diff --preflight` looks up enforce domains with removed patterns at once: a dead resolver costs one timeout."""
    import threading

    from mtasts.config import TemplateStore, parse_stack_settings
    from mtasts.lifecycle.diff import diff_plans, with_live_mx
    from mtasts.plan import plan_stack

    def stack(mx: list[str]) -> dict[str, object]:
        return {
            "domains": {
                f"d{i}.example": {"template": "enforce", "mx": mx, "rua": ["mailto:t@d.example"]} for i in range(3)
            }
        }

    old = plan_stack(parse_stack_settings(stack(["mx1.x.example", "mx2.x.example"]), TemplateStore()))
    new = plan_stack(parse_stack_settings(stack(["mx1.x.example"]), TemplateStore()))
    barrier = threading.Barrier(3, timeout=10)  # passes only when all three lookups wait at the same time

    class Net:
        def mx(self, domain: str) -> list[str]:
            barrier.wait()
            return ["mx2.x.example"]

    warned = with_live_mx(diff_plans(old, new), Net())
    for d in warned.domains:
        assert (
            d.warnings[-1] == "live MX host mx2.x.example is only covered by a removed pattern: senders will refuse it"
        )
