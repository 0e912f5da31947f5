"""The ``README.md`` model card written into every trained output folder.

Hugging Face model-card style: a YAML header (base_model, library_name, tags) and a body
built from the ``msmkit_training.json`` manifest only: recipe, effective settings, data and
its sha256, rows and token counts, steps and loss, library versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CARD_NAME = "README.md"
STAGES = {"midtrain": "Model Spec Midtraining (documents)", "aft": "alignment fine-tuning (chats)"}


def _yaml_header(manifest: dict[str, Any]) -> str:
    import yaml

    library = "peft" if manifest.get("output") == "adapter" else "transformers"
    header = {
        "base_model": str(manifest.get("base_model")),
        "library_name": library,
        "tags": ["msmkit", f"msmkit-{manifest.get('stage')}", "trl", "sft"],
    }
    return "---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n"


def _settings_block(settings: Any) -> str:
    return "```json\n" + json.dumps(settings, indent=2, sort_keys=True, default=str) + "\n```\n"


def _count_rows(manifest: dict[str, Any]) -> list[str]:
    tokens = manifest.get("tokens", {})
    before, after = tokens.get("before", {}), tokens.get("after", {})
    unit = "documents" if manifest.get("stage") == "midtrain" else "chats"
    rows = [
        "| | rows | tokens | trainable tokens |",
        "|---|---|---|---|",
        f"| {unit} (before TRL) | {before.get('rows')} | {before.get('tokens')} | "
        f"{before.get('trainable_tokens')} |",
        f"| trained (after TRL) | {after.get('rows')} | {after.get('tokens')} | "
        f"{after.get('trainable_tokens')} |",
    ]
    if "segments" in after:
        rows.append(f"\nPacked `{after.get('rows')}` blocks hold {after['segments']} segments.")
    return rows


def _extra_data_lines(manifest: dict[str, Any]) -> list[str]:
    lines = []
    if manifest.get("data_ref") and not manifest.get("data_sha256"):
        lines.append(f"- content: `{manifest['data_ref']}`")
    prefix = manifest.get("doc_prefix")
    if prefix:
        lines.append(
            f"- masked document prefix: `{prefix.get('text')}` ({prefix.get('tokens')} tokens, "
            "no loss)"
        )
    mix = manifest.get("mix")
    if mix:
        source = mix.get("source", {})
        lines.append(
            f"- mixed in ({mix.get('option')}): `{source.get('path')}` `{mix.get('ref')}`, "
            f"{mix.get('items')} items, {mix.get('tokens')} tokens (target "
            f"{mix.get('target_tokens')}, ratio {mix.get('ratio')})"
        )
    dist = manifest.get("distributed")
    if dist and dist.get("world_size", 1) > 1:
        lines.append(
            f"- distributed: {dist.get('type')}, {dist.get('world_size')} processes, global "
            f"batch {dist.get('global_batch_size')}"
        )
    return lines


def model_card(manifest: dict[str, Any]) -> str:
    """The card's text for one training manifest."""
    stage = manifest.get("stage")
    options = manifest.get("options", {})
    effective = manifest.get("effective", {})
    lora = effective.get("lora")
    method = f"LoRA (r={lora.get('r')}, alpha={lora.get('lora_alpha')})" if lora else "full FT"
    packing = manifest.get("packing_strategy")
    lines = [
        _yaml_header(manifest),
        f"# {Path(str(manifest.get('base_model'))).name} — msmkit {stage}",
        "",
        f"Trained with msmkit's `trl` backend: {STAGES.get(stage, stage)}, {method}, "
        f"saved as a {manifest.get('output')} model.",
        "",
        "## Training",
        "",
        f"- stage: `{stage}`",
        f"- base model: `{manifest.get('base_model')}` ({manifest.get('base_model_kind')})",
        f"- recipe: `{options.get('recipe') or 'none (msmkit defaults)'}`",
        f"- seed: {manifest.get('seed')}, steps: {manifest.get('steps')}, "
        f"train loss: {manifest.get('train_loss')}",
        f"- max_length: {manifest.get('max_length')}"
        + (f", packing: `{packing}`" if packing else ""),
        f"- precision: {json.dumps(manifest.get('precision', {}), sort_keys=True)}",
        "",
        "### Effective settings",
        "",
        "LoRA (`null` = full fine-tuning):",
        "",
        _settings_block(lora),
        "SFTConfig (msmkit defaults, recipe, then the experiment's options):",
        "",
        _settings_block(effective.get("sft", {})),
        "## Data",
        "",
        f"- file: `{manifest.get('data')}`",
        f"- sha256: `{manifest.get('data_sha256')}`",
        *_extra_data_lines(manifest),
        "",
        *_count_rows(manifest),
        "",
        "## Versions",
        "",
        *[f"- {name} {version}" for name, version in manifest.get("versions", {}).items()],
        "",
        "The full record is in `msmkit_training.json`.",
        "",
    ]
    return "\n".join(lines)


def write_model_card(folder: Path, manifest: dict[str, Any]) -> Path:
    path = folder / CARD_NAME
    path.write_text(model_card(manifest), encoding="utf-8")
    return path
