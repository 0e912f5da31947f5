"""The hooks a plugin can implement.

A plugin is a module (or object) with functions decorated by ``msmkit.hookimpl`` whose names
match the hooks below. Each ``register_*`` hook receives a ``register`` callable; call it once
per component::

    import msmkit

    @msmkit.hookimpl
    def register_spec_variants(register):
        register(MyVariant())

Installed plugins are found through the ``msmkit`` entry-point group. msmkit's own built-in
components are registered through these same hooks (see ``msmkit.default_plugins``).
Hooks are called lazily, once per process, the first time a component of that kind is needed.
Names must be unique across plugins: a second registration of a name is an error that names
both plugins. ``docs/plugins.md`` documents every hook; a test keeps the two in sync.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pluggy

hookspec = pluggy.HookspecMarker("msmkit")
hookimpl = pluggy.HookimplMarker("msmkit")

Register = Callable[..., None]
"""``register(component, *, aliases=())``: add one component to a registry."""


@hookspec
def register_spec_variants(register: Register) -> None:
    """Register spec variants (``msmkit.components.SpecVariant``): named transformations
    of a spec, e.g. rewriting who the spec speaks of, or dropping explanations."""


@hookspec
def register_doc_generators(register: Register) -> None:
    """Register document generators (``msmkit.components.DocGenerator``) that turn a spec
    into a corpus of documents discussing it."""


@hookspec
def register_training_backends(register: Register) -> None:
    """Register training backends (``msmkit.components.TrainingBackend``) that midtrain on
    documents and fine-tune on demonstrations. Import heavy libraries inside ``train``."""


@hookspec
def register_eval_tasks(register: Register) -> None:
    """Register eval tasks (``msmkit.components.EvalTask``): Inspect ``@task`` functions that
    ``msmkit run`` may evaluate checkpoints with."""


@hookspec
def register_stage_kinds(register: Register) -> None:
    """Register stage kinds (``msmkit.stagekit.StageKind``): the steps a run is made of
    (generate a corpus, train, evaluate, ...). An experiment names a plugin kind in its
    ``stages:`` list; its inputs are validated and fingerprinted like the built-in kinds'."""


@hookspec
def register_executors(register: Register) -> None:
    """Register executors (``msmkit.executors.Executor``): where a stage's heavy work runs
    (in process, a child process, ``accelerate launch``, a cluster job). A training stage
    names one in ``launch: {launcher: NAME}``."""


@hookspec
def register_commands(cli: Any) -> None:
    """Add subcommands to the ``msmkit`` CLI. ``cli`` is the root ``click.Group``."""
