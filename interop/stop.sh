#!/usr/bin/env bash
# stop.sh stops the interop bed that start.sh recorded in $FW_INTEROP_DIR/pids:
# each server's process group gets SIGTERM, then SIGKILL after 5 seconds.
# A recorded PID that now belongs to another process (its start time
# differs) is left alone. It reads /proc for what runs, so it needs no ps.
# Removes the env and pids files once every group is gone; if one is left
# or /proc cannot be read, the pids file stays for the next run. Safe to
# run again.
set -euo pipefail

tool=stop
source "$(dirname "${BASH_SOURCE[0]}")/bed.sh"

rm -f "$state/env"
if [[ ! -s $state/pids ]]; then
	rm -f "$state/pids"
	exit 0
fi

# ours PID START: the process group PID still exists and its leader, if
# alive, is the process we started.
ours() {
	local f
	fields "$1"
	[[ ${#f[@]} -eq 0 || ${f[19]:-} == "$2" ]]
}
# group_alive PGID: a process of the group is still running (zombies
# waiting for their parent to reap them do not count).
group_alive() {
	local p f
	for p in /proc/[0-9]*; do
		fields "${p#/proc/}"
		[[ ${f[2]:-} == "$1" && ${f[0]} != Z ]] && return 0
	done
	return 1
}

[[ -r /proc/self/stat ]] || {
	log "ERROR: /proc is not readable: cannot tell which servers run; $state/pids kept"
	exit 1
}

pids=() starts=() names=()
while read -r name pid start; do
	[[ $pid =~ ^[0-9]+$ ]] || continue
	if ! group_alive "$pid"; then
		continue
	fi
	if ! ours "$pid" "$start"; then
		log "pid $pid is no longer $name: left alone"
		continue
	fi
	kill -TERM -- "-$pid" 2>/dev/null || true
	names+=("$name") pids+=("$pid") starts+=("$start")
done <"$state/pids"

failed=0
for i in "${!pids[@]}"; do
	pid=${pids[$i]}
	for ((t = 0; t < 50; t++)); do
		group_alive "$pid" || break
		sleep 0.1
	done
	if group_alive "$pid"; then
		log "${names[$i]} (group $pid) ignored SIGTERM: SIGKILL"
		kill -KILL -- "-$pid" 2>/dev/null || true
		sleep 0.5
		if group_alive "$pid"; then
			log "ERROR: ${names[$i]} (group $pid) is still running"
			failed=1
		fi
	fi
done
((failed)) && exit 1
rm -f "$state/pids"
if [[ -L $state/run ]]; then
	target="$(readlink "$state/run")"
	rm -f "$state/run"
	case $target in /tmp/fw-interop.*) rm -rf "$target" ;; esac
fi
log "stopped ${#pids[@]} servers"
