"""Training recipes: YAML files of ``trl`` backend options a user can read, copy and override.

``recipe`` names a bundled recipe (``recipes/<name>.yaml``) or a YAML path. The recipe's keys
are the base; the keys the user set override them, ``sft`` and ``lora`` merged key by key
(a user ``lora: null`` means full fine-tuning). When the base model is a LoRA adapter that is
continued, a recipe's ``lora`` block is dropped (the adapter keeps its own config).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import ValidationError

from msmkit.errors import OptionError
from msmkit.resources import bundled
from msmkit.training.trl.options import TRLOptions

RECIPE_ONLY_KEYS = ("description",)  # documentation in the file, not an option
MERGED_KEYS = ("sft", "lora")


def bundled_recipes() -> dict[str, Path]:
    """The bundled recipes by name."""
    folder = bundled("recipes")
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def recipe_path(recipe: str) -> Path:
    """The file a ``recipe`` value points at: a bundled name, else a path."""
    named = bundled_recipes()
    if recipe in named:
        return named[recipe]
    path = Path(recipe).expanduser()
    if path.is_file():
        return path
    raise OptionError(
        f"recipe {recipe!r} is neither a bundled recipe nor a YAML file",
        loc=("recipe",),
        hint="Bundled recipes: " + (", ".join(named) or "none") + "; or give a .yaml path.",
    )


def load_recipe(recipe: str) -> dict[str, Any]:
    """The recipe's option keys (``description`` removed), checked against TRLOptions."""
    import yaml

    path = recipe_path(recipe)
    from msmkit.yamlfile import YAMLValueError, parse_yaml

    try:
        data = parse_yaml(path.read_text(encoding="utf-8"))[0]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, YAMLValueError) as exc:
        raise OptionError(
            f"cannot read recipe {path}: {exc}", loc=("recipe",), hint="Fix the YAML."
        ) from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise OptionError(
            f"recipe {path} must be a mapping of backend options, got {type(data).__name__}",
            loc=("recipe",),
        )
    allowed = set(TRLOptions.model_fields) - {"recipe"}
    unknown = sorted(set(data) - allowed - set(RECIPE_ONLY_KEYS))
    if unknown:
        raise OptionError(
            f"recipe {path} has unknown key(s): {', '.join(map(str, unknown))}",
            loc=("recipe",),
            hint="Allowed keys: " + ", ".join(sorted(allowed | set(RECIPE_ONLY_KEYS))),
        )
    for key in ("sft",):
        if key in data and not isinstance(data[key], dict):
            raise OptionError(f"recipe {path}: {key!r} must be a mapping", loc=("recipe",))
    options = {k: v for k, v in data.items() if k not in RECIPE_ONLY_KEYS}
    try:
        TRLOptions.model_validate(options)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise OptionError(
            f"recipe {path} has an invalid option: {exc}",
            loc=("recipe", *first["loc"]),
        ) from None
    return options


def merge_options(recipe: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    """``user`` over ``recipe``; ``sft``/``lora`` mappings merged key by key."""
    merged = dict(recipe)
    for key, value in user.items():
        base = merged.get(key)
        if key in MERGED_KEYS and isinstance(base, dict) and isinstance(value, dict):
            merged[key] = {**base, **value}
        else:
            merged[key] = value
    return merged


def apply_recipe(options: TRLOptions, *, continues_adapter: bool = False) -> TRLOptions:
    """The effective options: ``options`` over its recipe (unchanged when it names none)."""
    if options.recipe is None:
        return options
    recipe = load_recipe(options.recipe)
    if continues_adapter and "lora" not in options.model_fields_set:
        recipe.pop("lora", None)
    user = {k: getattr(options, k) for k in options.model_fields_set if k != "recipe"}
    merged = merge_options(recipe, user)
    merged["recipe"] = options.recipe
    try:
        effective = TRLOptions.model_validate(merged)
    except ValidationError as exc:  # the user's keys alone were valid: the mix is the problem
        first = exc.errors()[0]
        raise OptionError(
            f"recipe {options.recipe!r} and the options over it do not combine: {exc}",
            loc=("recipe", *first["loc"]),
        ) from None
    return effective


def recipe_keys(options: TRLOptions) -> dict[str, Any]:
    """The recipe's own options (for the manifest and model card); {} without a recipe."""
    return load_recipe(options.recipe) if options.recipe else {}


def effective_options(options: Any, base_model: str | None) -> TRLOptions:
    """The options over their recipe; a continued adapter keeps its own LoRA config."""
    import contextlib

    from msmkit.errors import ModelPathError
    from msmkit.training.trl.models import resolve_model_ref
    from msmkit.training.trl.options import coerce_options

    opts = coerce_options(options)
    continues_adapter = False
    if opts.recipe is not None and base_model is not None:
        with contextlib.suppress(ModelPathError):  # reported where the model is resolved
            continues_adapter = resolve_model_ref(base_model).kind == "adapter"
    return apply_recipe(opts, continues_adapter=continues_adapter)
