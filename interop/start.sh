#!/usr/bin/env bash
# start.sh starts the interop bed on free loopback ports: Node.js ws echo
# servers (plain and permessage-deflate), a Python websockets server, an
# Autobahn-Python server (and a second one that asks for
# client_no_context_takeover), nginx as a ws:// and wss:// reverse proxy in
# front of the plain Node.js server and, under paths of their own, of the
# permessage-deflate servers, squid (HTTP CONNECT, Basic auth), tinyproxy
# (HTTP CONNECT, no auth) and dante (SOCKS5 with and without
# username/password); and for WebSocket over HTTP/2 (RFC 8441), each on an
# h2c port (prior knowledge) and a TLS port: a Go x/net/http2 echo with
# extended CONNECT, the same without it (the fallback), Node's http2 module
# with enableConnectProtocol, Hypercorn with an ASGI echo, and HAProxy's h2
# frontend in front of the Node.js deflate server. Each server is its own
# process group, recorded in
# $FW_INTEROP_DIR/pids; the addresses go to $FW_INTEROP_DIR/env. Run
# setup.sh first. Running it again while the bed is up does nothing.
#
# FW_INTEROP_DIR defaults to .interop at the repository root.
set -euo pipefail

tool=start
source "$(dirname "${BASH_SOURCE[0]}")/bed.sh"
py=/usr/bin/python3
user=fwinterop

die() { log "ERROR: $*"; exit 1; }

[[ $EUID -eq 0 ]] || die "run as root: dante checks the password of system user $user and squid drops to user proxy"
for f in /usr/sbin/nginx /usr/sbin/squid /usr/bin/tinyproxy /usr/sbin/danted /usr/lib/squid/basic_ncsa_auth /usr/sbin/haproxy \
	"$here/servers/node_modules/ws/package.json"; do
	[[ -e $f ]] || die "$f is missing: run interop/setup.sh"
done
getent passwd "$user" >/dev/null || die "user $user is missing: run interop/setup.sh"

mkdir -p "$state"
state="$(cd "$state" && pwd)"

# Already up? Every recorded process group must still be the one we started.
if [[ -s $state/pids && -s $state/env ]]; then
	up=1
	while read -r name pid start; do
		fields "$pid"
		[[ ${f[0]:-Z} != Z && ${f[19]} == "$start" ]] || up=0
	done <"$state/pids"
	if ((up)); then
		log "already running (see $state/env)"
		exit 0
	fi
fi
# A partial or stale bed: stop what is left of it.
bash "$here/stop.sh"

logs="$state/logs"
mkdir -p "$logs" "$state/nginx" "$state/dante" "$state/haproxy" "$state/bin"
rm -f "$state/env" "$state/pids"

# Daemons that drop privileges need a directory their user can reach. When
# the checkout is not reachable by other users, use one under /tmp instead.
if setpriv --reuid=nobody --regid=nogroup --clear-groups test -x "$state"; then
	run="$state/run"
	[[ -L $run ]] && rm -f "$run"
	mkdir -p "$run"
else
	run="$(mktemp -d /tmp/fw-interop.XXXXXX)"
	ln -sfn "$run" "$state/run"
fi
chmod 755 "$run"
mkdir -p "$run/squid" "$run/tinyproxy"
chown proxy:proxy "$run/squid"
chown nobody:nogroup "$run/tinyproxy"

started=0
cleanup_on_error() {
	local rc=$?
	if ((rc != 0 && started)); then
		log "stopping what was started"
		bash "$here/stop.sh" || true
	fi
}
trap cleanup_on_error EXIT

# Twenty-one distinct free ports: bind them all at once, then release them.
read -r p_ws p_deflate p_py p_ab p_ab_nct p_nginx p_nginx_tls p_squid p_tiny p_dante p_dante_auth \
	p_h2go p_h2go_tls p_h2plain p_h2plain_tls p_h2node p_h2node_tls p_hyper p_hyper_tls p_hap p_hap_tls < <(
	"$py" -c '
import socket
socks = []
for _ in range(21):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
')

pass="$(openssl rand -hex 12)"
printf '%s:%s\n' "$user" "$pass" | chpasswd

# TLS: a CA and a server certificate for localhost, 127.0.0.1 and ::1,
# made once and kept while valid for at least a day.
tls="$state/tls"
mkdir -p "$tls"
if ! [[ -s $tls/ca.pem && -s $tls/server.pem && -s $tls/server.key ]] ||
	! openssl x509 -checkend 86400 -noout -in "$tls/server.pem" >/dev/null ||
	! openssl verify -CAfile "$tls/ca.pem" "$tls/server.pem" >/dev/null 2>&1; then
	log "generating CA and server certificate"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
		-keyout "$tls/ca.key" -out "$tls/ca.pem" -subj "/CN=framewire interop CA" \
		-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$tls/server.key" -out "$tls/server.csr" -subj "/CN=localhost" 2>/dev/null
	printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" "basicConstraints=critical,CA:FALSE" \
		"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$tls/server.ext"
	openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
		-days 30 -extfile "$tls/server.ext" -out "$tls/server.pem" 2>/dev/null
	rm -f "$tls/server.csr" "$tls/server.ext" "$tls/ca.srl"
	chmod 600 "$tls/ca.key" "$tls/server.key"
fi

cat >"$state/nginx/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $state/nginx/nginx.pid;
error_log $logs/nginx-error.log notice;
user nobody nogroup;
events { worker_connections 256; }
http {
	access_log $logs/nginx-access.log;
	client_body_temp_path $state/nginx/client_body;
	proxy_temp_path $state/nginx/proxy;
	fastcgi_temp_path $state/nginx/fastcgi;
	uwsgi_temp_path $state/nginx/uwsgi;
	scgi_temp_path $state/nginx/scgi;
	map \$http_upgrade \$connection_upgrade { default upgrade; '' close; }
	server {
		listen 127.0.0.1:$p_nginx;
		listen 127.0.0.1:$p_nginx_tls ssl;
		server_name localhost;
		ssl_certificate $tls/server.pem;
		ssl_certificate_key $tls/server.key;
		ssl_protocols TLSv1.2 TLSv1.3;
		location / {
			proxy_pass http://127.0.0.1:$p_ws;
			include $state/nginx/upgrade.conf;
			proxy_set_header X-Forwarded-Proto \$scheme;
			proxy_set_header X-Forwarded-For \$remote_addr;
			proxy_redirect off;
			client_max_body_size 0;
		}
		# The permessage-deflate servers, each under a path of its own
		# (stripped on the way): nginx passes Sec-WebSocket-Extensions
		# through both ways and relays the compressed frames untouched.
		location /ws-deflate/ { proxy_pass http://127.0.0.1:$p_deflate/; include $state/nginx/upgrade.conf; }
		location /py/ { proxy_pass http://127.0.0.1:$p_py/; include $state/nginx/upgrade.conf; }
		location /autobahn/ { proxy_pass http://127.0.0.1:$p_ab/; include $state/nginx/upgrade.conf; }
		location /autobahn-nct/ { proxy_pass http://127.0.0.1:$p_ab_nct/; include $state/nginx/upgrade.conf; }
	}
}
EOF
# What every location passes to a WebSocket server.
cat >"$state/nginx/upgrade.conf" <<EOF
proxy_http_version 1.1;
proxy_set_header Upgrade \$http_upgrade;
proxy_set_header Connection \$connection_upgrade;
proxy_set_header Host \$http_host;
proxy_buffering off;
proxy_request_buffering off;
proxy_read_timeout 1h;
proxy_send_timeout 1h;
EOF

sq="$run/squid"
printf '%s:%s\n' "$user" "$(openssl passwd -apr1 "$pass")" >"$sq/passwd"
chmod 644 "$sq/passwd"
cat >"$sq/squid.conf" <<EOF
http_port 127.0.0.1:$p_squid
visible_hostname framewire-interop
cache_effective_user proxy
cache_effective_group proxy
pid_filename $sq/squid.pid
cache_log $sq/cache.log
access_log stdio:$sq/access.log
cache_store_log none
cache deny all
cache_mem 8 MB
coredump_dir $sq
pinger_enable off
shutdown_lifetime 1 seconds
auth_param basic program /usr/lib/squid/basic_ncsa_auth $sq/passwd
auth_param basic children 2 startup=1 idle=1
auth_param basic realm framewire interop
acl authed proxy_auth REQUIRED
acl loopback src 127.0.0.0/8
acl to_loopback dst 127.0.0.0/8 ::1
http_access deny !loopback
http_access deny !to_loopback
http_access allow authed
http_access deny all
EOF

tp="$run/tinyproxy"
cat >"$tp/tinyproxy.conf" <<EOF
User nobody
Group nogroup
Port $p_tiny
Listen 127.0.0.1
Timeout 600
LogFile "$tp/tinyproxy.log"
LogLevel Info
PidFile "$tp/tinyproxy.pid"
MaxClients 64
Allow 127.0.0.1
EOF

dante_conf() { # port method
	cat <<EOF
logoutput: $logs/dante-$2.log
internal: 127.0.0.1 port = $1
external: 127.0.0.1
clientmethod: none
socksmethod: $2
user.privileged: root
user.unprivileged: nobody
client pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	log: error
}
socks pass {
	from: 127.0.0.0/8 to: 0.0.0.0/0
	command: connect
	socksmethod: $2
	log: error
}
EOF
}
# HAProxy (2.4 and later speak RFC 8441 on an h2 frontend): h2c with prior
# knowledge and TLS (ALPN h2, http/1.1) in front of the Node.js deflate
# server over HTTP/1.1.
cat "$tls/server.pem" "$tls/server.key" >"$state/haproxy/server.pem"
chmod 600 "$state/haproxy/server.pem"
cat >"$state/haproxy/haproxy.cfg" <<EOF
global
	maxconn 256
	user nobody
	group nogroup
	pidfile $state/haproxy/haproxy.pid
defaults
	mode http
	timeout connect 5s
	timeout client 1h
	timeout server 1h
	timeout tunnel 1h
frontend ws_h2
	bind 127.0.0.1:$p_hap proto h2
	bind 127.0.0.1:$p_hap_tls ssl crt $state/haproxy/server.pem alpn h2,http/1.1
	default_backend node_deflate
backend node_deflate
	server node 127.0.0.1:$p_deflate
EOF

# The Go HTTP/2 echo, built from this checkout.
(cd "$root" && go build -o "$state/bin/h2echo" ./interop/servers/h2echo) || die "cannot build interop/servers/h2echo"

dante_conf "$p_dante" none >"$state/dante/none.conf"
dante_conf "$p_dante_auth" username >"$state/dante/username.conf"

# launch NAME CMD...: start CMD as the leader of a new process group and
# record it in $state/pids.
declare -A pid_of
launch() {
	local name=$1 f
	shift
	setsid "$@" </dev/null >"$logs/$name.log" 2>&1 &
	local pid=$!
	started=1
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		fields "$pid"
		[[ ${f[2]:-} == "$pid" ]] && break
		sleep 0.05
	done
	[[ ${f[2]:-} == "$pid" ]] || die "$name (pid $pid) is not a process group leader"
	printf '%s %s %s\n' "$name" "$pid" "${f[19]}" >>"$state/pids"
	pid_of[$name]=$pid
}

# What the bed is up on: each server with a port it must accept on, and
# the lines of the env file, in order.
waits=() env_lines=("FW_INTEROP_DIR=$state")
# at NAME PORT: NAME must accept TCP connections on PORT.
at() { waits+=("$1 $2"); }

# serve NAME PORT KEY URL CMD...: launch a server that listens on PORT;
# KEY is URL, its address for the tests.
serve() {
	local name=$1 port=$2 key=$3 url=$4
	shift 4
	launch "$name" "$@"
	at "$name" "$port"
	env_lines+=("$key=$url")
}
# ws_server NAME KEY PORT CMD...: serve a WebSocket server at
# ws://127.0.0.1:PORT.
ws_server() {
	local name=$1 key=$2 port=$3
	shift 3
	serve "$name" "$port" "$key" "ws://127.0.0.1:$port" "$@"
}
# tls_server NAME KEY PORT TLS_PORT CMD...: a WebSocket server in clear
# text on PORT (KEY, ws://) and over TLS on TLS_PORT (KEY_TLS, wss://).
tls_server() {
	local name=$1 key=$2 port=$3 tls_port=$4
	shift 4
	ws_server "$name" "$key" "$port" "$@"
	at "$name" "$tls_port"
	env_lines+=("${key}_TLS=wss://127.0.0.1:$tls_port")
}

ws_server node-echo FW_INTEROP_WS "$p_ws" env FW_INTEROP_USER="$user" FW_INTEROP_PASS="$pass" \
	node "$here/servers/echo.mjs" --port "$p_ws"
ws_server node-deflate FW_INTEROP_WS_DEFLATE "$p_deflate" env FW_INTEROP_USER="$user" FW_INTEROP_PASS="$pass" \
	node "$here/servers/echo.mjs" --port "$p_deflate" --deflate
ws_server python-websockets FW_INTEROP_PY "$p_py" "$py" "$here/servers/py_echo.py" --port "$p_py"
ws_server autobahn FW_INTEROP_AUTOBAHN "$p_ab" "$py" "$here/servers/ab_echo.py" --port "$p_ab"
ws_server autobahn-nct FW_INTEROP_AUTOBAHN_NCT "$p_ab_nct" "$py" "$here/servers/ab_echo.py" --port "$p_ab_nct" \
	--request-no-context-takeover
tls_server nginx FW_INTEROP_NGINX "$p_nginx" "$p_nginx_tls" \
	/usr/sbin/nginx -e "$logs/nginx-error.log" -p "$state/nginx" -c "$state/nginx/nginx.conf"
env_lines+=("FW_INTEROP_CA=$tls/ca.pem" "FW_INTEROP_USER=$user" "FW_INTEROP_PASS=$pass")
serve squid "$p_squid" FW_INTEROP_SQUID "http://$user:$pass@127.0.0.1:$p_squid" /usr/sbin/squid -N -d 1 -f "$sq/squid.conf"
env_lines+=("FW_INTEROP_SQUID_NOAUTH=http://127.0.0.1:$p_squid")
serve tinyproxy "$p_tiny" FW_INTEROP_TINYPROXY "http://127.0.0.1:$p_tiny" /usr/bin/tinyproxy -d -c "$tp/tinyproxy.conf"
serve dante "$p_dante" FW_INTEROP_DANTE "socks5://127.0.0.1:$p_dante" \
	/usr/sbin/danted -f "$state/dante/none.conf" -p "$state/dante/none.pid"
serve dante-auth "$p_dante_auth" FW_INTEROP_DANTE_AUTH "socks5://$user:$pass@127.0.0.1:$p_dante_auth" \
	/usr/sbin/danted -f "$state/dante/username.conf" -p "$state/dante/username.pid"
h2echo=("$state/bin/h2echo" -cert "$tls/server.pem" -key "$tls/server.key")
tls_server go-h2 FW_INTEROP_H2_GO "$p_h2go" "$p_h2go_tls" \
	env GODEBUG=http2xconnect=1 "${h2echo[@]}" -h2c "127.0.0.1:$p_h2go" -tls "127.0.0.1:$p_h2go_tls"
tls_server go-h2-noxconnect FW_INTEROP_H2_NOXCONNECT "$p_h2plain" "$p_h2plain_tls" \
	env -u GODEBUG "${h2echo[@]}" -h2c "127.0.0.1:$p_h2plain" -tls "127.0.0.1:$p_h2plain_tls"
tls_server node-h2 FW_INTEROP_H2_NODE "$p_h2node" "$p_h2node_tls" \
	node "$here/servers/h2echo.mjs" --port "$p_h2node" --tls-port "$p_h2node_tls" \
	--cert "$tls/server.pem" --key "$tls/server.key" --deflate
tls_server hypercorn FW_INTEROP_HYPERCORN "$p_hyper" "$p_hyper_tls" \
	env PYTHONPATH="$here/servers" "$py" -m hypercorn --insecure-bind "127.0.0.1:$p_hyper" \
	--bind "127.0.0.1:$p_hyper_tls" --certfile "$tls/server.pem" --keyfile "$tls/server.key" asgi_echo:app
tls_server haproxy FW_INTEROP_HAPROXY "$p_hap" "$p_hap_tls" /usr/sbin/haproxy -db -f "$state/haproxy/haproxy.cfg"

# Wait until every server accepts TCP connections, or fail with its log.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # name port
	local name=$1 port=$2 pid=${pid_of[$1]}
	for ((i = 0; i < 300; i++)); do
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$name exited; its log:"
			tail -n 30 "$logs/$name.log" >&2 || true
			die "$name did not start"
		fi
		listening "$port" && return 0
		sleep 0.1
	done
	tail -n 30 "$logs/$name.log" >&2 || true
	die "$name is not listening on 127.0.0.1:$port after 30s"
}
for w in "${waits[@]}"; do
	wait_port "${w% *}" "${w##* }"
done

printf '%s\n' "${env_lines[@]}" >"$state/env.tmp"
mv "$state/env.tmp" "$state/env"
log "up: $state/env"
cat "$state/env"
