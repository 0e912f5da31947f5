"""``msmkit draft``: model-written drafts for a person to review before use.

Created with the spec-eval drafting commands (``questions``, ``probes``, defined in
:mod:`msmkit.cli.draft_spec`); other drafting commands attach to ``draft_group`` too.
"""

from __future__ import annotations

import click

from msmkit.cli.draft_spec import draft_probes_cmd, draft_questions_cmd

__all__ = ["draft_group"]


@click.group("draft")
def draft_group() -> None:
    """Draft items (eval questions, probes, ...) with a model, for review before use."""


draft_group.add_command(draft_questions_cmd)
draft_group.add_command(draft_probes_cmd)
