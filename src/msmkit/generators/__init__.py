"""Document generators: turn a spec into a corpus of documents that discuss it.

``offline`` (``msmkit.generators.offline``) needs no network or model: it fills hand-written
templates, deterministically for a seed. It is meant for tests, smoke runs and tiny CPU
models; real midtraining corpora come from LLM-backed generators registered by plugins.
"""
