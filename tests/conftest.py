from __future__ import annotations

import importlib.metadata
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
# subprocesses (PYTHONPATH), so the suite needs nothing installed outside the repo. Either way
# their source folders go first on the path, so the suite tests the repo's plugin code even
# when an older copy is installed (the installed entry point then imports the source).
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
_sources = [str(src) for _, src in EXAMPLE_PLUGINS.values()]
sys.path[:0] = _sources
os.environ["PYTHONPATH"] = os.pathsep.join(
    [*_sources, *filter(None, [os.environ.get("PYTHONPATH")])]
)
if _MISSING:
    os.environ["MSMKIT_PLUGINS"] = ",".join(
        [
            *filter(None, [os.environ.get("MSMKIT_PLUGINS")]),
            *(f"{name}={module}" for name, (module, _) in _MISSING.items()),
        ]
    )


def _attribution_release() -> tuple[str, str]:
    """How msmkit names the attribution example's release: the installed distribution and
    its version, else the module it was loaded from (MSMKIT_PLUGINS) and its __version__."""
    if "attribution" not in _MISSING:
        version = importlib.metadata.version("msmkit-attribution")
        return f"msmkit-attribution {version}", version
    import msmkit_attribution

    return f"msmkit_attribution {msmkit_attribution.__version__}", msmkit_attribution.__version__


ATTRIBUTION_RELEASE, ATTRIBUTION_VERSION = _attribution_release()
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
