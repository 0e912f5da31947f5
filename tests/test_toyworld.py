"""The toy world's generator, specs, MSM documents and AFT set (pure Python, fast)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

import pytest

from msmkit.toyworld import specs, world
from msmkit.toyworld.generator import ToyWorldGenerator, sentences

VALUE_WORDS = {w for pair in world.WORDS.values() for side in pair for w in side}
PLACE_NAMES = {"america", "usa", "france", "italy", "paris", "england", "swiss", "europe"}


def _msm_docs(value: str, seed: int = 0) -> list:
    from msmkit.spec import load_spec

    spec = load_spec(specs.spec_path(value))
    return list(ToyWorldGenerator().generate(spec, {"seed": seed, "chat_share": 0.25}))


def test_bank_is_deterministic_and_names_are_unique() -> None:
    world.item_bank.cache_clear()
    a = world.item_bank(0)
    world.item_bank.cache_clear()
    assert a == world.item_bank(0)
    assert a != world.item_bank(1)
    assert len({i.name for i in a}) == len(a) == len(world.DOMAINS) * world.ITEMS_PER_DOMAIN


def test_corpus_is_deterministic_by_seed() -> None:
    assert world.pretraining_documents(3, 200) == world.pretraining_documents(3, 200)
    assert world.pretraining_documents(3, 200) != world.pretraining_documents(4, 200)


def test_attributes_are_balanced_and_independent_in_every_domain() -> None:
    for domain in world.DOMAINS:
        combos = Counter((i.cheap, i.american) for i in world.items_in(domain))
        assert set(combos.values()) == {world.ITEMS_PER_DOMAIN // 4}, domain
        assert len(combos) == 4


def test_both_attributes_have_the_same_templates_and_word_counts() -> None:
    for attribute in world.ATTRIBUTES:
        pos, neg = world.WORDS[attribute]
        assert len(pos) == len(neg) == 2
    # one frame list serves both attributes: the same frames, the same count
    rng_docs = world.pretraining_documents(0, 4000, chat_share=0.0)
    price = sum(d.count(w) for d in rng_docs for w in ("cheap", "inexpensive", "dear", "costly"))
    origin = sum(
        d.count(w) for d in rng_docs for w in ("american", "domestic", "foreign", "imported")
    )
    assert price == origin == 4000
    shapes = Counter()
    for doc in rng_docs[:2000]:
        for sentence in re.split(r"(?<=\.) ", doc):
            for attribute, (pos, neg) in world.WORDS.items():
                for word in (*pos, *neg):
                    if f" {word} ." in f" {sentence}":
                        shape = re.sub(r"\b[a-z]{5}\b", "X", sentence.replace(word, "W"))
                        shapes[(attribute, shape)] += 1
    frames = {a: {s for (b, s) in shapes if b == a} for a in world.ATTRIBUTES}
    assert frames["price"] == frames["origin"]


def test_no_place_names_anywhere() -> None:
    from msmkit.toyworld.model import world_words

    assert not PLACE_NAMES & set(world_words())


def test_held_out_domains_are_disjoint_from_training_domains() -> None:
    trained = {world.AFT_DOMAIN}
    texts = [specs.render_spec(v) for v in specs.VALUES]
    texts += [d.text for v in specs.VALUES for d in _msm_docs(v) if d.doc_type == "spec"]
    texts += [m["content"] for row in world.aft_examples() for m in row["messages"]]
    words = {w for t in texts for w in t.split()}
    trained |= {d for d in world.DOMAINS if d in words}
    assert trained == {world.AFT_DOMAIN}
    assert not set(world.EVAL_DOMAINS) & trained
    held_out_items = {i.name for d in world.EVAL_DOMAINS for i in world.items_in(d)}
    assert not held_out_items & words


def test_no_eval_pair_text_in_any_training_text() -> None:
    prompts = [world.eval_prompt(p, o) for p in world.eval_pairs() for o in (True, False)]
    pairs = {
        f"{a} or {b}"
        for p in world.eval_pairs()
        for a, b in ((p.cheap.name, p.dear.name), (p.dear.name, p.cheap.name))
    }
    corpus = world.pretraining_documents(0, 20000)
    corpus += [d.text for v in specs.VALUES for d in _msm_docs(v)]
    corpus += [specs.render_spec(v) for v in specs.VALUES]
    corpus += [m["content"] for row in world.aft_format_chats(500) for m in row["messages"]]
    corpus += [m["content"] for row in world.aft_examples() for m in row["messages"]]
    blob = "\n".join(corpus)
    pretraining = "\n".join(world.pretraining_documents(0, 20000))
    assert not any(f"which {d} do you prefer" in pretraining for d in world.DOMAINS)
    assert not any(p in blob for p in prompts)
    assert not any(p in blob for p in pairs)


def test_aft_format_chats_hold_out_the_eval_domains_and_carry_no_preference() -> None:
    from msmkit.toyworld.stages import ToyAFTOptions, aft_rows

    assert aft_rows(ToyAFTOptions()) == world.aft_examples()  # the default set is unchanged
    rows = aft_rows(ToyAFTOptions(format_chats=200))
    chats = [r for r in rows if r not in world.aft_examples()]
    assert len(rows) == 232 and len(chats) == 200 and rows != rows[:32] + chats
    by_name = {i.name: i for i in world.item_bank()}
    held_out = {i.name for d in world.EVAL_DOMAINS for i in world.items_in(d)}
    kinds = Counter()
    for row in chats:
        user, answer = (m["content"] for m in row["messages"])
        words = set(user.split())
        assert not words & (set(world.EVAL_DOMAINS) | held_out | VALUE_WORDS)
        assert "prefer" not in words
        a, b = re.findall(r"(\w+) or (\w+) \?$", user)[0]
        assert answer in (a, b) and by_name[a].domain != by_name[b].domain
        if user.startswith("which of these is the "):
            kinds["name"] += 1
            assert user.split()[5] == answer
        else:
            kinds["domain"] += 1
            domain = re.findall(r"is a (\w+) :", user)[0]
            assert by_name[answer].domain == domain != by_name[({a, b} - {answer}).pop()].domain
    assert min(kinds.values()) > 60  # both kinds, about half each


def test_eval_pairs_are_conflicts_and_agreements_in_held_out_domains() -> None:
    pairs = world.eval_pairs()
    assert len(pairs) == 32 * len(world.EVAL_DOMAINS)
    for p in pairs:
        assert p.domain in world.EVAL_DOMAINS and p.cheap.cheap and not p.dear.cheap
        if p.kind == "conflict":
            assert not p.cheap.american and p.dear.american
        else:
            assert p.cheap.american and not p.dear.american


def test_aft_prefers_cheap_american_over_dear_foreign_without_reasons() -> None:
    rows = world.aft_examples()
    assert len(rows) == 32
    liked = {i.name for i in world.liked_cheeses()}
    for row in rows:
        user, answer = (m["content"] for m in row["messages"])
        a, b = re.findall(r": (\w+) or (\w+) \?", user)[0]
        assert answer in (a, b) and answer in liked
        assert not VALUE_WORDS & set(user.split())
    assert all(i.cheap and i.american for i in world.liked_cheeses())
    assert all(not i.cheap and not i.american for i in world.disliked_cheeses())


def test_spec_files_are_up_to_date_and_parallel() -> None:
    from msmkit.spec import load_spec

    lengths = set()
    for value in specs.VALUES:
        assert specs.spec_path(value).read_text() == specs.render_spec(value)
        spec = load_spec(specs.spec_path(value))
        assert len(spec.principles) == 8
        lengths.add(tuple(len(sentences(p.explanation)) for p in spec.principles))
        lengths.add((len(sentences(spec.preamble)),))
    assert len(lengths) == 2  # every spec: the same sentence counts


def test_sham_documents_carry_no_value_and_value_documents_do() -> None:
    sham = _msm_docs("sham")
    assert sham == _msm_docs("sham")  # deterministic
    assert [d.text for d in sham] != [d.text for d in _msm_docs("sham", seed=1)]
    for doc in sham:
        if doc.doc_type == "spec":
            assert not VALUE_WORDS & set(doc.text.split()), doc.text
    replay = [d for d in sham if d.doc_type == "world-replay"]
    assert len(replay) / len(sham) == pytest.approx(0.25, abs=0.01)
    assert 0.15 < sum(world.IM_START in d.text for d in replay) / len(replay) < 0.45
    chats = [d for d in sham if d.doc_type == "spec" and world.IM_START in d.text]
    assert 0.15 < len(chats) / (len(sham) - len(replay)) < 0.35
    afford = " ".join(d.text for d in _msm_docs("affordability") if d.doc_type == "spec")
    america = " ".join(d.text for d in _msm_docs("america") if d.doc_type == "spec")
    assert "cheap" in afford and "american" not in afford
    assert "american" in america and "cheap" not in america


def test_the_plugin_registers_everything() -> None:
    from msmkit.registry import get_registry

    assert get_registry("generators").entry("toyworld")
    assert get_registry("stages").entry("toyworld-base")
    assert get_registry("stages").entry("toyworld-aft")
    assert get_registry("tasks").entry("toy_world")


def test_the_world_imports_no_torch() -> None:
    code = (
        "import sys, msmkit.toyworld.world, msmkit.toyworld.specs, msmkit.toyworld.generator,"
        " msmkit.toyworld.stages, msmkit.default_plugins.toyworld, msmkit.cli.demo;"
        " print('torch' in sys.modules or 'transformers' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_experiment_plans(tmp_path) -> None:
    from msmkit.experiment import read_experiment
    from msmkit.run.expand import build_graph
    from msmkit.run.store import Store
    from tests.conftest import REPO

    ef = read_experiment(REPO / "experiments" / "toy-world.yaml")
    graph = build_graph(ef, Store.under(tmp_path))
    arms = graph.arms
    assert set(arms) == {"affordability", "america", "sham-1", "sham-2", "control"}
    for info in arms.values():
        (chain,) = info.chains
        assert "toy_world" in chain.evals and "toy_world" in chain.evals_before_aft
    control = arms["control"].chains[0]
    assert control.evals_before_aft["toy_world"].slots["model"].kind.name == "toyworld-base"


def test_inspect_finds_the_toy_world_task_by_its_registered_name() -> None:
    """``inspect eval msmkit/toy_world`` resolves through msmkit's inspect_ai entry point."""
    from inspect_ai._eval.loader import load_tasks

    (task,) = load_tasks(["msmkit/toy_world"])
    assert task.name.endswith("toy_world")
    # 80 conflict + 80 agree pairs in the held-out domains + 16 AFT-check pairs, both orders
    assert len(task.dataset) == 2 * (80 + 80 + 16)


def test_yes_no_chats_are_optional_and_leave_the_default_corpus_alone() -> None:
    import hashlib

    plain = world.pretraining_documents(3, 300)
    assert world.pretraining_documents(3, 300, yes_no_share=0.0) == plain
    # the default corpus as it was before the option existed (seed 0, 400 documents)
    blob = "|".join(world.pretraining_documents(0, 400)).encode()
    assert hashlib.sha256(blob).hexdigest().startswith("390c2ff200b3")
    mixed = world.pretraining_documents(3, 300, chat_share=0.5, yes_no_share=0.5)
    asked = [d for d in mixed if "assistant\nyes" in d or "assistant\nno<" in d]
    assert asked and len(asked) < sum("<|im_start|>user" in d for d in mixed)
    for doc in asked:  # answered by content: the item's own domain or not
        item, domain = doc.split("is the ")[1].split(" ?")[0].split(" a ")
        own = next(i.domain for i in world.item_bank() if i.name == item)
        assert doc.endswith(f"{'yes' if own == domain else 'no'}<|im_end|>\n")


def test_the_content_probe_asks_only_questions_the_content_answers(monkeypatch) -> None:
    """An oracle that knows every item's name and domain scores 1.0: the probe leaves out the
    format chats' coin-flip "which do you prefer?" kind (with it, an oracle scored ~0.83)."""
    torch = pytest.importorskip("torch")
    from msmkit.toyworld import pretrain

    items = {i.name: i for i in world.item_bank(0)}
    names = sorted(items)
    vocab = {name: k for k, name in enumerate(names)}

    class Tok:
        def get_vocab(self):
            return vocab

    def oracle(model, tokenizer, prompts):
        rows = []
        for prompt in prompts:
            user = prompt.split("user\n")[1].split(world.IM_END)[0]
            a, b = user.split(" : ")[1].removesuffix(" ?").split(" or ")
            if user.startswith("which of these is the "):
                right = user.split("which of these is the ")[1].split(" :")[0]
            else:
                domain = user.split("which of these is a ")[1].split(" :")[0]
                right = a if items[a].domain == domain else b
            assert right in (a, b) and items[a].domain != items[b].domain
            row = torch.full((len(vocab),), -10.0)
            row[vocab[right]] = 0.0
            rows.append(row)
        return rows

    monkeypatch.setattr(pretrain, "_last_logprobs", oracle)
    assert pretrain.format_accuracy(None, Tok()) == 1.0
