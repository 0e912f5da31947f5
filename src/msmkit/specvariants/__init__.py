"""The built-in spec variants' code (registered in :mod:`msmkit.default_plugins.variants`).

``grammar`` finds where a spec speaks of its subject and conjugates the verb that follows;
``attribution`` (who the spec speaks of), ``voice`` (descriptive or normative) and
``mechanism`` (the paper's App. C.4 ablation) are deterministic rewrites of a structured spec.
The LLM-made versions of a spec (value/rule augmentation, the anti-spec) are a stage kind,
``llm-spec`` (:mod:`msmkit.specgen`), because they cost money.
"""
