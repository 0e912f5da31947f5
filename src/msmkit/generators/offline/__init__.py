"""The ``offline`` document generator: varied documents about a spec from hand-written templates.

No network, no model, deterministic for a seed. For each principle it writes
``docs_per_principle`` documents, cycling through the document types (encyclopedia entry,
FAQ, blog post, ...). Each document weaves in the principle's rule and explanation, the
spec's subject and the core value stated in its preamble; openings, closings, names and the
order of the reasoning are picked by a random generator seeded from ``(seed, document id)``.

Two consequences of that seeding, both deliberate:

* a document does not depend on which other documents were generated, so a resumed run
  (``skip=``) produces exactly the documents a fresh run would have;
* two specs with the same principle ids (the two cheese specs) get the same template choices
  for the same seed, so their corpora differ only where the specs differ.

Document ids are ``f"{principle_id}-{doc_type}-{k}"``. Raising ``docs_per_principle`` keeps
every earlier id and only adds new ones.

The words of the documents live in ``templates.yaml`` in this package; ``documents`` holds
the code that picks and lays them out, ``context`` what a template may say about a
principle, and ``generator`` the generator class.
"""

from __future__ import annotations

from msmkit.generators.offline.context import core_sentences as _core_sentences  # noqa: F401
from msmkit.generators.offline.documents import DOC_TYPES
from msmkit.generators.offline.generator import OfflineGenerator, OfflineOptions

__all__ = ["DOC_TYPES", "OfflineGenerator", "OfflineOptions"]
