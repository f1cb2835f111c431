"""Verdict-change notifications: exact Slack/Teams/JSON payloads, the signature, retries, failures, the state."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from fleetworld import AS_OF, STACK, network_args
from loopback import Loopback
from webhook import Hook, webhook

from mtasts.alerts.changes import Change, compare
from mtasts.alerts.webhooks import Sender, Target, parse_target, payload, signature
from mtasts.cli import main

SECRET = b"s3cret-for-tests"


class FakeTime:
    """A clock that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def sender(fake: FakeTime, **kwargs: Any) -> Sender:
    return Sender(SECRET, clock=fake.clock, wall=lambda: 1_790_000_000.0, sleep=fake.sleep, **kwargs)


CHANGES = [
    Change("b.example", "ok", "action-needed", ["MX mx.b.example fails STARTTLS: <expired> & gone"], []),
    Change("a.example", None, "unknown", outage="127.0.0.1:53 failed to answer (SERVFAIL or refused)"),
]


def test_slack_payload_is_exact() -> None:
    """Slack gets text plus one mrkdwn section, action-needed first, outages last, &<> escaped."""
    assert json.loads(payload("slack", "prod", "2026-11-20", CHANGES)) == {
        "text": "MTA-STS stack prod: 1 verdict change(s), 1 domain(s) not checked (resolver outage)",
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "text": "*MTA-STS stack prod: 1 verdict change(s), 1 domain(s) not checked (resolver outage)*\n"
                    "• b.example: ok → action-needed — MX mx.b.example fails STARTTLS: &lt;expired&gt; &amp; gone\n"
                    "• a.example: not checked, the resolver failed: 127.0.0.1:53 failed to answer (SERVFAIL or "
                    "refused); this is not drift",
                },
            }
        ],
    }


def test_teams_payload_is_exact() -> None:
    """Teams gets one Adaptive Card 1.4 in a message, one TextBlock per line."""
    document = json.loads(payload("teams", "prod", "2026-11-20", CHANGES[:1], test=True))
    assert document == {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": "[test] MTA-STS stack prod: 1 verdict change(s)",
                            "weight": "Bolder",
                            "wrap": True,
                        },
                        {
                            "type": "TextBlock",
                            "text": "- b.example: ok → action-needed — "
                            "MX mx.b.example fails STARTTLS: \u2039expired\u203a & gone",
                            "wrap": True,
                        },
                    ],
                },
            }
        ],
    }


def test_teams_text_cannot_carry_a_link_from_a_server() -> None:
    """A reason holding markdown link syntax (a redirect Location, say) is not a link in the Teams card."""
    hostile = [Change("x.example", "ok", "action-needed", ["redirect to [click here](https://evil.example/)"])]
    card = json.loads(payload("teams", "prod", "", hostile))["attachments"][0]["content"]
    text = card["body"][1]["text"]
    assert "](" not in text
    assert "[click here]\u200b(https:\u2060//evil.example/)" in text  # nor a bare URL (issue 21)


def test_large_change_sets_stay_within_message_limits() -> None:
    """Fifty changes with long reasons still make a Teams message under its 28 KB and a Slack one under 50 blocks."""
    many = [Change(f"d{i:03d}.example", "ok", "action-needed", ["r" * 300] * 3) for i in range(400)]
    teams = payload("teams", "prod", "", many)
    assert len(teams) < 28 * 1024
    assert json.loads(teams)["attachments"][0]["content"]["body"][-1]["text"].startswith("- … and ")
    slack = json.loads(payload("slack", "prod", "", many))
    assert len(slack["blocks"]) <= 50
    assert all(len(b["text"]["text"]) <= 3000 for b in slack["blocks"])
    document = json.loads(payload("json", "prod", "", many))
    assert (len(document["changes"]), document["truncated"]) == (400, 0)


def test_a_whole_resolver_outage_is_one_line() -> None:
    """Ten thousand domains unchecked for the same resolver failure make one line naming five of them."""
    outages = [Change(f"d{i:05d}.example", "ok", "unknown", outage="10.0.0.2:53 timed out") for i in range(10_000)]
    text = json.loads(payload("slack", "prod", "", outages))["blocks"][0]["text"]["text"]
    assert text.splitlines()[1] == (
        "• 10000 domains not checked (d00000.example, d00001.example, d00002.example, d00003.example, "
        "d00004.example, …), the resolver failed: 10.0.0.2:53 timed out; last verdicts kept; this is not drift"
    )
    assert len(text.splitlines()) == 2


def test_json_payload_and_signature_verify() -> None:
    """The generic webhook's body lists every change; its signature is HMAC-SHA256 of timestamp.body."""
    fake = FakeTime()
    with webhook() as hook:
        target = parse_target(f"json={hook.url}/hook?x=1")
        body = payload("json", "prod", "2026-11-20", CHANGES)
        result = sender(fake).post(target, body)
        assert result.ok
        (request,) = hook.received
    assert request.path == "/hook?x=1"
    assert request.body == body
    assert json.loads(body) == {
        "type": "mtasts.verdicts",
        "version": 1,
        "stack": "prod",
        "as_of": "2026-11-20",
        "test": False,
        "summary": "MTA-STS stack prod: 1 verdict change(s), 1 domain(s) not checked (resolver outage)",
        "changes": [c.to_dict() for c in CHANGES],
        "truncated": 0,
    }
    assert request.headers["x-mtasts-timestamp"] == "1790000000"
    expected = hmac.new(SECRET, b"1790000000." + body, hashlib.sha256).hexdigest()
    assert request.headers["x-mtasts-signature"] == f"sha256={expected}"
    assert signature(SECRET, "1790000000", body) == f"sha256={expected}"
    assert request.headers["content-type"] == "application/json; charset=utf-8"


def test_slack_and_teams_are_not_signed() -> None:
    """Only the generic webhook carries the signature headers."""
    with webhook() as hook:
        assert sender(FakeTime()).post(Target("slack", hook.url), b"{}").ok
    assert "x-mtasts-signature" not in hook.received[0].headers


def test_retries_with_exponential_backoff_then_succeeds() -> None:
    """503, 503, then 200: three attempts, waits of 2 s and 4 s (no real sleep)."""
    fake = FakeTime()
    with webhook() as hook:
        hook.answers = [(503, {}), (503, {})]
        result = sender(fake).post(Target("slack", hook.url), b"{}")
    assert (result.ok, result.attempts, result.status) == (True, 3, 200)
    assert fake.sleeps == [2.0, 4.0]
    assert len(hook.received) == 3


def test_retry_after_is_honoured_and_capped() -> None:
    """429 with Retry-After 7 waits 7 s; Retry-After 600 is capped at 30 s."""
    fake = FakeTime()
    with webhook() as hook:
        hook.answers = [(429, {"Retry-After": "7"}), (429, {"Retry-After": "600"})]
        assert sender(fake).post(Target("slack", hook.url), b"{}").ok
    assert fake.sleeps == [7.0, 30.0]


def test_client_error_is_not_retried() -> None:
    """A 400 (the receiver refused the request) fails at once, and says so."""
    fake = FakeTime()
    with webhook() as hook:
        hook.answers = [(400, {})]
        result = sender(fake).post(Target("teams", hook.url + "/secret-path"), b"{}")
    assert (result.ok, result.attempts, result.status) == (False, 1, 400)
    assert fake.sleeps == []
    assert "secret-path" not in str(result)
    assert str(result).startswith("notification to teams=http://127.0.0.1:")


def test_unreachable_receiver_gives_up_after_bounded_attempts() -> None:
    """A closed port: four attempts, waits of 2, 4 and 8 s, then a failure naming the error."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    fake = FakeTime()
    result = sender(fake).post(Target("slack", f"http://127.0.0.1:{port}/"), b"{}")
    assert (result.ok, result.attempts, result.status) == (False, 4, None)
    assert fake.sleeps == [2.0, 4.0, 8.0]
    assert "ConnectionRefusedError" in result.error


def test_deadline_bounds_the_whole_delivery() -> None:
    """With a 5 s deadline only the 2 s wait fits: two attempts, then it stops and says why."""
    fake = FakeTime()
    with webhook() as hook:
        hook.answers = [(500, {})] * 4
        result = sender(fake, deadline=5.0).post(Target("slack", hook.url), b"{}")
    assert (result.ok, result.attempts) == (False, 2)
    assert fake.sleeps == [2.0]
    assert "no time left" in result.error


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("slack=http://hooks.example.net/x", "plain http only to a loopback address"),
        ("pager=https://x.example/", "unknown kind 'pager'"),
        ("ftp://x.example/", "not an http\\(s\\) URL"),
    ],
)
def test_bad_targets_are_refused(value: str, message: str) -> None:
    """Targets must be https (http on loopback only) and of a known kind."""
    with pytest.raises(ValueError, match=message):
        parse_target(value)


def domain(name: str, verdict: str, **live: Any) -> dict[str, Any]:
    return {"domain": name, "verdict": verdict, "reasons": [f"why {verdict}"], "warnings": [], "live": live}


def test_compare_posts_changes_only() -> None:
    """First run: only action-needed is posted; later runs: a change is posted once, the same verdict never."""
    first, state = compare({"domains": [domain("a.example", "ok"), domain("b.example", "action-needed")]}, None)
    assert [(c.domain, c.previous, c.verdict) for c in first] == [("b.example", None, "action-needed")]
    again, state = compare({"domains": [domain("a.example", "ok"), domain("b.example", "action-needed")]}, state)
    assert again == []
    moved, state = compare({"domains": [domain("a.example", "action-needed"), domain("b.example", "ok")]}, state)
    assert [(c.domain, c.previous, c.verdict) for c in moved] == [
        ("a.example", "ok", "action-needed"),
        ("b.example", "action-needed", "ok"),
    ]


def test_resolver_outage_is_reported_once_and_never_as_drift() -> None:
    """A dns failure is an outage (posted once), the last verdict is kept, and recovery to it posts nothing."""
    _, state = compare({"domains": [domain("a.example", "ok")]}, None)
    dns = ["dns: 10.0.0.2:53 failed to answer (SERVFAIL or refused); no result for sts-record"]
    out, state = compare({"domains": [domain("a.example", "action-needed", problems=dns)]}, state)
    (change,) = out
    assert (change.previous, change.verdict, change.outage) == ("ok", "unknown", dns[0][5:])
    assert state["domains"]["a.example"]["verdict"] == "ok"
    still, state = compare({"domains": [domain("a.example", "action-needed", problems=dns)]}, state)
    assert still == []
    back, _ = compare({"domains": [domain("a.example", "ok")]}, state)
    assert back == []


def test_certificate_warning_is_posted_once() -> None:
    """A certificate entering its warning days is posted once, though the verdict stays ok."""
    cert = [{"host": "mx.a.example", "level": "warn", "days_left": 20}]
    _, state = compare({"domains": [domain("a.example", "ok")]}, None)
    out, state = compare({"domains": [domain("a.example", "ok", certificates=cert)]}, state)
    assert [(c.previous, c.verdict) for c in out] == [("ok", "ok")]
    again, _ = compare({"domains": [domain("a.example", "ok", certificates=cert)]}, state)
    assert again == []


# --- end to end: `mtasts status --notify` in the fleet's loopback world ---------------------------------------


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def status_notify(world: Loopback, stack: Path, reports: Path, hook: Hook, state: Path, *extra: str) -> Result:
    return run(
        "status", "--config", str(stack), "--reports", str(reports), "--as-of", str(AS_OF), "--json",
        "--notify", f"json={hook.url}/hook", "--notify-state", str(state), *network_args(world), *extra,
        env={"MTASTS_WEBHOOK_SECRET": SECRET.decode()},
    )  # fmt: skip


def test_status_notify_posts_once_then_only_changes(
    world: Loopback, report_dir: Path, stack: Path, tmp_path: Path
) -> None:
    """First run posts the action-needed domain; a second run posts nothing; an edited state makes a change."""
    state = tmp_path / "verdicts.json"
    with webhook() as hook:
        first = status_notify(world, stack, report_dir, hook, state)
        assert first.exit_code == 1, first.output  # newmx.example is action-needed
        (request,) = hook.received
        body = json.loads(request.body)
        assert [(c["domain"], c["previous"], c["verdict"]) for c in body["changes"]] == [
            ("newmx.example", None, "action-needed")
        ]
        assert body["stack"] == "fleet"
        timestamp = request.headers["x-mtasts-timestamp"]
        assert request.headers["x-mtasts-signature"] == signature(SECRET, timestamp, request.body)
        second = status_notify(world, stack, report_dir, hook, state)
        assert second.exit_code == 1
        assert len(hook.received) == 1
        assert "nothing posted" in second.stderr
        saved = json.loads(state.read_text())
        saved["domains"]["ready.example"]["verdict"] = "hold"
        state.write_text(json.dumps(saved))
        third = status_notify(world, stack, report_dir, hook, state)
        changes = json.loads(hook.received[1].body)["changes"]
        assert [(c["domain"], c["previous"], c["verdict"]) for c in changes] == [("ready.example", "hold", "ready")]
        assert third.exit_code == 1


def test_failed_webhook_fails_the_run_loudly_and_keeps_the_state(
    world: Loopback, report_dir: Path, stack: Path, tmp_path: Path
) -> None:
    """A receiver that always answers 503: four attempts, exit status 3, an error line, the state left as it was."""
    state = tmp_path / "verdicts.json"
    with webhook() as hook:
        hook.answers = [(503, {"Retry-After": "0"})] * 10
        result = status_notify(world, stack, report_dir, hook, state)
    assert result.exit_code == 3
    assert len(hook.received) == 4
    assert "failed after 4 attempt(s): HTTP 503" in result.stderr
    assert "not updated" in result.stderr
    assert not state.exists()
    assert json.loads(result.stdout)["counts"]["action-needed"] == 1  # the status itself was still printed


def test_resolver_outage_end_to_end_is_not_drift(
    world: Loopback, report_dir: Path, stack: Path, tmp_path: Path
) -> None:
    """A resolver that never answers: the post says 'not checked, resolver failed' for each domain, not drift."""
    state = tmp_path / "verdicts.json"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent, webhook() as hook:
        silent.bind(("127.0.0.1", 0))
        dead = f"127.0.0.1:{silent.getsockname()[1]}"
        result = run(
            "status", "--config", str(stack), "--reports", str(report_dir), "--as-of", str(AS_OF), "--json",
            "--notify", f"slack={hook.url}/T/B/secret", "--notify-state", str(state), "--nameserver", dead,
            "--timeout", "0.5", "--no-starttls",
        )  # fmt: skip
        assert result.exit_code in (0, 1), result.output
        (request,) = hook.received
    text = json.loads(request.body)["text"]
    assert text == "MTA-STS stack fleet: 5 domain(s) not checked (resolver outage)"
    section = json.loads(request.body)["blocks"][0]["text"]["text"]
    assert "drift" in section  # only as "this is not drift"
    lines = section.splitlines()[1:]  # one line per distinct resolver failure (a timeout, a refusal), not per domain
    assert 1 <= len(lines) <= 2
    assert all(line.endswith("this is not drift") for line in lines)
    assert any(line.startswith("• ") and "domains not checked (" in line for line in lines)


def test_alerts_test_sends_one_sample(tmp_path: Path) -> None:
    """`mtasts alerts test` posts one sample, marked as a test, to each target; exit 0."""
    with webhook() as hook:
        result = run(
            "alerts", "test", "--notify", f"slack={hook.url}/s", "--notify", f"json={hook.url}/j",
            env={"MTASTS_WEBHOOK_SECRET": SECRET.decode()},
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert [r.path for r in hook.received] == ["/s", "/j"]
    assert json.loads(hook.received[0].body)["text"].startswith("[test] MTA-STS stack test:")
    assert json.loads(hook.received[1].body)["test"] is True


def test_json_target_without_secret_is_refused_before_anything_runs() -> None:
    """A json target with no MTASTS_WEBHOOK_SECRET is one error line and exit 2; nothing is posted."""
    with webhook() as hook:
        result = run("alerts", "test", "--notify", f"{hook.url}/j", env={"MTASTS_WEBHOOK_SECRET": ""})
    assert result.exit_code == 2
    assert "MTASTS_WEBHOOK_SECRET" in result.output
    assert hook.received == []


def test_alerts_test_failure_exits_3() -> None:
    """A sample the receiver refuses exits 3 with the reason."""
    with webhook() as hook:
        hook.answers = [(404, {})]
        result = run("alerts", "test", "--notify", f"teams={hook.url}/t")
    assert result.exit_code == 3
    assert "HTTP 404" in result.stderr


def test_stack_file_is_the_fleet_stack() -> None:
    """The fleet stack file is the one the end-to-end tests name (stack name 'fleet' from Pulumi.fleet.yaml)."""
    assert "newmx.example" in STACK


def test_targets_from_the_environment_are_split_on_spaces() -> None:
    """MTASTS_NOTIFY (the workflow's secret) holds several space-separated targets, each posted to."""
    with webhook() as hook:
        result = run("alerts", "test", env={"MTASTS_NOTIFY": f"slack={hook.url}/a teams={hook.url}/b"})
    assert result.exit_code == 0, result.output
    assert [r.path for r in hook.received] == ["/a", "/b"]
