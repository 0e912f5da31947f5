"""Every hook is documented with its exact signature, and has a test; docs/plugins.md lists
every built-in component and command."""

from __future__ import annotations

import inspect
import re

from conftest import REPO

from msmkit import hookspecs

HOOKS = [
    name
    for name, fn in vars(hookspecs).items()
    if name.startswith("register_") and inspect.isfunction(fn)
]


def test_there_are_seven_hooks():
    assert sorted(HOOKS) == [
        "register_commands",
        "register_doc_generators",
        "register_eval_tasks",
        "register_executors",
        "register_spec_variants",
        "register_stage_kinds",
        "register_training_backends",
    ]


def test_every_hook_is_documented_with_its_signature():
    docs = (REPO / "docs" / "plugins.md").read_text()
    for name in HOOKS:
        params = ", ".join(inspect.signature(getattr(hookspecs, name)).parameters)
        assert f"### `{name}({params})`" in docs, f"docs/plugins.md lacks {name}({params})"
        assert getattr(hookspecs, name).__doc__, f"{name} has no docstring"


def test_every_hook_has_a_test():
    tests = "\n".join(p.read_text() for p in (REPO / "tests").glob("test_*.py"))
    for name in HOOKS:
        assert re.search(rf"def test_hook_{name}\b", tests), f"no test_hook_{name} test"


def _doc_table(docs: str, kind: str) -> dict[str, list[str]]:
    """The rows (name -> other cells) of the table under the heading naming ``msmkit list
    KIND`` in docs/plugins.md."""
    heading = re.search(rf"^### .*\(`msmkit list {kind}`\)$", docs, re.M)
    assert heading, f"docs/plugins.md has no section for the built-in {kind}"
    rows: dict[str, list[str]] = {}
    for line in docs[heading.end() :].lstrip("\n").splitlines():
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        name = re.fullmatch(r"`([^`]+)`", cells[0])
        if name:
            rows[name.group(1)] = [c.strip("`") for c in cells[1:]]
    return rows


def test_docs_list_every_builtin_component(fresh_plugins):
    from msmkit.registry import HOOKS, get_registry

    docs = (REPO / "docs" / "plugins.md").read_text()
    for kind in HOOKS:
        builtin = {
            e.name: e.plugin
            for e in get_registry(kind).entries()  # type: ignore[arg-type]
            if fresh_plugins.plugin_info(e.plugin).builtin
        }
        documented = {name: cells[0] for name, cells in _doc_table(docs, kind).items()}
        assert documented == builtin, f"built-in {kind}: docs/plugins.md is out of date"


def test_docs_list_every_builtin_command(fresh_plugins):
    from msmkit.cli import make_cli

    cli = make_cli()
    builtin = {name for name, (_, plugin) in cli.providers.items() if plugin is None}
    assert {"run", "plan", "plugins", "list"} <= builtin
    assert set(_doc_table((REPO / "docs" / "plugins.md").read_text(), "commands")) == builtin
