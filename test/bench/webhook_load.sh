#!/usr/bin/env bash
# Webhook ingest: requests per second that get 200 (committed) from the
# listener, over 1, 8 and 32 keep-alive connections from test/webhook/load.c,
# into a JSON source with a maintained view over it; then checks that the
# view counts every acknowledged request.  Reports, asserts nothing.
#
#   bash test/bench/webhook_load.sh [seconds per run, default 10]
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/common.sh"

SECS=${1:-10}
WEBHOOK_PORT=6877
start_bench_server 5497 "$WEBHOOK_PORT"
cc -O2 -Wall -Werror -pthread -o "$DIR/load" "$ROOT/test/webhook/load.c"
psql_ >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION coordinator;
SELECT coordinator.create_webhook_source('events', body_format => 'json');
CREATE MATERIALIZED VIEW event_count WITH (incremental) AS SELECT count(*) AS n FROM events;
SQL

total=0
for conns in 1 8 32; do
	out=$("$DIR/load" 127.0.0.1 "$WEBHOOK_PORT" /api/webhook/postgres/public/events \
		"$SECS" "$conns" 100000000 "$DIR/acked.txt")
	ok=$(sed -n 's/.*ok=\([0-9]*\).*/\1/p' <<<"$out")
	total=$((total + ok))
	echo "$conns connections: $out"
done
echo "view counts $(psql_ -c 'SELECT n FROM event_count') rows; requests acknowledged: $total"
