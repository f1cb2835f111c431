"""The network options of every command that reads live DNS and HTTPS, and the :class:`Network` built from them.

``--nameserver``, ``--ca-file``, ``--connect-to`` and ``--timeout`` are the same for ``mtasts check``,
``status``, ``diff`` and ``plan --preflight``: each command module takes them from here, below all of them, so
no command module imports another for them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from ..errors import ConfigError, Problem
from .net import DEFAULT_TIMEOUT, Network, load_ca_file, parse_connect_to, parse_nameserver, parse_timeout

__all__ = ["make_network", "network_options"]

F = TypeVar("F", bound=Callable[..., Any])


def network_options(func: F) -> F:
    """``--nameserver``, ``--ca-file``, ``--connect-to``, ``--timeout``: the seams for split-horizon and tests."""
    func = click.option(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        show_default=True,
        help="Seconds for one domain's whole check: every lookup, the policy fetch and every MX (0.1 to 3600).",
    )(func)
    func = click.option(
        "--connect-to",
        "connect_to",
        multiple=True,
        metavar="HOST:PORT:ADDR:PORT",
        help="Connect there instead, as curl does (empty HOST or PORT matches any); TLS still verifies HOST.",
    )(func)
    func = click.option("--ca-file", help="CA certificates to trust (PEM), instead of the system store.")(func)
    return click.option(
        "--nameserver",
        "nameservers",
        multiple=True,
        metavar="IP[:PORT]",
        help="Resolver to ask instead of the system's.",
    )(func)


def make_network(
    nameservers: tuple[str, ...], ca_file: str | None, connect_to: tuple[str, ...], timeout: float
) -> Network:
    """Build a :class:`Network` from the options; a bad value is a :class:`ConfigError` naming its option.

    The CA file is read and checked here, once, so that a file that is not PEM is one line and exit 2, not an
    error in every domain's row.
    """
    values: dict[str, Any] = {}
    for option, parse in (
        ("--nameserver", lambda: [parse_nameserver(n) for n in nameservers]),
        ("--connect-to", lambda: [parse_connect_to(c) for c in connect_to]),
        ("--timeout", lambda: parse_timeout(timeout)),
        ("--ca-file", lambda: load_ca_file(ca_file) if ca_file is not None else None),
    ):
        try:
            values[option] = parse()
        except ValueError as exc:
            raise ConfigError(Problem(option, str(exc))) from None
    return Network(
        nameservers=values["--nameserver"],
        ca_file=ca_file,
        ca_data=values["--ca-file"],
        connect_to=values["--connect-to"],
        timeout=values["--timeout"],
    )
