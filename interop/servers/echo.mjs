// echo.mjs is the Node.js peer of the framewire interop bed: a WebSocket
// echo server built on the npm "ws" package, with a few paths that make the
// server misbehave on purpose so a client's handling of it can be checked.
//
// Usage: node echo.mjs --port N [--host 127.0.0.1] [--deflate]
//
// Paths (any query string is ignored unless noted):
//   /            echo: text comes back as text, binary as binary
//   /headers     one text message: JSON {method, url, httpVersion, headers, rawHeaders},
//                headers with lower-case names; then echo
//   /close       close at once with ?code=N (default 1000) and ?reason=S
//   /ping        send a ping with payload "framewire" at once; when the pong
//                arrives, send the text "pong:" + its payload; then echo
//   /frag        echo each message as three fragments (first, continuation, final)
//   /basic       401 unless Authorization is Basic with $FW_INTEROP_USER:$FW_INTEROP_PASS
//   /r301 /r302 /r307 /r308
//                that status with an absolute Location to /
//   /rrel        302 with the relative Location "/"
//   /rloop       302 to /rloop, for ever
//   /rn/N        302 to /rn/N-1; /rn/0 echoes
//   /forbidden   403 with the body "forbidden\n"
//   /status/N    status N with the body "status N\n"
// Subprotocols: the first of "chat", "superchat" that the client offers.
// Messages up to 64 MiB. With --deflate, permessage-deflate is accepted
// and every message is compressed (threshold 0).
import http from 'node:http';
import { WebSocketServer } from 'ws';

const maxPayload = 64 << 20;
const protocols = ['chat', 'superchat'];

function parseArgs(argv) {
	const opts = {
		host: '127.0.0.1', port: 0, deflate: false,
		user: process.env.FW_INTEROP_USER ?? '', pass: process.env.FW_INTEROP_PASS ?? '',
	};
	for (let i = 0; i < argv.length; i++) {
		const a = argv[i];
		switch (a) {
			case '--deflate': opts.deflate = true; break;
			case '--port': opts.port = Number(argv[++i]); break;
			case '--host': opts.host = argv[++i]; break;
			default: throw new Error(`echo.mjs: unknown argument ${a}`);
		}
	}
	if (!Number.isInteger(opts.port) || opts.port <= 0) {
		throw new Error('echo.mjs: --port is required');
	}
	return opts;
}

const opts = parseArgs(process.argv.slice(2));

const wss = new WebSocketServer({
	noServer: true,
	maxPayload,
	perMessageDeflate: opts.deflate ? { threshold: 0 } : false,
	handleProtocols: (offered) => protocols.find((p) => offered.has(p)) ?? false,
});

// wsScheme is the scheme a client used to reach us, seen through a proxy.
function wsScheme(req) {
	const proto = (req.headers['x-forwarded-proto'] || '').toLowerCase();
	return proto === 'https' || proto === 'wss' ? 'wss' : 'ws';
}

// route decides what an HTTP request (upgrade or not) gets. It returns
// null to accept the WebSocket, or {status, headers, body}.
function route(req, url) {
	const p = url.pathname;
	const abs = (path) => `${wsScheme(req)}://${req.headers.host}${path}`;
	const redirect = (status, location) => ({ status, headers: { Location: location }, body: '' });
	let m;
	switch (p) {
		case '/r301': return redirect(301, abs('/'));
		case '/r302': return redirect(302, abs('/'));
		case '/r307': return redirect(307, abs('/'));
		case '/r308': return redirect(308, abs('/'));
		case '/rrel': return redirect(302, '/');
		case '/rloop': return redirect(302, '/rloop');
		case '/forbidden': return { status: 403, headers: {}, body: 'forbidden\n' };
		case '/basic': {
			const want = 'Basic ' + Buffer.from(`${opts.user}:${opts.pass}`).toString('base64');
			if (opts.user !== '' && req.headers.authorization === want) return null;
			return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="framewire"' }, body: 'unauthorized\n' };
		}
	}
	if ((m = /^\/rn\/(\d+)$/.exec(p))) {
		const n = Number(m[1]);
		return n > 0 ? redirect(302, `/rn/${n - 1}`) : null;
	}
	if ((m = /^\/status\/(\d{3})$/.exec(p))) {
		return { status: Number(m[1]), headers: {}, body: `status ${m[1]}\n` };
	}
	return null;
}

function rawResponse(socket, r) {
	const body = Buffer.from(r.body);
	let head = `HTTP/1.1 ${r.status} ${http.STATUS_CODES[r.status] ?? 'Status'}\r\n`;
	for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
	head += `Content-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
	socket.end(Buffer.concat([Buffer.from(head), body]));
}

function echo(ws) {
	ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
}

function serve(ws, req, url) {
	ws.on('error', () => {});
	switch (url.pathname) {
		case '/headers': {
			const raw = [];
			for (let i = 0; i < req.rawHeaders.length; i += 2) raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]]);
			ws.send(JSON.stringify({
				method: req.method, url: req.url, httpVersion: req.httpVersion,
				headers: req.headers, rawHeaders: raw,
			}));
			echo(ws);
			return;
		}
		case '/close': {
			const code = Number(url.searchParams.get('code') ?? 1000);
			const reason = url.searchParams.get('reason') ?? '';
			try {
				ws.close(code, reason);
			} catch {
				ws.terminate();
			}
			return;
		}
		case '/ping':
			ws.on('pong', (data) => ws.send('pong:' + data.toString()));
			ws.ping('framewire');
			echo(ws);
			return;
		case '/frag':
			ws.on('message', (data, isBinary) => {
				const b = Buffer.from(data);
				const a = Math.floor(b.length / 3), c = Math.floor((2 * b.length) / 3);
				ws.send(b.subarray(0, a), { binary: isBinary, fin: false });
				ws.send(b.subarray(a, c), { binary: isBinary, fin: false });
				ws.send(b.subarray(c), { binary: isBinary, fin: true });
			});
			return;
	}
	echo(ws);
}

const server = http.createServer((req, res) => {
	const url = new URL(req.url, 'http://x');
	const r = route(req, url) ?? { status: 426, headers: { Upgrade: 'websocket' }, body: 'websocket upgrade required\n' };
	res.writeHead(r.status, { 'Content-Type': 'text/plain', ...r.headers });
	res.end(r.body);
});

server.on('upgrade', (req, socket, head) => {
	socket.on('error', () => {});
	let url;
	try {
		url = new URL(req.url, 'http://x');
	} catch {
		rawResponse(socket, { status: 400, headers: {}, body: 'bad request\n' });
		return;
	}
	const r = route(req, url);
	if (r !== null) {
		rawResponse(socket, r);
		return;
	}
	wss.handleUpgrade(req, socket, head, (ws) => serve(ws, req, url));
});

server.listen(opts.port, opts.host, () => {
	console.log(`echo.mjs listening on ${opts.host}:${opts.port} deflate=${opts.deflate}`);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
	process.on(sig, () => {
		for (const ws of wss.clients) ws.terminate();
		server.close(() => process.exit(0));
		setTimeout(() => process.exit(0), 1000).unref();
	});
}
