#!/usr/bin/env bash
# Run every test suite: pg_regress suites, isolation specs, TAP tests.
# Ends with one line "N passed, N failed" and a non-zero exit on failure.
#
#   bash scripts/test.sh
#   COORDINATOR_LONG=1 bash scripts/test.sh    # also test/long/ (about 45 minutes)
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

install_dependencies
build_and_install
TREE=$(writable_tree)

passed=0
failed=0

run_harness() {
	local name=$1 target=$2 log rc ok bad diffs
	log="$TREE/$name.log"
	echo "== $name"
	set +e
	as_pg make -C "$TREE" -s PG_CONFIG="$PG_CONFIG" "$target" >"$log" 2>&1
	rc=$?
	set -e
	cat "$log"
	# pg_regress prints "test name ... ok" or "... FAILED" per test
	ok=$(grep -cE '\.\.\. ok' "$log" || true)
	bad=$(grep -cE '\.\.\. (FAILED|failed)' "$log" || true)
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$rc" != 0 ]; then
		# a harness that failed without a failing test (did not start) counts once
		[ "$bad" != 0 ] || failed=$((failed + 1))
		for diffs in "$TREE"/output_*/regression.diffs; do
			[ -f "$diffs" ] && { echo "---- $diffs"; head -200 "$diffs"; }
		done
	fi
}

run_harness regress check-regress
run_harness isolation check-isolation
run_harness isolation-workers check-isolation-workers

echo "== tap"
for t in "$TREE"/test/t/*.pl; do
	rel=test/t/$(basename "$t")
	set +e
	as_pg make -C "$TREE" -s PG_CONFIG="$PG_CONFIG" check-tap PROVE_TESTS="$rel" \
		>"$TREE/tap.log" 2>&1
	rc=$?
	set -e
	cat "$TREE/tap.log"
	if [ "$rc" = 0 ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		for f in "$TREE"/tmp_check/log/*; do
			[ -f "$f" ] && { echo "---- $f"; tail -50 "$f"; }
		done
	fi
done

# Long runs (minutes each: sqlsmith, valgrind, a 10-minute soak), on request
if [ "${COORDINATOR_LONG:-0}" = 1 ]; then
	echo "== long"
	for t in sqlsmith valgrind soak; do
		set +e
		bash "$TREE/test/long/$t.sh"
		rc=$?
		set -e
		if [ "$rc" = 0 ]; then passed=$((passed + 1)); else failed=$((failed + 1)); fi
	done
fi

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
