"""A record's pair of texts (a case's title and description, an alert's summary and
details) in one more language: what cases and alerts share of being translated.

:func:`sendable` says whether an operation translates at all and the record's label is
within the policy's ceiling; :func:`source_of` finds the language the texts are written
in (as the writer declared it, else detected among the operation's languages, else the
operation's default); :func:`translate_pair` sends the two texts through the translator
(an empty second text is not sent) and says where they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from channels.access import Access
from channels.languages import LanguagePolicyView, Languages
from hub.language.detect import Detector
from hub.language.glossary import Glossary
from hub.language.translator import Translator
from hub.models import OperationId

__all__ = ["PairTranslated", "sendable", "source_of", "translate_pair"]


@dataclass(frozen=True, slots=True)
class PairTranslated:
    """Two texts in one more language, and their provenance."""

    first: str
    second: str
    engine: str
    route: list[str]
    glossary_version: int


async def sendable(languages: Languages, access: Access, op_id: OperationId,
                   label: object) -> LanguagePolicyView | None:
    """The operation's language policy when texts under ``label`` (a record's label
    document, or None: the lowest level) may go to its engine; else None."""
    policy = await languages.in_force(op_id)
    level = access.policy.of_record(label) or access.policy.lowest
    if not policy["translate"] or not languages.may_send(policy, level):
        return None
    return policy


async def source_of(detector: Detector, declared: str | None, texts: Sequence[str],
                    policy: LanguagePolicyView) -> tuple[str, bool]:
    """The language the texts are written in, and whether it was detected."""
    if declared:
        return declared, False
    found = await detector.detect(". ".join(texts), policy["languages"])
    return (found, True) if found else (policy["default"], False)


async def translate_pair(translator: Translator, first: str, second: str, source: str,
                         lang: str, glossary: Glossary, *, pivot: bool,
                         second_kept: str | None = None) -> PairTranslated | None:
    """Both texts in ``lang``, or None when the engine has no way there.
    ``second_kept``: the second text's translation, kept from before (not asked again)."""
    one = await translator.translate(first, source, lang, glossary, pivot=pivot)
    if one is None:
        return None
    if second_kept is not None:
        two = second_kept
    else:
        made = await translator.translate(second, source, lang, glossary, pivot=pivot) \
            if second.strip() else None
        two = made.text if made else ""
    return PairTranslated(one.text, two, one.engine, list(one.route), one.glossary_version)
