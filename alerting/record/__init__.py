"""The operation's record for after-action review and inquiries: the signed
export (``export``) and its human-readable report (``report``). Signing and
time-stamping are the core's (``hub.signing``, ``hub.timestamps``)."""
