"""msmkit: Model Spec Midtraining research toolkit.

Importing msmkit is cheap: torch, transformers, trl, peft and provider SDKs are imported
only by the code paths that train or call models. ``msmkit.run_experiment`` and
``msmkit.Run`` (``msmkit.run.api``) run an experiment from Python.
"""

from typing import Any

from msmkit.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["Run", "__version__", "hookimpl", "run_experiment"]


def __getattr__(name: str) -> Any:
    if name in ("Run", "run_experiment", "RunResult"):
        from msmkit.run import api

        return getattr(api, name)
    raise AttributeError(f"module 'msmkit' has no attribute {name!r}")
