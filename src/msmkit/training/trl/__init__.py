"""The ``trl`` training backend, split by role.

``options`` (TRLOptions, defaults, reserved keys), ``fields`` (option values against the
config dataclasses' types), ``configs`` (SFTConfig/LoraConfig), ``models`` (model refs and
loading), ``templates`` (chat templates, end tokens), ``tokens`` (rows and token counts),
``train`` (the trainer run and saving) and ``backend`` (TRLBackend). Importing any of them
pulls in no heavy library.
"""

from msmkit.training.trl.backend import TRLBackend
from msmkit.training.trl.models import ModelRef, load_model, load_tokenizer, resolve_model_ref
from msmkit.training.trl.options import TRLOptions
from msmkit.training.trl.templates import check_chat_template, resolve_doc_eos
from msmkit.training.trl.tokens import check_counts, tokenize_documents
from msmkit.training.trl.train import MANIFEST_NAME

__all__ = [
    "MANIFEST_NAME",
    "ModelRef",
    "TRLBackend",
    "TRLOptions",
    "check_chat_template",
    "check_counts",
    "load_model",
    "load_tokenizer",
    "resolve_doc_eos",
    "resolve_model_ref",
    "tokenize_documents",
]
