# bed.sh is sourced by start.sh, stop.sh and stop_test.sh: where the bed's
# record lives and how a process is read from /proc, with no ps.
#
# Before sourcing, set tool to the script's name (it prefixes every log
# line). Sets here (this directory), root (the repository) and state
# ($FW_INTEROP_DIR, by default .interop at the repository root).

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
state="${FW_INTEROP_DIR:-$root/.interop}"

log() { printf 'interop/%s: %s\n' "$tool" "$*" >&2; }

# fields PID: sets f to the fields of /proc/PID/stat after the command name
# (f[0] is the state, f[2] the process group, f[19] the start time), or to
# nothing when the process is gone. The name is skipped up to the last ')'
# since it may hold spaces and parentheses.
fields() {
	local line
	f=()
	read -r line 2>/dev/null <"/proc/$1/stat" || return 0
	read -r -a f <<<"${line##*) }"
}
