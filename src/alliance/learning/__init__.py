"""Clinician learning: a self-check on establishing the therapeutic alliance.

``bank`` loads and validates the question bank (``questions/*.yaml``); ``quiz`` draws a
short, balanced, seeded set from it, grades the answers and returns a plain result record.
This is a pure layer: it reads the bank and nothing else, and may import only
instrument-level code (``alliance.instruments``, ``alliance.records``).
"""
