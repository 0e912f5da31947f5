"""The plugin system: loading, provenance, clashes, broken plugins, listing."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import pytest
from conftest import run_cli

import msmkit
from msmkit.components import NoOptions
from msmkit.errors import DuplicateComponentError, UnknownComponentError
from msmkit.registry import get_registry


class Variant:
    Options = NoOptions

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"test variant {name}"

    def apply(self, spec, options):
        return spec


class OnePlugin:
    def __init__(self, *names: str) -> None:
        self.names = names

    @msmkit.hookimpl
    def register_spec_variants(self, register):
        for n in self.names:
            register(Variant(n))


def test_builtins_come_through_the_hooks(fresh_plugins):
    assert "rules-only" in get_registry("variants")
    assert "offline" in get_registry("generators")
    assert "trl" in get_registry("backends")
    assert "value_generalization" in get_registry("tasks")
    entry = get_registry("generators").entry("offline")
    assert entry.plugin == "msmkit.generators"
    assert "built-in" in entry.provider


def test_installed_example_plugins_are_discovered(fresh_plugins):
    attribution = get_registry("variants").entry("attribution")
    assert attribution.plugin == "attribution"
    assert "msmkit-attribution 0.1.0" in attribution.provider
    assert get_registry("tasks").entry("cheese_preferences").plugin == "cheese_check"


def test_hook_register_spec_variants(fresh_plugins):
    fresh_plugins.register_plugin(OnePlugin("mine"), "mine-plugin", version="1.2")
    entry = get_registry("variants").entry("mine")
    assert entry.plugin == "mine-plugin"
    assert "1.2" in entry.provider
    fresh_plugins.unregister_plugin("mine-plugin")
    assert "mine" not in get_registry("variants")


def test_duplicate_name_names_both_providers(fresh_plugins):
    fresh_plugins.register_plugin(
        OnePlugin("rules-only"), "shadow", version="9.9", package="msmkit-shadow"
    )
    with pytest.raises(DuplicateComponentError) as err:
        get_registry("variants")
    message = str(err.value)
    assert "rules-only" in message
    assert "msmkit-shadow 9.9" in message
    assert "built-in 'msmkit.variants'" in message
    assert "MSMKIT_BLOCK_PLUGINS=shadow" in err.value.hint


def test_unknown_name_suggests_close_matches(fresh_plugins):
    with pytest.raises(UnknownComponentError) as err:
        get_registry("variants").get("rule-only")
    assert "'rules-only'" in err.value.hint
    assert "msmkit list variants" in err.value.hint


def test_plugin_whose_hook_raises_is_reported_not_fatal(fresh_plugins, capsys):
    class Broken:
        @msmkit.hookimpl
        def register_spec_variants(self, register):
            register(Variant("half-done"))
            raise RuntimeError("boom")

    fresh_plugins.register_plugin(Broken(), "broken")
    reg = get_registry("variants")
    assert "rules-only" in reg and "half-done" not in reg
    info = fresh_plugins.plugin_info("broken")
    assert info.status == "error" and "boom" in info.error
    with pytest.raises(UnknownComponentError) as err:
        reg.get("half-done")
    assert "broken" in err.value.hint


def test_plugin_that_fails_to_import_is_reported(fresh_plugins, monkeypatch):
    bad = EntryPoint(name="bad", value="msmkit_no_such_module_xyz", group="msmkit")
    monkeypatch.setattr(fresh_plugins, "entry_points", lambda group: [bad])
    reg = get_registry("variants")
    assert "rules-only" in reg
    info = fresh_plugins.plugin_info("bad")
    assert info.status == "error"
    assert "ModuleNotFoundError" in info.error


def test_strict_mode_makes_import_failures_errors(fresh_plugins, monkeypatch):
    from msmkit.errors import PluginError

    bad = EntryPoint(name="bad", value="msmkit_no_such_module_xyz", group="msmkit")
    monkeypatch.setattr(fresh_plugins, "entry_points", lambda group: [bad])
    monkeypatch.setenv("MSMKIT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError, match="bad"):
        fresh_plugins.get_plugin_manager()


def test_blocked_plugin_is_skipped(fresh_plugins, monkeypatch):
    monkeypatch.setenv("MSMKIT_BLOCK_PLUGINS", "attribution")
    assert "attribution" not in get_registry("variants")
    assert fresh_plugins.plugin_info("attribution").status == "blocked"


def test_hook_register_commands(fresh_plugins):
    import click
    from click.testing import CliRunner

    class Commands:
        @msmkit.hookimpl
        def register_commands(self, cli):
            @cli.command()
            def hello():
                """Say hello."""
                click.echo("hello from a plugin")

    fresh_plugins.register_plugin(Commands(), "commands")
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), ["hello"])
    assert result.exit_code == 0
    assert "hello from a plugin" in result.output


def test_plugins_command_json():
    result = run_cli("plugins", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["name"]: row for row in json.loads(result.stdout)}
    assert rows["attribution"]["package"] == "msmkit-attribution"
    assert rows["attribution"]["version"] == "0.1.0"
    assert rows["attribution"]["hooks"] == ["register_spec_variants"]
    assert rows["attribution"]["status"] == "ok"
    assert rows["msmkit.backends"]["builtin"] is True


def test_list_components_cli():
    result = run_cli("list", "variants", "--json")
    assert result.returncode == 0, result.stderr
    names = {row["name"] for row in json.loads(result.stdout)}
    assert {"rules-only", "attribution"} <= names
    backends = json.loads(run_cli("list", "backends", "--json").stdout)
    trl = next(b for b in backends if b["name"] == "trl")
    assert trl["available"] is True
    assert "lora" in trl["options"]
    result = run_cli("list", "tasks")
    assert "value_generalization" in result.stdout and "cheese_preferences" in result.stdout


def test_broken_installed_plugin_does_not_break_the_cli(tmp_path):
    """A real distribution on the path whose plugin module raises on import."""
    site = tmp_path / "site"
    dist = site / "msmkit_broken-0.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: msmkit-broken\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text("[msmkit]\nbroken = msmkit_broken_mod\n")
    (site / "msmkit_broken_mod.py").write_text("raise RuntimeError('cannot start')\n")
    env = {"PYTHONPATH": str(site)}

    listed = run_cli("list", "variants", env=env)
    assert listed.returncode == 0
    assert "rules-only" in listed.stdout
    assert "plugin 'broken' (msmkit-broken) is broken" in listed.stderr
    assert "Traceback" not in listed.stderr

    rows = {r["name"]: r for r in json.loads(run_cli("plugins", "--json", env=env).stdout)}
    assert rows["broken"]["status"] == "error"
    assert rows["broken"]["version"] == "0.3"
    assert "cannot start" in rows["broken"]["error"]

    strict = run_cli("list", "variants", env={**env, "MSMKIT_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert "failed to load" in strict.stderr and "Traceback" not in strict.stderr
