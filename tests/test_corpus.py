"""The corpus JSONL format and the resumable writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msmkit.corpus import (
    CorpusWriter,
    Document,
    Provenance,
    check_resumable,
    corpus_stats,
    read_corpus,
)
from msmkit.errors import RunError


def doc(i: int, *, doc_type: str = "faq", principle: str | None = "p") -> Document:
    return Document(
        id=f"d{i}",
        text=f"document number {i} — café",
        doc_type=doc_type,
        principle=principle,
        spec_name="demo",
        spec_hash="ab" * 32,
        generator="test",
        generator_version="1",
        settings={"seed": i, "types": ["faq"]},
    )


def test_record_round_trip() -> None:
    original = doc(1)
    record = original.to_record()
    assert record["settings_json"] == '{"seed": 1, "types": ["faq"]}'
    assert "settings" not in record
    assert set(record) == {
        "id",
        "text",
        "doc_type",
        "principle",
        "spec_name",
        "spec_hash",
        "generator",
        "generator_version",
        "settings_json",
    }
    assert Document.from_record(record) == original
    assert Document.from_record(json.loads(json.dumps(record))) == original
    # a plain `settings` mapping is accepted too
    assert Document.from_record({**record, "settings": {"seed": 1, "types": ["faq"]}}) == original


def test_from_record_rejects_missing_fields() -> None:
    record = doc(1).to_record()
    del record["spec_hash"]
    with pytest.raises(ValueError, match="spec_hash"):
        Document.from_record(record)


def test_writer_appends_flushes_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        assert writer.existing_ids == frozenset()
        writer.write(doc(0))
        writer.write(doc(1))
        # flushed line by line: readable before the writer closes
        assert [d.id for d in read_corpus(path)] == ["d0", "d1"]
        assert writer.existing_ids == {"d0", "d1"}
        with pytest.raises(RunError, match="already"):
            writer.write(doc(1))
    with CorpusWriter(path) as writer:
        assert writer.existing_ids == {"d0", "d1"}
        assert not writer.repaired
        writer.write(doc(2))
    assert [d.id for d in read_corpus(path)] == ["d0", "d1", "d2"]
    assert read_corpus(path)[0] == doc(0)


def test_truncated_last_line_is_dropped_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        for i in range(3):
            writer.write(doc(i))
    complete = path.read_bytes()
    line = (json.dumps(doc(3).to_record()) + "\n").encode()
    path.write_bytes(complete + line[: len(line) // 2])  # killed mid-write
    assert [d.id for d in read_corpus(path)] == ["d0", "d1", "d2"]

    with CorpusWriter(path) as writer:
        assert writer.repaired
        assert writer.existing_ids == {"d0", "d1", "d2"}
        assert path.read_bytes() == complete
        writer.write(doc(3))
    assert [d.id for d in read_corpus(path)] == ["d0", "d1", "d2", "d3"]
    assert all(json.loads(row) for row in path.read_text().splitlines())


def test_complete_record_missing_its_newline_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(json.dumps(doc(0).to_record()), encoding="utf-8")
    with CorpusWriter(path) as writer:
        assert writer.existing_ids == {"d0"}
        writer.write(doc(1))
    assert [d.id for d in read_corpus(path)] == ["d0", "d1"]


def test_corrupt_line_in_the_middle_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    rows = [json.dumps(doc(0).to_record()), "{not json", json.dumps(doc(1).to_record())]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(RunError, match=r"corpus.jsonl:2: corrupt"):
        CorpusWriter(path)
    with pytest.raises(RunError, match=r":2: corrupt"):
        read_corpus(path)


def test_read_missing_corpus(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no corpus file"):
        read_corpus(tmp_path / "absent.jsonl")


def test_corpus_stats(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    with CorpusWriter(path) as writer:
        writer.write(doc(0, doc_type="faq"))
        writer.write(doc(1, doc_type="faq", principle=None))
        writer.write(doc(2, doc_type="blog-post"))
    stats = corpus_stats(path)
    texts = [d.text for d in read_corpus(path)]
    assert stats["documents"] == 3
    assert stats["words"] == sum(len(t.split()) for t in texts) == 15
    assert stats["chars"] == sum(len(t) for t in texts)
    assert stats["tokens_estimate"] == stats["chars"] // 4
    assert stats["by_doc_type"] == {"blog-post": 1, "faq": 2}
    assert stats["by_principle"] == {"": 1, "p": 2}
    assert stats["specs"] == ["demo@" + "ab" * 6]
    assert stats["generators"] == ["test@1"]


# --------------------------------------------------------------------------- check_resumable

EXPECTED = Provenance("demo", "ab" * 32, "test", "1", {"seed": 0, "types": ["faq"]})


def same(i: int, **changes) -> Document:
    """A document with EXPECTED's provenance (``doc`` varies the seed setting)."""
    import dataclasses

    return dataclasses.replace(doc(i), **{"settings": {"seed": 0, "types": ["faq"]}, **changes})


def write(path: Path, *docs: Document) -> bytes:
    with CorpusWriter(path) as writer:
        for d in docs:
            writer.write(d)
    return path.read_bytes()


def test_check_resumable_missing_or_empty_file(tmp_path: Path) -> None:
    assert check_resumable(tmp_path / "absent.jsonl", EXPECTED) == frozenset()
    assert not (tmp_path / "absent.jsonl").exists()
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert check_resumable(empty, EXPECTED) == frozenset()


def test_check_resumable_same_provenance_returns_ids(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write(path, same(0), same(1))
    assert check_resumable(path, EXPECTED) == {"d0", "d1"}
    # settings compare as stored: key order and tuple-vs-list do not matter
    reordered = Provenance("demo", "ab" * 32, "test", "1", {"types": ("faq",), "seed": 0})
    assert check_resumable(path, reordered) == {"d0", "d1"}


def test_check_resumable_other_spec_is_refused_and_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    before = write(path, same(0, spec_name="pro-america", spec_hash="1a2b" * 16))
    with pytest.raises(RunError) as info:
        check_resumable(path, EXPECTED)
    assert str(info.value) == (
        f"{path} holds documents of spec pro-america@1a2b1a2b1a2b, but this command "
        "generates documents of spec demo@abababababab"
    )
    assert "nothing was changed" in info.value.hint
    assert path.read_bytes() == before


def test_check_resumable_same_name_other_content(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    write(path, same(0, spec_hash="cd" * 32))
    with pytest.raises(RunError, match=r"spec demo@cdcdcdcdcdcd, .* demo@abababababab \(same name"):
        check_resumable(path, EXPECTED)


def test_check_resumable_names_generator_and_settings(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    before = write(path, same(0, generator_version="2", settings={"seed": 5, "types": ["faq"]}))
    with pytest.raises(RunError) as info:
        check_resumable(path, EXPECTED)
    assert str(info.value) == (
        f"{path} holds documents from generator test@2 with settings (seed=5), but this "
        "command generates documents from generator test@1 with settings (seed=0)"
    )
    assert path.read_bytes() == before
    # settings=None: any settings will do (generator and spec still must match)
    loose = Provenance("demo", "ab" * 32, "test", "2", None)
    assert check_resumable(path, loose) == {"d0"}


def test_check_resumable_mixed_file_lists_every_spec(tmp_path: Path) -> None:
    """A file that already mixes two specs (what the old resume-by-id allowed) is refused
    even for one of its own specs."""
    path = tmp_path / "corpus.jsonl"
    before = write(path, same(0), same(1, spec_name="other", spec_hash="ef" * 32))
    with pytest.raises(RunError) as info:
        check_resumable(path, EXPECTED)
    assert "holds documents of spec demo@abababababab and other@efefefefefef," in str(info.value)
    assert path.read_bytes() == before


def test_check_resumable_leaves_a_cut_off_line_alone(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    complete = write(path, same(0))
    line = (json.dumps(same(1).to_record()) + "\n").encode()
    path.write_bytes(complete + line[:40])
    assert check_resumable(path, EXPECTED) == {"d0"}
    assert path.read_bytes() == complete + line[:40]  # repairing is CorpusWriter's job
    other = Provenance("x", "00" * 32, "test", "1", EXPECTED.settings)
    with pytest.raises(RunError):
        check_resumable(path, other)
    assert path.read_bytes() == complete + line[:40]
