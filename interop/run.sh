#!/usr/bin/env bash
# run.sh is `make interop`: install what is missing, check that stop.sh
# stops what it records, start the bed, run the interop tests with every
# server required, and stop the bed on exit, whether the tests pass or not.
# Arguments go to `go test`, e.g. -v or -run TestSquid.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here/.."

bash interop/setup.sh
bash interop/stop_test.sh
trap 'bash "$here/stop.sh" || echo "interop/run: stop.sh failed" >&2' EXIT
bash interop/start.sh
FW_INTEROP_REQUIRED=1 go test -count=1 "$@" ./interop/...
