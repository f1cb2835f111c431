"""The ``mtasts`` command line.

Library errors (:class:`mtasts.errors.MtastsError`) become one ``error:``
line per problem on stderr and exit status 2; nothing is written to stdout
then. Click's own usage errors (unknown option, bad value, missing argument,
a path that does not exist) get the same treatment, once, here in
:meth:`_Group.main`: one ``error:`` line naming the command, exit status 2,
never click's usage block.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from . import __version__
from .config import TemplateStore
from .errors import MtastsError, Problem
from .inert import inert, json_text
from .plan import StackPlan, plan_stack_file, stack_file_path
from .policy import MAX_POLICY_BYTES, parse_policy

F = TypeVar("F", bound=Callable[..., Any])

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


def fail(problems: Sequence[Problem] | Sequence[str], status: int = EXIT_USAGE) -> NoReturn:
    """Print one ``error:`` line per problem to stderr (inert: it may quote a stranger's value) and exit."""
    for problem in problems:
        click.echo(f"error: {inert(problem)}", err=True)
    sys.exit(status)


def warn(problems: Sequence[Problem]) -> None:
    """Print one ``warning:`` line per problem to stderr (inert, as :func:`fail`)."""
    for problem in problems:
        click.echo(f"warning: {inert(problem)}", err=True)


#: Commands that live in their own modules, imported only when used so that
#: `mtasts plan` stays fast: name -> "module:attribute".
LAZY_COMMANDS: dict[str, str] = {
    "check": "mtasts.checker.cli:check",
    "reports": "mtasts.tlsrpt.cli:reports",
    "diff": "mtasts.lifecycle.cli:diff",
    "status": "mtasts.fleet.cli:status",
    "promote": "mtasts.fleet.cli:promote",
    "alerts": "mtasts.alerts.cli:alerts",
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

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """Each command with its whole first sentence, wrapped: click would cut it at the width left with "..."."""
        rows = []
        for name in self.list_commands(ctx):
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit=1_000)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MtastsError as exc:
            fail(exc.lines())
        except BrokenPipeError:  # `mtasts plan | head`: caught here, before click turns it into exit status 1
            _reader_left()

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the command line; every usage error of every command is one ``error:`` line and exit status 2."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        try:
            result = super().main(args, prog_name, complete_var, False, **extra)
        except click.exceptions.NoArgsIsHelpError as exc:
            # `mtasts` or `mtasts reports` alone: one line naming the commands there are, not the usage block.
            ctx = exc.ctx
            group = ctx.command if ctx is not None else self
            names = group.list_commands(ctx) if ctx is not None and isinstance(group, click.Group) else []
            command = ctx.command_path if ctx is not None else "mtasts"
            fail([f"{command}: name a command: {', '.join(names)} (see {command} --help)"])
        except click.UsageError as exc:
            fail([usage_line(exc)])
        except click.ClickException as exc:  # e.g. click.FileError: bad input too
            fail([_one_line(exc.format_message())])
        except click.Abort:
            click.echo("error: aborted", err=True)
            sys.exit(EXIT_FAILED)
        sys.exit(result if isinstance(result, int) and not isinstance(result, bool) else EXIT_OK)


def _reader_left() -> NoReturn:
    """The reader of stdout left (``mtasts plan | head``): nothing more to say, exit status 0.

    stdout is pointed at /dev/null first, so the interpreter's last flush of what is still buffered cannot fail
    again (Python's documentation, "Note on SIGPIPE" in the signal module).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(EXIT_OK)


def _one_line(text: str, limit: int = 500) -> str:
    """``text`` with its whitespace runs folded to one space and cut to ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def usage_line(exc: click.UsageError) -> str:
    """Click's usage error as one line: the command, what is wrong, and where the help is."""
    command = exc.ctx.command_path if exc.ctx else "mtasts"
    return _one_line(f"{command}: {exc.format_message()} (see {command} --help)")


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
    if config_path is not None:
        return config_path
    folder = find_project_dir(Path.cwd())
    path = stack_file_path(str(stack), folder)
    if not path.exists():
        names = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in folder.glob("Pulumi.*.yaml"))
        known = f"the stacks here are {', '.join(names)}" if names else "there is no stack file here yet"
        raise MtastsError(
            Problem(
                "--stack",
                f"no stack {stack!r}: {path} does not exist; {known}. Create it with `pulumi stack init {stack}` "
                f"and list its domains under mta-sts:domains (Pulumi.example.yaml shows every key)",
            )
        )
    return path


def load_plan(stack: str | None, config_path: Path | None, templates_dir: Path | None) -> StackPlan:
    """Resolve ``--stack``/``--config`` and plan the stack."""
    templates = TemplateStore(templates_dir) if templates_dir else None
    return plan_stack_file(stack_path(stack, config_path), templates)


@click.group("mtasts", cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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
        from .checker.options import make_network
        from .checker.preflight import preflight as run_preflight
        from .lifecycle.adopt import live_adopt_warnings

        net = make_network(nameservers, None, (), 15.0)
        problems = run_preflight(result, net)
        if problems:
            fail(problems)
        warn(live_adopt_warnings(result, net))
    if as_json:
        click.echo(json_text(result.to_dict()))
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
        body = stream.read(MAX_POLICY_BYTES + 1)  # capped while reading: `validate-policy /dev/zero` stops here
    if len(body) > MAX_POLICY_BYTES:
        click.echo(
            f"error: {inert(name)}: policy: more than {MAX_POLICY_BYTES} bytes; "
            f"senders read at most {MAX_POLICY_BYTES} (RFC 8461 §3.3)",
            err=True,
        )
        sys.exit(EXIT_FAILED)
    parsed = parse_policy(body)
    for warning in parsed.warnings:
        click.echo(f"warning: {inert(name)}: {inert(warning)}", err=True)
    if not parsed.ok:
        for error in parsed.errors:
            click.echo(f"error: {inert(name)}: {inert(error)}", err=True)
        sys.exit(EXIT_FAILED)
    policy = parsed.unwrap()
    click.echo(f"{inert(name)}: valid STSv1 policy, mode {policy.mode}, max_age {policy.max_age}, {len(policy.mx)} mx")


if __name__ == "__main__":  # pragma: no cover
    main()
