"""sciml's version has one source, Cargo's workspace version, and ``sciml --version`` shows it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import sciml
from sciml.cli import main

ROOT = Path(__file__).resolve().parents[1]


def cargo_workspace_version() -> str:
    """The ``version`` of ``[workspace.package]`` in the root Cargo.toml (3.10 has no tomllib)."""
    text = (ROOT / "Cargo.toml").read_text()
    section = re.search(r"^\[workspace\.package\]\n(.*?)(?=^\[|\Z)", text, re.M | re.S)
    assert section, "Cargo.toml has no [workspace.package] section"
    version = re.search(r'^version\s*=\s*"([^"]+)"', section.group(1), re.M)
    assert version, "[workspace.package] has no version"
    return version.group(1)


def test_version_is_cargo_workspace_version():
    assert sciml.__version__ == cargo_workspace_version()


def test_cli_version_in_process(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"sciml {sciml.__version__}"


def test_cli_version_subprocess():
    result = subprocess.run(
        [sys.executable, "-m", "sciml.cli", "--version"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.strip() == f"sciml {cargo_workspace_version()}"
