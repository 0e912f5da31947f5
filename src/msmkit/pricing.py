"""Price files in Inspect's model-cost format and a cost calculator for generation plans.

Price file: the shape ``inspect eval --model-cost-config FILE`` reads (YAML or JSON), a
mapping from model name to :class:`inspect_ai.model.ModelCost`, dollars per million tokens::

    anthropic/claude-sonnet-4-5:
      input: 3.0
      output: 15.0
      input_cache_write: 3.75
      input_cache_read: 0.3

The calculator (:func:`plan_cost`) takes per-step call counts and per-call token sizes,
the cached prefix (the spec block every call of a step repeats), and two switches:

- ``batch``: the provider's batch discount (50% at Anthropic and OpenAI) on every token class
  of the batched steps (``True``: all steps; a collection of step names: just those);
- ``caching``: the prefix is written to the cache once per window (interactive: every
  ``calls_per_cache_window`` calls, about one 5-minute TTL window; batched: once per batch
  of ``batch_size`` calls) and read at the cache-read price on every other call.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from inspect_ai.model import ModelCost
from pydantic import ValidationError

DEFAULT_PRICE_FILE = Path(__file__).parent / "data" / "prices.yaml"
_FIELDS = tuple(ModelCost.model_fields)
LIMIT_FIELDS = ("min_cache_tokens", "context_window", "max_output_tokens", "reasoning")
"""Facts about a model kept beside its price (Inspect's loader ignores them): the shortest
prompt prefix the provider caches, the context window, the output limit, and whether the
model always reasons (hidden reasoning tokens are billed as output and count against
``max_tokens``)."""


@dataclass(frozen=True)
class ModelLimits:
    """A model's limits from the price file; ``None`` where the file does not say."""

    min_cache_tokens: int | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    reasoning: bool = False


class PriceFileError(ValueError):
    """A price file that is missing, unreadable or not in Inspect's model-cost format."""


def parse_prices(data: Any, source: str = "<prices>") -> dict[str, ModelCost]:
    """Validate a loaded price mapping (model name -> ModelCost fields)."""
    if not isinstance(data, Mapping) or not data:
        raise PriceFileError(
            f"{source}: expected a mapping of model name -> {{{', '.join(_FIELDS)}}}"
        )
    prices: dict[str, ModelCost] = {}
    for model, entry in data.items():
        where = f"{source}: model {model!r}"
        if not isinstance(entry, Mapping):
            raise PriceFileError(f"{where}: expected a mapping with fields {', '.join(_FIELDS)}")
        allowed = (*_FIELDS, *LIMIT_FIELDS)
        unknown = sorted(str(k) for k in entry if k not in allowed)
        if unknown:
            raise PriceFileError(
                f"{where}: unknown field(s) {', '.join(unknown)} (allowed: {', '.join(allowed)})"
            )
        try:
            cost = ModelCost(**{k: v for k, v in entry.items() if k in _FIELDS})
        except ValidationError as err:
            first = err.errors()[0]
            name = ".".join(str(p) for p in first["loc"])
            raise PriceFileError(f"{where}: field {name!r}: {first['msg']}") from err
        negative = [f for f in _FIELDS if getattr(cost, f) < 0]
        if negative:
            raise PriceFileError(f"{where}: field {negative[0]!r}: price must be >= 0")
        prices[str(model)] = cost
    return prices


def parse_limits(data: Any, source: str = "<prices>") -> dict[str, ModelLimits]:
    """The :data:`LIMIT_FIELDS` of each model of a loaded price mapping (validated)."""
    parse_prices(data, source)
    out: dict[str, ModelLimits] = {}
    for model, entry in data.items():
        values: dict[str, Any] = {}
        for name in LIMIT_FIELDS:
            if name not in entry or entry[name] is None:
                continue
            value = entry[name]
            if name == "reasoning":
                if not isinstance(value, bool):
                    raise PriceFileError(f"{source}: model {model!r}: field 'reasoning': a bool")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise PriceFileError(
                    f"{source}: model {model!r}: field {name!r}: a whole number of tokens >= 1"
                )
            values[name] = value
        out[str(model)] = ModelLimits(**values)
    return out


def _read_price_file(path: str | Path | None) -> tuple[Any, str]:
    file = Path(path) if path is not None else DEFAULT_PRICE_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise PriceFileError(f"{file}: cannot read price file ({err})") from err
    from msmkit.yamlfile import YAMLValueError, parse_yaml

    try:
        return parse_yaml(text)[0], str(file)  # JSON is a subset of YAML
    except (yaml.YAMLError, YAMLValueError) as err:
        raise PriceFileError(f"{file}: not valid YAML/JSON ({err})") from err


def load_limits(path: str | Path | None = None) -> dict[str, ModelLimits]:
    """The model limits kept in a price file (the bundled one when ``path`` is None)."""
    data, source = _read_price_file(path)
    return parse_limits(data, source)


def get_limits(limits: Mapping[str, ModelLimits], model: str) -> ModelLimits:
    """A model's limits, matched like :func:`get_price`; empty limits when unknown."""
    try:
        return get_price(limits, model)  # type: ignore[arg-type,return-value]
    except KeyError:
        return ModelLimits()


def load_prices(path: str | Path | None = None) -> dict[str, ModelCost]:
    """Load a price file (YAML or JSON); ``None`` loads msmkit's bundled list prices."""
    data, source = _read_price_file(path)
    return parse_prices(data, source)


def get_price(prices: Mapping[str, ModelCost], model: str) -> ModelCost:
    """The price of ``model``, also matched without its ``provider/`` prefix."""
    if model in prices:
        return prices[model]
    matches = [k for k in prices if k.split("/", 1)[-1] == model.split("/", 1)[-1]]
    if len(matches) == 1:
        return prices[matches[0]]
    raise KeyError(f"no price for model {model!r} (have: {', '.join(sorted(prices))})")


@dataclass(frozen=True)
class StepPlan:
    """One pipeline step: ``calls`` calls of ``input_tokens`` in (including the
    ``cached_prefix_tokens`` every call repeats) and ``output_tokens`` out."""

    name: str
    calls: int
    input_tokens: int
    output_tokens: int
    cached_prefix_tokens: int = 0

    def __post_init__(self) -> None:
        if min(self.calls, self.input_tokens, self.output_tokens, self.cached_prefix_tokens) < 0:
            raise ValueError(f"step {self.name!r}: counts must be >= 0")
        if self.cached_prefix_tokens > self.input_tokens:
            raise ValueError(f"step {self.name!r}: cached prefix exceeds the input")


@dataclass(frozen=True)
class StepCost:
    """Planned tokens (totals over the step's calls) and dollars for one step."""

    name: str
    calls: int
    input_tokens: int  # billed at the plain input price
    cache_write_tokens: int
    cache_read_tokens: int
    output_tokens: int
    batched: bool
    dollars: float

    @property
    def total_input_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens


@dataclass(frozen=True)
class PlanCost:
    """Per-step costs and their totals."""

    steps: list[StepCost] = field(default_factory=list)

    def _sum(self, attr: str) -> int:
        return sum(getattr(s, attr) for s in self.steps)

    @property
    def input_tokens(self) -> int:
        return self._sum("input_tokens")

    @property
    def cache_write_tokens(self) -> int:
        return self._sum("cache_write_tokens")

    @property
    def cache_read_tokens(self) -> int:
        return self._sum("cache_read_tokens")

    @property
    def output_tokens(self) -> int:
        return self._sum("output_tokens")

    @property
    def dollars(self) -> float:
        return sum(s.dollars for s in self.steps)


def step_cost(
    step: StepPlan,
    price: ModelCost,
    *,
    batch: bool = False,
    caching: bool = False,
    batch_discount: float = 0.5,
    calls_per_cache_window: int = 100,
    batch_size: int = 1000,
    min_cache_tokens: int | None = None,
) -> StepCost:
    """Tokens and dollars of one step (see the module docstring for the cache model). A
    prefix shorter than ``min_cache_tokens`` (the provider's minimum cacheable length for
    the model) is never cached, so it saves nothing."""
    if not 0 <= batch_discount < 1:
        raise ValueError("batch_discount must be in [0, 1)")
    if calls_per_cache_window < 1 or batch_size < 1:
        raise ValueError("calls_per_cache_window and batch_size must be >= 1")
    prefix = step.cached_prefix_tokens if caching else 0
    if min_cache_tokens is not None and prefix < min_cache_tokens:
        prefix = 0
    writes = 0
    if prefix and step.calls:
        writes = math.ceil(step.calls / (batch_size if batch else calls_per_cache_window))
    plain_in = step.calls * (step.input_tokens - prefix)
    cache_write = writes * prefix
    cache_read = (step.calls - writes) * prefix
    out = step.calls * step.output_tokens
    dollars = (
        plain_in * price.input
        + cache_write * price.input_cache_write
        + cache_read * price.input_cache_read
        + out * price.output
    ) / 1_000_000
    if batch:
        dollars *= 1 - batch_discount
    return StepCost(step.name, step.calls, plain_in, cache_write, cache_read, out, batch, dollars)


def plan_cost(
    steps: Iterable[StepPlan],
    price: ModelCost,
    *,
    batch: bool | Collection[str] = False,
    caching: bool = False,
    batch_discount: float = 0.5,
    calls_per_cache_window: int = 100,
    batch_size: int = 1000,
    min_cache_tokens: int | None = None,
) -> PlanCost:
    """Cost of a plan; ``batch`` is ``True`` (all steps), ``False`` or a set of step names."""
    result = []
    for step in steps:
        batched = batch if isinstance(batch, bool) else step.name in batch
        result.append(
            step_cost(
                step,
                price,
                batch=batched,
                caching=caching,
                batch_discount=batch_discount,
                calls_per_cache_window=calls_per_cache_window,
                batch_size=batch_size,
                min_cache_tokens=min_cache_tokens,
            )
        )
    return PlanCost(result)
