"""The `replicator` command line: a thin layer that parses arguments and calls one module.

Settings and mappings are loaded inside each command, never at import time.
"""

from __future__ import annotations

import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Replicate legacy MySQL/PostgreSQL databases into one re-modelled PostgreSQL."""


@main.group()
def stack() -> None:
    """Start, stop and inspect the local stack of real servers."""


@stack.command("up")
def stack_up() -> None:
    """Install what is missing and start MariaDB, PostgreSQL, the broker and Debezium."""
    from replicator.stack.manager import PartFailed, Stack

    s = Stack.from_env()
    click.echo(f"stack directory {s.root}")
    try:
        s.up(echo=click.echo)
    except PartFailed as exc:
        click.echo(f"stack up failed: {exc}", err=True)
        sys.exit(1)


@stack.command("down")
def stack_down() -> None:
    """Stop exactly the processes `stack up` started."""
    from replicator.stack.manager import Stack

    Stack.from_env().down(echo=click.echo)


@stack.command("status")
def stack_status() -> None:
    """Say which parts of the local stack are up, and where they listen."""
    from replicator.stack.manager import Stack

    rows = Stack.from_env().status()
    for name, state, where in rows:
        click.echo(f"{name:9} {state:10} {where}")
    sys.exit(0 if all(state == "up" for _, state, _ in rows) else 3)


if __name__ == "__main__":
    main()
