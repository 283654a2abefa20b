#!/usr/bin/env bash
# stop_test.sh checks stop.sh on a bed of two stand-in servers, with a PATH
# that has no ps: a process group that ends on SIGTERM, and one that
# ignores it and must get SIGKILL. Both must be gone afterwards and the
# record removed. run.sh runs it before starting the bed.
set -euo pipefail

tool=stop_test
source "$(dirname "${BASH_SOURCE[0]}")/bed.sh"
state="$(mktemp -d /tmp/fw-stop-test.XXXXXX)"
bin="$state/bin"
fail() { log "FAIL: $*"; exit 1; }

# Every command stop.sh may call, but not ps.
mkdir -p "$bin"
for cmd in bash dirname rm sleep readlink; do
	ln -s "$(command -v "$cmd")" "$bin/$cmd"
done

setsid sleep 300 </dev/null >/dev/null 2>&1 &
polite=$!
setsid bash -c 'trap "" TERM; sleep 300 & wait' </dev/null >/dev/null 2>&1 &
stubborn=$!
trap 'kill -KILL -- "-$polite" "-$stubborn" 2>/dev/null || true; rm -rf "$state"' EXIT
disown "$polite" "$stubborn" # no "Killed" notices from this shell
for pid in "$polite" "$stubborn"; do
	for _ in $(seq 50); do
		fields "$pid"
		[[ ${f[2]:-} == "$pid" ]] && break
		sleep 0.05
	done
	[[ ${f[2]:-} == "$pid" ]] || fail "stand-in $pid did not become a group leader"
	printf 'stand-in %s %s\n' "$pid" "${f[19]}" >>"$state/pids"
done
echo env >"$state/env"

env -i PATH="$bin" FW_INTEROP_DIR="$state" bash "$here/stop.sh" || fail "stop.sh exited $?"
for pid in "$polite" "$stubborn"; do
	if [[ -e /proc/$pid ]] && ! grep -q ') Z' "/proc/$pid/stat"; then
		fail "process group $pid is still running"
	fi
done
[[ ! -e $state/pids && ! -e $state/env ]] || fail "the record was not removed"
log ok
