"""Interoperability: FHIR R4, REDCap, CSV/Parquet and the de-identified research export.

Pure functions over the shared record and table shapes of :mod:`alliance.records`; no
database, no network. The service layer calls these to export and import, and adds
authorization, audit and storage.

- :mod:`~alliance.interop.fhir` and :mod:`~alliance.interop.fhir_import` — Questionnaire,
  QuestionnaireResponse, Observation and Bundle resources (validated ``fhir.resources`` models);
- :mod:`~alliance.interop.redcap` — REDCap data dictionaries and records exports;
- :mod:`~alliance.interop.tabular` — the wide and tidy long tables as CSV or Parquet, with a
  codebook;
- :mod:`~alliance.interop.deidentify` — study pseudonyms, shifted dates, small-cell report;
- :mod:`~alliance.interop.wide` — checking a wide table of administrations (every bad cell) and
  converting between records and tables; :mod:`~alliance.interop.cells` and
  :mod:`~alliance.interop.columns` — the checks' building blocks, reading cells from pandas
  frames or Arrow tables;
- :mod:`~alliance.interop.report` — the import report; :mod:`~alliance.interop.keys` — the
  idempotency key of an imported administration; :mod:`~alliance.interop.sources` — any
  importable file read into the clean wide table, each row with its line.
"""
