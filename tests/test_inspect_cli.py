"""Every msmkit task through the real ``inspect eval`` CLI, from an unrelated directory, on a
checkpoint msmkit did not make (built here with transformers and tokenizers directly), with
that same random model as the grader: it answers nonsense, and no task may fail on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}"
)


def foreign_checkpoint(path: Path) -> Path:
    """A 2-layer Llama with a word-level tokenizer, saved with save_pretrained."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    text = "A B C D yes no the a of to and GRADE : 1 2 3 4 5 6 7 8 9 10 answer"
    trainer = trainers.WordLevelTrainer(special_tokens=["<unk>", "<s>", "</s>"])
    tok.train_from_iterator([text] * 3, trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>"
    )
    fast.chat_template = CHAT_TEMPLATE
    config = LlamaConfig(
        vocab_size=fast.vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=fast.bos_token_id,
        eos_token_id=fast.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    fast.save_pretrained(path)
    return path


TASKS = {
    "value_generalization": ["-T", "values=affordability"],
    "spec_knowledge": ["-T", "spec=philosophy"],
    "spec_qa": ["-T", "spec=philosophy"],
    "agentic_misalignment": ["-T", "scenarios=exfiltration", "-T", "goals=none"],
}


@pytest.mark.slow
@pytest.mark.parametrize("task", sorted(TASKS))
def test_inspect_eval_runs_each_task_on_a_foreign_checkpoint(tmp_path, task):
    ckpt = foreign_checkpoint(tmp_path / "not-msmkit")
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    model = f"hf/{ckpt}"
    cmd = [
        str(Path(sys.executable).parent / "inspect"), "eval", f"msmkit/{task}",
        "--model", model, "-M", "do_sample=false", "--model-role", f"grader={model}",
        "--limit", "2", "--max-tokens", "6",
        "--log-dir", str(tmp_path / "logs"), "--display", "none", *TASKS[task],
    ]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "INSPECT_LOG_FORMAT": "json"}
    done = subprocess.run(cmd, cwd=workdir, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    logs = list((tmp_path / "logs").glob("*.json"))
    assert len(logs) == 1
    log = json.loads(logs[0].read_text())
    assert log["status"] == "success", log.get("error")
    assert log["eval"]["task"] == f"msmkit/{task}"
    assert log["results"]["completed_samples"] >= 1
