"""Cases, rules, alerts, escalation and the situational board (to come)."""
