"""WebSocket echo server on the Python "websockets" package.

Usage: /usr/bin/python3 py_echo.py --port N [--host 127.0.0.1]

Paths: "/" echoes text as text and binary as binary; "/headers" first sends
one text message, a JSON object {"path", "headers"} with lower-case header
names, then echoes; "/close?code=N&reason=S" closes at once with that code.
Subprotocols "chat" and "superchat" are accepted when offered. Messages up
to 64 MiB. permessage-deflate is accepted when offered (the package's
default).
"""

import argparse
import asyncio
import json
import signal
from urllib.parse import parse_qs, urlsplit

try:  # websockets >= 13
    from websockets.asyncio.server import serve

    def request_of(ws):
        return ws.request.path, ws.request.headers

except ImportError:  # websockets 10-12 (Debian bookworm has 10.4)
    from websockets.server import serve

    def request_of(ws):
        return ws.path, ws.request_headers

MAX_SIZE = 64 << 20


def headers_json(path, headers):
    out = {}
    for name, value in headers.raw_items():
        key = name.lower()
        out[key] = out[key] + ", " + value if key in out else value
    return json.dumps({"path": path, "headers": out})


async def handler(ws, *_):
    target, headers = request_of(ws)
    url = urlsplit(target)
    if url.path == "/headers":
        await ws.send(headers_json(target, headers))
    elif url.path == "/close":
        query = parse_qs(url.query)
        code = int(query.get("code", ["1000"])[0])
        reason = query.get("reason", [""])[0]
        await ws.close(code, reason)
        return
    async for message in ws:
        await ws.send(message)


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with serve(
        handler,
        args.host,
        args.port,
        max_size=MAX_SIZE,
        max_queue=4,
        subprotocols=["chat", "superchat"],
    ):
        print(f"py_echo.py listening on {args.host}:{args.port}", flush=True)
        await stop


if __name__ == "__main__":
    asyncio.run(main())
