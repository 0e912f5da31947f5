"""``msmkit specs``: list, show, validate and compare model specs.

Results go to stdout, warnings and progress to stderr. Spec problems raise ``SpecError``;
the root CLI turns it into a short message and exit code 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from msmkit.errors import SpecError
from msmkit.spec import (
    Spec,
    diff_specs,
    list_specs,
    load_spec,
    spec_search_path,
)
from msmkit.spec.parse import PROSE_SUFFIXES

if TYPE_CHECKING:
    from rich.console import Console


def _console(*, stderr: bool = False) -> Console:
    from rich.console import Console

    return Console(stderr=stderr, highlight=False, soft_wrap=False)


_BLOCK_START = ("-", "*", "+", "#", "|", ">", "```", "~~~")


def _reflow(text: str) -> str:
    """Join hard-wrapped prose lines so the terminal can wrap them; leave lists, tables,
    quotes and code alone."""
    paragraphs = []
    for block in text.split("\n\n"):
        lines = block.split("\n")
        structured = any(
            line.startswith((" ", "\t")) or line.lstrip().startswith(_BLOCK_START) for line in lines
        ) or any(line[:1].isdigit() and ". " in line[:4] for line in lines)
        paragraphs.append(block if structured else " ".join(line.strip() for line in lines))
    return "\n\n".join(paragraphs)


def _summary(spec: Spec) -> dict[str, object]:
    return {
        "name": spec.name,
        "title": spec.meta.title,
        "subject": spec.subject,
        "version": spec.meta.version,
        "principles": len(spec.principles),
        "description": spec.meta.description,
        "tags": list(spec.meta.tags),
        "hash": spec.hash,
        "path": str(spec.path) if spec.path else None,
    }


@click.group("specs")
def specs() -> None:
    """Find, inspect, validate and compare model specs."""


@specs.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list instead of a table.")
def list_command(as_json: bool) -> None:
    """List the specs on the search path ($MSMKIT_SPECS_PATH, ./specs, bundled)."""
    from rich.markup import escape

    errors: list[SpecError] = []
    found = list_specs(errors=errors)
    err = _console(stderr=True)
    for error in errors:
        err.print(f"[yellow]warning:[/] skipped invalid spec {escape(str(error))}")
    if as_json:
        click.echo(json.dumps([_summary(s) for s in found], indent=2, ensure_ascii=False))
        return
    if not found:
        looked = ", ".join(str(d) for d in spec_search_path())
        err.print(f"no specs found (looked in: {looked})")
        return
    from rich.table import Table

    table = Table(title="Specs")
    table.add_column("name", style="bold", no_wrap=True)
    table.add_column("subject")
    table.add_column("version", no_wrap=True)
    table.add_column("principles", justify="right")
    table.add_column("path", overflow="fold")
    for spec in found:
        table.add_row(
            spec.name,
            spec.subject,
            spec.meta.version,
            str(len(spec.principles)),
            _short(spec.path),
        )
    _console().print(table)


def _short(path: Path | None) -> str:
    """A path relative to the current folder when it is below it."""
    if path is None:
        return ""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@specs.command("show")
@click.argument("name_or_path")
@click.option("--raw", is_flag=True, help="Print the spec's Markdown instead.")
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Show the spec with a variant applied (repeatable, applied in order). Options are "
    "KEY=VALUE pairs after a colon, values in YAML: --variant rules-only, "
    "--variant 'attribution:subject=AI systems,plural=true'. See `msmkit list variants`.",
)
def show_command(name_or_path: str, raw: bool, variants: tuple[str, ...]) -> None:
    """Show one spec: its metadata, then each principle.

    With --variant, the spec is shown as the variant(s) make it, with its lineage (one line
    per variant applied). --raw then prints the variant's Markdown (what a run records as
    spec.md) and the lineage on stderr.
    """
    spec = load_spec(name_or_path)
    if variants:
        from msmkit.variants import apply_variants, parse_variant_ref

        spec = apply_variants(spec, [parse_variant_ref(text) for text in variants])
    if raw:
        if variants:
            text = spec.render()
            for line in spec.lineage:
                click.echo(f"lineage: {line}", err=True)
        else:
            text = spec.path.read_text(encoding="utf-8") if spec.path else spec.render()
        click.echo(text, nl=not text.endswith("\n"))
        return
    _show(spec, with_lineage=bool(variants))


def _show(spec: Spec, *, with_lineage: bool) -> None:
    from rich.markup import escape
    from rich.padding import Padding
    from rich.panel import Panel

    meta = spec.meta
    lines = [
        f"[bold]{escape(meta.title)}[/]",
        f"name: {escape(meta.name)}    version: {escape(meta.version)}    "
        f"subject: {escape(meta.subject)}",
        escape(meta.description),
    ]
    if meta.tags:
        lines.append("tags: " + escape(", ".join(meta.tags)))
    if with_lineage or spec.lineage:
        lines.append("lineage:")
        lines += [f"  {index}. {escape(line)}" for index, line in enumerate(spec.lineage, 1)]
        if not spec.lineage:
            lines.append("  (none: the variants recorded no lineage)")
    lines.append(f"[dim]{escape(str(spec.path or ''))}  sha256 {spec.hash[:16]}[/]")
    out = _console()
    out.print(Panel("\n".join(lines), expand=False))
    if spec.preamble:
        out.print(escape(_reflow(spec.preamble)) + "\n")
    for index, principle in enumerate(spec.principles, 1):
        out.print(f"[bold cyan]{index}. {escape(principle.title)}[/] [dim]({principle.id})[/]")
        body = []
        if principle.rule:
            body.append(f"[bold]Rule:[/] {escape(principle.rule)}")
        if principle.explanation:
            label = "[bold]Why:[/] " if principle.rule else ""
            body.append(label + escape(_reflow(principle.explanation)))
        out.print(Padding("\n".join(body), (0, 0, 1, 3), expand=False))


@specs.command("validate")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def validate_command(paths: tuple[Path, ...]) -> None:
    """Check spec files (or every spec file in a directory: *.md, *.markdown, *.txt)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = [
                p
                for p in sorted(path.iterdir())
                if p.suffix.lower() in PROSE_SUFFIXES and p.stem.lower() != "readme"
            ]
            if not found:
                raise SpecError(
                    f"no spec files found in {path}",
                    hint="spec files are .md, .markdown or .txt files directly in the folder "
                    "(README is skipped); see docs/specs.md",
                )
            files.extend(found)
        else:
            files.append(path)
    failures: list[SpecError] = []
    for file in files:
        try:
            spec = load_spec(file)
        except SpecError as exc:
            failures.append(exc)
            if len(files) > 1:
                click.echo(f"error: {exc}", err=True)
            continue
        if spec.is_prose:
            click.echo(f"ok: {file} (prose spec: {spec.word_count} words, name '{spec.name}')")
            continue
        click.echo(f"ok: {file} ({len(spec.principles)} principles)")
        if file.stem != spec.name:
            click.echo(
                f"warning: {file} declares name '{spec.name}'; name the file "
                f"{spec.name}.md so 'load_spec(\"{spec.name}\")' finds it directly",
                err=True,
            )
    if len(failures) == 1:
        raise failures[0]
    if failures:
        first = failures[0]
        raise SpecError(
            f"{len(failures)} of {len(files)} spec files are invalid (see the errors above)",
            path=first.path,
            line=first.line,
            field=first.field,
            hint=first.hint,
        )


@specs.command("diff")
@click.argument("a")
@click.argument("b", required=False)
@click.option(
    "--variant",
    "variants",
    multiple=True,
    metavar="NAME[:KEY=VALUE,...]",
    help="Apply a variant to B (repeatable, in order); without B, compare A with A after "
    "the variants: msmkit specs diff pro-america --variant voice:to=normative.",
)
def diff_command(a: str, b: str | None, variants: tuple[str, ...]) -> None:
    """Compare two specs (names or paths): summary of changes, then a unified diff.

    With --variant, B (or A itself when B is not given) is taken after the variants, and
    their lineage lines are printed first."""
    if b is None and not variants:
        raise click.UsageError("give a second spec B, or --variant to compare A with a variant")
    first = load_spec(a)
    second = load_spec(b) if b is not None else first
    if variants:
        from msmkit.variants import apply_variants, parse_variant_ref

        second = apply_variants(second, [parse_variant_ref(text) for text in variants])
        for line in second.lineage:
            click.echo(f"lineage: {line}")
    click.echo(diff_specs(first, second), nl=False)
