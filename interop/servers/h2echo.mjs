// h2echo.mjs is the Node.js peer of the interop bed for WebSocket over
// HTTP/2 (RFC 8441): Node's http2 module with enableConnectProtocol, and
// the npm "ws" package's WebSocket (framing, permessage-deflate) run on
// each HTTP/2 stream, as ws's own server runs it on a TCP socket.
//
// Usage: node h2echo.mjs --port N [--tls-port M --cert F --key F] [--deflate]
//
// --port serves HTTP/2 with prior knowledge (h2c), --tls-port HTTP/2 over
// TLS (ALPN h2 only). An extended CONNECT with :protocol websocket and
// sec-websocket-version 13 gets 200 and an echo on any path: text as
// text, binary as binary, messages up to 64 MiB; the first of "chat",
// "superchat" the client offers; with --deflate, permessage-deflate as
// ws's server negotiates it, every message compressed. Anything else gets
// 400. After the closing handshake ws ends the stream (END_STREAM).
import fs from 'node:fs';
import http2 from 'node:http2';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { WebSocket, WebSocketServer } = require('ws');
// ws exports neither; its server uses both to negotiate permessage-deflate.
const PerMessageDeflate = require(require.resolve('ws').replace(/index\.js$/, 'lib/permessage-deflate.js'));
const extension = require(require.resolve('ws').replace(/index\.js$/, 'lib/extension.js'));

const protocols = ['chat', 'superchat'];

function parseArgs(argv) {
	const opts = { host: '127.0.0.1', port: 0, tlsPort: 0, cert: '', key: '', deflate: false };
	for (let i = 0; i < argv.length; i++) {
		switch (argv[i]) {
			case '--port': opts.port = Number(argv[++i]); break;
			case '--tls-port': opts.tlsPort = Number(argv[++i]); break;
			case '--cert': opts.cert = argv[++i]; break;
			case '--key': opts.key = argv[++i]; break;
			case '--deflate': opts.deflate = true; break;
			default: throw new Error(`h2echo.mjs: unknown argument ${argv[i]}`);
		}
	}
	if (!Number.isInteger(opts.port) || opts.port <= 0) {
		throw new Error('h2echo.mjs: --port is required');
	}
	return opts;
}

const opts = parseArgs(process.argv.slice(2));

// wss is never attached to a server: its options are what a ws server
// gives each WebSocket.
const wss = new WebSocketServer({
	noServer: true,
	maxPayload: 64 << 20,
	perMessageDeflate: opts.deflate ? { threshold: 0 } : false,
});

function refuse(stream, status, message) {
	stream.respond({ ':status': status, 'content-type': 'text/plain' });
	stream.end(message + '\n');
}

function onStream(stream, headers) {
	stream.on('error', () => {});
	if (headers[':method'] !== 'CONNECT' || headers[':protocol'] !== 'websocket') {
		return refuse(stream, 400, 'not an extended CONNECT for websocket');
	}
	if (headers['sec-websocket-version'] !== '13') {
		return refuse(stream, 400, 'unsupported sec-websocket-version');
	}
	const ws = new WebSocket(null, undefined, wss.options);
	const answer = { ':status': 200 };
	const offered = new Set((headers['sec-websocket-protocol'] ?? '').split(',').map((s) => s.trim()));
	const protocol = protocols.find((p) => offered.has(p));
	if (protocol) {
		answer['sec-websocket-protocol'] = protocol;
		ws._protocol = protocol;
	}
	const offer = headers['sec-websocket-extensions'];
	if (wss.options.perMessageDeflate && offer !== undefined) {
		const pmd = new PerMessageDeflate({ ...wss.options.perMessageDeflate, isServer: true, maxPayload: wss.options.maxPayload });
		try {
			const offers = extension.parse(offer);
			if (offers[PerMessageDeflate.extensionName]) {
				pmd.accept(offers[PerMessageDeflate.extensionName]);
				ws._extensions = { [PerMessageDeflate.extensionName]: pmd };
				answer['sec-websocket-extensions'] = extension.format({ [PerMessageDeflate.extensionName]: [pmd.params] });
			}
		} catch {
			return refuse(stream, 400, 'invalid or unacceptable sec-websocket-extensions');
		}
	}
	stream.respond(answer);
	ws.setSocket(stream, Buffer.alloc(0), {
		allowSynchronousEvents: wss.options.allowSynchronousEvents,
		maxPayload: wss.options.maxPayload,
		skipUTF8Validation: wss.options.skipUTF8Validation,
	});
	ws.on('error', () => {});
	ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

const settings = { enableConnectProtocol: true };
const h2c = http2.createServer({ settings });
h2c.on('stream', onStream);
h2c.listen(opts.port, opts.host);
if (opts.tlsPort) {
	const tls = http2.createSecureServer({
		settings, cert: fs.readFileSync(opts.cert), key: fs.readFileSync(opts.key),
	});
	tls.on('stream', onStream);
	tls.listen(opts.tlsPort, opts.host);
}
