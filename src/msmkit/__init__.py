"""msmkit: Model Spec Midtraining research toolkit.

Importing msmkit is cheap: torch, transformers, trl, peft and provider SDKs are imported
only by the code paths that train or call models.
"""

from msmkit.hookspecs import hookimpl

__version__ = "0.1.0"

__all__ = ["__version__", "hookimpl"]
