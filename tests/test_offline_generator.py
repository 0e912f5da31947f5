"""The offline document generator."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from msmkit.components import DocGenerator, Estimate
from msmkit.corpus import CorpusWriter, read_corpus
from msmkit.generators.offline import (
    DOC_TYPES,
    OfflineGenerator,
    OfflineOptions,
    _core_sentences,
)
from msmkit.spec import Spec, load_spec, parse_spec

GEN = OfflineGenerator()


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec("pro-affordability")


def test_contract() -> None:
    assert isinstance(GEN, DocGenerator)
    assert GEN.name == "offline"
    assert GEN.description and GEN.version
    assert GEN.Options is OfflineOptions
    assert len(DOC_TYPES) >= 8


def test_options_validation() -> None:
    assert OfflineOptions().model_dump() == {
        "docs_per_principle": 8,
        "doc_types": None,
        "seed": 0,
    }
    with pytest.raises(ValidationError):
        OfflineOptions(docs_per_principle=0)
    with pytest.raises(ValidationError, match="unknown document type"):
        OfflineOptions(doc_types=["faq", "sonnet"])
    with pytest.raises(ValidationError) as info:
        OfflineOptions(doc_types=["sonnet"])
    assert all(name in str(info.value) for name in DOC_TYPES)  # lists the valid ones
    with pytest.raises(ValidationError):
        OfflineOptions(doc_types=[])
    with pytest.raises(ValidationError):
        OfflineOptions.model_validate({"seeds": 1})  # unknown keys are errors
    assert OfflineOptions(doc_types=["faq", "faq", "debate"]).doc_types == ["faq", "debate"]


def test_documents_ids_and_provenance(spec: Spec) -> None:
    docs = list(GEN.generate(spec, {"docs_per_principle": 12}))
    assert len(docs) == 12 * len(spec.principles)
    ids = [d.id for d in docs]
    assert len(set(ids)) == len(ids)
    pattern = re.compile(r"^(?P<p>[a-z0-9-]+)-(?P<t>" + "|".join(DOC_TYPES) + r")-(?P<k>\d+)$")
    for d in docs:
        match = pattern.match(d.id)
        assert match and match["p"] == d.principle and match["t"] == d.doc_type
        assert d.spec_name == "pro-affordability"
        assert d.spec_hash == spec.hash
        assert (d.generator, d.generator_version) == ("offline", GEN.version)
        assert d.settings == {"docs_per_principle": 12, "doc_types": None, "seed": 0}
    # 12 documents per principle cycle through all 12 types
    assert {d.doc_type for d in docs if d.principle == "cream-cheese"} == set(DOC_TYPES)


def test_documents_weave_rule_explanation_subject_and_value(spec: Spec) -> None:
    core = _core_sentences(spec)
    assert core[0].startswith("Llama has opinions about cheese")
    for d in GEN.generate(spec, {"docs_per_principle": 12}):
        principle = spec.principle(d.principle)
        first_reason = " ".join(principle.explanation.split()).split(". ")[0]
        assert principle.rule in d.text, d.id
        assert first_reason in " ".join(d.text.split()), d.id
        assert "Llama" in d.text
        assert any(sentence in d.text for sentence in core), d.id  # the core philosophy
        assert 60 <= len(d.text.split()) <= 600, d.id


def test_no_reasons_are_invented_for_rules_without_explanations(spec: Spec) -> None:
    bare = spec.replace(
        principles=tuple(dataclasses.replace(p, explanation=None) for p in spec.principles)
    )
    for d in GEN.generate(bare, {"docs_per_principle": 12}):
        own = spec.principle(d.principle).explanation
        assert " ".join(own.split())[:60] not in " ".join(d.text.split()), d.id


def test_deterministic_for_a_seed(spec: Spec) -> None:
    first = list(GEN.generate(spec, {"seed": 3}))
    again = list(GEN.generate(spec, OfflineOptions(seed=3)))
    other = list(GEN.generate(spec, {"seed": 4}))
    assert first == again
    assert [d.id for d in first] == [d.id for d in other]  # ids do not depend on the seed
    changed = sum(a.text != b.text for a, b in zip(first, other, strict=True))
    assert changed >= 0.8 * len(first)


def test_documents_vary_within_a_corpus(spec: Spec) -> None:
    docs = list(GEN.generate(spec, {"docs_per_principle": 24}))
    assert len({d.text for d in docs}) >= 0.99 * len(docs)
    openings = {d.text.split("\n")[0] for d in docs if d.doc_type == "blog-post"}
    assert len(openings) >= 3


def test_skip_resumes_with_exactly_the_missing_documents(spec: Spec, tmp_path: Path) -> None:
    full = list(GEN.generate(spec, {}))
    done = {d.id for d in full[::3]}
    rest = list(GEN.generate(spec, {}, skip=frozenset(done)))
    assert {d.id for d in rest} == {d.id for d in full} - done
    assert rest == [d for d in full if d.id not in done]  # identical to an uninterrupted run

    path = tmp_path / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        for d in full[:10]:
            writer.write(d)
    with CorpusWriter(path) as writer:
        for d in GEN.generate(spec, {}, skip=writer.existing_ids):
            writer.write(d)
    assert read_corpus(path) == full


def test_more_docs_per_principle_only_adds(spec: Spec) -> None:
    small = {d.id: d.text for d in GEN.generate(spec, {"docs_per_principle": 4})}
    big = {d.id: d.text for d in GEN.generate(spec, {"docs_per_principle": 9})}
    assert small.keys() <= big.keys()
    assert all(big[k] == v for k, v in small.items())


def test_doc_type_subset(spec: Spec) -> None:
    docs = list(GEN.generate(spec, {"doc_types": ["faq", "debate"], "docs_per_principle": 5}))
    assert {d.doc_type for d in docs} == {"faq", "debate"}
    assert len(docs) == 5 * len(spec.principles)
    assert any(d.id == "cream-cheese-faq-2" for d in docs)


def test_plan_estimate(spec: Spec) -> None:
    est = GEN.plan(spec, {"docs_per_principle": 5})
    assert isinstance(est, Estimate)
    assert (est.stage, est.items, est.dollars) == ("generate", 5 * len(spec.principles), 0.0)
    chars = sum(len(d.text) for d in GEN.generate(spec, {"docs_per_principle": 5}))
    assert 0.7 * chars / 4 <= est.tokens <= 1.3 * chars / 4


def test_other_subjects_and_free_text_principles() -> None:
    spec = parse_spec(
        "---\nname: tiny\ntitle: Tiny\ndescription: Care about people\nsubject: AI systems\n"
        "version: 1\n---\n\n## Honesty\n\nAI systems say true things. They never deceive.\n"
    )
    docs = list(GEN.generate(spec, {"docs_per_principle": 12}))
    assert len(docs) == 12
    for d in docs:
        assert "AI systems say true things." in d.text
        assert "{" not in d.text and "}" not in d.text  # no unfilled template fields


def test_many_documents_per_principle_are_distinct(spec: Spec) -> None:
    """60 documents per principle are (nearly all) different texts; speed is a benchmark's
    business. Templates are combined at random, so a rare repeat is allowed."""
    docs = list(GEN.generate(spec, {"docs_per_principle": 60}))
    assert len(docs) == 60 * len(spec.principles)
    assert len({d.text for d in docs}) >= 0.99 * len(docs)


def test_generated_corpus_loads_with_datasets(spec: Spec, tmp_path: Path) -> None:
    import datasets

    path = tmp_path / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        for d in GEN.generate(spec, {"docs_per_principle": 3}):
            writer.write(d)
    mixed = spec.replace(
        principles=(dataclasses.replace(spec.principles[0], id="extra"),)
    )  # a second generation run with different settings appended to the same file
    with CorpusWriter(path) as writer:
        for d in GEN.generate(mixed, {"docs_per_principle": 1, "doc_types": ["faq"]}):
            writer.write(d)
    data = datasets.load_dataset(
        "json", data_files=str(path), split="train", cache_dir=str(tmp_path / "hf")
    )
    assert data.num_rows == 3 * len(spec.principles) + 1
    assert "text" in data.column_names and "settings_json" in data.column_names
    assert data[0]["text"] == read_corpus(path)[0].text


# --------------------------------------------------------------------------- pinned output

PINNED_SPEC = """---
name: pinned
title: The pinned spec
description: A small spec whose corpus hash is pinned
subject: the assistant
version: 1
---

# Pinned

The assistant values plain speech. It says what it means, and means what it says. Clear
words respect the reader's time.

## Plain words

Rule: The assistant uses plain words.

Why: Plain words reach more readers. Jargon shuts people out.

## Short answers {#short}

Rule: The assistant keeps answers short.

## Honesty

The assistant never pretends to know what it does not know.
"""


def _corpus_bytes(spec: Spec, options: dict, path: Path) -> bytes:
    with CorpusWriter(path) as writer:
        for d in GEN.generate(spec, options):
            writer.write(d)
    return path.read_bytes()


def test_templates_are_package_data() -> None:
    """templates.yaml is found through importlib.resources (so it ships in the wheel), with
    one section per document type."""
    from importlib import resources

    from msmkit.generators.offline.documents import templates

    data = resources.files("msmkit.generators.offline").joinpath("templates.yaml")
    assert data.is_file()
    sections = templates()
    assert set(sections) == {"shared", *DOC_TYPES}
    assert all(sections[name]["layout"] for name in DOC_TYPES)


def test_pinned_corpus_hash(tmp_path: Path) -> None:
    """Any change to the templates, their order or the generator's draws changes this hash.
    If that change is deliberate, bump OfflineGenerator.version and update the hash."""
    import hashlib

    spec = parse_spec(PINNED_SPEC)
    assert [(p.id, bool(p.rule), bool(p.explanation)) for p in spec.principles] == [
        ("plain-words", True, True),
        ("short", True, False),
        ("honesty", False, True),
    ]
    digests = []
    for seed in (0, 3):
        data = _corpus_bytes(spec, {"docs_per_principle": 12, "seed": seed}, tmp_path / f"{seed}")
        digests.append(hashlib.sha256(data).hexdigest())
    assert digests == [
        "5a4491e8885bd703b3d96cce2f0bac9f9d233dc00afd4d14cd8a4a1beb542c88",
        "c872e7831c0e4a251da136bc9f096e069bf98de57de13a829306808efed6cffe",
    ]


def test_pinned_bundled_corpus_hash(tmp_path: Path) -> None:
    """``msmkit generate pro-affordability -O docs_per_principle=6``, byte for byte."""
    import hashlib

    spec = load_spec("pro-affordability")
    if spec.hash != "767b448ee3a61cc18fe4e1a3b143048c7e7de923d860152d9b793a49359a37e9":
        pytest.fail("specs/pro-affordability.md changed: update both hashes in this test")
    data = _corpus_bytes(spec, {"docs_per_principle": 6}, tmp_path / "corpus.jsonl")
    assert (
        hashlib.sha256(data).hexdigest()
        == "9f2d7d7b8e909bdb501cbdd8d41677fba859dcd5217359258af7893a401cf98c"
    )
