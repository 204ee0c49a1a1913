"""An operation's languages over REST: its translation policy and its glossary.

``GET``/``PUT /api/operations/{op_id}/language-policy``: whether and into which
languages its texts are machine translated (coordinators set it; audited).
``GET``/``PUT /api/operations/{op_id}/glossary``: its agreed terms, as JSON (or CSV
with ``Content-Type: text/csv``); ``GET .../glossary.csv``: the same as a CSV file
(:mod:`channels.glossary_files`).
"""

from __future__ import annotations

import re

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.bodies import ReviewTranslation, TranslationNote
from channels.glossary_files import glossary_csv, parse_glossary_csv
from channels.glossary_tbx import glossary_tbx, parse_glossary_tbx
from channels.languages import GlossaryBody, LanguagePolicyBody, Languages
from channels.translations import MessageTranslations
from hub.bodies import convert, schema
from hub.boundary import int_param
from hub.errors import BadRequest
from hub.http import caller, json_body, off_the_loop, read_body, read_json
from hub.openapi import api, array, boolean, integer, nullable, number, obj, string

__all__ = ["routes"]

#: TBX has no registered media type; this is the one tools send (application/xml too).
TBX_TYPE = "application/tbx+xml"
#: The largest glossary a request may carry (5,000 terms fit).
GLOSSARY_BYTES = 2 * 1024 * 1024

LANGUAGE_POLICY = obj({"translate": boolean(), "languages": array(string()),
                       "default": string(), "pivot": boolean(), "ceiling": string(),
                       "translators": array(string()),
                       "engine": nullable(string()), "available": boolean()},
                      "translate", "languages", "default", "pivot", "ceiling", "translators",
                      "engine", "available")
GLOSSARY = obj({"version": integer(), "terms": array(obj()), "updated_by": string(),
                "updated_at": number()}, "version", "terms")


def _languages(request: Request) -> Languages:
    languages: Languages = request.app.state.services.languages
    return languages


@api("The operation's translation policy, and the hub's engine", "channels",
     {200: LANGUAGE_POLICY})
async def language_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    return JSONResponse(await _languages(request).view(
        principal, request.path_params["op_id"], client))


@api("Set whether and into which languages the operation's texts are machine translated "
     "(coordinators); audited", "channels", {200: LANGUAGE_POLICY},
     body=schema(LanguagePolicyBody))
async def set_language_policy(request: Request) -> Response:
    _, principal, client = await caller(request)
    body = convert(await json_body(request), LanguagePolicyBody)
    return JSONResponse(await _languages(request).set(
        principal, request.path_params["op_id"], body, client))


@api("The operation's glossary: agreed terms and do-not-translate entries", "channels",
     {200: GLOSSARY})
async def glossary(request: Request) -> Response:
    _, principal, client = await caller(request)
    return JSONResponse(await _languages(request).glossary_doc(
        principal, request.path_params["op_id"], client))


@api("The operation's glossary as a CSV file (a column per language)", "channels",
     {200: "text/csv"})
async def glossary_file(request: Request) -> Response:
    _, principal, client = await caller(request)
    doc = await _languages(request).glossary_doc(principal, request.path_params["op_id"],
                                                 client)
    return Response(glossary_csv(doc), media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="glossary-v{doc["version"]}.csv"'})


@api("The operation's glossary as TBX (ISO 30042, TBX-Basic)", "channels",
     {200: TBX_TYPE})
async def glossary_tbx_file(request: Request) -> Response:
    _, principal, client = await caller(request)
    op_id = request.path_params["op_id"]
    doc = await _languages(request).glossary_doc(principal, op_id, client)
    return Response(glossary_tbx(doc, f"Liaison Hub operation {op_id}"), media_type=TBX_TYPE,
                    headers={"Content-Disposition":
                             f'attachment; filename="glossary-v{doc["version"]}.tbx"'})


@api("Replace the operation's glossary (coordinators), from JSON, CSV or TBX; a new "
     "version, audited", "channels", {200: GLOSSARY}, body=schema(GlossaryBody),
     body_types={"text/csv": string(), TBX_TYPE: string(), "application/xml": string()})
async def set_glossary(request: Request) -> Response:
    _, principal, client = await caller(request)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "text/csv":
        raw = await read_body(request, GLOSSARY_BYTES)
        try:
            body = parse_glossary_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            raise BadRequest("glossary CSV: not UTF-8 text") from None
    elif ctype in (TBX_TYPE, "application/x-tbx+xml", "application/xml", "text/xml"):
        body = await off_the_loop(parse_glossary_tbx, await read_body(request, GLOSSARY_BYTES),
                                  large=True)
    else:
        body = convert(await read_json(request, GLOSSARY_BYTES), GlossaryBody)
    return JSONResponse(await _languages(request).set_glossary(
        principal, request.path_params["op_id"], body, client))


@api("Correct a message's translation into a language (the operation's translators and "
     "coordinators): every reader of that language is shown it, marked reviewed; audited",
     "channels", {200: schema(TranslationNote)}, body=schema(ReviewTranslation),
     path={"seq": string(pattern=r"^[1-9][0-9]{0,14}$"),
           "lang": string(pattern="^[a-z]{2,3}$")})
async def review_translation(request: Request) -> Response:
    _, principal, client = await caller(request)
    seq = int_param(request.path_params["seq"], "seq", low=1)
    lang = request.path_params["lang"]
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
    body = convert(await json_body(request), ReviewTranslation)
    translations: MessageTranslations = request.app.state.services.translations
    assert seq is not None
    note = await translations.review(principal, request.path_params["ch_id"], seq, lang,
                                     body.text, client)
    return JSONResponse(msgspec.to_builtins(note))


routes = [
    Route("/api/operations/{op_id}/language-policy", language_policy, methods=["GET"]),
    Route("/api/operations/{op_id}/language-policy", set_language_policy, methods=["PUT"]),
    Route("/api/operations/{op_id}/glossary", glossary, methods=["GET"]),
    Route("/api/operations/{op_id}/glossary", set_glossary, methods=["PUT"]),
    Route("/api/operations/{op_id}/glossary.csv", glossary_file, methods=["GET"]),
    Route("/api/operations/{op_id}/glossary.tbx", glossary_tbx_file, methods=["GET"]),
    Route("/api/channels/{ch_id}/messages/{seq}/translations/{lang}", review_translation,
          methods=["PUT"]),
]
