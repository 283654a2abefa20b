"""WebSocket echo server on Autobahn-Python (Twisted).

Usage: /usr/bin/python3 ab_echo.py --port N [--host 127.0.0.1]
       [--request-no-context-takeover]

Paths: "/" echoes text as text and binary as binary; "/headers" first sends
one text message, a JSON object {"path", "headers"} with lower-case header
names, then echoes; "/close?code=N&reason=S" closes at once with that code.
Subprotocols: the first of "chat", "superchat" that the client offers.
Messages and frames up to 64 MiB. permessage-deflate is accepted when
offered; with --request-no-context-takeover the answer also asks the
client to compress each message on its own (client_no_context_takeover),
and the server inflates each client message with an empty history.
"""

import argparse
import json

from autobahn.exception import Disconnected
from autobahn.twisted.websocket import WebSocketServerFactory, WebSocketServerProtocol
from autobahn.websocket.compress import PerMessageDeflateOffer, PerMessageDeflateOfferAccept
from twisted.internet import reactor

MAX_SIZE = 64 << 20
PROTOCOLS = ("chat", "superchat")


def deflate_acceptor(request_no_context_takeover):
    def accept(offers):
        for offer in offers:
            if isinstance(offer, PerMessageDeflateOffer):
                return PerMessageDeflateOfferAccept(
                    offer, request_no_context_takeover=request_no_context_takeover
                )
        return None

    return accept


class Echo(WebSocketServerProtocol):
    def onConnect(self, request):
        self.request = request
        for proto in PROTOCOLS:
            if proto in request.protocols:
                return proto
        return None

    def onOpen(self):
        path = self.request.path
        if path == "/headers":
            body = {"path": path, "headers": dict(self.request.headers)}
            self.sendMessage(json.dumps(body).encode(), isBinary=False)
        elif path == "/close":
            params = self.request.params
            code = int(params.get("code", ["1000"])[0])
            reason = params.get("reason", [""])[0]
            self.sendClose(code=code, reason=reason)

    def onMessage(self, payload, isBinary):
        try:
            self.sendMessage(payload, isBinary=isBinary)
        except Disconnected:
            pass  # the client went away while its message was in flight


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--request-no-context-takeover", action="store_true")
    args = parser.parse_args()
    factory = WebSocketServerFactory(f"ws://{args.host}:{args.port}")
    factory.protocol = Echo
    factory.setProtocolOptions(
        maxFramePayloadSize=MAX_SIZE,
        maxMessagePayloadSize=MAX_SIZE,
        perMessageCompressionAccept=deflate_acceptor(args.request_no_context_takeover),
    )
    reactor.listenTCP(args.port, factory, interface=args.host)
    print(f"ab_echo.py listening on {args.host}:{args.port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
