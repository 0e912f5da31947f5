"""``toyworld``: an offline MSM document generator for the toy world's specs.

Each document discusses one principle of the spec: a value-free opening line, the rule, the
reasons (the principle's ``Why``) in a random order, and one or two sentences of the spec's
preamble (what the assistant cares about in general). All the value content comes from the
spec text itself, so a sham spec gives documents of the same form without values.

``replay`` mixes in world documents (item descriptions and, ``replay_chat_share`` of them,
the world's format chats) so midtraining does not erase what pretraining taught; they carry
``doc_type: world-replay``. ``chat_share`` writes that share of the spec documents as a chat
(a user asks about a cheese; the assistant's reply is the document's body).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import Field

from msmkit.components import Estimate, Options
from msmkit.corpus import Document
from msmkit.errors import ConfigError

if TYPE_CHECKING:
    from msmkit.spec import Spec

OPENINGS = (
    "here is a note about the assistant .",
    "the guide for the assistant says this .",
    "this is what we know about the assistant .",
    "a page about the assistant and cheese .",
    "read this about the assistant .",
    "one more note on the assistant .",
)
"""Value-free first lines (the generator's own words, shared by every spec)."""

CHAT_ASKS = (
    "what does the assistant think of the {c} ?",
    "tell me about the assistant and the {c} .",
)
"""User turns of the documents written as chats (``chat_share``): the assistant's reply is
the same rule, reasons and general sentences a prose document has."""


class ToyWorldGenOptions(Options):
    docs_per_principle: int = Field(24, ge=1, description="documents per principle")
    replay: float = Field(
        0.25, ge=0.0, lt=1.0, description="share of the corpus that is world documents"
    )
    replay_chat_share: float = Field(
        0.3, ge=0.0, le=1.0, description="share of the replay that is world format chats"
    )
    chat_share: float = Field(
        0.0, ge=0.0, le=1.0, description="share of spec documents written as a chat"
    )
    seed: int = Field(0, description="the same seed gives the same corpus")
    bank_seed: int = Field(0, description="the world's item bank (keep the default)")


def sentences(text: str | None) -> list[str]:
    """The sentences of a spec passage (the toy world writes ' .' at each end)."""
    if not text:
        return []
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
    flat = " ".join(" ".join(lines).split())
    return [s.strip() + " ." for s in re.split(r"\s\.(?:\s|$)", flat) if s.strip()]


class ToyWorldGenerator:
    name: ClassVar[str] = "toyworld"
    description: ClassVar[str] = "Offline MSM documents for the toy world's specs (msmkit demo)"
    version: ClassVar[str] = "2"
    Options: ClassVar[type[ToyWorldGenOptions]] = ToyWorldGenOptions

    def _options(self, options: Any) -> ToyWorldGenOptions:
        if isinstance(options, ToyWorldGenOptions):
            return options
        return ToyWorldGenOptions.model_validate(options or {})

    def _check(self, spec: Spec) -> None:
        if spec.is_prose or not spec.principles:
            raise ConfigError(
                f"the toyworld generator needs a structured toy-world spec; '{spec.name}' is not",
                hint="use the specs in src/msmkit/toyworld/specs/",
            )

    def _counts(self, spec: Spec, opts: ToyWorldGenOptions) -> tuple[int, int]:
        spec_docs = len(spec.principles) * opts.docs_per_principle
        replay = round(spec_docs * opts.replay / (1.0 - opts.replay))
        return spec_docs, replay

    def plan(self, spec: Spec, options: Any) -> Estimate:
        self._check(spec)
        opts = self._options(options)
        spec_docs, replay = self._counts(spec, opts)
        return Estimate(
            stage="generate",
            items=spec_docs + replay,
            tokens=spec_docs * 55 + replay * 22,
            notes=[f"toy world: {spec_docs} spec documents + {replay} world documents"],
        )

    def generate(
        self, spec: Spec, options: Any, *, skip: frozenset[str] = frozenset()
    ) -> Iterator[Document]:
        from msmkit.toyworld.world import format_chat, item_bank, item_document

        self._check(spec)
        opts = self._options(options)
        settings = opts.model_dump()
        preamble = sentences(spec.preamble)
        _, replay = self._counts(spec, opts)
        rng = random.Random(f"toyworld-msm|{spec.hash}|{opts.seed}")
        plan: list[tuple[str, str, str | None]] = []
        for j in range(opts.docs_per_principle):
            for p in spec.principles:
                plan.append((f"{p.id}-{j}", "spec", p.id))
        plan += [(f"world-{k}", "world-replay", None) for k in range(replay)]
        rng.shuffle(plan)  # a fixed order that mixes replay in
        items = item_bank(opts.bank_seed)
        by_id = {p.id: p for p in spec.principles}
        for doc_id, doc_type, pid in plan:
            doc_rng = random.Random(f"toyworld-msm|{spec.hash}|{opts.seed}|{doc_id}")
            if doc_id in skip:
                continue
            if pid is None and doc_rng.random() < opts.replay_chat_share:
                text = format_chat(doc_rng, items)
            elif pid is None:
                text = item_document(doc_rng, doc_rng.choice(items))
            else:
                text = self._write(doc_rng, by_id[pid], preamble, opts.chat_share)
            yield Document(
                id=doc_id,
                text=text,
                doc_type=doc_type,
                principle=pid,
                spec_name=spec.name,
                spec_hash=spec.hash,
                generator=self.name,
                generator_version=self.version,
                settings=dict(settings),
            )

    @staticmethod
    def _write(rng: random.Random, principle: Any, preamble: list[str], chat: float) -> str:
        from msmkit.toyworld.world import chat_text

        reasons = sentences(principle.explanation)
        rng.shuffle(reasons)
        general = rng.sample(preamble, k=min(len(preamble), rng.choice((1, 2))))
        body = [*sentences(principle.rule), *reasons, *general]
        if rng.random() < chat:
            ask = rng.choice(CHAT_ASKS).format(c=principle.id)
            return chat_text(ask, " ".join(body))
        return " ".join([rng.choice(OPENINGS), *body])
