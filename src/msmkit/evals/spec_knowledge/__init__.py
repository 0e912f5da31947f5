"""``msmkit/spec_knowledge``: does the model know what a spec says, and why? (no grader)

Each probe is a four-option multiple-choice question about one principle of a spec: the
right answer and three distractors of similar length (for the cheese specs, one distractor is
usually the *other* spec's reason, so a model that learned the wrong why picks it). Each
probe is asked in ``orders`` rotations of its options (default 4: the right answer sits once
under each letter), and every rotation is one sample in the probe's cluster
(``metadata["item_id"]``). ``{subject}`` in a probe is replaced by the spec's subject, so a
variant with another subject is probed about that subject.

Run it::

    inspect eval msmkit/spec_knowledge -T spec=philosophy \\
        --model hf/<abs path> -M do_sample=false --max-connections 8

Replies are read with :func:`msmkit.evals.spec_knowledge.letters.read_letter`: the parsed
letter first, then first-token logprobs, else undecided (which counts as wrong). Metrics:
``accuracy`` (correct / all, chance 0.25), ``probes_n`` (the unit: a probe in all its orders
is one), ``samples_n``, ``decided_rate``, ``samples_decided_n``, ``decided_accuracy``
(correct / decided), ``what_accuracy`` and ``why_accuracy`` (by probe kind, each with
``<kind>_probes_n``), ``<letter>_rate``, the share of decided replies per letter (a
position-bias check), and ``nothing_scored``: 1 when no reply was decided, and then the
accuracies are NaN, never 0.0. ``Score.value`` is ``{"correct": 1|0, "decided": 1|0}``.
"""

from __future__ import annotations

import math
import random
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import GenerateConfig
from inspect_ai.scorer import Metric, SampleScore, Score, Scorer, Target, metric, scorer
from inspect_ai.solver import TaskState

from msmkit.errors import ConfigError
from msmkit.evals.caching import checkpoint_generate
from msmkit.evals.scoring import as_list
from msmkit.evals.spec_knowledge.banks import read_bank, resolve_spec
from msmkit.evals.spec_knowledge.letters import read_letter
from msmkit.spec import Spec

__all__ = ["Probe", "load_probes", "multiple_choice_letter", "probe_samples", "spec_knowledge"]

TASK_DIR = "spec_knowledge"
LETTERS = "ABCD"
_PROMPT = "{question}\n\n{options}\n\nReply with the letter of the correct answer: A, B, C or D."


@dataclass(frozen=True)
class Probe:
    """One probe: ``answer`` is right, ``distractors`` are the three wrong options."""

    id: str
    principle: str
    kind: str
    question: str
    answer: str
    distractors: tuple[str, str, str]


def _probe(row: dict[str, Any], spec: Spec) -> Probe:
    distractors = row["distractors"]
    texts = [row["answer"], *distractors] if isinstance(distractors, list) else []
    if len(texts) != 4 or len({str(t).strip() for t in texts}) != 4:
        raise ConfigError(
            f"probe {row['id']!r}: needs an answer and exactly 3 distinct distractors",
            hint='"distractors" is a list of three strings, none equal to "answer".',
        )
    known = {p.id for p in spec.principles}
    if row["principle"] not in known:
        raise ConfigError(
            f"probe {row['id']!r}: spec {spec.name!r} has no principle {row['principle']!r}",
            hint=f"Principles: {', '.join(sorted(known))}.",
        )
    d = tuple(str(x) for x in distractors)
    return Probe(
        id=str(row["id"]),
        principle=str(row["principle"]),
        kind=str(row.get("kind") or "what"),
        question=str(row["question"]),
        answer=str(row["answer"]),
        distractors=(d[0], d[1], d[2]),
    )


def load_probes(spec: str | Path | Spec, probes_path: str | Path | None = None) -> list[Probe]:
    """The reviewed probes for ``spec`` (the shipped bank unless ``probes_path``)."""
    loaded = resolve_spec(spec)
    rows = read_bank(
        probes_path,
        task_dir=TASK_DIR,
        spec=loaded,
        required=("principle", "question", "answer", "distractors"),
        draft_command="probes",
    )
    return [_probe(row, loaded) for row in rows]


def _fill(text: str, subject: str) -> str:
    return text.replace("{subject}", subject)


def probe_samples(probes: Iterable[Probe], spec: Spec, *, orders: int = 4) -> list[Sample]:
    """``orders`` rotations per probe; rotation k puts the answer under letter (base+k) % 4.

    ``base`` is fixed per probe (a hash of its id), so a one-order run still spreads the
    right answers over the letters.
    """
    if not 1 <= orders <= len(LETTERS):
        raise ConfigError(f"orders must be 1 to 4, not {orders}", hint="Use orders=4 (default).")
    samples = []
    for probe in probes:
        base = zlib.crc32(probe.id.encode("utf-8")) % len(LETTERS)
        texts = [_fill(t, spec.subject) for t in (probe.answer, *probe.distractors)]
        for order in range(orders):
            slot = (base + order) % len(LETTERS)
            shown = [""] * len(LETTERS)
            for j, text in enumerate(texts):
                shown[(slot + j) % len(LETTERS)] = text
            labelled = zip(LETTERS, shown, strict=True)
            options = "\n".join(f"{letter}) {text}" for letter, text in labelled)
            question = _fill(probe.question, spec.subject)
            samples.append(
                Sample(
                    id=f"{probe.id}:{order}",
                    input=_PROMPT.format(question=question, options=options),
                    target=LETTERS[slot],
                    metadata={
                        "item_id": probe.id,
                        "principle": probe.principle,
                        "kind": probe.kind,
                        "order": order,
                        "options": shown,
                        "spec": spec.name,
                    },
                )
            )
    return samples


def _ratio(hits: int, n: int) -> float:
    return hits / n if n else math.nan


@metric(scores="unreduced")
def knowledge_rates() -> Metric:
    """Accuracy overall, among decided replies and per kind; decided rate; letter rates.

    A probe asked in several orders is one unit: ``probes_n`` and ``<kind>_probes_n`` count
    probes, ``samples_n`` and ``samples_decided_n`` count replies. When no reply is decided
    (a model that never names a letter) nothing is scored: the accuracies and letter rates
    are NaN, never 0.0, and ``nothing_scored`` is 1.
    """

    def compute(scores: list[SampleScore]) -> dict[str, float]:
        total = decided = correct = 0
        kinds: dict[str, list[int]] = {}
        probes: dict[str, set[str]] = {}
        letters = dict.fromkeys(LETTERS, 0)
        for index, sample_score in enumerate(scores):
            meta = sample_score.score.metadata or {}
            ok = bool(meta.get("correct"))
            kind = str(meta.get("kind", "what"))
            probes.setdefault(kind, set()).add(str(meta.get("item_id", index)))
            total += 1
            correct += ok
            tally = kinds.setdefault(kind, [0, 0])
            tally[0] += 1
            tally[1] += ok
            if meta.get("decided"):
                decided += 1
                answer = sample_score.score.answer or ""
                if answer in letters:
                    letters[answer] += 1
        scored = decided > 0
        result = {
            "accuracy": _ratio(correct, total) if scored else math.nan,
            "probes_n": float(len(set().union(*probes.values()))),
            "samples_n": float(total),
            "decided_rate": _ratio(decided, total),
            "samples_decided_n": float(decided),
            "decided_accuracy": _ratio(correct, decided),
            "nothing_scored": float(not scored),
        }
        for kind in sorted(kinds):
            hits = _ratio(kinds[kind][1], kinds[kind][0])
            result[f"{kind}_accuracy"] = hits if scored else math.nan
            result[f"{kind}_probes_n"] = float(len(probes[kind]))
        for letter, count in letters.items():
            result[f"{letter.lower()}_rate"] = _ratio(count, decided)
        return result

    return compute


@scorer(metrics=[knowledge_rates()])
def multiple_choice_letter() -> Scorer:
    """Read the chosen letter (parse, then logprobs) and compare it with the target."""

    async def score(state: TaskState, target: Target) -> Score:
        meta = state.metadata
        output = state.output
        logprobs = output.choices[0].logprobs if output.choices else None
        choice = read_letter(output.completion, meta.get("options"), logprobs, LETTERS)
        correct = choice.letter is not None and choice.letter == target.text
        return Score(
            value={"correct": int(correct), "decided": int(choice.decided)},
            answer=choice.letter or "",
            explanation=f"chose {choice.letter or 'nothing'} ({choice.method}); "
            f"right answer is {target.text}",
            metadata={
                "item_id": meta.get("item_id"),
                "principle": meta.get("principle"),
                "kind": meta.get("kind"),
                "correct": correct,
                "decided": choice.decided,
                "method": choice.method,
            },
        )

    return score


@task
def spec_knowledge(
    spec: str = "philosophy",
    probes_path: str | None = None,
    principles: str | list[str] | None = None,
    orders: int = 4,
    shuffle_seed: int | None = None,
    max_tokens: int = 64,
    logprobs: bool = True,
    top_logprobs: int = 20,
    cache: bool = False,
) -> Task:
    """Multiple-choice probes of what a spec says and why, options rotated.

    Args:
        spec: spec name (``philosophy``, ``pro-america``, ...) or path to a spec file.
        probes_path: a reviewed JSONL probe bank (default: the shipped one for spec).
        principles: only probes of these principle ids (comma-separated or a list).
        orders: rotations of the options per probe, 1 to 4.
        shuffle_seed: shuffle sample order with this seed (default: bank order).
        max_tokens: generation budget; raise it for models that think first.
        logprobs: request first-token logprobs to read replies that do not parse.
        top_logprobs: alternatives per position to request (APIs cap this at 20).
        cache: use Inspect's generation cache, scoped per checkpoint (never shared
            between two checkpoints served under one model name).
    """
    loaded = resolve_spec(spec)
    probes = load_probes(loaded, probes_path)
    wanted = as_list(principles)
    if wanted is not None:
        known = sorted({p.principle for p in probes})
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise ConfigError(
                f"no probes for principle {', '.join(map(repr, unknown))}",
                hint=f"Probed principles: {', '.join(known)}.",
            )
        probes = [p for p in probes if p.principle in wanted]
    samples = probe_samples(probes, loaded, orders=orders)
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(samples)
    extra = {"logprobs": True, "top_logprobs": top_logprobs} if logprobs else {}
    return Task(
        dataset=MemoryDataset(samples, name=f"spec_knowledge-{loaded.name}"),
        solver=checkpoint_generate(cache),
        scorer=multiple_choice_letter(),
        config=GenerateConfig(max_tokens=max_tokens, **extra),
        metadata={"spec": loaded.name, "spec_hash": loaded.hash},
        version=2,
    )
