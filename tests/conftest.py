from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture
def fresh_plugins():
    """Reload plugins before and after a test that registers its own."""
    from msmkit import plugins

    plugins.reset()
    yield plugins
    plugins.reset()


def run_cli(
    *args: str, cwd: Path | None = None, env: dict | None = None, timeout: float = 600
) -> subprocess.CompletedProcess:
    """Run the real ``msmkit`` entry point in a subprocess, as a user would."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "msmkit", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def plugin(fresh_plugins):
    """The run-machinery test plugin (tests/stage_plugins.py), registered fresh."""
    from stage_plugins import CopyBackend, Shout, TestPlugin

    CopyBackend.calls.clear()
    Shout.runs = 0
    fresh_plugins.register_plugin(TestPlugin(), "test-plugin")
    yield


@pytest.fixture
def base_model(tmp_path):
    """A stand-in base model folder (a config.json, nothing to load)."""
    d = tmp_path / "base"
    d.mkdir()
    (d / "config.json").write_text("{}")
    return d
