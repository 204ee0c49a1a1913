"""An operation's languages: whether its texts are machine translated, into which
languages, how far up the labels a text may go to the engine, and its glossary.

The policy (``language:policy``, a state document of the operation) is off until a
coordinator switches it on, and can only be switched on where the hub has an engine
(``translation_engine``): no text ever leaves for an engine nobody configured. A text
labelled above ``ceiling`` (a level; by default the lowest) never goes to the engine.
``pivot`` lets a pair the engine lacks go through a third language, marked as pivoted.

The glossary (``language:glossary``) is the operation's agreed terms, each with its
form per language (and grammatical gender where it matters), and its do-not-translate
entries; every change is a new version, which the translations made with it name.
Coordinators edit it, as JSON or CSV (:mod:`channels.glossary_files`); every member
reads it. Setting either is audited.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired, TypedDict

import msgspec

from channels.access import Access
from channels.permissions import Action
from hub.auditor import Auditor
from hub.bodies import NOT_BLANK
from hub.clock import Clock
from hub.config import Settings
from hub.documents import StateName
from hub.engine.port import Records
from hub.errors import BadRequest
from hub.labels import LEVEL_SCHEMA_MARK, Label
from hub.language.codes import LANG_PATTERN
from hub.language.glossary import Glossary, Term
from hub.language.translator import Translator
from hub.models import OperationId
from hub.principal import Principal

__all__ = ["GLOSSARY", "POLICY", "GlossaryBody", "GlossaryDoc", "LanguagePolicyBody",
           "LanguagePolicyView", "Languages", "TermBody", "TermDoc"]

#: A language: an ISO 639 code in lower case ("en", "es", "fr").
Lang = Annotated[str, msgspec.Meta(pattern=LANG_PATTERN, description="An ISO 639 code.")]
TermText = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NOT_BLANK)]
#: Terms a glossary may hold.
MAX_TERMS = 5000


class LanguagePolicyBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True,
                         frozen=True):
    """``PUT /api/operations/{id}/language-policy``."""

    #: Machine translate the operation's texts (only where the hub has an engine).
    translate: bool = False
    #: The languages the operation reads in: each text is translated into the others.
    languages: Annotated[list[Lang], msgspec.Meta(
        min_length=1, max_length=8, extra_json_schema={"uniqueItems": True})] = \
        msgspec.field(default_factory=lambda: ["en"])
    #: The language of a text that does not say which it is in.
    default: Lang = "en"
    #: A pair the engine lacks may go through a third language (marked as pivoted).
    pivot: bool = False
    #: Members who may correct a machine translation (besides its coordinators).
    translators: Annotated[list[Annotated[str, msgspec.Meta(max_length=64)]],
                           msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    #: The highest label level a text may have to go to the engine; null: the lowest.
    ceiling: Annotated[str, msgspec.Meta(
        max_length=64, extra_json_schema={LEVEL_SCHEMA_MARK: True})] | None = None


class LanguagePolicyDoc(TypedDict):
    translate: bool
    languages: list[str]
    default: str
    pivot: bool
    ceiling: str | None
    translators: NotRequired[list[str]]
    updated_by: str
    updated_at: float


class LanguagePolicyView(TypedDict):
    """The policy in force, and the engine behind it."""

    translate: bool
    languages: list[str]
    default: str
    pivot: bool
    ceiling: str
    translators: list[str]
    engine: str | None  # the hub's engine's kind, null: none configured
    available: bool     # the engine answered its last call (else readers get originals)


class TermBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """One glossary entry."""

    #: The agreed text in each language (a do-not-translate entry: its text, once).
    forms: Annotated[dict[Lang, TermText], msgspec.Meta(min_length=1, max_length=16)]
    #: Never translated: read as written in every language (call signs, places, units).
    keep: bool = False
    #: Grammatical gender per language, where the language has one ("m" or "f").
    genders: Annotated[dict[Lang, Literal["m", "f"]], msgspec.Meta(max_length=16)] = \
        msgspec.field(default_factory=dict)
    note: Annotated[str, msgspec.Meta(max_length=500)] = ""


class GlossaryBody(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    """``PUT /api/operations/{id}/glossary``: the whole glossary, replacing the last."""

    terms: Annotated[list[TermBody], msgspec.Meta(max_length=MAX_TERMS)]


class TermDoc(TypedDict):
    forms: dict[str, str]
    keep: bool
    genders: dict[str, str]
    note: str


class GlossaryDoc(TypedDict):
    version: int
    terms: list[TermDoc]
    updated_by: str
    updated_at: float


POLICY: StateName[LanguagePolicyDoc] = StateName("language:policy")
GLOSSARY: StateName[GlossaryDoc] = StateName("language:glossary")


class Languages:
    def __init__(self, *, store: Records, access: Access, auditor: Auditor, clock: Clock,
                 settings: Settings, translator: Translator | None) -> None:
        self._store = store
        self._access = access
        self._audit = auditor
        self._clock = clock
        self._engine = settings.translation_engine.partition("+")[0] or None
        self._translator = translator

    # --- the policy ------------------------------------------------------------------

    async def view(self, principal: Principal, op_id: str, client: str) -> LanguagePolicyView:
        op, _ = await self._access.operation(principal, op_id, Action.VIEW_OPERATION,
                                             client=client)
        return await self.in_force(op.id)

    async def in_force(self, op_id: OperationId) -> LanguagePolicyView:
        doc = await self._store.get_state(op_id, POLICY)
        lowest = self._access.policy.lowest.level
        available = self._translator is not None and self._translator.available
        if doc is None:
            return {"translate": False, "languages": ["en"], "default": "en", "pivot": False,
                    "ceiling": lowest, "translators": [], "engine": self._engine,
                    "available": available}
        return {"translate": doc["translate"] and self._engine is not None,
                "languages": doc["languages"], "default": doc["default"],
                "pivot": doc["pivot"], "ceiling": doc["ceiling"] or lowest,
                "translators": doc.get("translators", []), "engine": self._engine,
                "available": available}

    async def set(self, principal: Principal, op_id: str, body: LanguagePolicyBody,
                  client: str) -> LanguagePolicyView:
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)  # its coordinators
        if body.translate and self._engine is None:
            raise BadRequest("'translate': this hub has no translation engine (its operator "
                             "sets translation_engine)")
        if len(set(body.languages)) != len(body.languages):
            raise BadRequest("'languages': each language once")
        if body.ceiling is not None and body.ceiling not in self._access.policy.levels:
            raise BadRequest(f"'ceiling': one of {', '.join(self._access.policy.levels)}")
        doc: LanguagePolicyDoc = {
            "translate": body.translate, "languages": list(body.languages),
            "default": body.default, "pivot": body.pivot, "ceiling": body.ceiling,
            "translators": sorted(set(body.translators)),
            "updated_by": principal.username, "updated_at": self._clock.now()}
        await self._store.put_state(op.id, POLICY, doc)
        await self._audit.record(actor=principal.username, action="operation.language_policy",
                                 target=op.id, outcome="ok", client=client,
                                 operation_id=op.id,
                                 details={k: v for k, v in doc.items()
                                          if k not in ("updated_by", "updated_at")})
        return await self.in_force(op.id)

    def may_send(self, policy: LanguagePolicyView, label: Label) -> bool:
        """Whether a text under ``label`` may go to the engine under ``policy``."""
        levels = self._access.policy
        return levels.rank(label.level) <= levels.rank(policy["ceiling"])

    # --- the glossary ----------------------------------------------------------------

    async def glossary_doc(self, principal: Principal, op_id: str,
                           client: str) -> GlossaryDoc:
        op, _ = await self._access.operation(principal, op_id, Action.VIEW_OPERATION,
                                             client=client)
        return await self.stored_glossary(op.id)

    async def stored_glossary(self, op_id: OperationId) -> GlossaryDoc:
        doc = await self._store.get_state(op_id, GLOSSARY)
        return doc if doc is not None else {"version": 0, "terms": [], "updated_by": "",
                                            "updated_at": 0.0}

    async def glossary(self, op_id: OperationId) -> Glossary:
        """The glossary as the translator uses it."""
        doc = await self.stored_glossary(op_id)
        return Glossary(tuple(Term(t["forms"], t["keep"], t["genders"]) for t in doc["terms"]),
                        doc["version"])

    async def set_glossary(self, principal: Principal, op_id: str, body: GlossaryBody,
                           client: str) -> GlossaryDoc:
        op, _ = await self._access.operation(principal, op_id, Action.MANAGE_CHANNELS,
                                             client=client)
        for i, term in enumerate(body.terms):
            if term.keep and len(set(term.forms.values())) != 1:
                raise BadRequest(f"'terms[{i}].forms': a do-not-translate entry has one text")
            for lang in term.genders:
                if lang not in term.forms:
                    raise BadRequest(f"'terms[{i}].genders.{lang}': no form in {lang!r}")
        before = await self.stored_glossary(op.id)
        doc: GlossaryDoc = {
            "version": before["version"] + 1,
            "terms": [{"forms": dict(t.forms), "keep": t.keep, "genders": dict(t.genders),
                       "note": t.note} for t in body.terms],
            "updated_by": principal.username, "updated_at": self._clock.now()}
        await self._store.put_state(op.id, GLOSSARY, doc)
        await self._audit.record(actor=principal.username, action="operation.glossary",
                                 target=op.id, outcome="ok", client=client,
                                 operation_id=op.id,
                                 details={"version": doc["version"],
                                          "terms": len(doc["terms"])})
        return doc
