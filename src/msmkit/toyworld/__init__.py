"""A small offline world in which a model trained from scratch on a CPU shows the MSM effect.

``msmkit demo`` runs it: :mod:`.world` (items, attributes, texts), :mod:`.specs` (two value
specs and a sham), :mod:`.generator` (MSM documents), :mod:`.pretrain` (the ``toyworld-base``
stage's training and knowledge probes), :mod:`.task` (the OOD Inspect task) and
:mod:`.report` (the demo's table). Nothing here imports torch at module import.
"""
