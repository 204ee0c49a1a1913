"""Cases, the shared record of incidents: the pure document (``case``) and the
service that authorizes, stores and broadcasts its changes (``service``)."""
