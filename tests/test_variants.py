"""``msmkit.variants``: applying variants in one place, with errors that blame the right code."""

from __future__ import annotations

from typing import ClassVar

import pytest

import msmkit
from msmkit.components import NoOptions, Options
from msmkit.errors import ConfigError, OptionError, PluginError, UnknownComponentError
from msmkit.registry import get_registry
from msmkit.spec import Spec, load_spec
from msmkit.variants import apply_variant, apply_variants, parse_variant_ref, variant_options


class ShoutOptions(Options):
    times: int = 1
    suffix: str = "!"


class Shout:
    """A well-behaved variant: appends to every rule and records it in the lineage."""

    name = "shout"
    description = "test: louder rules"
    Options: ClassVar[type[Options]] = ShoutOptions

    def apply(self, spec: Spec, options: ShoutOptions) -> Spec:
        out = spec.map_text(lambda text: text)
        principles = tuple(
            p.__class__(p.id, p.title, (p.rule or "") + options.suffix * options.times, None)
            for p in out.principles
        )
        note = f"shout: {options.suffix * options.times}"
        return out.replace(principles=principles, lineage=(*spec.lineage, note))


class ReturnsNone:
    name = "forgetful"
    description = "test: forgets to return the spec"
    Options: ClassVar[type[Options]] = NoOptions

    def apply(self, spec: Spec, options: NoOptions) -> None:
        spec.replace(subject="nobody")  # builds a spec, then drops it


class Raises:
    name = "explodes"
    description = "test: raises"
    Options: ClassVar[type[Options]] = NoOptions

    def apply(self, spec: Spec, options: NoOptions) -> Spec:
        raise ZeroDivisionError("division by zero in the variant")


class VariantsPlugin:
    @msmkit.hookimpl
    def register_spec_variants(self, register):
        for variant in (Shout(), ReturnsNone(), Raises()):
            register(variant)


@pytest.fixture
def variants(fresh_plugins):
    fresh_plugins.register_plugin(VariantsPlugin(), "test-variants", version="9.9")
    return get_registry("variants")


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec("pro-affordability")


def test_apply_variant_returns_the_new_spec(variants, spec: Spec) -> None:
    out = apply_variant(variants.entry("shout"), spec, {"times": 2})
    assert out.lineage == ("shout: !!",)
    assert out.principles[0].rule == spec.principles[0].rule + "!!"
    assert spec.lineage == ()  # the input is untouched
    # an Options instance is used as it is
    again = apply_variant(variants.entry("shout"), spec, ShoutOptions(times=2))
    assert again == out


def test_none_result_is_blamed_on_the_variant(variants, spec: Spec) -> None:
    entry = variants.entry("forgetful")
    assert "test-variants 9.9" in entry.provider
    with pytest.raises(PluginError) as info:
        apply_variant(entry, spec, None)
    message = str(info.value)
    assert message.startswith(f"forgetful ({entry.provider}) failed while applying the variant")
    assert "returned NoneType, not a Spec" in message
    assert "offline" not in message
    assert "must return a new Spec" in info.value.hint


def test_raising_variant_is_one_short_plugin_error(variants, spec: Spec) -> None:
    entry = variants.entry("explodes")
    with pytest.raises(PluginError) as info:
        apply_variant(entry, spec, {})
    assert str(info.value) == (
        f"explodes ({entry.provider}) failed while applying the variant: "
        "ZeroDivisionError: division by zero in the variant"
    )
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_bad_options_name_the_variant_and_field(variants) -> None:
    entry = variants.entry("shout")
    with pytest.raises(OptionError) as info:
        variant_options(entry, {"time": 2})
    assert isinstance(info.value, ConfigError)
    assert str(info.value) == (
        "variant 'shout': option 'time': unknown option (did you mean 'times'?)"
    )
    assert info.value.loc == ("time",)
    assert info.value.hint == "options of 'shout': times, suffix"
    with pytest.raises(OptionError, match=r"option 'times': Input should be a valid integer"):
        variant_options(entry, {"times": "many"})
    with pytest.raises(OptionError, match="option 'x': unknown option") as info:
        variant_options(variants.entry("forgetful"), {"x": 1})
    assert info.value.hint == "'forgetful' takes no options"
    with pytest.raises(OptionError) as info:
        variant_options(variants.entry("attribution"), {})
    assert "option 'subject': required option is missing" in str(info.value)


def test_apply_variants_in_order(variants, spec: Spec) -> None:
    out = apply_variants(spec, [("shout", {"suffix": "?"}), ("rules-only", None), ("shout", {})])
    assert out.lineage == (
        "shout: ?",
        "rules-only: removed explanations from 17 principles",
        "shout: !",
    )
    assert out.principles[0].rule == spec.principles[0].rule + "?!"
    assert apply_variants(spec, []) is spec
    with pytest.raises(UnknownComponentError, match="unknown variant 'shuot'"):
        apply_variants(spec, [("shuot", {})])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("rules-only", ("rules-only", {})),
        ("rules-only:", ("rules-only", {})),
        ("attribution:subject=Claude", ("attribution", {"subject": "Claude"})),
        (
            "attribution:subject=AI systems,plural=true",
            ("attribution", {"subject": "AI systems", "plural": True}),
        ),
        # a comma that does not start a new KEY= stays in the value
        (
            "attribution:subject=Smith, Jones and Co",
            ("attribution", {"subject": "Smith, Jones and Co"}),
        ),
        ("shout:times=3, suffix='!?'", ("shout", {"times": 3, "suffix": "!?"})),
    ],
)
def test_parse_variant_ref(text: str, expected: tuple) -> None:
    assert parse_variant_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (":subject=x", "no variant name"),
        ("attribution:subject", "expected KEY=VALUE, got 'subject'"),
        ("attribution:subject=a,subject=b", "option 'subject' given twice"),
        ("attribution:subject=[unclosed", "is not a valid YAML value"),
    ],
)
def test_parse_variant_ref_errors(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_variant_ref(text)


def test_the_example_variant_in_the_docs_works(fresh_plugins, spec: Spec) -> None:
    """docs/plugins.md's example variant, registered as a plugin and used from the CLI."""
    import types

    from click.testing import CliRunner
    from conftest import REPO

    from msmkit.cli.specs import specs

    text = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = text.split("## The Spec API for variant authors", 1)[1].split("### Example", 1)[1]
    module = types.ModuleType("docs_example")
    exec(
        compile(section.split("```python\n", 1)[1].split("```", 1)[0], "docs", "exec"), vars(module)
    )
    fresh_plugins.register_plugin(module, "docs-example")

    result = CliRunner().invoke(
        specs, ["show", "pro-america", "--variant", "without:ids=[stilton, roquefort]"]
    )
    assert result.exit_code == 0, result.output
    assert "1. without: dropped stilton, roquefort" in result.stdout
    assert "(stilton)" not in result.stdout and "(roquefort)" not in result.stdout
    assert "(colby)" in result.stdout
    with pytest.raises(ConfigError, match="without: no principle cheddar in pro-affordability"):
        apply_variants(spec, [("without", {"ids": ["cheddar"]})])
