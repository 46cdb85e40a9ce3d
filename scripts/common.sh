#!/usr/bin/env bash
# Shared by scripts/demo.sh and scripts/test.sh: install what is missing,
# build and install the extension, run commands as an unprivileged OS user.

set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# COORDINATOR_PG_BIN: another PostgreSQL 15 installation's bin directory
PG_BIN=${COORDINATOR_PG_BIN:-/usr/lib/postgresql/15/bin}
PG_CONFIG=$PG_BIN/pg_config
# Postgres refuses to run as root: when we are root, servers run as this user.
PG_OS_USER=postgres

as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		echo "error: '$*' needs root (or sudo)" >&2
		exit 1
	fi
}

# Run a command as the unprivileged user that owns the servers.
as_pg() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

pkg_version() {
	dpkg-query -W -f='${Status} ${Version}' "$1" 2>/dev/null | awk '$3 == "installed" { print $4 }'
}

# The server, its headers (same minor release: the server checks the ABI),
# PGXS and the test tools (pg_regress, pg_isolation_regress, prove with
# IPC::Run for PostgreSQL::Test::Cluster), and a compiler.
install_dependencies() {
	local want=(postgresql-15 postgresql-server-dev-15 postgresql-client-15 libpq-dev libmicrohttpd-dev libipc-run-perl make gcc curl)
	local missing=() p
	for p in "${want[@]}"; do
		[ -n "$(pkg_version "$p")" ] || missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ] &&
		[ "$(pkg_version postgresql-15)" = "$(pkg_version postgresql-server-dev-15)" ]; then
		return 0
	fi
	echo "== installing: ${want[*]}"
	as_root apt-get update -qq
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${want[@]}" >/dev/null
	if ! id "$PG_OS_USER" >/dev/null 2>&1; then
		as_root useradd --system --create-home "$PG_OS_USER"
	fi
}

build_and_install() {
	echo "== building"
	make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" >/dev/null
	as_root make -C "$ROOT" -s PG_CONFIG="$PG_CONFIG" install >/dev/null
}

# A copy of the tree the unprivileged user can write (test output goes there).
writable_tree() {
	if [ "$(id -u)" != 0 ]; then
		echo "$ROOT"
		return
	fi
	local dir
	dir=$(mktemp -d "${TMPDIR:-/tmp}/coordinator-test.XXXXXX")
	cp -a "$ROOT/." "$dir/"
	chown -R "$PG_OS_USER" "$dir"
	echo "$dir"
}

# Servers from 15.19 on only load logical decoding output plugins named in
# output_plugin_libraries; print the line a config needs, or nothing.
# (awk reads all input: grep -q would end the pipe early, and pipefail
# would turn the SIGPIPE into a false "no".)
plugin_allow_list_conf() {
	if "$PG_BIN/postgres" --describe-config 2>/dev/null |
		awk '$1 == "output_plugin_libraries" { found = 1 } END { exit !found }'; then
		echo "output_plugin_libraries = 'pgoutput, test_decoding, coordinator'"
	fi
}

# Create a throwaway cluster in $1 (data directory $1/data) listening only on
# a unix socket in $1, port $2, with coordinator preloaded for database postgres
# and, if $3 is given, the webhook listener on 127.0.0.1 port $3.
init_throwaway_server() {
	local dir=$1 port=$2 webhook_port=${3:-0}
	mkdir -p "$dir"
	[ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$dir"
	as_pg "$PG_BIN/initdb" -D "$dir/data" -A trust >/dev/null
	as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<CONF

# coordinator
port = $port
listen_addresses = ''
unix_socket_directories = '$dir'
shared_preload_libraries = 'coordinator'
wal_level = logical
coordinator.database = 'postgres'
coordinator.webhook_port = $webhook_port
coordinator.webhook_listen_address = '127.0.0.1'
$(plugin_allow_list_conf)
CONF
}

# Benchmarks: build, install and start a throwaway server on port $1 (and
# the webhook listener on port $2, if given), in a fresh directory $DIR,
# stopped and removed on exit; psql_ runs psql on it.
start_bench_server() {
	PORT=$1
	install_dependencies
	build_and_install
	DIR=$(mktemp -d "${TMPDIR:-/tmp}/coordinator-bench.XXXXXX")
	init_throwaway_server "$DIR" "$PORT" "${2:-0}"
	as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w start >/dev/null
	trap 'as_pg "$PG_BIN/pg_ctl" -D "$DIR/data" -m fast stop >/dev/null; rm -rf "$DIR"' EXIT
}

psql_() { as_pg "$PG_BIN/psql" -h "$DIR" -p "$PORT" -d postgres -qAt "$@"; }

# Benchmarks: the median of the numbers on stdin, one per line.
bench_median() { sort -n | awk '{ a[NR] = $1 } END { if (NR) print a[int((NR + 1) / 2)] }'; }

# Benchmarks: the milliseconds psql's \timing reports for the statements on
# stdin, one per line.
bench_timings() { psql_ 2>/dev/null | awk '/^Time:/ { print $2 }'; }

# Benchmarks: the sum of each pair of numbers on stdin (a change and the
# read that waits for it).
bench_pairs() { awk '{ t += $1; if (++k % 2 == 0) { print t; t = 0 } }'; }

# Benchmarks: wait until the worker has decoded all that table $1's load
# wrote (a strict read of a maintained view over it), so that no build
# measured after it waits for that.
bench_wait_decoded() {
	psql_ -c "SET client_min_messages = warning" \
		-c "CREATE MATERIALIZED VIEW bench_sync_v WITH (incremental) AS SELECT count(*) FROM $1" \
		-c "SELECT count(*) FROM bench_sync_v" -c "DROP MATERIALIZED VIEW bench_sync_v" >/dev/null
}

# Benchmarks: no checkpoint in the middle of a measurement (the bench
# server's max_wal_size and checkpoint_timeout raised, reloaded).
bench_no_checkpoints() {
	psql_ >/dev/null <<'SQL'
ALTER SYSTEM SET max_wal_size = '8GB';
ALTER SYSTEM SET checkpoint_timeout = '1h';
SELECT pg_reload_conf();
SQL
}
