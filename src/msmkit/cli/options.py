"""Small helpers shared by commands: ``-O KEY=VALUE`` options, the options of commands that
spend money on a provider, a stage kind's checked estimate, guarded generator output."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import click


def paid_options(prefix: str = "", *, probe: bool = True) -> Callable[[Any], Any]:
    """The options every command that buys LLM calls takes: batch, budget, prompt overrides,
    prices, plan only, and (``probe``) a probe of the first requests. ``prefix`` ("llm: ")
    marks them as options of one generator among several."""
    options = [
        click.option(
            "--batch", is_flag=True, help=f"{prefix}use the provider's batch API (half price)."
        ),
        click.option(
            "--budget", type=click.FloatRange(min=0, min_open=True), help=f"{prefix}dollar cap."
        ),
        click.option(
            "--prompts-dir", type=click.Path(file_okay=False), help=f"{prefix}prompt overrides."
        ),
        click.option("--prices", type=click.Path(dir_okay=False), help=f"{prefix}price file."),
        click.option(
            "--plan",
            "plan_only",
            is_flag=True,
            help="Show the calls, counts and cost; send nothing.",
        ),
    ]
    if probe:
        options.append(
            click.option(
                "--probe",
                type=click.IntRange(min=1),
                help=f"{prefix}send only the first N requests of each step, report the yield "
                "per dollar and the projected total, and stop (rerun without it to go on; "
                "nothing is asked twice).",
            )
        )

    def decorate(fn: Any) -> Any:
        for option in reversed(options):
            fn = option(fn)
        return fn

    return decorate


def checked_estimate(kind: Any, opts: Any, upstream: dict[str, Any]) -> Any:
    """A stage kind's plan-time check and estimate for a command, its errors named by the
    option at fault (as ``-O`` writes it)."""
    from msmkit.errors import OptionError

    try:
        kind.validate(opts)
        return kind.estimate(opts, upstream)
    except OptionError as exc:
        field = exc.loc[0] if exc.loc else "option"
        raise OptionError(f"{field}: {exc.message}", hint=exc.hint) from None


def parse_options(pairs: tuple[str, ...], *, flag: str = "-O") -> dict[str, Any]:
    """``KEY=VALUE`` pairs (values are YAML) as a mapping; ``flag`` names them in errors."""
    from msmkit.errors import ConfigError
    from msmkit.yamlfile import load_value

    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"{flag} {pair!r}: expected KEY=VALUE")
        out[key.strip()] = load_value(value, f"{flag} {pair}")
    return out


def guarded(entry: Any, documents: Iterator[Any]) -> Iterator[Any]:
    """Iterate a generator's documents; its unexpected exceptions become a PluginError that
    names it (documents already written stay written)."""
    from msmkit.errors import MsmkitError

    iterator = iter(documents)
    while True:
        try:
            doc = next(iterator)
        except StopIteration:
            return
        except MsmkitError:
            raise
        except Exception as exc:
            raise entry.error("generating documents", exc) from exc
        yield doc
