"""`bash dev.sh` from any directory: the repository's virtual environment, the caller's working directory
for `serve`, the repository for `test`. Run on a copy of the script whose .venv holds stubs."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


STUB = """#!/bin/sh
echo "$(basename "$0") cwd=$(pwd) args=$*" >> "$STUB_LOG"
"""


def _fake_repo(tmp_path: Path) -> tuple[Path, Path, dict[str, str]]:
    """dev.sh and pyproject.toml in a repository whose .venv holds stubs that record where they ran."""
    repo = tmp_path / "repo"
    (repo / ".venv" / "bin").mkdir(parents=True)
    shutil.copy2(ROOT / "dev.sh", repo / "dev.sh")
    shutil.copy2(ROOT / "pyproject.toml", repo / "pyproject.toml")
    tools = tmp_path / "tools"
    tools.mkdir()
    for d, name in [(repo / ".venv" / "bin", n) for n in ("python", "gardefou", "ruff", "mypy")] + \
                   [(tools, "chromium"), (tools, "pg_isready"), (tools, "pg_ctlcluster")]:
        (d / name).write_text(STUB, encoding="utf-8")
        (d / name).chmod(0o755)
    log = tmp_path / "stub.log"
    env = {"PATH": f"{tools}:/usr/bin:/bin", "STUB_LOG": str(log), "HOME": str(tmp_path)}
    return repo, log, env


def _calls(log: Path) -> list[str]:
    """The stubs' log without dev.sh's interpreter version probes (``python -c 'import sys ...'``)."""
    return [line for line in log.read_text().splitlines() if "sys.version_info" not in line]


def _stamp(repo: Path) -> None:
    want = hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()
    (repo / ".venv" / ".gardefou-installed").write_text(want + "\n")


def test_dev_sh_works_from_any_directory(tmp_path):
    if shutil.which("bash") is None:
        pytest.skip("bash is not installed")
    repo, log, env = _fake_repo(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link_dir = tmp_path / "bin"
    link_dir.mkdir()
    (link_dir / "gf-dev").symlink_to(repo / "dev.sh")

    # first run from another directory: installs into the repository's .venv, from the repository
    r = subprocess.run(["bash", str(repo / "dev.sh"), "serve", "--config", "my.yaml"], cwd=elsewhere, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    lines = _calls(log)
    assert lines[0].startswith(f"python cwd={repo} args=-m pip install") and lines[0].endswith("-e .[test]")
    # serve runs in the caller's directory, so that its relative paths (and ./config.yaml) are the caller's
    assert lines[1] == f"gardefou cwd={elsewhere} args=serve --config my.yaml"
    assert (repo / ".venv" / ".gardefou-installed").read_text().strip() == \
        hashlib.sha256((repo / "pyproject.toml").read_bytes()).hexdigest()

    # installed: no second install; a relative path to the script and a symlink to it work too
    log.unlink()
    for script in (os.path.relpath(repo / "dev.sh", elsewhere), str(link_dir / "gf-dev")):
        r = subprocess.run(["bash", script, "serve", "--port", "9000"], cwd=elsewhere, env=env, capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    assert _calls(log) == [f"gardefou cwd={elsewhere} args=serve --port 9000"] * 2

    # the test command runs lint, types and pytest on the repository, wherever it is called from
    log.unlink()
    _stamp(repo)
    r = subprocess.run(["bash", str(repo / "dev.sh"), "test", "-k", "x"], cwd=elsewhere, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert _calls(log) == [
        f"pg_isready cwd={repo} args=-q -h 127.0.0.1 -p 5432",
        f"ruff cwd={repo} args=check --quiet .",
        f"mypy cwd={repo} args=--no-error-summary",
        f"python cwd={repo} args=-m pytest -q -p no:cacheprovider -k x",
    ]
    r = subprocess.run(["bash", str(repo / "dev.sh")], cwd=elsewhere, env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and "usage" in r.stderr
