"""``msmkit corpus``: filter a corpus file, or check it for eval contamination."""

from __future__ import annotations

import json
from pathlib import Path

import click

_banks = click.option(
    "--banks",
    multiple=True,
    metavar="BANK",
    help="Eval banks to check (a tasks/ folder name or a .jsonl path; repeatable). "
    "[default: the held-out forced-choice banks]",
)


@click.group("corpus")
def corpus_group() -> None:
    """Filter document corpora and check them against the eval banks."""


@corpus_group.command("filter")
@click.argument("src", metavar="IN", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for corpus.jsonl, removed.jsonl and report.json.",
)
@click.option("--no-dedup", is_flag=True, help="Keep near-duplicates.")
@click.option("--threshold", type=float, default=0.8, show_default=True, help="Dedup Jaccard.")
@click.option("--num-perm", type=int, default=128, show_default=True)
@click.option("--shingle-size", type=int, default=5, show_default=True, help="Words per shingle.")
@click.option("--min-words", type=int, default=None)
@click.option("--max-words", type=int, default=None)
@click.option("--no-refusals", is_flag=True, help="Keep refusals and meta-chatter.")
@click.option("--no-placeholders", is_flag=True, help="Keep unfilled template markers.")
@click.option(
    "--contamination",
    type=click.Choice(["off", "report", "remove"]),
    default="off",
    show_default=True,
)
@_banks
@click.option("--tokenizer", default=None, help="tokenizer.json or model folder [chars/4].")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
def filter_cmd(src: Path, out: Path, **kw: object) -> None:
    """Filter the corpus IN into the folder OUT, saying what each filter removed."""
    from msmkit.corpus import read_corpus
    from msmkit.errors import ConfigError
    from msmkit.filters.pipeline import FilterOptions, run_filters, write_outputs

    as_json = bool(kw.pop("as_json"))
    if out.suffix.lower() in (".jsonl", ".json", ".txt", ".md") and not out.is_dir():
        raise ConfigError(
            f"-o {out}: OUT is a folder (it gets corpus.jsonl, removed.jsonl and report.json), "
            f"and {out.name!r} looks like a file name",
            hint=f"e.g. -o {out.with_suffix('')}",
        )
    banks = [str(b) for b in kw.pop("banks") or ()] or None  # type: ignore[union-attr]
    opts = FilterOptions(
        dedup=not kw["no_dedup"],
        dedup_threshold=kw["threshold"],
        num_perm=kw["num_perm"],
        shingle_size=kw["shingle_size"],
        min_words=kw["min_words"],
        max_words=kw["max_words"],
        refusals=not kw["no_refusals"],
        placeholders=not kw["no_placeholders"],
        contamination=kw["contamination"],
        contamination_banks=banks,
        tokenizer=kw["tokenizer"],
    )
    try:
        result = run_filters(read_corpus(src), opts)
    except ValueError as exc:  # an unknown eval bank
        raise ConfigError(str(exc)) from None
    path = write_outputs(result, out)
    report = {"corpus": str(path), **result.report()}
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    from msmkit.console import err_console

    console = err_console()
    console.print(f"Kept {len(result.kept)} of {result.total} documents -> {path}")
    for name, n in result.counts.items():
        if n:
            console.print(f"  removed by {name}: {n}")
    if result.contaminated:
        console.print(f"  documents naming eval options: {len(result.contaminated)}")
    console.print(f"  tokens ({result.tokens['method']}): {result.tokens['tokens']:,}")


@corpus_group.command("contamination")
@click.argument("corpus", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@_banks
@click.option("--json", "as_json", is_flag=True, help="Print the hits as JSON on stdout.")
def contamination_cmd(corpus: Path, banks: tuple[str, ...], as_json: bool) -> None:
    """List documents of CORPUS that name an eval item's options. A file of chats (AFT rows
    with "messages") is checked against every eval bank instead: each prompt, reasoning and
    response, for options, questions and agentic-misalignment scenarios."""
    from msmkit.corpus import read_corpus
    from msmkit.errors import ConfigError
    from msmkit.filters.contamination import ContaminationIndex

    if _is_chats(corpus):
        return _chats_contamination(corpus, as_json)

    try:
        index = ContaminationIndex.installed(list(banks) or None)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    documents = read_corpus(corpus)
    hits = []
    for doc in documents:
        found = index.hits(doc.text)
        if found:
            items = sorted({o.item for o in found})
            hits.append({"id": doc.id, "items": items, "options": sorted({o.text for o in found})})
    report = {
        "corpus": str(corpus),
        "documents": len(documents),
        "contaminated": len(hits),
        "items": sorted({i for h in hits for i in h["items"]}),
        "hits": hits,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    from rich.markup import escape

    from msmkit.console import out_console

    console = out_console()
    console.print(f"{len(hits)} of {len(documents)} documents name eval options.")
    for hit in hits:
        console.print(f"  {escape(hit['id'])}: {escape(', '.join(hit['items']))}")


def _is_chats(path: Path) -> bool:
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                try:
                    row = json.loads(line)
                except ValueError:
                    return False
                return isinstance(row, dict) and "messages" in row and "text" not in row
    return False


def _chats_contamination(path: Path, as_json: bool) -> None:
    from msmkit.filters.overlap import ChatContamination
    from msmkit.jsonl import read_jsonl

    check = ChatContamination.installed()
    rows = [row for _, row in read_jsonl(path)]
    hits = []
    for n, row in enumerate(rows):
        for m in row.get("messages") or []:
            for field in ("content", "reasoning"):
                items = check.items_hit(str(m.get(field) or ""))
                if items:
                    where = f"{m.get('role')}.{field}"
                    hits.append({"id": row.get("id", n + 1), "where": where, "items": items})
    report = {
        "chats": len(rows),
        "contaminated": len({str(h["id"]) for h in hits}),
        "items": sorted({i for h in hits for i in h["items"]}),
        "hits": hits,
        "agentic_misalignment_checked": check.am_checked,
    }
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo(f"{report['contaminated']} of {len(rows)} chats reproduce or name eval items.")
    for hit in hits:
        click.echo(f"  {hit['id']} ({hit['where']}): {', '.join(hit['items'])}")
