"""The hub's own words in a Slack-compatible delivery, per subscription language (pure).

What people and bots wrote (a message, a case title) comes as written or as its kept
translation into the subscription's language; what the hub says around it (urgent,
alert, case, what happened, the field titles, severities, states) is said here in
each language the client has, never machine translated. A language not here is English.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["WORDS", "words_for"]

_EN: dict[str, str] = {
    "urgent": "URGENT", "in": "in", "alert": "alert", "case": "case",
    "alert.fired": "fired", "alert.notified": "notified", "alert.acknowledged": "acknowledged",
    "alert.resolved": "resolved", "case.created": "created", "case.updated": "updated",
    "case.closed": "closed",
    "State": "State", "Acknowledged by": "Acknowledged by", "Occurrences": "Occurrences",
    "Status": "Status", "Place": "Place", "Assignees": "Assignees", "Files": "Files",
    "sev.critical": "CRITICAL", "sev.major": "MAJOR", "sev.minor": "MINOR", "sev.info": "INFO",
    "firing": "firing", "acknowledged": "acknowledged", "resolved": "resolved",
    "open": "open", "in_progress": "in progress", "closed": "closed",
}
_ES: dict[str, str] = {
    "urgent": "URGENTE", "in": "en", "alert": "alerta", "case": "caso",
    "alert.fired": "emitida", "alert.notified": "notificada",
    "alert.acknowledged": "confirmada", "alert.resolved": "resuelta",
    "case.created": "creado", "case.updated": "actualizado", "case.closed": "cerrado",
    "State": "Estado", "Acknowledged by": "Confirmada por", "Occurrences": "Repeticiones",
    "Status": "Estado", "Place": "Lugar", "Assignees": "Asignados", "Files": "Archivos",
    "sev.critical": "CRÍTICO", "sev.major": "GRAVE", "sev.minor": "LEVE", "sev.info": "INFO",
    "firing": "activa", "acknowledged": "confirmada", "resolved": "resuelta",
    "open": "abierto", "in_progress": "en curso", "closed": "cerrado",
}
_FR: dict[str, str] = {
    "urgent": "URGENT", "in": "dans", "alert": "alerte", "case": "cas",
    "alert.fired": "déclenchée", "alert.notified": "notifiée",
    "alert.acknowledged": "acquittée", "alert.resolved": "résolue",
    "case.created": "créé", "case.updated": "mis à jour", "case.closed": "clos",
    "State": "État", "Acknowledged by": "Acquittée par", "Occurrences": "Occurrences",
    "Status": "Statut", "Place": "Lieu", "Assignees": "Assignés", "Files": "Fichiers",
    "sev.critical": "CRITIQUE", "sev.major": "MAJEUR", "sev.minor": "MINEUR", "sev.info": "INFO",
    "firing": "active", "acknowledged": "acquittée", "resolved": "résolue",
    "open": "ouvert", "in_progress": "en cours", "closed": "clos",
}

WORDS: Mapping[str, Mapping[str, str]] = {"en": _EN, "es": _ES, "fr": _FR}


def words_for(lang: str) -> Mapping[str, str]:
    """The hub's words in ``lang`` (English where it has none)."""
    return WORDS.get(lang, _EN)
