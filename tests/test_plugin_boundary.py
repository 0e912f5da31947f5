"""Broken and clashing plugins never break the commands that don't use them: a misspelled
hook, an argument a hook does not pass, a raising import, a raising ``register_commands``,
and plugin commands that clash with a built-in or with each other. Plus MSMKIT_PLUGINS."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from conftest import run_cli

import msmkit
from msmkit.errors import PluginError
from msmkit.registry import get_registry

MISSPELT = """
import msmkit
from msmkit.components import NoOptions


class Variant:
    name = "never-seen"
    description = "registered through a misspelled hook"
    Options = NoOptions

    def apply(self, spec, options):
        return spec


@msmkit.hookimpl
def register_spec_variant(register):  # the hook is register_spec_variants
    register(Variant())
"""

EXTRA_ARG = """
import msmkit


@msmkit.hookimpl
def register_eval_tasks(register, config):
    pass
"""

COMMANDS = """
import click
import msmkit

__version__ = "1.0"


@msmkit.hookimpl
def register_commands(cli):
    @cli.command("{clash}")
    def clashing():
        "A second {clash}."
        click.echo("the plugin's {clash}")

    @cli.command("{own}")
    def own():
        "A command only this plugin has."
        click.echo("{own} from the plugin")
"""


def _module(tmp_path: Path, name: str, source: str) -> dict[str, str]:
    """A plugin module importable in a CLI subprocess (PYTHONPATH)."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(source)
    return {"PYTHONPATH": str(site)}


def _install(site: Path, dist: str, name: str, module: str, source: str) -> dict[str, str]:
    """A real distribution whose ``msmkit`` entry point names ``module``."""
    info = site / f"{dist.replace('-', '_')}-0.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.3\n")
    (info / "entry_points.txt").write_text(f"[msmkit]\n{name} = {module}\n")
    (site / f"{module}.py").write_text(source)
    return {"PYTHONPATH": str(site)}


def _rows(result) -> dict[str, dict]:
    assert result.returncode == 0, result.stderr
    return {row["name"]: row for row in json.loads(result.stdout)}


# -- a hookimpl that does not fit a hook --------------------------------------------------------


def test_misspelled_hook_in_an_installed_plugin_breaks_no_command(tmp_path):
    env = _install(tmp_path / "site", "msmkit-typo", "typo", "msmkit_typo_mod", MISSPELT)
    expected = "unknown hook 'register_spec_variant' (did you mean 'register_spec_variants'?)"

    helped = run_cli("--help", env=env)
    assert helped.returncode == 0, helped.stderr
    assert "Commands:" in helped.stdout
    [warning] = helped.stderr.strip().splitlines()  # one line
    assert warning == (
        f"warning: plugin 'typo' (msmkit-typo) is broken and was skipped: {expected}"
    )

    rows = _rows(run_cli("plugins", "--json", env=env))
    assert rows["typo"]["status"] == "error" and rows["typo"]["error"] == expected
    assert rows["typo"]["version"] == "0.3" and rows["typo"]["hooks"] == []
    assert rows["msmkit.variants"]["status"] == "ok"

    listed = run_cli("list", "variants", "--json", env=env)
    names = {row["name"] for row in json.loads(listed.stdout)}
    assert listed.returncode == 0 and "rules-only" in names and "never-seen" not in names
    shown = run_cli("specs", "show", "pro-america", "--variant", "rules-only", env=env)
    assert shown.returncode == 0 and "Traceback" not in shown.stderr

    strict = run_cli("--help", env={**env, "MSMKIT_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1
    assert f"Error: plugin 'typo' (msmkit-typo): {expected}" in strict.stderr
    assert "Traceback" not in strict.stderr


def test_misspelled_hook_in_process_unregisters_the_whole_plugin(fresh_plugins, capsys):
    class Typo:
        @msmkit.hookimpl
        def register_doc_generator(self, register):
            raise AssertionError("never called")

        @msmkit.hookimpl
        def register_eval_tasks(self, register):
            raise AssertionError("never called either: the plugin is not loaded at all")

    fresh_plugins.register_plugin(Typo(), "typo", package="msmkit-typo")
    assert "offline" in get_registry("generators")
    assert "value_generalization" in get_registry("tasks")
    info = fresh_plugins.plugin_info("typo")
    assert info.status == "error" and info.hooks == []
    assert "unknown hook 'register_doc_generator'" in info.error
    assert "did you mean 'register_doc_generators'?" in info.error
    assert fresh_plugins.get_plugin_manager().get_plugin("typo") is None
    assert capsys.readouterr().err.count("warning:") == 1


def test_a_hook_name_far_from_any_lists_the_hooks(fresh_plugins):
    class Unrelated:
        @msmkit.hookimpl
        def make_coffee(self):
            pass

    fresh_plugins.register_plugin(Unrelated(), "coffee")
    error = fresh_plugins.plugin_info("coffee").error
    assert error.startswith("unknown hook 'make_coffee' (hooks: register_commands, ")
    assert "did you mean" not in error


def test_optional_hooks_are_allowed(fresh_plugins):
    class Optional:
        @msmkit.hookimpl(optionalhook=True)
        def register_reports(self, register):
            pass

        @msmkit.hookimpl
        def register_spec_variants(self, register):
            pass

    fresh_plugins.register_plugin(Optional(), "optional")
    info = fresh_plugins.plugin_info("optional")
    assert info.status == "ok" and "register_spec_variants" in info.hooks


def test_strict_mode_makes_a_misspelled_hook_an_error(fresh_plugins, monkeypatch):
    class Typo:
        @msmkit.hookimpl
        def register_stage_kind(self, register):
            pass

    monkeypatch.setenv("MSMKIT_STRICT_PLUGINS", "1")
    with pytest.raises(PluginError) as err:
        fresh_plugins.register_plugin(Typo(), "typo", package="msmkit-typo")
    assert "plugin 'typo' (msmkit-typo)" in str(err.value)
    assert "'register_stage_kind' (did you mean 'register_stage_kinds'?)" in str(err.value)
    assert fresh_plugins.get_plugin_manager().get_plugin("typo") is None


def test_an_argument_the_hook_does_not_pass(tmp_path, fresh_plugins):
    env = {**_module(tmp_path, "msmkit_extra_mod", EXTRA_ARG), "MSMKIT_PLUGINS": "msmkit_extra_mod"}
    expected = (
        "hook register_eval_tasks takes argument(s) 'config' that msmkit does not pass "
        "(it passes: register)"
    )
    helped = run_cli("--help", env=env)
    assert helped.returncode == 0
    assert helped.stderr.strip().splitlines() == [
        f"warning: plugin 'msmkit_extra_mod' (msmkit_extra_mod) is broken and was skipped: "
        f"{expected}"
    ]
    row = _rows(run_cli("plugins", "--json", env=env))["msmkit_extra_mod"]
    assert (row["status"], row["error"], row["hooks"]) == ("error", expected, [])
    tasks = run_cli("list", "tasks", env=env)
    assert tasks.returncode == 0 and "value_generalization" in tasks.stdout
    strict = run_cli("list", "tasks", env={**env, "MSMKIT_STRICT_PLUGINS": "1"})
    assert strict.returncode == 1 and expected in strict.stderr
    assert "Traceback" not in strict.stderr


def test_a_raising_import_named_in_msmkit_plugins(tmp_path):
    env = {
        **_module(tmp_path, "msmkit_raising_mod", "raise ImportError('needs libfoo')\n"),
        "MSMKIT_PLUGINS": "raising=msmkit_raising_mod",
    }
    helped = run_cli("--help", env=env)
    assert helped.returncode == 0
    assert helped.stderr.strip().splitlines() == [
        "warning: plugin 'raising' (msmkit_raising_mod) is broken and was skipped: "
        "ImportError: needs libfoo"
    ]
    row = _rows(run_cli("plugins", "--json", env=env))["raising"]
    assert row["status"] == "error" and row["package"] == "msmkit_raising_mod"


# -- MSMKIT_PLUGINS ----------------------------------------------------------------------------

PLAIN = """
import msmkit
from msmkit.components import NoOptions

__version__ = "2.5"


class Same:
    name = "same"
    description = "returns the spec unchanged"
    Options = NoOptions

    def apply(self, spec, options):
        return spec


@msmkit.hookimpl
def register_spec_variants(register):
    register(Same())
"""


def test_msmkit_plugins_registers_modules_by_import_name(tmp_path, fresh_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "msmkit_plain_mod.py").write_text(PLAIN)
    monkeypatch.setenv("MSMKIT_PLUGINS", "msmkit_plain_mod")
    fresh_plugins.reset()
    entry = get_registry("variants").entry("same")
    assert entry.plugin == "msmkit_plain_mod"
    assert entry.provider == "msmkit_plain_mod 2.5 (plugin 'msmkit_plain_mod')"
    info = fresh_plugins.plugin_info("msmkit_plain_mod")
    assert (info.package, info.version, info.status) == ("msmkit_plain_mod", "2.5", "ok")
    assert info.hooks == ["register_spec_variants"]

    monkeypatch.setenv("MSMKIT_PLUGINS", " plain = msmkit_plain_mod , ")  # name=module form
    fresh_plugins.reset()
    assert get_registry("variants").entry("same").plugin == "plain"

    monkeypatch.setenv("MSMKIT_BLOCK_PLUGINS", "plain")
    fresh_plugins.reset()
    assert "same" not in get_registry("variants")
    assert fresh_plugins.plugin_info("plain").status == "blocked"


def test_a_module_listed_twice_is_loaded_once(tmp_path, fresh_plugins, monkeypatch):
    monkeypatch.syspath_prepend(str(tmp_path))
    (tmp_path / "msmkit_plain_mod.py").write_text(PLAIN)
    monkeypatch.setenv("MSMKIT_PLUGINS", "a=msmkit_plain_mod,b=msmkit_plain_mod")
    fresh_plugins.reset()
    assert get_registry("variants").entry("same").plugin == "a"  # no clash with itself
    assert fresh_plugins.plugin_info("b") is None


def test_msmkit_plugins_in_the_cli(tmp_path):
    env = {**_module(tmp_path, "msmkit_plain_mod", PLAIN), "MSMKIT_PLUGINS": "msmkit_plain_mod"}
    row = _rows(run_cli("plugins", "--json", env=env))["msmkit_plain_mod"]
    assert (row["package"], row["version"], row["status"]) == ("msmkit_plain_mod", "2.5", "ok")
    listed = run_cli("list", "variants", env=env)
    assert (
        listed.returncode == 0
        and "same" in listed.stdout
        and "msmkit_plain_mod 2.5" in (listed.stdout)
    )


# -- plugin commands ---------------------------------------------------------------------------


def test_a_command_clashing_with_a_builtin_is_an_error_naming_both(tmp_path):
    env = {
        **_module(tmp_path, "msmkit_cmds_mod", COMMANDS.format(clash="plan", own="hello")),
        "MSMKIT_PLUGINS": "foo=msmkit_cmds_mod",
    }
    expected = (
        "command 'plan' is registered by both msmkit 0.1.0 (built-in) and "
        "msmkit_cmds_mod 1.0 (plugin 'foo')"
    )
    plan = run_cli("plan", "experiments/cheese-demo.yaml", env=env)
    assert plan.returncode == 1
    assert f"Error: {expected}" in plan.stderr and "MSMKIT_BLOCK_PLUGINS=foo" in plan.stderr
    assert "Traceback" not in plan.stderr and plan.stdout == ""
    assert run_cli("plan", "--help", env=env).returncode == 1  # no way around it

    hello = run_cli("hello", env=env)  # the plugin's other command works
    assert hello.returncode == 0 and hello.stdout == "hello from the plugin\n"
    specs = run_cli("specs", "list", env=env)  # and so do the built-ins
    assert specs.returncode == 0 and "pro-america" in specs.stdout
    helped = run_cli("--help", env=env)
    assert helped.returncode == 0 and helped.stderr == ""

    row = _rows(run_cli("plugins", "--json", env=env))["foo"]
    assert row["status"] == "error" and row["error"] == expected
    commands = _rows(run_cli("list", "commands", "--json", env=env))
    assert (commands["plan"]["status"], commands["plan"]["error"]) == ("clash", expected)
    assert commands["hello"]["provider"] == "msmkit_cmds_mod 1.0 (plugin 'foo')"
    assert commands["specs"]["provider"] == "msmkit 0.1.0 (built-in)"

    blocked = run_cli("plan", "--help", env={**env, "MSMKIT_BLOCK_PLUGINS": "foo"})
    assert blocked.returncode == 0 and "Show the stage graph" in blocked.stdout


def test_two_plugins_with_one_command_name(fresh_plugins):
    def commands(word: str):
        class Commands:
            @msmkit.hookimpl
            def register_commands(self, cli):
                @cli.command("greet")
                def greet():
                    click.echo(word)

        return Commands()

    fresh_plugins.register_plugin(commands("a"), "a-plugin", version="1", package="msmkit-a")
    fresh_plugins.register_plugin(commands("b"), "b-plugin", version="2", package="msmkit-b")
    from msmkit.cli import make_cli

    result = CliRunner().invoke(make_cli(), ["greet"])
    assert result.exit_code == 1
    message = (
        "command 'greet' is registered by both msmkit-a 1 (plugin 'a-plugin') and "
        "msmkit-b 2 (plugin 'b-plugin')"
    )
    assert str(result.exception) == message
    assert "MSMKIT_BLOCK_PLUGINS=a-plugin or MSMKIT_BLOCK_PLUGINS=b-plugin" in (
        result.exception.hint
    )
    for name in ("a-plugin", "b-plugin"):  # neither command runs, so both are marked
        assert fresh_plugins.plugin_info(name).error == message
    assert CliRunner().invoke(make_cli(), ["list", "variants"]).exit_code == 0


def test_a_raising_register_commands_drops_what_it_added(fresh_plugins, capsys):
    class HalfCommands:
        @msmkit.hookimpl
        def register_commands(self, cli):
            @cli.command("half")
            def half():
                click.echo("half")

            raise RuntimeError("boom")

    fresh_plugins.register_plugin(HalfCommands(), "half", package="msmkit-half")
    from msmkit.cli import make_cli

    cli = make_cli()
    assert "half" not in cli.commands and "plan" in cli.commands
    info = fresh_plugins.plugin_info("half")
    assert info.status == "error" and "register_commands raised RuntimeError: boom" in info.error
    assert capsys.readouterr().err.count("warning:") == 1


def test_strict_mode_makes_a_raising_register_commands_an_error(fresh_plugins, monkeypatch):
    class Raising:
        @msmkit.hookimpl
        def register_commands(self, cli):
            raise RuntimeError("boom")

    fresh_plugins.register_plugin(Raising(), "raising", package="msmkit-raising")
    monkeypatch.setenv("MSMKIT_STRICT_PLUGINS", "1")
    from msmkit.cli import make_cli

    with pytest.raises(PluginError, match=r"plugin 'raising' .* register_commands: .*boom"):
        make_cli()
