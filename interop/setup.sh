#!/usr/bin/env bash
# setup.sh installs what the interop bed needs and is missing: Debian
# packages (apt-get update only when something is missing), the npm
# dependencies of interop/servers (npm ci, only when absent or stale) and
# the system user that the SOCKS5 server authenticates. Safe to run again.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log() { printf 'interop/setup: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Debian packages: name and a file it provides that the bed uses.
pkgs=(
	"nginx:/usr/sbin/nginx"
	"squid:/usr/lib/squid/basic_ncsa_auth"
	"tinyproxy:/usr/bin/tinyproxy"
	"dante-server:/usr/sbin/danted"
	"openssl:/usr/bin/openssl"
	"curl:/usr/bin/curl"
	"python3:/usr/bin/python3"
	"python3-websockets:/usr/lib/python3/dist-packages/websockets/__init__.py"
	"python3-twisted:/usr/lib/python3/dist-packages/twisted/__init__.py"
	"python3-autobahn:/usr/lib/python3/dist-packages/autobahn/__init__.py"
	"passwd:/usr/sbin/chpasswd"
	"util-linux:/usr/bin/setpriv"
	"procps:/usr/bin/ps"
	"haproxy:/usr/sbin/haproxy"
	"python3-hypercorn:/usr/lib/python3/dist-packages/hypercorn/__init__.py"
)
command -v node >/dev/null 2>&1 || pkgs+=("nodejs:/usr/bin/node")
command -v npm >/dev/null 2>&1 || pkgs+=("npm:/usr/bin/npm")

missing=()
for entry in "${pkgs[@]}"; do
	name="${entry%%:*}" file="${entry#*:}"
	status="$(dpkg-query -W -f='${db:Status-Status}' "$name" 2>/dev/null || true)"
	if [[ "$status" != installed || ! -e "$file" ]]; then
		missing+=("$name")
	fi
done

if ((${#missing[@]})); then
	[[ $EUID -eq 0 ]] || die "missing Debian packages (${missing[*]}): run as root"
	log "installing: ${missing[*]}"
	# Packaged daemons must not start themselves on their default ports.
	made_policy=0
	if [[ ! -e /usr/sbin/policy-rc.d ]]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		made_policy=1
	fi
	trap 'if [[ $made_policy == 1 ]]; then rm -f /usr/sbin/policy-rc.d; fi' EXIT
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	for entry in "${pkgs[@]}"; do
		[[ -e "${entry#*:}" ]] || die "package ${entry%%:*} installed but ${entry#*:} is absent"
	done
else
	log "Debian packages present"
fi

/usr/bin/python3 -c 'import websockets, autobahn.twisted.websocket, twisted.internet.reactor, hypercorn.asyncio' ||
	die "/usr/bin/python3 cannot import websockets/autobahn/twisted/hypercorn"

# Node.js dependencies, pinned by the committed package-lock.json.
want="$(node -p 'require(process.argv[1]).packages["node_modules/ws"].version' "$here/servers/package-lock.json")"
have="$(node -p 'try { require(process.argv[1]).version } catch { "" }' "$here/servers/node_modules/ws/package.json")"
if [[ "$have" != "$want" ]]; then
	log "npm ci (ws $want)"
	(cd "$here/servers" && npm ci --no-audit --no-fund --loglevel=error)
else
	log "node_modules present (ws $have)"
fi

# The SOCKS5 server's username method checks system accounts. The account
# cannot log in; start.sh gives it a fresh random password each run.
user=fwinterop
if ! getent passwd "$user" >/dev/null; then
	[[ $EUID -eq 0 ]] || die "user $user is missing: run as root"
	log "creating system user $user"
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$user"
fi
log "ready"
