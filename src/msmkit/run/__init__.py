"""Running experiments.

``api`` (the entry point: ``Run``, ``run_experiment``), ``graph`` (nodes and chains),
``expand`` (an experiment's arms walked into stages), ``steps`` and ``inputs`` (training,
eval and outside inputs, each checked at plan time), ``store`` (the shared, verified stage
store), ``runner`` (execution with locks and waiting states), ``folder`` and ``manifest``
(run folders), ``results`` (metrics and logs per arm), ``modelref`` (base-model fingerprints).
"""
