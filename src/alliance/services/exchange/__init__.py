"""Data in and out of the organization: file imports and where their rows go (``imports``,
``placement``, ``import_problems``, ``results``), exports (``exports``), what exports and
imports share about stored tables (``tables``) and FHIR questionnaires and responses (``fhir``)."""
