#!/usr/bin/env bash
# Checks that `go test -race` can run here and fails, saying what to
# install, when it cannot. The race detector needs cgo, and cgo needs a
# working C compiler: without one on PATH, Go turns cgo off by itself and
# -race stops with a terse "-race requires cgo".
set -uo pipefail
GO=${GO:-go}

cgo=$($GO env CGO_ENABLED)
cc=$($GO env CC)
fail() {
	cat >&2 <<MSG
make: the race detector (go test -race) cannot run here: $1.
  make test runs every test under -race; it needs cgo and a C compiler.
  On Debian or Ubuntu:   sudo apt-get install gcc
  On Alpine:             apk add gcc musl-dev
  On macOS:              xcode-select --install
  Then run make test again. Meanwhile, make vet fmt-check purego runs
  everything else (the tests without -race, in the pure-Go build).
MSG
	exit 1
}

if [[ $cgo != 1 ]]; then
	fail "cgo is off (go env CGO_ENABLED is '$cgo'): no C compiler '$cc' was found on PATH, or CGO_ENABLED=0 is set"
fi
# CC may carry flags ("gcc -m64"), so it is split on purpose.
# shellcheck disable=SC2086
if ! printf 'int main(void) { return 0; }\n' | $cc -x c -o /dev/null - >/dev/null 2>&1; then
	fail "the C compiler '$cc' (go env CC) cannot compile a C program"
fi
