"""Built-in stage kinds, registered through the same hook as a plugin's."""

from msmkit.hookspecs import hookimpl
from msmkit.stages.aft_data import AFTMixKind, AFTSubsetKind, OfflineAFTKind, SpecFileKind
from msmkit.stages.corpus import CorpusKind
from msmkit.stages.evaluate import EvalKind
from msmkit.stages.filter import FilterKind
from msmkit.stages.llm_aft import LLMAftKind
from msmkit.stages.llm_docs import LLMDocsKind
from msmkit.stages.llm_spec import LLMSpecKind
from msmkit.stages.sizes import ChatsMatchKind, CorpusMatchKind, CorpusSubsetKind
from msmkit.stages.spec import SpecKind
from msmkit.stages.tiny_base import TinyBaseKind
from msmkit.stages.train import AFTKind, MidtrainKind


@hookimpl
def register_stage_kinds(register):
    for kind in (SpecKind(), CorpusKind(), TinyBaseKind(), MidtrainKind(), AFTKind(), EvalKind()):
        register(kind)
    register(FilterKind())
    register(LLMDocsKind())
    register(LLMAftKind())
    register(LLMSpecKind())
    for kind in (AFTSubsetKind(), AFTMixKind(), OfflineAFTKind(), SpecFileKind()):
        register(kind)
    for kind in (CorpusSubsetKind(), CorpusMatchKind(), ChatsMatchKind()):
        register(kind)
