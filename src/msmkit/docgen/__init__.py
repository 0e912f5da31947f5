"""The ``llm`` document generator: a staged LLM pipeline run as the ``llm-docs`` stage kind.

spec -> domains -> subdomains -> assertions -> document types -> ideas -> documents. Modules:
``settings`` (options), ``prompts`` (the prompt files and their safe rendering), ``parsing``
(strict output reading), ``pipeline`` (requests, journals, retries, reports), ``flow`` (the
steps in order), ``estimate`` (calls, tokens and dollars before spending), ``generator`` (the
registered generator). The stage kind is ``msmkit.stages.llm_docs``. See docs/generation.md.
"""

from msmkit.docgen.settings import DocgenSettings

__all__ = ["DocgenSettings"]
