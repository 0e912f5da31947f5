"""Every hook is documented with its exact signature, and has a test."""

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


def test_there_are_six_hooks():
    assert sorted(HOOKS) == [
        "register_commands",
        "register_doc_generators",
        "register_eval_tasks",
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
