"""Counts in words: "1 client", "2 clients", never "1 clients" or "client(s)"."""

from __future__ import annotations

IRREGULAR = {"analysis": "analyses", "entry": "entries", "child": "children"}


def plural(word: str) -> str:
    """The plural of one of the project's nouns (regular English, a few listed)."""
    if word in IRREGULAR:
        return IRREGULAR[word]
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    return word + "s"


def counted(n: int, word: str, many: str | None = None) -> str:
    """``n`` and ``word`` in agreement, with thousands separators: ``counted(1, "client")``
    is "1 client", ``counted(1200, "row")`` is "1,200 rows"; ``many`` gives an irregular
    plural ("1 new episode", ``counted(2, "person", "people")``)."""
    if n == 1:
        return f"1 {word}"
    if " " in word and many is None:  # "new client": the last word takes the plural
        head, _, last = word.rpartition(" ")
        return f"{n:,} {head} {plural(last)}"
    return f"{n:,} {many or plural(word)}"
