"""``msmkit run``: plan every arm of an experiment, then execute its stages in order.

    generate (per distinct spec+generator) -> base model (tiny, if asked)
      -> midtrain -> AFT -> evals (per arm) -> comparison

Planning is cheap and offline: it loads specs, applies variants, validates every component's
options and checks that backends' dependencies are installed, before any stage runs.
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from msmkit import __version__
from msmkit.components import Estimate
from msmkit.errors import (
    ConfigError,
    ModelPathError,
    MsmkitError,
    PluginError,
    PrerequisiteError,
    SpecError,
)
from msmkit.experiment import Arm, Experiment, TinyBase
from msmkit.hashing import fingerprint, sha256_file
from msmkit.registry import Entry, get_registry
from msmkit.runs import RunDir, Stage
from msmkit.yamlfile import validation_error

LIBRARIES = ("torch", "transformers", "trl", "peft", "datasets", "accelerate", "inspect-ai")


def _options(entry: Entry, raw: dict[str, Any], where: tuple, exp_path: Path) -> BaseModel:
    """Validate a component's options; errors name the file, line and field path."""
    try:
        return entry.component.Options.model_validate(raw)
    except ValidationError as exc:
        from msmkit.yamlfile import load_yaml

        _, node = load_yaml(exp_path)
        raise validation_error(exc, exp_path, node, prefix=where) from None


def plugin_error(entry: Entry, what: str, exc: Exception) -> PluginError:
    return PluginError(
        f"{entry.name} ({entry.provider}) failed while {what}: {type(exc).__name__}: {exc}",
        hint="this is a bug in that component; rerun with --debug for the traceback",
    )


def call_plugin(entry: Entry, what: str, fn, *args, **kwargs):
    """Run plugin code; its unexpected exceptions become one short PluginError."""
    try:
        return fn(*args, **kwargs)
    except MsmkitError:
        raise
    except Exception as exc:
        raise plugin_error(entry, what, exc) from exc


@dataclass
class StagePlan:
    stage: Stage
    label: str
    arms: list[str]
    estimate: Estimate
    inputs: dict[str, Any] = field(default_factory=dict)
    # stage-specific resolved objects
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return "done" if self.stage.done else "todo"


@dataclass
class ArmPlan:
    arm: Arm
    spec: Any | None = None
    corpus: StagePlan | None = None
    midtrain: StagePlan | None = None
    aft: StagePlan | None = None
    evals: list[StagePlan] = field(default_factory=list)
    components: list[Entry] = field(default_factory=list)


class Pipeline:
    def __init__(self, experiment: Experiment, exp_path: Path, base_dir: Path, run_dir: Path):
        self.exp = experiment
        self.exp_path = exp_path
        self.base_dir = base_dir
        self.run = RunDir(run_dir)
        self.arms: list[ArmPlan] = []
        self.stages: dict[str, StagePlan] = {}  # by stage dir name, shared between arms
        self.base: StagePlan | None = None
        self.base_path: str | None = None

    # ---------------------------------------------------------------- planning
    def _path(self, value: str) -> Path:
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def _shared(
        self,
        kind: str,
        key: str,
        label: str,
        arm: str,
        estimate: Estimate,
        inputs: dict[str, Any],
        **data: Any,
    ) -> StagePlan:
        stage = self.run.stage(kind, key)
        name = stage.dir.name
        if name in self.stages:
            self.stages[name].arms.append(arm)
        else:
            self.stages[name] = StagePlan(stage, label, [arm], estimate, inputs, dict(data))
        return self.stages[name]

    def _resolve_base(self) -> str:
        base = self.exp.base_model
        if isinstance(base, TinyBase):
            return "tiny"
        local = self._path(base)
        if local.exists():
            if not (local / "config.json").exists():
                raise ModelPathError(
                    f"{local} has no config.json, so it is not a Hugging Face model folder",
                    hint="point base_model at a folder saved with save_pretrained",
                )
            return str(local.resolve())
        if base.count("/") == 1 and not base.startswith((".", "/", "~")):
            return base  # a hub id; loading it needs the hub
        raise ModelPathError(
            f"{self.exp_path}: base_model: {local} does not exist",
            hint="give a local model folder, a hub id like Qwen/Qwen2.5-0.5B, "
            "or `base_model: {tiny: {}}` for an offline tiny model",
        )

    def _check_backend(self, entry: Entry) -> None:
        missing = [m for m in entry.component.requires if importlib.util.find_spec(m) is None]
        if missing:
            raise PrerequisiteError(
                f"training backend '{entry.name}' needs {', '.join(missing)}, not installed",
                hint="pip install 'msmkit[train]' (CPU: add -c constraints.txt)",
            )

    def plan(self) -> list[StagePlan]:
        """Resolve every arm into stages (cheap; nothing is generated or trained)."""
        base_kind = self._resolve_base()
        self.arms = [self._plan_corpus(i, arm) for i, arm in enumerate(self.exp.arms)]
        aft_data = {
            ap.arm.name: self._aft_data(aft.data, "arms" if ap.arm.aft else "defaults")
            for ap in self.arms
            if (aft := self.exp.aft_for(ap.arm)) is not None
        }
        aft_hashes = {name: sha256_file(path) for name, path in aft_data.items()}
        if base_kind == "tiny":
            self.tiny_settings()  # fail now, not after generating
            corpus_keys = sorted({ap.corpus.stage.key for ap in self.arms if ap.corpus})
            base_key = fingerprint(
                "tiny",
                self.exp.base_model.tiny,
                corpus_keys,
                sorted(set(aft_hashes.values())),
                self.exp.seed,
            )
            self.base = StagePlan(
                self.run.stage("base", base_key),
                "build tiny base model",
                [a.name for a in self.exp.arms],
                Estimate("base"),
                {"tiny": self.exp.base_model.tiny, "corpora": corpus_keys},
            )
        else:
            base_key = fingerprint("model", base_kind)
            self.base_path = base_kind
        for i, ap in enumerate(self.arms):
            self._plan_models(
                i, ap, base_key, aft_data.get(ap.arm.name), aft_hashes.get(ap.arm.name)
            )
        return self.ordered()

    def _plan_corpus(self, i: int, arm: Arm) -> ArmPlan:
        from msmkit.spec import load_spec

        ap = ArmPlan(arm)
        if arm.spec is None:
            return ap
        try:
            spec = load_spec(self._path(arm.spec) if _looks_like_path(arm.spec) else arm.spec)
        except SpecError as exc:
            if exc.path is not None:  # the spec file itself is broken: its error says where
                raise
            from msmkit.yamlfile import line_of, load_yaml

            line = line_of(load_yaml(self.exp_path)[1], ("arms", i, "spec"))
            raise ConfigError(
                f"{self.exp_path}:{line}: arms[{i}].spec: {exc.message}", hint=exc.hint
            ) from None
        variants = get_registry("variants")
        for j, ref in enumerate(arm.variants):
            entry = variants.entry(ref.name)
            opts = _options(
                entry, ref.options, ("arms", i, "variants", j, "options"), self.exp_path
            )
            spec = call_plugin(entry, "applying the variant", entry.component.apply, spec, opts)
            ap.components.append(entry)
        ap.spec = spec
        gen_ref = self.exp.generate_for(arm)
        gentry = get_registry("generators").entry(gen_ref.name)
        gwhere = ("arms", i) if arm.generate else ("defaults",)
        gopts = _options(gentry, gen_ref.options, (*gwhere, "generate", "options"), self.exp_path)
        est = call_plugin(gentry, "planning", gentry.component.plan, spec, gopts)
        gversion = str(getattr(gentry.component, "version", "0"))
        inputs = {
            "spec": spec.name,
            "spec_hash": spec.hash,
            "generator": gentry.name,
            "generator_version": gversion,
            "options": gopts.model_dump(mode="json"),
        }
        key = fingerprint("corpus", inputs)
        ap.corpus = self._shared(
            "corpus",
            key,
            f"generate {spec.name} ({gentry.name})",
            arm.name,
            est,
            inputs,
            spec=spec,
            generator=gentry,
            options=gopts,
        )
        ap.components.append(gentry)
        return ap

    def _backend(self, ref: Any, where: tuple) -> tuple[Entry, BaseModel]:
        entry = get_registry("backends").entry(ref.backend)
        self._check_backend(entry)
        return entry, _options(entry, ref.options, (*where, "options"), self.exp_path)

    def _plan_models(
        self, i: int, ap: ArmPlan, base_key: str, aft_data: Path | None, aft_hash: str | None
    ) -> None:
        """The chain base -> midtrain -> AFT -> evals; each key covers its predecessor's."""
        arm, seed = ap.arm, self.exp.seed
        model_key = base_key
        mt = self.exp.midtrain_for(arm)
        if ap.corpus is not None and mt is not None:
            entry, opts = self._backend(
                mt, ("arms", i, "midtrain") if arm.midtrain else ("defaults", "midtrain")
            )
            inputs = {
                "model": model_key,
                "corpus": ap.corpus.stage.key,
                "backend": entry.name,
                "options": opts.model_dump(mode="json"),
                "seed": seed,
            }
            model_key = fingerprint("midtrain", inputs)
            ap.midtrain = self._shared(
                "midtrain",
                model_key,
                f"midtrain on {ap.spec.name}",
                arm.name,
                Estimate(
                    "midtrain", items=ap.corpus.estimate.items, tokens=ap.corpus.estimate.tokens
                ),
                inputs,
                backend=entry,
                options=opts,
                corpus=ap.corpus,
                after=None,
            )
            ap.components.append(entry)
        aft = self.exp.aft_for(arm)
        if aft is not None and aft_data is not None:
            entry, opts = self._backend(aft, ("arms", i, "aft") if arm.aft else ("defaults", "aft"))
            inputs = {
                "model": model_key,
                "data": str(aft_data),
                "data_sha256": aft_hash,
                "backend": entry.name,
                "options": opts.model_dump(mode="json"),
                "seed": seed,
            }
            model_key = fingerprint("aft", inputs)
            n_rows = sum(1 for line in aft_data.read_text().splitlines() if line.strip())
            ap.aft = self._shared(
                "aft",
                model_key,
                f"AFT on {aft_data.name}",
                arm.name,
                Estimate("aft", items=n_rows, tokens=aft_data.stat().st_size // 4),
                inputs,
                backend=entry,
                options=opts,
                data=aft_data,
                after=ap.midtrain,
            )
            if entry not in ap.components:
                ap.components.append(entry)
        tasks = get_registry("tasks")
        for ref in self.exp.evals_for(arm):
            entry = tasks.entry(ref.task)
            inputs = {
                "model": model_key,
                "task": entry.name,
                "args": ref.args,
                "settings": self.exp.eval.model_dump(mode="json"),
            }
            ap.evals.append(
                self._shared(
                    "eval",
                    fingerprint("eval", inputs),
                    f"eval {entry.name}",
                    arm.name,
                    Estimate("eval", notes=[f"args: {ref.args}"] if ref.args else []),
                    inputs,
                    task=entry,
                    ref=ref,
                    arm_plan=ap,
                )
            )
            ap.components.append(entry)

    def _aft_data(self, ref: str, where: str) -> Path:
        from msmkit.resources import AFT_SETS, aft_set

        path = aft_set(ref) or self._path(ref)
        if not path.is_file():
            raise ConfigError(
                f"{self.exp_path}: {where}...aft.data: {ref!r} is neither a bundled AFT set "
                f"nor an existing file ({path})",
                hint=f"bundled sets: {', '.join(AFT_SETS)}; or give a JSONL path",
            )
        return path

    def ordered(self) -> list[StagePlan]:
        order = {"corpus": 0, "base": 1, "midtrain": 2, "aft": 3, "eval": 4}
        stages = list(self.stages.values()) + ([self.base] if self.base else [])
        return sorted(stages, key=lambda s: order[s.stage.kind])

    # ---------------------------------------------------------------- manifest
    def manifest(self, results: dict[str, Any] | None = None) -> dict[str, Any]:
        previous = self.run.manifest() or {}
        plugins: dict[str, str] = {}
        for ap in self.arms:
            for entry in ap.components:
                plugins[entry.plugin] = entry.provider
        libs = {}
        for lib in LIBRARIES:
            try:
                libs[lib] = version(lib)
            except PackageNotFoundError:
                libs[lib] = None
        return {
            "msmkit_version": __version__,
            "created": previous.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "experiment": {
                "name": self.exp.name,
                "path": str(self.exp_path),
                "sha256": sha256_file(self.exp_path),
            },
            "config_hash": self.exp.config_hash(),
            "config": self.exp.model_dump(mode="json"),
            "base_model": self.base_path
            or (str(self.base.stage.dir / "model") if self.base else None),
            "plugins": plugins,
            "libraries": libs,
            "arms": {
                ap.arm.name: {
                    "spec": None
                    if ap.spec is None
                    else {
                        "name": ap.spec.name,
                        "hash": ap.spec.hash,
                        "path": str(ap.spec.path) if ap.spec.path else None,
                        "lineage": list(ap.spec.lineage),
                    },
                    "components": {e.name: e.provider for e in ap.components},
                    "data": {
                        "corpus_sha256": ap.corpus.stage.outputs().get("sha256")
                        if ap.corpus
                        else None,
                        "aft_sha256": ap.aft.inputs["data_sha256"] if ap.aft else None,
                    },
                    "stages": {
                        "corpus": _rel(ap.corpus, self.run.path),
                        "midtrain": _rel(ap.midtrain, self.run.path),
                        "aft": _rel(ap.aft, self.run.path),
                        "evals": [_rel(e, self.run.path) for e in ap.evals],
                    },
                }
                for ap in self.arms
            },
            "stages": {sp.stage.dir.name: sp.status for sp in self.ordered()},
            "results": results if results is not None else previous.get("results"),
        }

    # ---------------------------------------------------------------- execution
    def model_dir(self, ap: ArmPlan) -> Path | str:
        last = ap.aft or ap.midtrain
        if last is not None:
            return Path(last.stage.outputs()["model"])
        if self.base is not None:
            return Path(self.base.stage.outputs()["model"])
        assert self.base_path is not None
        return self.base_path

    def base_model(self) -> str:
        if self.base is not None:
            return self.base.stage.outputs()["model"]
        assert self.base_path is not None
        return self.base_path

    def tiny_settings(self) -> Any:
        from msmkit.training.tiny import TinyModelSettings

        assert isinstance(self.exp.base_model, TinyBase)
        try:
            return TinyModelSettings.model_validate(
                {"seed": self.exp.seed, **self.exp.base_model.tiny}
            )
        except ValidationError as exc:
            from msmkit.yamlfile import load_yaml

            _, node = load_yaml(self.exp_path)
            raise validation_error(exc, self.exp_path, node, ("base_model", "tiny")) from None

    def results(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for ap in self.arms:
            arm_res: dict[str, Any] = {}
            for sp in ap.evals:
                o = sp.stage.outputs()
                if o:
                    arm_res[sp.data["task"].name] = o.get("metrics", {})
            out[ap.arm.name] = arm_res
        return out


def _rel(sp: StagePlan | None, root: Path) -> str | None:
    if sp is None:
        return None
    return str(sp.stage.dir.relative_to(root))


def _looks_like_path(ref: str) -> bool:
    return ref.endswith(".md") or "/" in ref or ref.startswith(("~", "."))
