#!/usr/bin/env bash
# The pg_regress suite (or a subset) against a server run under valgrind
# memcheck: every process of the server (postmaster, backends, the
# launcher, the coordinator, the dataflow workers) runs on valgrind, each
# with its own log.  PASS when no log has a memory error (invalid read,
# write or free, use of uninitialised memory, overlapping copy) whose
# stack has a frame of the extension (coordinator.so, or a source file of
# its src/ when the frame has line numbers).  The regression tests' own
# results are printed but do not decide: under valgrind everything is 20 to
# 50 times slower and a test's bounded waits may run out.
#
#   bash test/long/valgrind.sh                  # every test of REGRESS in the Makefile
#   VALGRIND_REGRESS="setup create_view dml" bash test/long/valgrind.sh
#
# The Debian server is not built with USE_VALGRIND: palloc'd memory is not
# marked for memcheck, so only errors at the level of malloc'd blocks, the
# stack and uninitialised values show.  Suppressions: test/long/valgrind.supp.
# VALGRIND_ERROR_EXITCODE=N adds --error-exitcode=N: a process with an error
# then exits with N, which the postmaster treats as a crash (all sessions
# are ended and the rest of the suite fails); off by default so one run
# collects every error.  LONG_PORT (default 56201).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# the whole suite of the Makefile: 5 minutes under valgrind on this 2-core
# machine (see test/long/README.md)
REGRESS=${VALGRIND_REGRESS:-$(sed -n 's/^REGRESS = //p' "$ROOT/Makefile")}

if ! command -v valgrind >/dev/null 2>&1; then
	say "== installing valgrind"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind >/dev/null
fi

# the regression suites' configuration (test/regress.conf), autovacuum off
# (under valgrind its workers only add minutes)
long_init_instance valgrind "${LONG_PORT:-56201}" "coordinator.database = 'contrib_regression'
coordinator.dataflow_workers = 1
autovacuum = off
max_connections = 20"
VGDIR=$LONG_DIR/valgrind
mkdir -p "$VGDIR" "$LONG_DIR/regress"
cp "$HERE/valgrind.supp" "$LONG_DIR/valgrind.supp"
[ "$(id -u)" = 0 ] && chown -R "$PG_OS_USER" "$VGDIR" "$LONG_DIR/regress" "$LONG_DIR/valgrind.supp"

VG=(valgrind --tool=memcheck --trace-children=yes --track-origins=no --read-var-info=no --leak-check=no
	--num-callers=40 --fullpath-after=
	--suppressions="$LONG_DIR/valgrind.supp" --log-file="$VGDIR/valgrind.%p.log")
[ -n "${VALGRIND_ERROR_EXITCODE:-}" ] && VG+=(--error-exitcode="$VALGRIND_ERROR_EXITCODE")

say "== $(valgrind --version); server in $LONG_DIR, port $LONG_PORT"
t0=$SECONDS
# the postmaster under valgrind (not pg_ctl: it would start postgres
# itself); stopped with pg_ctl, which signals the pid in postmaster.pid
# PGHOST/PGPORT in its environment, as pg_regress gives its temporary
# instance: dblink in isolation_guc connects with libpq's defaults
as_pg env PGHOST="$LONG_DIR" PGPORT="$LONG_PORT" "${VG[@]}" "$PG_BIN/postgres" -D "$LONG_DIR/data" >>"$LONG_LOG" 2>&1 &
vgpid=$!
for _ in $(seq 600); do
	as_pg "$PG_BIN/pg_isready" -q -h "$LONG_DIR" -p "$LONG_PORT" && break
	sleep 1
done
as_pg "$PG_BIN/pg_isready" -q -h "$LONG_DIR" -p "$LONG_PORT" || {
	tail -20 "$LONG_LOG"
	fail "the server did not start under valgrind"
	long_finish "valgrind"
}
say "server up under valgrind in $((SECONDS - t0))s"

say "== pg_regress: $REGRESS"
t1=$SECONDS
set +e
as_pg make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" check-regress REGRESS="$REGRESS" \
	REGRESS_OPTS="--host=$LONG_DIR --port=$LONG_PORT --dbname=contrib_regression --load-extension=coordinator --outputdir=$LONG_DIR/regress" \
	>"$LONG_DIR/regress.log" 2>&1
rrc=$?
set -e
regress_secs=$((SECONDS - t1))
grep -E '\.\.\. ' "$LONG_DIR/regress.log" | sed 's/^/  /' || true
ok=$(grep -cE '\.\.\. ok' "$LONG_DIR/regress.log" || true)
bad=$(grep -cE '\.\.\. (FAILED|failed)' "$LONG_DIR/regress.log" || true)
diffs=""
[ "$bad" = 0 ] || diffs="; diffs: $LONG_DIR/regress/regression.diffs"
say "pg_regress: $ok ok, $bad failed (exit $rrc) in ${regress_secs}s$diffs"
[ "$rrc" = 0 ] || [ "$bad" != 0 ] || { tail -20 "$LONG_DIR/regress.log"; }

t2=$SECONDS
LONG_STOP_TIMEOUT=600 long_stop
wait "$vgpid" || true
say "server stopped in $((SECONDS - t2))s; total $((SECONDS - t0))s"

# Scan the logs.  An error is a block from its header line ("==PID== Invalid
# read of size 8") to the next "==PID== " line; ours if a frame is in
# coordinator.so or in a file of our src/.
OURS_RE='coordinator\.so|/src/(coordinator\.c|ipc|capture|compile|dataflow|catalog|commands|timestamp|subscribe|webhook|coordinator)/'
KIND_RE='Invalid (read|write|free)|uninitialised|[Oo]verlap|Mismatched free|fishy'
awk -v ours="$OURS_RE" -v kind="$KIND_RE" -v out="$LONG_DIR/errors.ours" -v other="$LONG_DIR/errors.other" '
	function flush() {
		if (block != "" && head ~ kind) {
			if (block ~ ours) { n_ours++; print "---- " FILENAME "\n" block > out }
			else { n_other++; print "---- " FILENAME "\n" block > other }
		}
		block = ""; head = ""
	}
	FNR == 1 { flush() }
	/^==[0-9]+== $/ { flush(); next }
	/^==[0-9]+== / {
		line = $0; sub(/^==[0-9]+== /, "", line)
		if (block == "") {
			# a header: not a stack line nor a summary
			if (line ~ /^ +(at|by) 0x/ || line ~ /^ / ) next
			head = line
		}
		block = block $0 "\n"
	}
	END { flush(); printf "%d %d\n", n_ours, n_other }' "$VGDIR"/valgrind.*.log >"$LONG_DIR/counts"
read -r n_ours n_other <"$LONG_DIR/counts"
nlogs=$(find "$VGDIR" -name 'valgrind.*.log' | wc -l)
summaries=$(grep -h 'ERROR SUMMARY' "$VGDIR"/valgrind.*.log | awk '{ e += $4 } END { print e + 0 }')
say "== valgrind: $nlogs process logs; $summaries errors in all (ERROR SUMMARY); memory errors with a frame of the extension: $n_ours; others: $n_other"
if [ "$n_other" != 0 ]; then
	say "  the others (Postgres or libraries), by kind:"
	grep -h -A1 '^---- ' "$LONG_DIR/errors.other" | grep -v '^----\|^--$' | sed 's/^==[0-9]*== [0-9:.]* *//; s/^==[0-9]*== //' |
		sort | uniq -c | sort -rn | head -10 || true
fi
if [ "$n_ours" != 0 ]; then
	fail "$n_ours memory error(s) in the extension (all in $LONG_DIR/errors.ours); the first:"
	awk '/^---- / && ++n == 2 { exit } { print }' "$LONG_DIR/errors.ours" | head -45 || true
fi
if long_crash_check; then say "  no crash in the server log"; else fail "the server log shows a crash"; fi
long_finish "valgrind ($REGRESS)"
