"""LLM-made versions of a spec: value augmentation, rule augmentation and the anti-spec.

The ``llm-spec`` stage kind (:mod:`msmkit.stages.llm_spec`) and ``msmkit generate spec`` run
them. Modules: ``settings`` (the options), ``prompts`` (the prompt files), ``pipeline`` (the
requests, on :class:`msmkit.genkit.steps.StepPipeline`: journaled, so a rerun sends nothing
that was answered), ``build`` (turning answers into a valid spec), ``fit`` (length matching:
every value- or rule-augmented spec lands within ``tolerance`` of one target length, so two
made from the same spec are length-matched), ``flow`` (the steps in order) and ``estimate``
(calls and dollars for ``msmkit plan``).
"""
