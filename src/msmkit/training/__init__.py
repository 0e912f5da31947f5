"""Training: the tiny test-model builder and the TRL training backend.

Importing this package is cheap; torch and the Hugging Face stack load only when a model is
built or trained.
"""

from msmkit.training.tiny import TinyModelSettings, build_tiny_model
from msmkit.training.trl import MANIFEST_NAME, TRLBackend, TRLOptions

__all__ = ["MANIFEST_NAME", "TRLBackend", "TRLOptions", "TinyModelSettings", "build_tiny_model"]
