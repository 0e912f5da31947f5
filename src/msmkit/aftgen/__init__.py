"""AFT demonstrations from a spec: the ``llm-aft`` stage kind's pipeline, and the small
pieces around it (see docs/aft-data.md).

spec -> conversation domains -> user prompts per (domain, kind), near-duplicates and eval
items removed -> responses in a style (``value``, ``rule``, or written from another spec) with
a reasoning part in its own field -> a grader's PASS/FAIL/UNCLEAR -> backfill rounds until the
target is reached -> the with-reasoning and no-reasoning sets, item for item.

Modules: ``settings``, ``prompts`` (and the bundled ``prompts/*.md``), ``parsing``,
``pipeline`` (each step's requests), ``flow`` (the steps in order), ``write`` (the delivered
sets), ``estimate`` (calls and dollars before spending), ``checks`` (plan-time checks and the
executors), ``subsets`` (nested subsets and mixes of a chat set), ``offline`` (a deterministic
generator for structured specs, and opaque preference sets), ``generator`` (the registered
``llm-aft`` generator).
"""

from msmkit.aftgen.settings import AftgenSettings

__all__ = ["AftgenSettings"]
