"""Loading mapping YAML files into validated models, with errors that say where.

`${NAME}` and `${NAME:-default}` in a file are replaced from the environment before
parsing, so one mapping serves every environment (the physical database name differs
between production, the demo and each test). An unset variable without a default is an
error naming the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from pydantic import ValidationError

from replicator.errors import ConfigError
from replicator.mapping.model import MappingFile

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def interpolate(text: str, env: Mapping[str, str], where: str) -> str:
    def sub(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        raise ConfigError(f"{where}: ${{{name}}} is not set and has no default")
    return _VAR.sub(sub, text)


def _describe(exc: ValidationError, path: Path, data: object) -> list[str]:
    """One line per problem: file, the legacy table it is under, and the offending key."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = str(path)
        if len(loc) >= 2 and loc[0] == "tables" and isinstance(loc[1], int) and isinstance(data, dict):
            try:
                t = data["tables"][loc[1]]
                where += f" table {t.get('source')}.{t.get('table')}"
            except (KeyError, IndexError, TypeError, AttributeError):
                pass
        key = ".".join(str(p) for p in loc)
        kind = err["type"]
        msg = "unknown key" if kind == "extra_forbidden" else err["msg"]
        lines.append(f"{where}: {key}: {msg}")
    return lines


def load_file(path: Path, env: Mapping[str, str] | None = None) -> MappingFile:
    env = os.environ if env is None else env
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read mapping file: {exc.strerror}") from exc
    text = interpolate(text, env, str(path))
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return MappingFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError("invalid mapping:\n  " + "\n  ".join(_describe(exc, path, data))) from exc


def mapping_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(list(p.glob("*.yaml")) + list(p.glob("*.yml"))))
        else:
            files.append(p)
    if not files:
        raise ConfigError(f"no mapping files found in {', '.join(map(str, paths))}")
    return files


def load_mappings(paths: Iterable[Path], env: Mapping[str, str] | None = None):
    """Load, merge and compile every mapping file into one `MappingSet`."""
    from replicator.mapping.engine import MappingSet

    files = mapping_files([Path(p) for p in paths])
    return MappingSet.compile([(f, load_file(f, env)) for f in files])
