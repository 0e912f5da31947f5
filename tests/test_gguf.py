"""``convert_gguf``'s input checks; they need neither the SmolLM2 wheel nor the gguf package."""

from __future__ import annotations

import importlib.util

import pytest

from msmkit.errors import ConfigError, ModelPathError, PrerequisiteError, RunError
from msmkit.training.gguf import convert_gguf


def test_convert_refuses_bad_inputs(tmp_path, monkeypatch):
    fake = tmp_path / "model.gguf"
    with pytest.raises(ModelPathError, match="not found"):
        convert_gguf(fake, tmp_path / "out")
    fake.write_bytes(b"GGUF")
    (tmp_path / "taken").mkdir()
    with pytest.raises(RunError, match="already exists"):
        convert_gguf(fake, tmp_path / "taken")
    with pytest.raises(ConfigError, match="dtype"):
        convert_gguf(fake, tmp_path / "out", dtype="int4")

    real_find_spec = importlib.util.find_spec

    def no_gguf(name, *args):
        return None if name == "gguf" else real_find_spec(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", no_gguf)
    with pytest.raises(PrerequisiteError) as info:
        convert_gguf(fake, tmp_path / "out")
    assert "pip install gguf" in (info.value.hint or "")
    assert not (tmp_path / "out").exists()
