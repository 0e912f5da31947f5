from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The example plugins in plugins/ (plugin name -> module, source folder). Installed (as the
# README's test command does) they are found through their entry points; otherwise they are
# loaded from the source tree through MSMKIT_PLUGINS, in this process and in the CLI
# subprocesses (PYTHONPATH), so the suite needs nothing installed outside the repo.
EXAMPLE_PLUGINS = {
    "attribution": ("msmkit_attribution", REPO / "plugins" / "msmkit-attribution" / "src"),
    "cheese_check": ("msmkit_cheese_check", REPO / "plugins" / "msmkit-cheese-check" / "src"),
}
_MISSING = {
    name: (module, src)
    for name, (module, src) in EXAMPLE_PLUGINS.items()
    if importlib.util.find_spec(module) is None
}
EXAMPLES_INSTALLED = not _MISSING
if _MISSING:
    _sources = [str(src) for _, src in _MISSING.values()]
    sys.path[:0] = _sources
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [*_sources, *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    os.environ["MSMKIT_PLUGINS"] = ",".join(
        [
            *filter(None, [os.environ.get("MSMKIT_PLUGINS")]),
            *(f"{name}={module}" for name, (module, _) in _MISSING.items()),
        ]
    )
# How msmkit names a release: the distribution when installed, else the module it was
# loaded from (MSMKIT_PLUGINS); both examples are 0.1.0.
ATTRIBUTION_RELEASE = (
    "msmkit_attribution 0.1.0" if "attribution" in _MISSING else "msmkit-attribution 0.1.0"
)
NEEDS_INSTALLED_EXAMPLES = pytest.mark.skipif(
    not EXAMPLES_INSTALLED,
    reason="needs the example plugins installed (pip install ./plugins/msmkit-cheese-check "
    "./plugins/msmkit-attribution): entry points exist only for installed distributions",
)


def pytest_addoption(parser):
    parser.addoption(
        "--fast",
        action="store_true",
        help="the fast tier: skip tests marked slow (they train or evaluate a model)",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--fast"):
        return
    kept = [item for item in items if item.get_closest_marker("slow") is None]
    config.hook.pytest_deselected(items=[i for i in items if i not in kept])
    items[:] = kept


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
    """Run the real ``msmkit`` entry point in a subprocess, as a user would. A PYTHONPATH in
    ``env`` goes before this process's one (which may carry the example plugins)."""
    full_env = {**os.environ, "COLUMNS": "200", **(env or {})}
    if env and env.get("PYTHONPATH") and os.environ.get("PYTHONPATH"):
        full_env["PYTHONPATH"] = os.pathsep.join([env["PYTHONPATH"], os.environ["PYTHONPATH"]])
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
