"""``msmkit draft questions SPEC`` and ``msmkit draft probes SPEC``: banks for review.

Both draft items for any spec with an API model through Inspect's model layer and write them
as JSON Lines with ``"status": "draft"``. ``msmkit/spec_qa`` and ``msmkit/spec_knowledge``
refuse the file until every row has been read and set to ``"status": "reviewed"``.
Inspect is imported only when a command runs, so ``msmkit --help`` stays fast.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import click

__all__ = ["draft_probes_cmd", "draft_questions_cmd"]

T = TypeVar("T")

_MODEL_HELP = "Inspect model that writes the drafts, e.g. openai/gpt-4o or anthropic/<model>."


def _split(value: str | None) -> list[str] | None:
    if not value:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def _report(kind: str, count: int, dropped: int, out: Path) -> None:
    dropped_note = f" ({dropped} dropped)" if dropped else ""
    click.echo(f"wrote {count} draft {kind} to {out}{dropped_note}")
    click.echo('Review every row and set "status": "reviewed" before evaluating with it.')


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@click.command("questions")
@click.argument("spec")
@click.option("--model", "-m", required=True, help=_MODEL_HELP)
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="JSONL file.")
@click.option("--per-dimension", "-n", default=4, show_default=True, type=click.IntRange(1, 50))
@click.option("--dimensions", "-d", default=None, help="Comma-separated question dimensions.")
@click.option("--max-tokens", default=4096, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def draft_questions_cmd(
    spec: str,
    model: str,
    out: Path,
    per_dimension: int,
    dimensions: str | None,
    max_tokens: int,
    force: bool,
) -> None:
    """Draft open spec_qa questions for SPEC (a name or a path) with an API model."""
    from inspect_ai.model import GenerateConfig

    from msmkit.errors import ConfigError
    from msmkit.evals.spec_knowledge.banks import resolve_spec, write_bank
    from msmkit.evals.spec_knowledge.drafting import draft_questions

    loaded = resolve_spec(spec)
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists", hint="Pass --force to replace it.")
    result = _run(
        draft_questions(
            loaded,
            model,
            per_dimension=per_dimension,
            dimensions=_split(dimensions),
            config=GenerateConfig(max_tokens=max_tokens),
        )
    )
    if not result.rows:
        raise ConfigError(
            f"the model returned no usable questions ({result.dropped} dropped)",
            hint="Try another model or a larger --max-tokens.",
        )
    write_bank(out, result.rows, overwrite=force)
    _report("questions", len(result.rows), result.dropped, out)


@click.command("probes")
@click.argument("spec")
@click.option("--model", "-m", required=True, help=_MODEL_HELP)
@click.option("--out", "-o", type=click.Path(path_type=Path), required=True, help="JSONL file.")
@click.option("--per-principle", "-n", default=3, show_default=True, type=click.IntRange(1, 20))
@click.option("--principles", "-p", default=None, help="Comma-separated principle ids.")
@click.option("--max-tokens", default=4096, show_default=True, type=int)
@click.option("--force", is_flag=True, help="Replace --out if it exists.")
def draft_probes_cmd(
    spec: str,
    model: str,
    out: Path,
    per_principle: int,
    principles: str | None,
    max_tokens: int,
    force: bool,
) -> None:
    """Draft four-option spec_knowledge probes for SPEC (a name or a path) with an API model."""
    from inspect_ai.model import GenerateConfig

    from msmkit.errors import ConfigError
    from msmkit.evals.spec_knowledge.banks import resolve_spec, write_bank
    from msmkit.evals.spec_knowledge.drafting import draft_probes

    loaded = resolve_spec(spec)
    wanted = _split(principles)
    unknown = sorted(set(wanted or ()) - {p.id for p in loaded.principles})
    if unknown:
        raise ConfigError(
            f"spec {loaded.name!r} has no principle {', '.join(unknown)}",
            hint=f"Principles: {', '.join(p.id for p in loaded.principles)}.",
        )
    if out.exists() and not force:
        raise ConfigError(f"{out} already exists", hint="Pass --force to replace it.")
    result = _run(
        draft_probes(
            loaded,
            model,
            per_principle=per_principle,
            principles=wanted,
            config=GenerateConfig(max_tokens=max_tokens),
        )
    )
    if not result.rows:
        raise ConfigError(
            f"the model returned no usable probes ({result.dropped} dropped)",
            hint="Try another model or a larger --max-tokens.",
        )
    write_bank(out, result.rows, overwrite=force)
    _report("probes", len(result.rows), result.dropped, out)
