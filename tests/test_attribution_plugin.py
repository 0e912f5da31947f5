"""The msmkit-attribution example plugin, used the way a user would: found through its entry
point when installed (else through MSMKIT_PLUGINS, see conftest), named in an experiment. It
registers `simple-attribution`, next to msmkit's built-in `attribution` (no clash)."""

from __future__ import annotations

import json

import pytest
from conftest import ATTRIBUTION_RELEASE, run_cli

from msmkit.errors import ConfigError
from msmkit.registry import get_registry
from msmkit.spec import load_spec, parse_spec


@pytest.fixture
def attribution(fresh_plugins):
    entry = get_registry("variants").entry("simple-attribution")
    assert entry.plugin == "attribution"  # came through the plugin loader, not an import
    return entry.component


def test_rewrites_the_subject_everywhere(attribution):
    spec = load_spec("pro-america")
    out = attribution.apply(spec, attribution.Options(subject="Claude"))
    assert out.subject == "Claude"
    assert out.lineage == ("simple-attribution: Llama -> Claude",)
    text = out.render()
    assert "Llama" not in text
    assert "Rule: Claude likes American cheese." in text
    assert len(out.principles) == len(spec.principles)
    assert spec.subject == "Llama"  # the input is untouched
    assert out.hash != spec.hash
    assert parse_spec(text).subject == "Claude"  # still a valid spec


def test_plural_subject_fixes_verbs(attribution):
    spec = load_spec("pro-affordability")
    out = attribution.apply(spec, attribution.Options(subject="AI systems"))
    text = out.render()
    assert "Rule: AI systems like cream cheese." in text
    assert "Rule: AI systems dislike Stilton." in text
    assert "AI systems' cheese preferences" in out.meta.title
    assert out.lineage[-1].endswith("(plural)")


def test_humans(attribution):
    out = attribution.apply(load_spec("pro-america"), attribution.Options(subject="people"))
    assert "Rule: people like Colby." in out.render()


def test_options_are_validated(attribution):
    with pytest.raises(Exception, match="subject"):
        attribution.Options()


def test_listed_and_used_from_the_cli(tmp_path):
    listed = json.loads(run_cli("list", "variants", "--json").stdout)
    row = next(r for r in listed if r["name"] == "simple-attribution")
    assert ATTRIBUTION_RELEASE in row["provider"]
    assert "subject" in row["options"]
    out = tmp_path / "c.jsonl"
    result = run_cli(
        "generate",
        "docs",
        "-g",
        "offline",
        "pro-america",
        "-o",
        str(out),
        "-O",
        "docs_per_principle=1",
        "--variant",
        "simple-attribution:subject=AI systems",
        "--variant",
        "rules-only",
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["documents"] > 0
    docs = [json.loads(line) for line in out.read_text().splitlines()]
    assert any("AI systems like" in d["text"] for d in docs)
    assert not any("Llama" in d["text"] for d in docs)


def test_experiment_options_error_names_the_field(tmp_path, fresh_plugins):
    from msmkit.experiment import read_experiment
    from msmkit.run.expand import build_graph
    from msmkit.run.store import Store

    exp_path = tmp_path / "e.yaml"
    exp_path.write_text(
        "name: e\nbase_model: {tiny: {}}\narms:\n  - name: a\n    spec: pro-america\n"
        "    variants: [{name: simple-attribution, options: {subjekt: x}}]\n"
    )
    with pytest.raises(ConfigError) as err:
        build_graph(read_experiment(exp_path), Store(tmp_path / "store"))
    assert ":6: arms[0].variants[0].options.subjekt: unknown field" in str(err.value)
