"""Inspect's cache never mixes two checkpoints served under one provider name."""

from __future__ import annotations


def test_two_checkpoints_under_one_name_get_different_cache_scopes():
    from inspect_ai.model import get_model

    from msmkit.evals.caching import checkpoint_scope

    a = get_model("mockllm/model", model_path="/ckpt/a")
    b = get_model("mockllm/model", model_path="/ckpt/b")
    again = get_model("mockllm/model", model_path="/ckpt/a")
    assert checkpoint_scope(a)["model"] == checkpoint_scope(b)["model"]
    assert checkpoint_scope(a)["checkpoint"] != checkpoint_scope(b)["checkpoint"]
    assert checkpoint_scope(a) == checkpoint_scope(again)


def test_cached_generation_is_not_shared_between_checkpoints(tmp_path, monkeypatch):
    from inspect_ai import Task, eval
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, ModelUsage

    from msmkit.evals.caching import checkpoint_generate

    monkeypatch.setenv("INSPECT_CACHE_DIR", str(tmp_path / "cache"))

    def outputs(text):
        out = ModelOutput.from_content(model="mockllm/model", content=text)
        out.usage = ModelUsage(input_tokens=1, output_tokens=1, total_tokens=2)
        return [out]

    def answer(path: str, text: str) -> str:
        task = Task(dataset=[Sample(input="same question")], solver=checkpoint_generate(True))
        [log] = eval(
            task,
            model="mockllm/model",
            model_args={"model_path": path, "custom_outputs": outputs(text)},
            log_dir=str(tmp_path / "logs"),
            display="none",
        )
        return log.samples[0].output.completion

    assert answer("/ckpt/a", "from a") == "from a"
    assert answer("/ckpt/b", "from b") == "from b"  # not a's cached reply
