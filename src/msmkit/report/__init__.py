"""Reports a researcher shares, and the live status of a run.

``msmkit report RUN [RUN...] -o DIR`` writes ``report.html`` (one self-contained page: inline
SVG and CSS, no script from anywhere), ``report.md``, ``report.json`` (every number on the
page, and the data behind every figure) and CSV tables; ``msmkit status RUN`` (and the
``status.html`` a run refreshes after each stage) shows every stage's state.

Modules: ``runs`` (run folders read, merged and grouped into the report's arms), ``extras``
(token sizes, agentic-misalignment conditions, spec diffs, eval logs), ``figures``
(matplotlib, Agg, SVG; imported only when a report is drawn), ``page`` (HTML), ``text``
(Markdown and CSV), ``build`` (the whole report), ``status``, ``trackers`` (TensorBoard,
W&B and MLflow hooks). Nothing here is imported by ``import msmkit`` or ``msmkit --help``.
"""
