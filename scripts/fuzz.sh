#!/usr/bin/env bash
# Runs every native fuzz target of the module for FUZZTIME each
# (a duration such as 10s, or a count such as 50000x).
#
# A target fails the run when fuzzing finds an input (a reproducer is
# written under testdata/fuzz), panics, or fails in any other way, with
# one exception: Go 1.26's fuzz coordinator can report a bare "context
# deadline exceeded" when a duration -fuzztime runs out while a worker is
# busy (go.dev/issue/75804, fixed in Go 1.27). That is no finding: no
# input is written and nothing can be reproduced. The script recognises
# exactly that output, replays the target's corpus deterministically to
# be sure, reports the flake and goes on.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT

failed=0 flaked=0 passed=0
for pkg in $($GO list ./...); do
	dir=$($GO list -f '{{.Dir}}' "$pkg")
	for t in $($GO test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
		echo "== $pkg $t"
		before=$(ls "$dir/testdata/fuzz/$t" 2>/dev/null | sort)
		$GO test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" "$pkg" 2>&1 | tee "$log"
		rc=${PIPESTATUS[0]}
		if [ "$rc" -eq 0 ]; then
			passed=$((passed + 1))
			continue
		fi
		after=$(ls "$dir/testdata/fuzz/$t" 2>/dev/null | sort)
		# The flake's whole failure report is these two lines.
		report=$(sed -n '/^--- FAIL/,/^FAIL$/p' "$log" | grep -v -e '^--- FAIL' -e '^FAIL$' -e '^exit status')
		if [ "$before" = "$after" ] &&
			! grep -q -e 'Failing input written' -e '^panic:' "$log" &&
			[ "$(echo "$report" | sed 's/^[[:space:]]*//')" = "context deadline exceeded" ]; then
			echo "== $t: bare 'context deadline exceeded' at the -fuzztime boundary (go.dev/issue/75804); replaying the corpus"
			if $GO test -run "^$t\$" -count=1 "$pkg"; then
				flaked=$((flaked + 1))
				continue
			fi
		fi
		echo "== $t FAILED"
		failed=$((failed + 1))
	done
done
echo "fuzz: $passed passed, $flaked stopped by the Go 1.26 deadline race (no finding), $failed failed"
[ "$failed" -eq 0 ]
