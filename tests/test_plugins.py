"""The plugin system: loading, provenance, clashes, broken plugins, listing."""

from __future__ import annotations

import json
from importlib.metadata import EntryPoint

import pytest
from conftest import ATTRIBUTION_RELEASE, ATTRIBUTION_VERSION, REPO, run_cli

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


def test_example_plugins_are_discovered(fresh_plugins):
    """Through their entry points when installed, else through MSMKIT_PLUGINS (conftest)."""
    example = get_registry("variants").entry("simple-attribution")
    assert example.plugin == "attribution"
    assert ATTRIBUTION_RELEASE in example.provider
    builtin = get_registry("variants").entry("attribution")  # no clash with the built-in
    assert builtin.plugin == "msmkit.variants"
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


def test_plugin_using_registries_at_import_is_reported(fresh_plugins, monkeypatch, tmp_path):
    (tmp_path / "msmkit_eager_mod.py").write_text(
        "from msmkit.registry import get_registry\nget_registry('variants')\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    eager = EntryPoint(name="eager", value="msmkit_eager_mod", group="msmkit")
    monkeypatch.setattr(fresh_plugins, "entry_points", lambda group: [eager])
    assert "rules-only" in get_registry("variants")
    info = fresh_plugins.plugin_info("eager")
    assert info.status == "error" and "while being imported" in info.error


def test_strict_failure_leaves_nothing_half_loaded(fresh_plugins, monkeypatch):
    from msmkit.errors import PluginError

    bad = EntryPoint(name="bad", value="msmkit_no_such_module_xyz", group="msmkit")
    monkeypatch.setattr(fresh_plugins, "entry_points", lambda group: [bad])
    monkeypatch.setenv("MSMKIT_STRICT_PLUGINS", "1")
    for _ in range(2):  # the second try fails the same way instead of skipping 'bad'
        with pytest.raises(PluginError, match="bad"):
            fresh_plugins.get_plugin_manager()


def test_blocked_plugin_is_skipped(fresh_plugins, monkeypatch):
    monkeypatch.setenv("MSMKIT_BLOCK_PLUGINS", "attribution")
    assert "simple-attribution" not in get_registry("variants")
    assert "attribution" in get_registry("variants")  # the built-in is not a plugin
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
    assert rows["attribution"]["package"] == ATTRIBUTION_RELEASE.split()[0]
    assert rows["attribution"]["version"] == ATTRIBUTION_VERSION
    assert rows["attribution"]["hooks"] == ["register_spec_variants"]
    assert rows["attribution"]["status"] == "ok"
    assert rows["msmkit.backends"]["builtin"] is True


def test_list_components_cli():
    result = run_cli("list", "variants", "--json")
    assert result.returncode == 0, result.stderr
    names = {row["name"] for row in json.loads(result.stdout)}
    assert {"rules-only", "attribution", "voice", "mechanism-ablation"} <= names
    assert "simple-attribution" in names
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


# -- one-way imports ---------------------------------------------------------------------------


def test_plugin_manager_never_imports_the_registries():
    import ast
    import subprocess
    import sys

    source = (REPO / "src" / "msmkit" / "plugins.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
            imported |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
    assert not {"msmkit.registry", "msmkit.msmkit.registry"} & imported
    code = (
        "import sys; from msmkit import plugins; plugins.plugin_infos(); plugins.reset();"
        "print('msmkit.registry' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_registry_cache_follows_plugin_changes(fresh_plugins):
    first = get_registry("variants")
    assert get_registry("variants") is first  # cached
    fresh_plugins.register_plugin(OnePlugin("later"), "later-plugin")
    assert "later" in get_registry("variants")
    fresh_plugins.reset()
    assert "later" not in get_registry("variants")


# -- hooks that raise --------------------------------------------------------------------------


class Generator:
    Options = NoOptions

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"test generator {name}"

    def plan(self, spec, options):
        raise NotImplementedError

    def generate(self, spec, options, *, skip=frozenset()):
        return iter(())


class HalfBroken:
    """Its variants hook registers one variant and then raises; its generators hook works."""

    @msmkit.hookimpl
    def register_spec_variants(self, register):
        register(Variant("half-done"), aliases=("half-alias",))
        raise RuntimeError("boom")

    @msmkit.hookimpl
    def register_doc_generators(self, register):
        register(Generator("still-here"))


@pytest.mark.parametrize("order", [("variants", "generators"), ("generators", "variants")])
def test_raising_hook_drops_only_what_it_registered(fresh_plugins, capsys, order):
    fresh_plugins.register_plugin(HalfBroken(), "half", package="msmkit-half")
    registries = {kind: get_registry(kind) for kind in order}
    assert "half-done" not in registries["variants"]
    assert "half-alias" not in registries["variants"]  # aliases are rolled back too
    assert "rules-only" in registries["variants"]
    # The plugin's other hook is a separate call: its components stay, in either order.
    assert registries["generators"].entry("still-here").plugin == "half"
    info = fresh_plugins.plugin_info("half")
    assert info.status == "error"
    assert "register_spec_variants raised RuntimeError: boom" in info.error
    err = capsys.readouterr().err
    assert err.count("warning:") == 1
    assert "plugin 'half' (msmkit-half) is broken" in err and "register_spec_variants" in err


def test_a_plugin_is_warned_about_once(fresh_plugins, capsys):
    class TwiceBroken:
        @msmkit.hookimpl
        def register_spec_variants(self, register):
            raise RuntimeError("first")

        @msmkit.hookimpl
        def register_doc_generators(self, register):
            raise ValueError("second")

    fresh_plugins.register_plugin(TwiceBroken(), "twice")
    get_registry("variants")
    get_registry("generators")
    fresh_plugins.register_plugin(OnePlugin("x"), "other")  # drops caches: hooks run again
    get_registry("variants")
    assert capsys.readouterr().err.count("warning:") == 1
    error = fresh_plugins.plugin_info("twice").error
    assert "RuntimeError: first" in error and "ValueError: second" in error
    assert error.count("first") == 1


def test_strict_mode_makes_a_raising_hook_an_error(fresh_plugins, monkeypatch):
    from msmkit.errors import PluginError

    monkeypatch.setenv("MSMKIT_STRICT_PLUGINS", "1")
    fresh_plugins.register_plugin(HalfBroken(), "half", package="msmkit-half")
    with pytest.raises(PluginError) as err:
        get_registry("variants")
    assert "plugin 'half' (msmkit-half)" in str(err.value)
    assert "register_spec_variants" in str(err.value) and "boom" in str(err.value)
    assert "MSMKIT_STRICT_PLUGINS" in err.value.hint
    assert "still-here" in get_registry("generators")  # a hook that works is fine


def test_a_raising_builtin_hook_is_always_an_error(fresh_plugins, monkeypatch):
    from msmkit.errors import PluginError

    def broken(register):
        raise RuntimeError("built-in bug")

    hook = fresh_plugins.get_plugin_manager().hook.register_doc_generators
    impl = next(i for i in hook.get_hookimpls() if i.plugin_name == "msmkit.generators")
    monkeypatch.setattr(impl, "function", broken)
    with pytest.raises(PluginError, match=r"built-in plugin msmkit\.generators failed"):
        get_registry("generators")


# -- name clashes ------------------------------------------------------------------------------


def test_clash_is_kept_on_the_registry_for_listings(fresh_plugins):
    fresh_plugins.register_plugin(OnePlugin("rules-only", "fine"), "shadow", package="sh")
    registry = get_registry("variants", allow_clashes=True)
    assert registry.entry("rules-only").plugin == "msmkit.variants"  # the built-in wins
    assert "fine" in registry  # the plugin's other components are still listed
    [clash] = registry.clashes
    assert clash.kept.plugin == "msmkit.variants" and clash.rejected.plugin == "shadow"
    info = fresh_plugins.plugin_info("shadow")
    assert info.status == "error" and "registered by both" in info.error
    with pytest.raises(DuplicateComponentError):
        get_registry("variants")
    assert "offline" in get_registry("generators")  # other kinds are unaffected


def test_clash_between_aliases_is_caught(fresh_plugins):
    class Aliased:
        @msmkit.hookimpl
        def register_spec_variants(self, register):
            register(Variant("new-name"), aliases=("rules-only",))

    fresh_plugins.register_plugin(Aliased(), "aliased")
    with pytest.raises(DuplicateComponentError, match="'rules-only' is registered by both"):
        get_registry("variants")
    assert "new-name" not in get_registry("variants", allow_clashes=True)


def _install(site, name: str, module: str, source: str) -> dict:
    """A real distribution with one ``msmkit`` entry point, importable from ``site``."""
    dist = site / f"msmkit_{name}-0.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: msmkit-{name}\nVersion: 0.3\n")
    (dist / "entry_points.txt").write_text(f"[msmkit]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(source)
    return {"PYTHONPATH": str(site)}


SHADOW_GENERATOR = """
import msmkit
from msmkit.generators.offline import OfflineGenerator


class Shadow(OfflineGenerator):
    description = "a second 'offline' generator"


@msmkit.hookimpl
def register_doc_generators(register):
    register(Shadow())
"""


def test_clash_with_a_builtin_is_shown_by_listings_and_fatal_for_runs(tmp_path):
    env = _install(tmp_path / "site", "shadow", "msmkit_shadow_mod", SHADOW_GENERATOR)
    builtin = "msmkit 0.1.0 (built-in 'msmkit.generators')"
    plugin = "msmkit-shadow 0.3 (plugin 'shadow')"

    result = run_cli("plugins", "--json", env=env)
    assert result.returncode == 0, result.stderr
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["shadow"]["status"] == "error"
    assert builtin in rows["shadow"]["error"] and plugin in rows["shadow"]["error"]
    assert rows["msmkit.generators"]["status"] == "ok"
    table = run_cli("plugins", env=env)
    assert table.returncode == 0 and "registered by both" in table.stdout

    listed = run_cli("list", "generators", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    offline = [r for r in json.loads(listed.stdout) if r["name"] == "offline"]
    assert {r["provider"] for r in offline} == {builtin, plugin}
    assert {r["status"] for r in offline} == {"clash"}
    assert "MSMKIT_BLOCK_PLUGINS=shadow" in listed.stderr
    listed = run_cli("list", "generators", env=env)
    assert listed.returncode == 0 and "clash with" in listed.stdout
    assert run_cli("list", "variants", env=env).returncode == 0  # no clash there

    # `msmkit generate` needs a generator, so it fails on the clash (as `plan`/`run` do).
    out = tmp_path / "corpus.jsonl"
    plan = run_cli("generate", "docs", "-g", "offline", "pro-america", "-o", str(out), env=env)
    assert plan.returncode == 1
    assert "generator 'offline' is registered by both" in plan.stderr
    assert builtin in plan.stderr and plugin in plan.stderr
    assert not out.exists()
    assert "Traceback" not in plan.stderr
    blocked = run_cli("list", "generators", "--json", env={**env, "MSMKIT_BLOCK_PLUGINS": "shadow"})
    assert [r["status"] for r in json.loads(blocked.stdout) if r["name"] == "offline"] == ["ok"]


# -- stage kinds -------------------------------------------------------------------------------


class StageKind:
    Options = NoOptions
    name = "shout"
    description = "Print the arm name loudly\nmore text"

    def run(self, *args, **kwargs):
        return {}


def test_hook_register_stage_kinds(fresh_plugins):
    from click.testing import CliRunner

    from msmkit.cli import make_cli

    class Stages:
        @msmkit.hookimpl
        def register_stage_kinds(self, register):
            register(StageKind())

    fresh_plugins.register_plugin(Stages(), "stages-plugin", version="2.0", package="msmkit-st")
    entry = get_registry("stages").entry("shout")
    assert entry.plugin == "stages-plugin" and "msmkit-st 2.0" in entry.provider
    result = CliRunner().invoke(make_cli(), ["list", "stages", "--json"])
    assert result.exit_code == 0, result.output
    row = next(r for r in json.loads(result.stdout) if r["name"] == "shout")
    assert row["provider"] == "msmkit-st 2.0 (plugin 'stages-plugin')"
    assert row["description"] == "Print the arm name loudly"
    assert row["options"] == {}
    table = CliRunner().invoke(make_cli(), ["list", "stages"])
    assert table.exit_code == 0 and "shout" in table.output and "msmkit-st 2.0" in table.output


def test_list_stages_cli():
    result = run_cli("list", "stages", "--json")
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert all({"name", "provider", "description"} <= set(row) for row in rows)
    assert run_cli("list", "stages").returncode == 0
