"""The ``mtasts`` command line.

Library errors (:class:`mtasts.errors.MtastsError`) become one ``error:``
line per problem on stderr and exit status 2; nothing is written to stdout
then. Click's own usage errors also exit with 2.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .config import TemplateStore
from .errors import MtastsError, Problem
from .plan import StackPlan, plan_stack_file, stack_file_path
from .policy import parse_policy

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(problems: Sequence[Problem] | Sequence[str], status: int = EXIT_USAGE) -> NoReturn:
    """Print one ``error:`` line per problem to stderr and exit."""
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    sys.exit(status)


def warn(problems: Sequence[Problem]) -> None:
    """Print one ``warning:`` line per problem to stderr."""
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)


#: Commands that live in their own modules, imported only when used so that
#: `mtasts plan` stays fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "check": "mtasts.checker.cli:check",
    "reports": "mtasts.tlsrpt.cli:reports",
    "diff": "mtasts.lifecycle.cli:diff",
    "status": "mtasts.fleet.cli:status",
    "promote": "mtasts.fleet.cli:promote",
}


class _Group(click.Group):
    """Turns the kit's typed errors into one-line messages and exit status 2; loads LAZY_COMMANDS on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        available = [name for name, target in LAZY_COMMANDS.items() if _module_exists(target.partition(":")[0])]
        return sorted([*super().list_commands(ctx), *available])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in LAZY_COMMANDS:
            return command
        module_name, _, attribute = LAZY_COMMANDS[cmd_name].partition(":")
        if not _module_exists(module_name):
            return None
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{LAZY_COMMANDS[cmd_name]} is not a click command")
        return command

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MtastsError as exc:
            fail(exc.lines())


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def find_project_dir(start: Path) -> Path:
    """The nearest folder at or above ``start`` holding ``Pulumi.yaml``; ``start`` if none."""
    for folder in (start, *start.parents):
        if (folder / "Pulumi.yaml").is_file():
            return folder
    return start


def stack_options(func: F) -> F:
    """``--stack``/``--config``/``--templates``, shared by every command that reads a stack."""
    func = click.option(
        "--templates",
        "templates_dir",
        type=click.Path(file_okay=False, path_type=Path),
        help="Folder of policy templates (default: policy_templates/ beside the stack file, else the kit's own).",
    )(func)
    func = click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Path of a stack file, instead of --stack.",
    )(func)
    return click.option("--stack", "-s", help="Stack name: reads Pulumi.<NAME>.yaml in the project folder.")(func)


def stack_path(stack: str | None, config_path: Path | None) -> Path:
    """The stack file named by ``--stack`` (in the project folder) or ``--config``; exactly one must be given."""
    if (stack is None) == (config_path is None):
        raise click.UsageError("give exactly one of --stack NAME or --config PATH")
    return config_path or stack_file_path(str(stack), find_project_dir(Path.cwd()))


def load_plan(stack: str | None, config_path: Path | None, templates_dir: Path | None) -> StackPlan:
    """Resolve ``--stack``/``--config`` and plan the stack."""
    templates = TemplateStore(templates_dir) if templates_dir else None
    return plan_stack_file(stack_path(stack, config_path), templates)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtasts")
def main() -> None:
    """Publish and verify MTA-STS (RFC 8461) and TLS-RPT (RFC 8460) for many mail domains."""


@main.command()
@stack_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of tables.")
@click.option(
    "--preflight",
    is_flag=True,
    help="Also check live MX hosts of enforce-mode domains against their patterns (needs DNS), as `pulumi up` does.",
)
@click.option("--nameserver", "nameservers", multiple=True, metavar="IP[:PORT]", help="Resolver for --preflight.")
def plan(
    stack: str | None,
    config_path: Path | None,
    templates_dir: Path | None,
    as_json: bool,
    preflight: bool,
    nameservers: tuple[str, ...],
) -> None:
    """Show, offline, exactly what `pulumi up` publishes for every domain.

    Policy text and id, policy URL and every DNS record (name, type, value,
    TTL). Warnings go to stderr; invalid config exits with status 2, and so
    does a failed --preflight.
    """
    result = load_plan(stack, config_path, templates_dir)
    warn(result.warnings)
    if preflight:
        from .checker.cli import make_network
        from .checker.preflight import preflight as run_preflight

        problems = run_preflight(result, make_network(nameservers, None, (), 15.0))
        if problems:
            fail(problems)
    if as_json:
        click.echo(json.dumps(result.to_dict(), indent=2, ensure_ascii=False))
        return
    from .output import print_plan

    print_plan(result)


@main.command()
@click.argument("domain")
@stack_options
def render(domain: str, stack: str | None, config_path: Path | None, templates_dir: Path | None) -> None:
    """Write DOMAIN's policy to stdout, byte for byte as it is served."""
    body = load_plan(stack, config_path, templates_dir).get(domain).policy_bytes
    sys.stdout.buffer.write(body)
    sys.stdout.buffer.flush()


@main.command("validate-policy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
def validate_policy(file: str) -> None:
    """Check a policy file against RFC 8461 §3.2 (FILE '-' reads stdin).

    Exit status 0 when valid, 1 when not; each problem names its line.
    """
    name = "<stdin>" if file == "-" else file
    with click.open_file(file, "rb") as stream:
        parsed = parse_policy(stream.read())
    for warning in parsed.warnings:
        click.echo(f"warning: {name}: {warning}", err=True)
    if not parsed.ok:
        for error in parsed.errors:
            click.echo(f"error: {name}: {error}", err=True)
        sys.exit(EXIT_FAILED)
    policy = parsed.unwrap()
    click.echo(f"{name}: valid STSv1 policy, mode {policy.mode}, max_age {policy.max_age}, {len(policy.mx)} mx")


if __name__ == "__main__":  # pragma: no cover
    main()
