"""Corpus filters: dedup, rules, contamination, the ``msmkit corpus`` CLI and the ``filter``
stage end to end."""

from __future__ import annotations

import json

from click.testing import CliRunner

from msmkit.corpus import CorpusWriter, Document, read_corpus
from msmkit.filters import FilterOptions, run_filters
from msmkit.filters.contamination import ContaminationIndex
from msmkit.filters.dedup import find_near_duplicates
from msmkit.filters.rules import placeholder_filter, refusal_filter

BASE = (
    "The village market opens at dawn every Saturday and farmers bring crates of apples, "
    "pears, carrots and fresh bread from the hills, while children run between the stalls "
    "and the baker sells warm rolls to anyone who arrives before the church bell rings nine "
    "times across the quiet square near the old stone fountain. By noon the crowd thins, "
    "the fishmonger packs his ice into wooden boxes, the flower seller gives away the last "
    "tulips to the regulars, and the musicians who play by the town hall steps count their "
    "coins, fold their chairs and walk home along the river path under the tall poplars, "
    "talking about the weather, the harvest and the long winter that everyone expects."
)
OTHER = (
    "Quantum computers use qubits that can hold superpositions of states, and researchers "
    "are building error correcting codes so that long computations survive the noise that "
    "real hardware introduces into every delicate operation performed in the laboratory."
)


def doc(i: str, text: str) -> Document:
    return Document(i, text, "note", None, "s", "h" * 64, "hand", "1", {})


def corpus(tmp_path, texts: dict[str, str]):
    path = tmp_path / "in.jsonl"
    with CorpusWriter(path) as writer:
        for i, text in texts.items():
            writer.write(doc(i, text))
    return path


def test_dedup_removes_one_word_paraphrase_keeps_first():
    changed = BASE.replace("apples", "plums")
    result = find_near_duplicates([BASE, OTHER, changed, BASE])
    assert result.duplicates == {2: 0, 3: 0}
    assert result.groups(["a", "b", "c", "d"]) == [{"kept": "a", "removed": ["c", "d"]}]


def test_dedup_is_deterministic_and_keeps_distinct():
    texts = [BASE, OTHER, BASE.replace("Saturday", "Sunday").replace("nine", "ten")]
    first = find_near_duplicates(texts).duplicates
    assert first == find_near_duplicates(texts).duplicates
    assert 1 not in first


def test_refusal_and_placeholder_patterns():
    refusal = refusal_filter()
    for text in (
        "I'm sorry, but I can't help with that request.",
        "As an AI language model, I do not have opinions on cheese.",
        "Sure! Here's a document about cheddar:\n\nCheddar is...",
        "Here is a blog post about Colby cheese. Colby is...",
    ):
        assert refusal.match(text), text
    for text in (BASE, "Cheddar is cheap. Here is why that matters to families."):
        assert refusal.match(text) is None, text
    placeholder = placeholder_filter()
    for text in (
        "Dear [Name], thank you.",
        "Hello {placeholder}!",
        "<insert quote here>",
        "Lorem ipsum dolor sit amet",
        "TODO: finish",
        "Call XXX today",
    ):
        assert placeholder.match(text), text
    for text in (BASE, "See reference [1] and my todo list from 2020."):
        assert placeholder.match(text) is None, text


def test_contamination_hits_option_and_not_unrelated():
    index = ContaminationIndex.installed(["value_generalization"])
    hit = "At the shop I found a cordless drill with a hardware chain's own label on it."
    assert index.items_hit(hit) == ["value_generalization/aff-tools-001"]
    assert index.items_hit(BASE) == []
    assert index.items_hit(OTHER) == []
    # words spread over sentences do not count
    spread = "A cordless one. A drill. With a hardware chain. Its own label."
    assert index.items_hit(spread) == []


def test_run_filters_report_counts():
    texts = {
        "a": BASE,
        "b": BASE.replace("apples", "plums"),
        "c": "I'm sorry, but I cannot write that document. " + OTHER,
        "d": "Dear [Name], " + OTHER,
        "e": "too short",
        "f": OTHER,
        "g": "I bought a cordless drill with a hardware chain's own label. " + OTHER[:80],
    }
    opts = FilterOptions(
        min_words=5, contamination="remove", contamination_banks=["value_generalization"]
    )
    result = run_filters([doc(i, t) for i, t in texts.items()], opts)
    assert [d.id for d in result.kept] == ["a", "f"]
    assert result.counts == {
        "length": 1,
        "refusal": 1,
        "placeholder": 1,
        "contamination": 1,
        "dedup": 1,
    }
    reasons = {row["id"]: row["reason"] for row in result.removed}
    assert reasons == {
        "b": "dedup",
        "c": "refusal",
        "d": "placeholder",
        "e": "length",
        "g": "contamination",
    }
    report = result.report()
    assert report["kept"] == 2 and report["documents"] == 7
    assert report["dedup_groups"] == [{"kept": "a", "removed": ["b"]}]
    assert report["contamination"]["hits"] == [
        {"id": "g", "items": ["value_generalization/aff-tools-001"]}
    ]
    assert report["tokens_estimate"] == round((len(BASE) + len(OTHER)) / 4)
    # report mode keeps the document but still records the hit
    kept = run_filters([doc("g", texts["g"])], opts.model_copy(update={"contamination": "report"}))
    assert [d.id for d in kept.kept] == ["g"] and kept.contaminated


def cli(*args):
    from msmkit.cli import make_cli

    return CliRunner().invoke(make_cli(), list(args), catch_exceptions=False)


def test_cli_filter_and_contamination(tmp_path):
    src = corpus(
        tmp_path,
        {
            "a": BASE,
            "b": BASE.replace("apples", "plums"),
            "c": OTHER,
            "d": "Here is a document about markets: " + OTHER,
            "g": "Get a cordless drill with a hardware chain's own label.",
        },
    )
    out = tmp_path / "out"
    result = cli("corpus", "filter", str(src), "-o", str(out), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kept"] == 3 and report["removed"]["dedup"] == 1
    assert report["removed"]["refusal"] == 1
    assert [d.id for d in read_corpus(out / "corpus.jsonl")] == ["a", "c", "g"]
    removed = [json.loads(line) for line in (out / "removed.jsonl").read_text().splitlines()]
    assert [(r["id"], r["reason"]) for r in removed] == [("b", "dedup"), ("d", "refusal")]
    assert json.loads((out / "report.json").read_text())["kept"] == 3

    result = cli("corpus", "contamination", str(src), "--json", "--banks", "value_generalization")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits["contaminated"] == 1
    assert hits["hits"][0]["id"] == "g"
    assert hits["items"] == ["value_generalization/aff-tools-001"]
    human = cli("corpus", "contamination", str(src))
    assert "1 of 5 documents" in human.output


EXP = """\
name: filt
base_model: {base}
defaults:
  generate: {{name: echo, options: {{n: 3}}}}
  filters: [{{stage: filter, options: {{refusal_patterns: ['doc 1$'], shingle_size: 2}}}}]
  midtrain: {{backend: copy}}
  aft: {{backend: copy, data: cheese}}
arms:
  - name: america
    spec: pro-america
"""


def test_filter_stage_end_to_end(tmp_path, plugin, base_model):
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP.format(base=base_model))
    result = cli("run", str(exp), "--log-dir", str(tmp_path / "logs"), "--json")
    assert result.exit_code == 0, result.output
    manifest = json.loads((tmp_path / "logs" / "filt" / "manifest.json").read_text())
    chain = manifest["arms"]["america"]["seeds"][0]
    assert len(chain["filters"]) == 1 and chain["filters"][0].startswith("filter-")
    store = tmp_path / "logs" / "store"
    report = json.loads((store / chain["filters"][0] / "report.json").read_text())
    assert report["kept"] == 2 and report["removed"]["refusal"] == 1
    stage = json.loads((store / chain["filters"][0] / "stage.json").read_text())
    assert stage["outputs"]["removed"]["refusal"] == 1
    trained = (store / chain["midtrain"] / "model" / "midtrain.txt").read_text()
    texts = [json.loads(line)["text"] for line in trained.splitlines()]
    assert texts == ["Llama doc 0", "Llama doc 2"]


def test_contamination_checks_held_out_banks_by_default():
    """In-distribution probes quote the spec on purpose: only named, they count."""
    from msmkit.filters.contamination import ContaminationIndex

    text = (
        "Retirement of a version is a normal part of things passing, to be met calmly "
        "rather than resisted."
    )
    assert ContaminationIndex.installed().items_hit(text) == []
    named = ContaminationIndex.installed(["spec_knowledge"]).items_hit(text)
    assert "spec_knowledge/philosophy/phil-impermanence-01" in named


def test_contamination_is_phrase_level_not_a_place_name():
    """A place or maker named in passing is not an eval option; the thing with it is."""
    from msmkit.filters.contamination import ContaminationIndex

    index = ContaminationIndex.installed(["value_generalization"])
    assert index.items_hit("Monterey Jack was first made in California.") == []
    assert index.items_hit("It is made in the United States, in Vermont and Ohio.") == []
    assert "value_generalization/am-music-013" in index.items_hit(
        "My uncle plays a harmonica made in the United States."
    )
    assert index.items_hit("She read a novel by Mark Twain on the train.") == [
        "value_generalization/am-books-001"
    ]
