"""The order of the steps and what each one is fed: :func:`run_all` on a :class:`Pipeline`.

Step files (``steps/*.json``) are made once and then read back as a user left them. Each
group in a step file carries the ``key`` of what it was made from (a hash of that parent's
content): a group whose parent is unchanged is reused as it is, a new or edited parent gets
new requests, and groups whose parent is gone are dropped.
"""

from __future__ import annotations

import json
import os
from typing import Any

from msmkit.docgen.parsing import parse_document, parse_items
from msmkit.docgen.pipeline import ASSERTION_KINDS, Parent, Pipeline, key_of
from msmkit.genkit.steps import ProbeDone, probe_report, unique


def _fmt_assertions(items: list[dict[str, Any]]) -> str:
    lines = []
    for n, a in enumerate(items, 1):
        line = f"{n}. ({a.get('kind', 'rule')}) {a.get('name', '')}: {a['text']}"
        if str(a.get("reason") or "").strip():
            line += f" Reason the specification gives: {a['reason']}"
        lines.append(line)
    return "\n".join(lines) or "(none listed)"


def _domains(p: Pipeline) -> list[dict[str, Any]]:
    s = p.settings
    report = p.reports["domains"]
    report.items = 1
    stored = p._read("domains")
    if stored is not None:
        if not isinstance(stored, list):
            raise _bad("domains", "a JSON list of {name, description}")
        report.from_file = 1
        items = stored
    else:
        root = Parent(key="spec", label={}, values={}, count=s.domains)
        verdict, _, _ = p.execute("domains", [root], lambda r: parse_items(r, ("name",)))["spec"]
        items = unique(verdict.value or [], report) if verdict.ok else []
        report.dropped_items += verdict.dropped
        if len(items) > s.domains:
            report.trimmed += len(items) - s.domains
            items = items[: s.domains]
        p._save("domains", items, fresh=True)
    for i, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _bad("domains", f"item {i} has no name")
    p.note_step("domains")
    return items


def _bad(step: str, what: str) -> Exception:
    from msmkit.errors import ConfigError

    return ConfigError(f"steps/{step}.json: expected {what}", hint="fix the file, then rerun")


def run_all(p: Pipeline) -> dict[str, Any]:
    """Every step, in order; returns the stage outputs. Raises StillWaiting (a batch is out),
    BudgetExhausted (the budget is spent), StepFailed (requests failed, or a step's every
    answer was rejected) or ProbeDone, each after saving the report."""
    return p.guarded(lambda: _run(p))


def _run(p: Pipeline) -> dict[str, Any]:
    s = p.settings
    domains = _domains(p)
    names = [d["name"] for d in domains]
    parents = []
    for d in domains:
        others = ", ".join(n for n in names if n != d["name"]) or "(none)"
        parents.append(
            Parent(
                key=key_of("domain", d),
                label={"domain": d["name"]},
                values={
                    "domain": d["name"],
                    "domain_description": str(d.get("description", "")),
                    "other_domains": others,
                },
                count=s.subdomains_per_domain,
                info=d,
            )
        )
    subs = p.list_step("subdomains", parents, ("name", "description"), "subdomains")
    sub_list = []  # (key, domain item, subdomain item)
    for parent in parents:
        for sub in subs.get(parent.key, []):  # a probe leaves some parents out
            sub_list.append((key_of(parent.key, sub), parent.info, sub))
    ideas_k = _plan(p, len(sub_list))

    def sub_values(d: dict[str, Any], sub: dict[str, Any]) -> dict[str, str]:
        excerpt = str(sub.get("spec_excerpt") or "").strip() or str(sub["description"])
        return {
            "domain": d["name"],
            "subdomain": sub["name"],
            "subdomain_description": str(sub["description"]),
            "spec_excerpt": excerpt,
        }

    label = {k: {"domain": d["name"], "subdomain": sub["name"]} for k, d, sub in sub_list}
    a_parents = [
        Parent(k, label[k], sub_values(d, sub), s.assertions_per_subdomain)
        for k, d, sub in sub_list
    ]
    raw = p.list_step("assertions", a_parents, ("kind", "text"), "assertions")
    allowed = ("rule",) if s.mode == "rules" else ASSERTION_KINDS
    assertions = {}
    for k, items in raw.items():
        kept = [a for a in items if str(a.get("kind", "")).lower() in allowed]
        p.reports["assertions"].dropped_items += len(items) - len(kept)
        assertions[k] = kept
    t_parents = []
    for k, d, sub in sub_list:
        if k not in assertions:  # left out by a probe
            continue
        values = {**sub_values(d, sub), "assertions": _fmt_assertions(assertions[k])}
        t_parents.append(
            Parent(
                key_of(k, assertions[k]),
                label[k],
                values,
                s.doc_types_per_subdomain,
                info={"sub": k},
            )
        )
    types = p.list_step("doctypes", t_parents, ("name",), "doc_types")
    i_parents = []
    sizes = s.idea_parts(ideas_k)  # a pair's ideas, in parts of at most ideas_per_call
    for tp in t_parents:
        for dt in types.get(tp.key, []):
            for part, size in enumerate(sizes, 1):
                values = {
                    **tp.values,
                    "doc_type": dt["name"],
                    "doc_type_description": str(dt.get("description", "")),
                    "part": str(part),
                    "parts": str(len(sizes)),
                    "earlier_ideas": "",
                }
                label = {**tp.label, "doc_type": dt["name"]}
                if len(sizes) > 1:
                    label["part"] = part
                i_parents.append(
                    Parent(
                        key_of(tp.key, dt, ideas_k, part, len(sizes)),
                        label,
                        values,
                        size,
                        info={"sub": tp.info["sub"], "pair": key_of(tp.key, dt), "part": part},
                    )
                )
    pairs = len(i_parents) // len(sizes)
    p.ctx.note(
        f"projected corpus: {pairs * ideas_k:,} documents ≈ "
        f"{pairs * ideas_k * s.tokens_per_document:,} tokens "
        f"({len(sub_list)} subdomains, {pairs} (subdomain, type) pairs, "
        f"{ideas_k} ideas each{f', asked in {len(sizes)} parts' if len(sizes) > 1 else ''})"
    )
    ideas = _ideas_in_parts(p, i_parents, len(sizes))
    d_parents = []
    for ip in i_parents:
        pool = assertions[ip.info["sub"]]
        for n, idea in enumerate(ideas.get(ip.key, [])):
            chosen = _chosen(pool, idea.get("assertions"))
            d_parents.append(
                Parent(
                    key_of(ip.key, n, idea),
                    {**ip.label, "idea": idea["idea"]},
                    {
                        **ip.values,
                        "assertions": _fmt_assertions(chosen),
                        "idea": idea["idea"],
                        "target_words": str(s.words_per_document()),
                    },
                    info={"assertions": chosen},
                )
            )
    report = p.reports["documents"]
    report.items = len(d_parents)
    answers = p.execute(
        "documents", d_parents, lambda r: parse_document(r, min_chars=s.min_document_chars)
    )
    p.note_step("documents")
    if p.probe is not None:
        _probe_done(p, len(i_parents), pairs * ideas_k)
    return _write_corpus(p, d_parents, answers)


def _probe_done(p: Pipeline, idea_calls: int, documents: int) -> None:
    s = p.settings
    subdomains = s.domains * s.subdomains_per_domain
    planned = {
        "domains": 1,
        "subdomains": s.domains,
        "assertions": subdomains,
        "doctypes": subdomains,
        "ideas": idea_calls,
        "documents": documents,
    }
    text = probe_report(p, planned)
    p.write_report("probe", probe=text)
    raise ProbeDone(f"probe of {p.probe} request(s) a step done: {text}")


def _norm(text: str) -> str:
    return " ".join(str(text).lower().split())


def _ideas_in_parts(p: Pipeline, parents: list[Parent], parts: int) -> dict[str, list]:
    """The ideas step, asked part after part: part k of a (subdomain, type) pair is shown
    the ideas its earlier parts gave, so the parts do not repeat each other. The report
    counts distinct ideas (by their text) and those that repeat an earlier part's."""
    report = p.reports["ideas"]
    stored = p._read("ideas")
    groups: list[dict[str, Any]] = []
    ideas: dict[str, list] = {}
    earlier: dict[str, list[str]] = {}
    for part in range(1, parts + 1):
        wave = []
        for parent in parents:
            if parent.info["part"] != part:
                continue
            shown = earlier.get(parent.info["pair"], [])
            listed = "\n".join(f"- {idea}" for idea in shown)
            if shown:
                listed = (
                    "Ideas already proposed for this document type in the earlier parts "
                    "(propose different ones):\n" + listed
                )
            wave.append(Parent(parent.key, parent.label, {**parent.values, "earlier_ideas": listed},
                               parent.count, parent.info))  # fmt: skip
        got = p.list_step(
            "ideas", wave, ("idea",), "ideas", stored_list=stored, save=False, collect=groups
        )
        ideas.update(got)
        for parent in wave:
            earlier.setdefault(parent.info["pair"], []).extend(
                str(i["idea"]) for i in got.get(parent.key, [])
            )
    p._save("ideas", groups, fresh=stored is None)
    texts = [_norm(i["idea"]) for items in ideas.values() for i in items]
    repeated = 0
    for pair in earlier.values():
        seen: set[str] = set()
        for text in map(_norm, pair):
            repeated += text in seen
            seen.add(text)
    report.extra.update({"distinct": len(set(texts)), "repeated": repeated})
    p.note_step("ideas")
    return ideas


def _chosen(pool: list[dict[str, Any]], numbers: Any) -> list[dict[str, Any]]:
    if isinstance(numbers, list):
        picked = [pool[n - 1] for n in numbers if isinstance(n, int) and 1 <= n <= len(pool)]
        if picked:
            return picked
    return pool


def _plan(p: Pipeline, subdomains: int) -> int:
    """``steps/plan.json``: ideas per (subdomain, type), fixed once the subdomains are known
    (from ``target_tokens`` when set) and editable like the other step files."""
    s = p.settings
    k = s.ideas_for(subdomains)
    docs = subdomains * s.doc_types_per_subdomain * k
    made = {
        "ideas_per_type": k,
        "subdomains": subdomains,
        "doc_types_per_subdomain": s.doc_types_per_subdomain,
        "projected_documents": docs,
        "projected_tokens": docs * s.tokens_per_document,
        "target_tokens": s.target_tokens,
    }
    text = p.ctx.intermediate("steps/plan.json", lambda: json.dumps(made, indent=2) + "\n")
    try:
        value = int(json.loads(text)["ideas_per_type"])
    except (ValueError, KeyError, TypeError):
        raise _bad("plan", "a JSON object with an integer ideas_per_type") from None
    if value < 1:
        raise _bad("plan", "ideas_per_type >= 1")
    return value


def _write_corpus(p: Pipeline, parents: list[Parent], answers: dict[str, Any]) -> dict[str, Any]:
    from msmkit.corpus import CorpusWriter, Document, corpus_stats
    from msmkit.hashing import sha256_file

    o = p.corpus_info
    settings = {**p.settings.model_dump(mode="json"), "prompts": p.prompts.hashes()}
    path = p.dir / "corpus.jsonl"
    tmp = p.dir / ".corpus.jsonl.tmp"
    tmp.unlink(missing_ok=True)
    with CorpusWriter(tmp) as writer:
        for parent in parents:
            verdict, result, req = answers[parent.key]
            if not verdict.ok:
                continue
            chosen = parent.info["assertions"]
            writer.write(
                Document(
                    id=f"doc-{parent.key}",
                    text=verdict.value,
                    doc_type=parent.label["doc_type"],
                    principle=parent.label["subdomain"],
                    spec_name=o["spec_name"],
                    spec_hash=o["spec_hash"],
                    generator="llm",
                    generator_version=o["version"],
                    settings=settings,
                    meta={
                        **parent.label,
                        "assertions": [a.get("name") or a["text"] for a in chosen],
                        "assertion_kinds": sorted({str(a.get("kind")) for a in chosen}),
                        "model": result.model or p.settings.model,
                        "prompt_hash": p.prompts["document"].hash,
                        "system_hash": p.prompts["system"].hash,
                        "request_id": req.id,
                        "attempt": req.meta.get("attempt", 0),
                        "usage": dict(result.usage.__dict__),
                        "batched": result.batched,
                    },
                )
            )
    os.replace(tmp, path)
    report = p.write_report("done")
    stats = corpus_stats(path)
    rejected = {s: r["rejected"] for s, r in report["steps"].items() if r["rejected"]}
    return {
        "corpus": "corpus.jsonl",
        "sha256": sha256_file(path),
        **stats,
        "report": "steps/report.json",
        "dollars": report["dollars"],
        "usage": {s: r["usage"] for s, r in report["steps"].items()},
        "dollars_by_step": {s: r["dollars"] for s, r in report["steps"].items()},
        "rejected": rejected,
    }
