"""The formats other systems speak, in and out: CAP 1.2 (``cap_in``, ``cap_out``,
their service and routes), Alertmanager and Grafana notifications
(``alertmanager``), and outgoing webhooks (``outgoing``, its service, routes,
SSRF-safe sender and at-least-once dispatcher)."""
