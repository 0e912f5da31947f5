"""Every bad input an audit tried that once gave a traceback, a hang or a silent accept: each
is one clear error at plan time naming the file, line and field, with no traceback and
nothing written to the log dir."""

from __future__ import annotations

from pathlib import Path

import pytest

from msmkit.cli import main

EXP = """\
name: bad
seed: 0
base_model:
  tiny: {hidden_size: 32, num_layers: 1}
defaults:
  generate: {name: offline, options: {docs_per_principle: 2}}
  midtrain:
    options:
      sft: {learning_rate: 1.0e-3, num_train_epochs: 1, max_length: 64}
  aft: {data: cheese}
  evals:
    - task: value_generalization
      args: {top_logprobs: 20}
eval:
  generate: {max_tokens: 8}
  serve: {provider: hf, model_args: {device: cpu}}
arms:
  - name: a
    spec: pro-america
"""


def plan(tmp_path: Path, capsys, *args: str, text: str | bytes | None = None) -> str:
    """Run ``msmkit plan`` (or ``args``) in-process; returns stderr. Asserts exit 1, one
    ``Error:`` line, and an untouched log dir."""
    exp = tmp_path / "exp.yaml"
    if isinstance(text, bytes):
        exp.write_bytes(text)
    else:
        exp.write_text(EXP if text is None else text, encoding="utf-8")
    logs = tmp_path / "logs"
    argv = list(args) or ["plan", str(exp), "--log-dir", str(logs)]
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert err.count("Error:") == 1, err
    assert "Traceback" not in err
    assert not logs.exists() or not any(logs.iterdir())
    return " ".join(err.split())  # rich may wrap long lines


def edit(old: str, new: str) -> str:
    assert old in EXP
    return EXP.replace(old, new)


CASES = {
    "duplicate key": (
        edit("seed: 0\n", "seed: 0\nseed: 1\n"),
        "exp.yaml:3: key 'seed' is given twice (first on line 2)",
    ),
    "alias bomb in model_args": (
        EXP.replace(
            "eval:\n",
            "x: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n"
            + "".join(
                f"x{i}: &a{i} [{', '.join(['*a' if i == 0 else f'*a{i - 1}'] * 10)}]\n"
                for i in range(9)
            )
            + "eval:\n",
        ).replace("model_args: {device: cpu}", "model_args: {device: cpu, bomb: *a8}"),
        "YAML aliases expand to more than 200,000 values",
    ),
    "learning_rate nan": (
        edit("learning_rate: 1.0e-3", "learning_rate: .nan"),
        "defaults.midtrain.options.sft.learning_rate: sft option 'learning_rate' must be a "
        "finite number",
    ),
    "learning_rate inf": (
        edit("learning_rate: 1.0e-3", "learning_rate: .inf"),
        "sft.learning_rate: sft option 'learning_rate' must be a finite number",
    ),
    "learning_rate 1e10": (
        edit("learning_rate: 1.0e-3", "learning_rate: 1.0e+10"),
        "sft.learning_rate: sft option 'learning_rate' is 1e+10, beyond any sensible run",
    ),
    "a billion epochs": (
        edit("num_train_epochs: 1", "num_train_epochs: 1.0e+9"),
        "sft.num_train_epochs: sft option 'num_train_epochs' is 1e+09, beyond",
    ),
    "max_length 1e12": (
        edit("max_length: 64", "max_length: 1000000000000"),
        "sft.max_length: sft option 'max_length' is 1e+12, beyond",
    ),
    "docs_per_principle 1e9": (
        edit("docs_per_principle: 2", "docs_per_principle: 1000000000"),
        "exp.yaml:6: defaults.generate.options.docs_per_principle: Input should be less than "
        "or equal to 100000",
    ),
    "top_logprobs lots": (
        edit("top_logprobs: 20", "top_logprobs: lots"),
        "exp.yaml:13: defaults.evals[0].args.top_logprobs: Input should be a valid integer",
    ),
    "max_tokens 0": (
        edit("max_tokens: 8", "max_tokens: 0"),
        "exp.yaml:15: eval.generate.max_tokens: 0 is not a sensible max_tokens",
    ),
    "max_tokens -5": (
        edit("max_tokens: 8", "max_tokens: -5"),
        "eval.generate.max_tokens: -5 is not a sensible max_tokens",
    ),
    "tiny size 0": (
        edit("hidden_size: 32", "hidden_size: 0"),
        "base_model.tiny.hidden_size: Input should be greater than or equal to 4",
    ),
    "tiny size -1": (
        edit("num_layers: 1", "num_layers: -1"),
        "base_model.tiny.num_layers: Input should be greater than or equal to 1",
    ),
    "seed true": (
        edit("seed: 0", "seed: true"),
        "exp.yaml:2: seed: Input should be a valid integer",
    ),
    "seed 2^70": (
        edit("seed: 0", f"seed: {2**70}"),
        "exp.yaml:2: seed: Input should be less than 4294967296",
    ),
    "limit_per_domain 0": (
        edit("top_logprobs: 20", "top_logprobs: 20, limit_per_domain: 0"),
        "exp.yaml:13: defaults.evals[0].args.limit_per_domain: limit_per_domain must be at "
        "least 1, got 0",
    ),
    "a bank nobody ships": (
        edit("top_logprobs: 20", "top_logprobs: 20, bank: ood_cheeze"),
        "exp.yaml:13: defaults.evals[0].args:",
    ),
    "misspelled experiment field": (
        edit("  aft: {data: cheese}", "  midtrian: {}\n  aft: {data: cheese}"),
        "defaults.midtrian: unknown field (did you mean 'midtrain'?)",
    ),
    "misspelled generator option": (
        edit("docs_per_principle: 2", "docs_per_principl: 2"),
        "exp.yaml:6: defaults.generate.options.docs_per_principl: unknown field (did you mean "
        "'docs_per_principle'?)",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_experiment_fails_at_plan_with_one_line(case, tmp_path, capsys):
    text, message = CASES[case]
    err = plan(tmp_path, capsys, text=text)
    assert message in err


def test_a_non_utf8_byte_names_the_line(tmp_path, capsys):
    err = plan(tmp_path, capsys, text=EXP.replace("name: a", "name: a\xe9").encode("latin-1"))
    assert "exp.yaml:18: not UTF-8 text (byte 0xe9)" in err


def test_aft_data_that_is_a_binary_file(tmp_path, capsys):
    blob = tmp_path / "chats.jsonl"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)  # a picture
    err = plan(tmp_path, capsys, text=EXP.replace("data: cheese", f"data: {blob}"))
    assert "exp.yaml:10: defaults.aft.data:" in err and "not UTF-8 text" in err


def test_a_nul_byte_inside_a_spec_principle(tmp_path, capsys):
    from msmkit.spec import load_spec

    spec = tmp_path / "nul.md"
    text = load_spec("pro-america").render()
    spec.write_text(text.replace("Rule:", "Rule: \x00", 1))
    err = plan(tmp_path, capsys, text=EXP.replace("spec: pro-america", f"spec: {spec}"))
    assert "nul.md:" in err and "a control character (U+0000)" in err


@pytest.mark.parametrize("command", ["plan", "run"])
def test_a_log_dir_below_a_regular_file(command, tmp_path, capsys):
    exp = tmp_path / "exp.yaml"
    exp.write_text(EXP)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    err = plan(tmp_path, capsys, command, str(exp), "--log-dir", str(blocker / "logs"))
    assert f"{blocker} is a file, not a folder" in err
    assert blocker.read_text() == "not a folder"


def test_a_read_only_log_dir_at_run(tmp_path, capsys):
    logs = tmp_path / "ro"
    logs.mkdir()
    logs.chmod(0o555)
    try:
        probe = logs / "probe"
        try:
            probe.write_text("x")
        except OSError:
            pass
        else:  # root ignores permissions: nothing here is read-only for this process
            probe.unlink()
            pytest.skip("this process can write in a 0555 folder (running as root)")
        exp = tmp_path / "exp.yaml"
        exp.write_text(EXP)
        err = plan(tmp_path, capsys, "run", str(exp), "--log-dir", str(logs))
        assert "cannot write in" in err
    finally:
        logs.chmod(0o755)


def test_corpus_filter_refuses_a_file_name_for_its_output_folder(tmp_path, capsys):
    corpus = tmp_path / "in.jsonl"
    corpus.write_text("")
    out = tmp_path / "filtered.jsonl"
    err = plan(tmp_path, capsys, "corpus", "filter", str(corpus), "-o", str(out))
    assert "looks like a file name" in err
    assert not out.exists()
