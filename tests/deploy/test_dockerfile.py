"""deploy/Dockerfile: slim multi-stage build of the wheel, runtime dependencies only (no
[stack]/[dev] extra), a numeric non-root USER, the CLI as entrypoint, the metrics port, the
config files in /app/config, and a build context trimmed by Dockerfile.dockerignore."""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib

from tests.deploy._util import DEPLOY, REPO, dockerfile_instructions, dockerfile_user_uid, metrics_port_default


def instructions() -> list[tuple[str, str]]:
    return dockerfile_instructions()


def arg_defaults() -> dict[str, str]:
    out = {}
    for i, a in instructions():
        if i == "ARG" and "=" in a:
            k, v = a.split("=", 1)
            out[k] = v
    return out


def stages() -> list[tuple[str, str]]:
    """(image, stage name) of each FROM, ARGs resolved."""
    args = arg_defaults()
    out = []
    for i, a in instructions():
        if i == "FROM":
            parts = a.split()
            image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: args[m.group(1) or m.group(2)], parts[0])
            name = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else ""
            out.append((image, name))
    return out


def test_slim_multi_stage():
    s = stages()
    assert len(s) >= 2, "build the wheel in one stage, run it from another"
    assert all(image == "python:3.11-slim" for image, _ in s), s


def test_runs_as_non_root_numeric_user():
    assert dockerfile_user_uid() == 10001
    ins = instructions()
    last_from = max(n for n, (i, _) in enumerate(ins) if i == "FROM")
    assert any(i == "USER" for i, _ in ins[last_from:]), "USER must be set in the final stage"


def test_installs_no_extra():
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert {"stack", "dev"} <= set(extras)
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    assert "pip wheel" in runs, "the image installs a wheel built in the build stage"
    assert "pip install" in runs
    assert "[" not in runs, "no extras ([stack]/[dev]) in the image"
    text = " ".join(a for _, a in instructions())  # comments excluded
    for extra in extras:
        assert f"[{extra}]" not in text and f"[{extra}," not in text


def test_builds_and_requires_the_c_core():
    copies = [a.split() for i, a in instructions() if i == "COPY" and not a.startswith("--from")]
    assert any("setup.py" in c[:-1] for c in copies), "setup.py builds replicator/_fastmap.c"
    runs = " ".join(a for i, a in instructions() if i == "RUN")
    assert "gcc" in runs, "the build stage needs a C compiler for the extension"
    assert "import replicator._fastmap" in runs, "the image build must fail without the compiled C core"
    assert ignored("replicator/_fastmap.cpython-311-x86_64-linux-gnu.so"), "a locally built .so stays out"


def test_entrypoint_cmd_and_port():
    ins = dict((i, a) for i, a in instructions() if i in ("ENTRYPOINT", "CMD"))
    assert json.loads(ins["ENTRYPOINT"]) == ["replicator"]
    assert json.loads(ins["CMD"]) == ["run"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert "replicator" in scripts
    exposed = [a for i, a in instructions() if i == "EXPOSE"]
    assert exposed == [str(metrics_port_default())]


def test_config_files_copied_to_app_config():
    copies = [a.split() for i, a in instructions() if i == "COPY" and not a.startswith("--from")]
    pairs = {(c[0], c[-1]) for c in copies}
    assert ("config/mappings", "/app/config/mappings") in pairs
    assert ("config/chipp/mappings", "/app/config/chipp/mappings") in pairs
    assert ("config/connectors", "/app/config/connectors") in pairs
    workdirs = [a for i, a in instructions() if i == "WORKDIR"]
    assert workdirs[-1] == "/app", "the default mapping_paths (config/mappings) is relative to /app"


def ignore_patterns() -> list[str]:
    lines = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.strip().startswith("#")]


def ignored(path: str) -> bool:
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(p, pat.lstrip("/")) for pat in ignore_patterns() for p in prefixes)


def test_copy_sources_exist_and_are_in_the_context():
    for i, a in instructions():
        if i != "COPY" or a.startswith("--from"):
            continue
        *sources, _dest = a.split()
        for src in sources:
            assert (REPO / src).exists(), f"COPY {src}: no such path in the repository"
            assert not ignored(src), f"COPY {src}: excluded by deploy/Dockerfile.dockerignore"
    for heavy in (".venv", ".state", ".git", "tests"):
        assert ignored(heavy), f"{heavy} should stay out of the build context"
