"""The alert pipeline: an operation's log in; alerts, notices and escalations out.

A consumer (``consumer``) runs each operation's pipeline (``operation``) on one
node at a time; the stages are pure (``stages`` and the modules it calls:
alerts, silences, routing, grouping, escalation, acknowledgement rules); the
alert records, urgent messages and the services people and bots call for
rules, policies, silences and pushed alerts sit beside the stages they drive.
"""
