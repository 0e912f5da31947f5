"""The prompt files of ``llm-spec`` (``msmkit/specgen/prompts/``) and their placeholders.

``system`` (the spec block every request shares, so the provider caches it); ``value`` and
``value_more`` (an explanation for a rule, and one more paragraph of it); ``rule`` and
``rule_more`` (sub-rules for a rule, and more of them); ``invert`` and ``invert_preamble``
(a section, and the title, description and opening text, with the stance inverted). A
``prompts_dir`` overrides any file, file by file.
"""

from __future__ import annotations

from pathlib import Path

from msmkit.genkit.prompts import PromptSet, load_prompt_set

BUNDLED = Path(__file__).parent / "prompts"
COMMON = ("spec_name", "subject_name", "extra_instructions", "count")
FILES: dict[str, tuple[str, ...]] = {
    "system": ("spec",),
    "value": ("title", "rule", "existing", "words", "paragraphs"),
    "value_more": ("title", "rule", "written", "words"),
    "rule": ("title", "rule", "words_each"),
    "rule_more": ("title", "rule", "written", "words_each"),
    "invert": ("title", "section", "words", "reply_format"),
    "invert_preamble": ("title", "description", "section", "words", "reply_format"),
}
USED = {
    "value": ("system", "value", "value_more"),
    "rule": ("system", "rule", "rule_more"),
    "invert": ("system", "invert", "invert_preamble"),
}


def load_prompts(prompts_dir: str | Path | None = None, augment: str | None = None) -> PromptSet:
    """The prompt files (those ``augment`` uses, or all), checked; ConfigError naming a bad
    one."""
    names = USED[augment] if augment else tuple(FILES)
    return load_prompt_set(BUNDLED, {n: FILES[n] for n in names}, COMMON, prompts_dir)
