"""A Python client for Liaison Hub bots: the WebSocket protocol and the REST calls.

    from liaison_client import Client, Rest

    async with Client("wss://hub.example.org/ws", token) as hub:
        await hub.subscribe(channel_id)
        ack = await hub.publish(channel_id, "Gauge 7 at 4.2 m")
        async for frame in hub.frames():
            ...

:class:`Client` keeps what a bot must not lose across reconnects: it resumes
every subscription from the last seq it delivered (``since_seq``), delivers
each message once, and resends every publish not yet acknowledged with the
same ``client_msg_id`` (the hub stores it once). :class:`Rest` makes the REST
calls a bot needs (cases, alerts), retrying what may be retried with the same
idempotency key. It depends on ``websockets``, ``msgpack`` and ``httpx`` only,
never on the hub's own code.
"""

from liaison_client.client import Client, ClientError
from liaison_client.frames import (
    Ack,
    CaseAck,
    ErrorFrame,
    Frame,
    Message,
    OpEvent,
    Reset,
    Subscribed,
    Unsubscribed,
    Welcome,
    parse,
)
from liaison_client.rest import ApiError, Rest

__all__ = ["Ack", "ApiError", "CaseAck", "Client", "ClientError", "ErrorFrame", "Frame",
           "Message", "OpEvent", "Reset", "Rest", "Subscribed", "Unsubscribed", "Welcome",
           "parse"]
