"""Running experiments: the stage graph (``graph``), the shared stage store (``store``),
execution with locks and waiting states (``runner``), run folders and manifests (``folder``),
and base-model fingerprints (``modelref``)."""
