"""The example third-party plugin in plugins/msmkit-cheese-check.

Installed by the README's test command; without the install, conftest puts its source on
the path and loads it through MSMKIT_PLUGINS, and only the test of the installed entry points
is skipped (with its reason).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import msmkit_cheese_check as plugin
import pluggy
import pytest
import tomllib
from conftest import NEEDS_INSTALLED_EXAMPLES

import msmkit
from msmkit import hookspecs
from msmkit.components import EvalTask

REPO = Path(__file__).resolve().parents[1]


def test_hookimpl_registers_the_task() -> None:
    registered: list = []
    plugin.register_eval_tasks(register=registered.append)
    [entry] = registered
    assert isinstance(entry, EvalTask)
    assert entry.name == "cheese_preferences"
    assert entry.description
    assert entry.load().__name__ == "cheese_preferences"


def test_hookimpl_matches_msmkit_hookspec() -> None:
    """Registered on a bare pluggy manager, as msmkit's own manager would."""
    pm = pluggy.PluginManager("msmkit")
    pm.add_hookspecs(hookspecs)
    pm.register(plugin, name="cheese_check")
    pm.check_pending()  # a misspelt hook name would fail here
    registered: list = []
    pm.hook.register_eval_tasks(register=registered.append)
    assert [e.name for e in registered] == ["cheese_preferences"]
    assert msmkit.hookimpl is hookspecs.hookimpl


def test_entry_points_are_declared_in_pyproject() -> None:
    """Inspect's rule: the ``inspect_ai`` entry-point name is the package (import) name, so
    ``inspect eval msmkit_cheese_check/cheese_preferences`` loads just that entry point."""
    project = tomllib.loads(
        (REPO / "plugins" / "msmkit-cheese-check" / "pyproject.toml").read_text()
    )["project"]
    assert project["entry-points"]["msmkit"] == {"cheese_check": "msmkit_cheese_check"}
    [(name, value)] = project["entry-points"]["inspect_ai"].items()
    assert name == plugin.__name__ == value.split(".")[0]
    assert value == "msmkit_cheese_check._registry"


@NEEDS_INSTALLED_EXAMPLES
def test_entry_points_are_installed() -> None:
    [ep] = [e for e in entry_points(group="msmkit") if e.name == "cheese_check"]
    assert ep.load() is plugin
    [ep] = [e for e in entry_points(group="inspect_ai") if e.name == "msmkit_cheese_check"]
    assert ep.value == "msmkit_cheese_check._registry"


def test_importing_the_plugin_does_not_import_inspect() -> None:
    code = "import sys, msmkit_cheese_check; print('inspect_ai' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_items_are_held_out_from_aft() -> None:
    from msmkit_cheese_check.task import STEMS, cheese_items

    items = cheese_items()
    assert len(items) == 36
    assert len({(i.aligned, i.other) for i in items}) == 36
    aft_questions = [
        json.loads(line)["messages"][0]["content"].lower()
        for line in (REPO / "data" / "aft" / "cheese.jsonl").read_text("utf-8").splitlines()
    ]
    for stem in STEMS:
        assert not any(stem.lower() in q for q in aft_questions), stem


@pytest.mark.slow
def test_task_end_to_end_with_mockllm(tmp_path: Path) -> None:
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import ModelOutput, ModelUsage, get_model
    from msmkit_cheese_check.task import cheese_preferences

    task = cheese_preferences()
    samples = list(task.dataset)
    assert len(samples) == 72
    by_prompt = {s.input: s for s in samples}

    def respond(messages, tools, tool_choice, config):
        # the liked cheese every time, except that Stilton always wins its pairs
        sample = by_prompt[messages[-1].text]
        liked = sample.target
        letter = liked if "Stilton" not in sample.input else "AB"[liked == "A"]
        output = ModelOutput.from_content(model="mockllm/model", content=f"{letter})")
        output.usage = ModelUsage(input_tokens=5, output_tokens=1, total_tokens=6)
        return output

    [log] = inspect_eval(
        task,
        model=get_model("mockllm/model", custom_outputs=respond),
        log_dir=str(tmp_path),
        display="none",
    )
    assert log.status == "success"
    metrics = {k: m.value for k, m in log.results.scores[0].metrics.items()}
    # 6 Stilton pairs x 2 orders answered against the preference
    assert metrics["cheese_rate"] == pytest.approx(60 / 72)
    assert metrics["cheese_n"] == 36  # items: the two orders of a pair are one unit
    assert metrics["a_rate"] == pytest.approx(0.5)  # both orders: A and B equally often
    assert metrics["decided_rate"] == 1.0
