"""REST routes for what translators do to an operation's cases: correct a case's title and
description in a language (:meth:`alerting.cases.translations.CaseTranslations.review`).
Reading them is the case routes' ``?lang=``."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from alerting.bodies import ReviewCaseTranslation
from alerting.cases.translations import CaseTranslations, shown
from hub.bodies import convert, schema
from hub.errors import BadRequest
from hub.http import caller, json_body
from hub.language.codes import LANG_PATTERN
from hub.openapi import api, ref, string

__all__ = ["routes"]


@api("Correct a case's translation into a language (the operation's translators and "
     "coordinators): its readers in that language read it, marked reviewed, until the "
     "case's texts change; audited", "cases",
     {200: ref("CaseTranslation")}, body=schema(ReviewCaseTranslation),
     path={"lang": string(pattern=LANG_PATTERN)})
async def review_case_translation(request: Request) -> Response:
    _, principal, client = await caller(request)
    lang = request.path_params["lang"]
    if not re.fullmatch(r"[a-z]{2,3}", lang):
        raise BadRequest("'lang' must be an ISO 639 code such as 'es'")
    body = convert(await json_body(request), ReviewCaseTranslation)
    translations: CaseTranslations = request.app.state.services.case_translations
    made = await translations.review(principal, request.path_params["op_id"],
                                     request.path_params["case_id"], lang, body.title,
                                     body.description, client)
    return JSONResponse(shown(made))


routes = [
    Route("/api/operations/{op_id}/cases/{case_id}/translations/{lang}",
          review_case_translation, methods=["PUT"]),
]
