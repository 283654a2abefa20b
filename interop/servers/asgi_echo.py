"""asgi_echo.py is the Hypercorn peer of the interop bed for WebSocket over
HTTP/2 (RFC 8441): an ASGI application that Hypercorn serves over HTTP/1.1,
h2c with prior knowledge and TLS (ALPN h2), Hypercorn doing the WebSocket
framing and permessage-deflate (wsproto).

Usage: python3 -m hypercorn --insecure-bind 127.0.0.1:N [--bind 127.0.0.1:M
--certfile F --keyfile F] asgi_echo:app  (with this directory on sys.path)

Every path echoes text as text and binary as binary, choosing the first of
"chat" and "superchat" that the client offers. Plain HTTP gets 404.
"""

PROTOCOLS = ("chat", "superchat")


async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "websocket":
        await send({"type": "http.response.start", "status": 404, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"websocket only\n"})
        return
    event = await receive()
    if event["type"] != "websocket.connect":
        return
    offered = scope.get("subprotocols") or []
    chosen = next((p for p in PROTOCOLS if p in offered), None)
    await send({"type": "websocket.accept", "subprotocol": chosen})
    while True:
        event = await receive()
        if event["type"] == "websocket.disconnect":
            return
        if event["type"] != "websocket.receive":
            continue
        if event.get("bytes") is not None:
            await send({"type": "websocket.send", "bytes": event["bytes"]})
        else:
            await send({"type": "websocket.send", "text": event.get("text") or ""})
