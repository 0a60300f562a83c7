"""The clinical record: clients and their episodes and sessions (``clients``, ``care``),
administrations and their batched submission (``administrations``, ``submissions``), client
links (``links``) and what is read back (``timeline``: the timeline and the caseload)."""
