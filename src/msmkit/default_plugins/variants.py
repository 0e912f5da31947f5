"""Built-in spec variants."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, ClassVar

from msmkit.components import NoOptions, Options
from msmkit.hookspecs import hookimpl

if TYPE_CHECKING:
    from msmkit.spec import Spec


class RulesOnly:
    """Keep each principle's rule and drop the explanation of the values behind it.

    Principles that have no rule are dropped entirely, since nothing of them would remain.
    This is the rules-vs-explanations ablation: the same behaviours, no reasons given.
    """

    name = "rules-only"
    description = "Drop every explanation; keep only the rules"
    Options: ClassVar[type[Options]] = NoOptions

    def apply(self, spec: Spec, options: NoOptions) -> Spec:
        kept = tuple(dataclasses.replace(p, explanation=None) for p in spec.principles if p.rule)
        dropped = len(spec.principles) - len(kept)
        note = f"rules-only: removed explanations from {len(kept)} principles"
        if dropped:
            note += f", dropped {dropped} principles without a rule"
        return spec.replace(principles=kept, lineage=(*spec.lineage, note))


@hookimpl
def register_spec_variants(register):
    from msmkit.specvariants.attribution import Attribution
    from msmkit.specvariants.mechanism import MechanismAblation
    from msmkit.specvariants.voice import Voice

    register(RulesOnly())
    register(Attribution())
    register(Voice())
    register(MechanismAblation())
