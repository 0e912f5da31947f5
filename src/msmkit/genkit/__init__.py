"""What the LLM data generators share: the document pipeline (``msmkit.docgen``) and the AFT
demonstration pipeline (``msmkit.aftgen``).

Modules: ``prompts`` (prompt files, safe ``{{name}}`` rendering, overrides from a folder),
``parsing`` (strict reading of completions: verdicts and rejection reasons), ``steps`` (the
step engine: requests with stable ids, journals, retries of rejects, reports, failures,
budget, batch waits, probes), ``checks`` (plan-time checks: price, provider, context window,
scale), ``costs`` (dollars for online/batch with and without the prompt cache) and ``cli``
(running one generation stage in a folder, as ``msmkit generate`` does).
"""
