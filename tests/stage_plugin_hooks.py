"""The run-machinery test plugin as a module of hooks, for processes that load it through
``MSMKIT_PLUGINS=test-plugin=stage_plugin_hooks`` (a stage run by an executor elsewhere)."""

from __future__ import annotations

from stage_plugins import TestPlugin

import msmkit

_plugin = TestPlugin()


@msmkit.hookimpl
def register_training_backends(register):
    _plugin.register_training_backends(register)


@msmkit.hookimpl
def register_executors(register):
    _plugin.register_executors(register)


@msmkit.hookimpl
def register_doc_generators(register):
    _plugin.register_doc_generators(register)


@msmkit.hookimpl
def register_eval_tasks(register):
    _plugin.register_eval_tasks(register)


@msmkit.hookimpl
def register_stage_kinds(register):
    _plugin.register_stage_kinds(register)
