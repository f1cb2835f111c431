"""``mtasts status --notify`` and ``mtasts alerts test``: post verdict changes, keep the state for the next run."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from ..errors import ConfigError, Problem
from ..inert import inert
from ..outfile import check_output
from .changes import Change, compare, load_state, save_state
from .webhooks import SECRET_ENV, Delivery, Sender, Target, parse_target, payload

__all__ = ["EXIT_NOTIFY", "alerts", "notify", "notify_options", "targets_from_options"]

F = TypeVar("F", bound=Callable[..., Any])
#: Exit status of a run whose notification could not be delivered (whatever the verdicts).
EXIT_NOTIFY = 3
#: Where ``--notify-state`` is kept by default (the workflow caches this folder between runs).
DEFAULT_STATE_DIR = Path(".mtasts") / "alerts"


def notify_options(func: F) -> F:
    """``--notify`` (repeatable, or ``MTASTS_NOTIFY``) and ``--notify-state``."""
    func = click.option(
        "--notify-state",
        "notify_state",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The last verdicts, read and rewritten (default: .mtasts/alerts/<stack>.json).",
    )(func)
    return click.option(
        "--notify",
        "notify",
        multiple=True,
        envvar="MTASTS_NOTIFY",
        metavar="[slack=|teams=|json=]URL",
        help=f"Post verdict changes there (repeatable; env MTASTS_NOTIFY, space-separated). json is signed "
        f"with the secret in ${SECRET_ENV}.",
    )(func)


def targets_from_options(values: Sequence[str]) -> tuple[list[Target], bytes | None]:
    """The targets and the signing secret; a bad value or a missing secret is a :class:`ConfigError`."""
    targets: list[Target] = []
    problems: list[Problem] = []
    for index, value in enumerate(values, 1):
        try:
            targets.append(parse_target(value))
        except ValueError as exc:
            problems.append(Problem(f"--notify #{index}", str(exc)))
    secret = os.environ.get(SECRET_ENV, "").encode() or None
    if any(t.kind == "json" for t in targets) and secret is None:
        problems.append(
            Problem("--notify", f"json webhooks are signed with HMAC-SHA256: set the secret in ${SECRET_ENV}")
        )
    if problems:
        raise ConfigError(problems)
    return targets, secret


def deliver(
    sender: Sender, targets: Sequence[Target], stack: str, as_of: str, changes: Sequence[Change], test: bool
) -> list[Delivery]:
    """Post ``changes`` to every target; one line on stderr per target."""
    results = []
    for target in targets:
        result = sender.post(target, payload(target.kind, stack, as_of, changes, test))
        click.echo(("" if result.ok else "error: ") + inert(result), err=True)  # the reason may quote the peer
        results.append(result)
    return results


def state_file(state_path: Path | None, stack: str) -> Path:
    """``--notify-state``, or its default ``.mtasts/alerts/<stack>.json``."""
    return state_path or DEFAULT_STATE_DIR / f"{stack}.json"


def notify(
    document: dict[str, Any],
    stack: str,
    targets: Sequence[Target],
    state_path: Path | None,
    sender: Sender,
) -> bool:
    """Post what changed since the state at ``state_path`` and save the new state; whether every post went out.

    The state is saved only when every target got the changes (or there were none), so a change that could not
    be delivered is posted again by the next run rather than lost.
    """
    path = state_file(state_path, stack)
    check_output(path, "--notify-state", parents=True)  # before posting: a refused state file would post again
    state, problem = load_state(path)
    if problem:
        click.echo(f"warning: --notify-state: {inert(problem)}", err=True)
    changes, new_state = compare({**document, "stack": stack}, state)
    if not changes:
        click.echo(f"no verdict changed since the last run ({path}); nothing posted", err=True)
        save_state(path, new_state)
        return True
    results = deliver(sender, targets, stack, str(document.get("as_of", "")), changes, test=False)
    if all(r.ok for r in results):
        save_state(path, new_state)
        return True
    click.echo(f"error: {path} not updated, so the next run posts these changes again", err=True)
    return False


@click.group()
def alerts() -> None:
    """Notifications of verdict changes (docs/alerts.md)."""


@alerts.command("test", short_help="Send one sample notification to each target.")
@click.option("--stack", "-s", default="test", show_default=True, help="Stack name shown in the sample.")
@click.option("--notify", "notify_values", multiple=True, envvar="MTASTS_NOTIFY", metavar="[slack=|teams=|json=]URL",
              required=True, help="Where to send the sample (repeatable; env MTASTS_NOTIFY).")  # fmt: skip
def test_command(notify_values: tuple[str, ...], stack: str) -> None:
    """Send one sample notification to each target, as `mtasts status --notify` would post it.

    Exit status 0 when every target accepted it, 3 when one did not, 2 on bad input.
    """
    targets, secret = targets_from_options(notify_values)
    sample = [
        Change(
            "example.com",
            "ok",
            "action-needed",
            ["sample notification from `mtasts alerts test`: nothing is wrong with example.com"],
        )
    ]
    results = deliver(Sender(secret), targets, stack, "", sample, test=True)
    if not all(r.ok for r in results):
        sys.exit(EXIT_NOTIFY)
