"""Language tags: what a person, a message or a glossary entry is written in.

The hub speaks BCP 47 primary subtags ("en", "es", "fr"); a region or script a client
sends ("en-GB", "es_419") is dropped, since no engine here tells them apart. Engines
that name languages otherwise (Apertium's ISO 639-3 "eng", "spa", "fra") are mapped at
their edge, never past it. Pure.
"""

from __future__ import annotations

import re

__all__ = ["LANGUAGE_NAMES", "LANG_PATTERN", "from_iso639_3", "language_tag", "to_iso639_3"]

#: An ISO 639 code as a body states it ("es"), for msgspec and JSON Schema alike. The
#: look-ahead refuses "es\n": Python's ``$`` (which msgspec's patterns use) also matches
#: before a final line break, ECMA's does not.
LANG_PATTERN = r"^[a-z]{2,3}(?!\n)$"

#: Languages the hub knows by name (what a UI lists); a tag outside it is still a tag.
LANGUAGE_NAMES: dict[str, str] = {
    "ar": "العربية", "de": "Deutsch", "en": "English", "es": "Español", "fr": "Français",
    "it": "Italiano", "nl": "Nederlands", "pl": "Polski", "pt": "Português",
    "ru": "Русский", "uk": "Українська",
}

_ISO639_3 = {
    "ar": "ara", "ca": "cat", "de": "deu", "en": "eng", "es": "spa", "eu": "eus",
    "fr": "fra", "gl": "glg", "it": "ita", "nl": "nld", "oc": "oci", "pl": "pol",
    "pt": "por", "ro": "ron", "ru": "rus", "uk": "ukr",
}
_ISO639_1 = {three: two for two, three in _ISO639_3.items()}

_TAG = re.compile(r"([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*")


def language_tag(value: str) -> str | None:
    """``value``'s primary language subtag in lower case, or None when it is not a tag.

    >>> language_tag("es-419"), language_tag("EN_gb"), language_tag("spa"), language_tag("x")
    ('es', 'en', 'es', None)
    """
    m = _TAG.fullmatch(value.strip())
    if m is None:
        return None
    primary = m.group(1).lower()
    return _ISO639_1.get(primary, primary) if len(primary) == 3 else primary


def to_iso639_3(tag: str) -> str:
    """The three-letter code engines such as Apertium name ``tag`` by."""
    return _ISO639_3.get(tag, tag)


def from_iso639_3(code: str) -> str | None:
    """The hub's tag for an engine's language code ("eng", "eng_US", "spa"), if any."""
    return language_tag(code.replace("_", "-"))
