"""The languages a site offers its clients' forms: one list, BCP 47 tags, in one place.

The site names them in ``ALLIANCE_LANGUAGES`` (default ``en``); a language for which a wording
pack is loaded is offered too. A client's language is chosen from this list (a select on the
page, checked by the service), never typed freely. Tags are checked and written in their
standard form by ``langcodes`` (``EN-gb`` → ``en-GB``; ``klingon`` is not a tag).

Translations of the pages themselves (issue 19) extend this module: :data:`NAMES` is the
place to replace with the translation catalogue's own language names.
"""

from __future__ import annotations

from collections.abc import Iterable

import langcodes

DEFAULT = ("en",)
# Each language's name in itself (its autonym), for the select; a tag not listed is shown as
# the tag. Issue 19 (Babel) can take the names from its locale data instead.
NAMES = {
    "ar": "العربية",
    "da": "Dansk",
    "de": "Deutsch",
    "en": "English",
    "es": "Español",
    "fi": "Suomi",
    "fr": "Français",
    "it": "Italiano",
    "nb": "Norsk bokmål",
    "nl": "Nederlands",
    "pl": "Polski",
    "pt": "Português",
    "sv": "Svenska",
    "tr": "Türkçe",
    "uk": "Українська",
}


def standard_tag(tag: str) -> str:
    """``tag`` in its standard form, or :class:`ValueError` when it is not a BCP 47 tag."""
    text = tag.strip()
    if not text or not langcodes.tag_is_valid(text):
        raise ValueError(f"{tag!r} is not a BCP 47 language tag (such as en, nl or pt-BR)")
    return str(langcodes.standardize_tag(text))


def parse_list(text: str) -> tuple[str, ...]:
    """Comma-separated tags (the setting) as standard tags, in order, without repeats."""
    tags: list[str] = []
    for part in text.split(","):
        if part.strip() and (tag := standard_tag(part)) not in tags:
            tags.append(tag)
    if not tags:
        raise ValueError("name at least one language, such as en")
    return tuple(tags)


def offered(configured: Iterable[str], pack_languages: Iterable[str] = ()) -> tuple[str, ...]:
    """The site's languages: the configured ones in their order, then those of wording packs."""
    tags = list(configured)
    tags += sorted({standard_tag(t) for t in pack_languages} - set(tags))
    return tuple(tags)


def name(tag: str) -> str:
    """How the select shows ``tag``: its name and the tag ("Nederlands (nl)")."""
    base = tag.split("-", maxsplit=1)[0]
    known = NAMES.get(tag) or NAMES.get(base)
    return f"{known} ({tag})" if known else tag
