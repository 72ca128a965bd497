"""Kafka Connect connector files (`config/connectors/*.properties`) as Python data.

The properties files are the single source of every connector's configuration: the local
stack hands them to its Connect worker, `deploy/strimzi/render_connectors.py` turns them into
KafkaConnector resources and `deploy/compose/register_connectors.py` PUTs them to the REST
API of the compose stack's worker. `${env:VAR}` placeholders are kept as they are: the
worker's EnvVarConfigProvider resolves them.

Standard library only: the compose one-shot runs this in a bare python:3.11-slim container.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ENV_PLACEHOLDER = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}


def _logical_lines(text: str):
    """java.util.Properties' logical lines: comments and blank lines dropped, a line ending
    in an odd number of backslashes continues on the next one (its leading blanks dropped)."""
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(" \t\f")
        i += 1
        if not line or line[0] in "#!":
            continue
        while (len(line) - len(line.rstrip("\\"))) % 2 == 1:
            line = line[:-1]
            if i >= len(lines):
                break
            line += lines[i].lstrip(" \t\f")
            i += 1
        yield line


def _unescape(s: str) -> str:
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            n = s[i + 1]
            if n == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", s[i + 2:i + 6] or ""):
                out.append(chr(int(s[i + 2:i + 6], 16)))
                i += 6
                continue
            out.append(_ESCAPES.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_properties(text: str) -> dict[str, str]:
    """Parse the text of a .properties file like java.util.Properties.load (order kept;
    a repeated key keeps its last value, as in Java)."""
    props: dict[str, str] = {}
    for line in _logical_lines(text):
        # the key ends at the first unescaped '=', ':' or blank
        i = 0
        while i < len(line):
            c = line[i]
            if c == "\\":
                i += 2
                continue
            if c in "=: \t\f":
                break
            i += 1
        key, rest = line[:i], line[i:]
        rest = rest.lstrip(" \t\f")
        if rest[:1] in ("=", ":"):
            rest = rest[1:].lstrip(" \t\f")
        props[_unescape(key)] = _unescape(rest)
    return props


@dataclass(frozen=True)
class Connector:
    """One connector file: the REST API's name, class and task count, and the rest."""

    path: Path
    name: str
    connector_class: str
    tasks_max: int
    config: dict[str, str]  # everything but name, connector.class and tasks.max

    @property
    def env_vars(self) -> list[str]:
        """The ${env:VAR} names its values use, sorted."""
        return sorted({m for v in self.config.values() for m in ENV_PLACEHOLDER.findall(v)})

    def rest_config(self) -> dict[str, str]:
        """The body of PUT /connectors/<name>/config."""
        return {"connector.class": self.connector_class, "tasks.max": str(self.tasks_max),
                "name": self.name, **self.config}


def load_connector(path: Path) -> Connector:
    props = parse_properties(path.read_text(encoding="utf-8"))
    missing = [k for k in ("name", "connector.class") if not props.get(k)]
    if missing:
        raise ValueError(f"{path}: missing {', '.join(missing)}")
    config = {k: v for k, v in props.items() if k not in ("name", "connector.class", "tasks.max")}
    return Connector(path=path, name=props["name"], connector_class=props["connector.class"],
                     tasks_max=int(props.get("tasks.max", "1")), config=config)


def load_connectors(directory: Path) -> list[Connector]:
    """Every *.properties file of `directory`, sorted by file name."""
    files = sorted(directory.glob("*.properties"))
    if not files:
        raise ValueError(f"no *.properties files in {directory}")
    connectors = [load_connector(p) for p in files]
    names = [c.name for c in connectors]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"connector names used twice in {directory}: {', '.join(dupes)}")
    return connectors
