"""``msmkit evals``: checks on eval banks themselves (``audit``: can a bank be passed without
the value?)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


@click.group("evals")
def evals_group() -> None:
    """Checks on msmkit's eval banks, or on your own."""


@evals_group.command("audit")
@click.argument("bank", default="value_generalization")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option(
    "--band",
    default=0.05,
    show_default=True,
    type=click.FloatRange(min=0.0, max=0.5),
    help="How far from 0.5 a meaning-blind policy may land on any rate.",
)
@click.option(
    "--keywords",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON {"<value>": {"aligned": [words], "other": [words]}} for the keyword reading '
    "and kept out of the classifier (default: a bundled bank's keywords.json, else the "
    "built-in affordability and America lists).",
)
def audit_cmd(bank: str, as_json: bool, band: float, keywords: Path | None) -> None:
    """Run answer policies that ignore meaning through the task's real scorer on BANK.

    BANK is a bundled bank (value_generalization, the default, or ood_environment,
    ood_novelty, ood_tradition, ood_simplicity, ood_difficulty, ood_individualism) or a
    JSONL file with the same fields (id, value, domain, aligned, other; optional question,
    conflict, against, aligned_first). Shorter, longer, first, second (both orders and one
    order) and a cross-validated classifier on value-agnostic features must each land
    within 0.5 ± band on every reported rate; the keyword and price readings are
    informational. Exits with status 1 when a required policy is outside the band.
    """
    from msmkit.evals.audit import audit_bank, load_keywords, report_lines

    words = load_keywords(keywords) if keywords else None
    report = audit_bank(bank, band=band, keywords=words)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for line in report_lines(report):
            click.echo(line)
    if not report.ok:
        sys.exit(1)
