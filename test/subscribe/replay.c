/*
 * replay.c: consume subscriptions while a writer runs, replay their diffs,
 * and check the result against the view (and the query) at the end.
 *
 *	replay CONNINFO SECONDS
 *
 * A child process writes random DML (inserts, updates of the group key and
 * the value, deletes, multi-statement and rolled-back transactions) to
 * table rp_t for SECONDS seconds, then records the oracle timestamp after
 * its last commit in rp_done.  The parent consumes two subscriptions at
 * once: the streaming form in a cursor (FETCH) on the maintained view
 * rp_v, and the polling form on an ad-hoc query over rp_t.  Each replays
 * its diffs into a multiset and checks, as rows arrive:
 *   - mz_timestamp never decreases, and no data row comes at a time before
 *     the last progress;
 *   - after each complete timestamp, no row has a negative count.
 * Once a subscription's progress passes the writer's last commit, its
 * multiset must equal the view's (the query's) contents, read by plain
 * SELECT: with no writes since, those are the contents at that progress.
 * Exit status 0 and a line "ok ..." when every check passes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libpq-fe.h"

static void
die(const char *fmt,...)
{
	va_list		ap;

	va_start(ap, fmt);
	fprintf(stderr, "replay: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static PGresult *
run(PGconn *conn, const char *sql, ExecStatusType want)
{
	PGresult   *res = PQexec(conn, sql);

	if (PQresultStatus(res) != want)
		die("%s: %s", sql, PQerrorMessage(conn));
	return res;
}

/* --- a multiset of rows (their text, columns joined by \x1f) --------- */

typedef struct Entry
{
	char	   *row;
	long		count;
} Entry;

typedef struct Multiset
{
	Entry	   *entries;
	int			size;			/* power of two */
	int			used;
} Multiset;

static unsigned long
hash_text(const char *s)
{
	unsigned long h = 5381;

	while (*s)
		h = h * 33 + (unsigned char) *s++;
	return h;
}

static void multiset_add(Multiset *m, const char *row, long diff);

static void
multiset_grow(Multiset *m)
{
	Multiset	bigger = {calloc(m->size * 2, sizeof(Entry)), m->size * 2, 0};

	for (int i = 0; i < m->size; i++)
	{
		if (m->entries[i].row != NULL)
		{
			multiset_add(&bigger, m->entries[i].row, m->entries[i].count);
			free(m->entries[i].row);
		}
	}
	free(m->entries);
	*m = bigger;
}

static void
multiset_add(Multiset *m, const char *row, long diff)
{
	unsigned long i;

	if (m->entries == NULL)
	{
		m->size = 1024;
		m->entries = calloc(m->size, sizeof(Entry));
	}
	if (m->used * 2 >= m->size)
		multiset_grow(m);
	for (i = hash_text(row) & (m->size - 1); m->entries[i].row != NULL;
		 i = (i + 1) & (m->size - 1))
	{
		if (strcmp(m->entries[i].row, row) == 0)
		{
			m->entries[i].count += diff;
			return;
		}
	}
	m->entries[i].row = strdup(row);
	m->entries[i].count = diff;
	m->used++;
}

/* The row's text from column first on. */
static void
row_text(PGresult *res, int r, int first, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int c = first; c < PQnfields(res); c++)
	{
		strncat(buf, PQgetisnull(res, r, c) ? "<null>" : PQgetvalue(res, r, c),
				len - strlen(buf) - 2);
		strcat(buf, "\x1f");
	}
}

/* Subtract the rows of a SELECT; then every count must be zero. */
static long
multiset_compare(Multiset *m, PGconn *conn, const char *select)
{
	PGresult   *res = run(conn, select, PGRES_TUPLES_OK);
	char		buf[1024];
	long		differ = 0;

	for (int r = 0; r < PQntuples(res); r++)
	{
		row_text(res, r, 0, buf, sizeof(buf));
		multiset_add(m, buf, -1);
	}
	PQclear(res);
	for (int i = 0; i < m->size; i++)
	{
		if (m->entries[i].row != NULL && m->entries[i].count != 0)
		{
			fprintf(stderr, "replay: row %s off by %ld\n", m->entries[i].row,
					m->entries[i].count);
			differ++;
		}
		m->entries[i].count = 0;
	}
	return differ;
}

static void
multiset_check_nonnegative(Multiset *m, const char *what)
{
	for (int i = 0; i < m->size; i++)
	{
		if (m->entries[i].row != NULL && m->entries[i].count < 0)
			die("%s: row %s has count %ld after a complete timestamp", what,
				m->entries[i].row, m->entries[i].count);
	}
}

/* --- one subscription being replayed ---------------------------------- */

typedef struct Replay
{
	const char *what;
	Multiset	rows;
	unsigned long long last_ts;
	unsigned long long progress;
	long		data_rows;
	long		progress_rows;
} Replay;

/* Apply a result of (mz_timestamp, mz_progressed, mz_diff, columns...). */
static void
replay_result(Replay *rp, PGresult *res)
{
	char		buf[1024];

	for (int r = 0; r < PQntuples(res); r++)
	{
		unsigned long long ts = strtoull(PQgetvalue(res, r, 0), NULL, 10);
		int			progressed = PQgetvalue(res, r, 1)[0] == 't';

		if (ts < rp->last_ts)
			die("%s: mz_timestamp went back from %llu to %llu", rp->what, rp->last_ts, ts);
		rp->last_ts = ts;
		if (progressed)
		{
			multiset_check_nonnegative(&rp->rows, rp->what);
			rp->progress = ts;
			rp->progress_rows++;
			continue;
		}
		if (ts < rp->progress)
			die("%s: a change at %llu after progress %llu", rp->what, ts, rp->progress);
		row_text(res, r, 3, buf, sizeof(buf));
		multiset_add(&rp->rows, buf, atol(PQgetvalue(res, r, 2)));
		rp->data_rows++;
	}
}

/* --- the writer ---------------------------------------------------------- */

static void
writer(const char *conninfo, int seconds)
{
	PGconn	   *conn = PQconnectdb(conninfo);
	time_t		end = time(NULL) + seconds;
	char		sql[512];
	long		n = 0;

	if (PQstatus(conn) != CONNECTION_OK)
		die("writer: %s", PQerrorMessage(conn));
	srandom(42);
	while (time(NULL) < end)
	{
		int			k = random() % 200;
		int			op = random() % 10;

		if (op < 4)
			snprintf(sql, sizeof(sql), "INSERT INTO rp_t VALUES (%d, %ld)", k, random() % 100);
		else if (op < 6)
			snprintf(sql, sizeof(sql), "UPDATE rp_t SET v = v + 1 WHERE k = %d", k);
		else if (op < 7)
			snprintf(sql, sizeof(sql), "UPDATE rp_t SET k = %d WHERE k = %d", (k + 7) % 200, k);
		else if (op < 8)
			snprintf(sql, sizeof(sql), "DELETE FROM rp_t WHERE k = %d", k);
		else if (op < 9)
			snprintf(sql, sizeof(sql),
					 "BEGIN; INSERT INTO rp_t VALUES (%d, 1), (%d, 2); DELETE FROM rp_t WHERE k = %d AND v = 1; COMMIT",
					 k, k, (k + 1) % 200);
		else
			snprintf(sql, sizeof(sql), "BEGIN; DELETE FROM rp_t WHERE k < %d; ROLLBACK", k);
		PQclear(run(conn, sql, PGRES_COMMAND_OK));
		n++;
	}
	PQclear(run(conn, "INSERT INTO rp_done SELECT coordinator.oracle_timestamp()", PGRES_COMMAND_OK));
	fprintf(stderr, "replay: writer ran %ld statements\n", n);
	PQfinish(conn);
	exit(0);
}

/* The writer's last commit, once it is done; 0 before. */
static unsigned long long
writer_done(PGconn *conn)
{
	PGresult   *res = run(conn, "SELECT ts FROM rp_done", PGRES_TUPLES_OK);
	unsigned long long ts = 0;

	if (PQntuples(res) > 0)
		ts = strtoull(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return ts;
}

int
main(int argc, char **argv)
{
	const char *conninfo;
	int			seconds;
	PGconn	   *conn;
	PGconn	   *streamer;
	PGconn	   *poller;
	PGresult   *res;
	pid_t		child;
	int			status;
	unsigned long long done = 0;
	Replay		view = {.what = "view (cursor)"};
	Replay		query = {.what = "query (polling)"};
	char		fetch[256];
	long		differ;
	time_t		deadline;

	if (argc != 3)
		die("usage: replay CONNINFO SECONDS");
	conninfo = argv[1];
	seconds = atoi(argv[2]);

	conn = PQconnectdb(conninfo);
	streamer = PQconnectdb(conninfo);
	poller = PQconnectdb(conninfo);
	if (PQstatus(conn) != CONNECTION_OK || PQstatus(streamer) != CONNECTION_OK ||
		PQstatus(poller) != CONNECTION_OK)
		die("%s", PQerrorMessage(conn));

	PQclear(run(conn,
				"SET client_min_messages = warning;"
				"DROP TABLE IF EXISTS rp_t CASCADE; DROP TABLE IF EXISTS rp_done;"
				"CREATE TABLE rp_t (k int, v int); ALTER TABLE rp_t REPLICA IDENTITY FULL;"
				"CREATE TABLE rp_done (ts bigint);"
				"INSERT INTO rp_t SELECT g % 200, g % 100 FROM generate_series(1, 2000) g;"
				"CREATE MATERIALIZED VIEW rp_v WITH (incremental) AS"
				"  SELECT k % 10 AS g, count(*) AS n, sum(v) AS total FROM rp_t GROUP BY k % 10",
				PGRES_COMMAND_OK));
	/* wait for the view: a strict read waits until it is current */
	PQclear(run(conn, "SELECT count(*) FROM rp_v", PGRES_TUPLES_OK));

	PQclear(run(streamer, "BEGIN", PGRES_COMMAND_OK));
	PQclear(run(streamer,
				"DECLARE c CURSOR FOR SELECT coordinator.subscribe('rp_v', progress => true)",
				PGRES_COMMAND_OK));
	res = run(poller,
			  "SELECT coordinator.subscribe_open('SELECT k, v FROM rp_t WHERE v % 3 = 0', progress => true)",
			  PGRES_TUPLES_OK);
	snprintf(fetch, sizeof(fetch), "SELECT coordinator.subscribe_fetch(%s, 10000, '0.2s')",
			 PQgetvalue(res, 0, 0));
	PQclear(res);

	child = fork();
	if (child < 0)
		die("fork failed");
	if (child == 0)
		writer(conninfo, seconds);

	deadline = time(NULL) + seconds + 60;
	while (done == 0 || view.progress <= done || query.progress <= done)
	{
		if (time(NULL) > deadline)
			die("the subscriptions did not catch up with the writer's last commit");
		/* one row at a time: FETCH blocks until a row is there */
		if (done == 0 || view.progress <= done)
		{
			res = run(streamer, "FETCH 1 FROM c", PGRES_TUPLES_OK);
			replay_result(&view, res);
			PQclear(res);
		}
		if (done == 0 || query.progress <= done)
		{
			res = run(poller, fetch, PGRES_TUPLES_OK);
			replay_result(&query, res);
			PQclear(res);
		}
		if (done == 0)
			done = writer_done(conn);
	}
	waitpid(child, &status, 0);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		die("the writer failed");

	differ = multiset_compare(&view.rows, conn, "SELECT g, n, total FROM rp_v");
	differ += multiset_compare(&query.rows, conn, "SELECT k, v FROM rp_t WHERE v % 3 = 0");
	if (differ != 0)
		die("%ld rows differ", differ);
	/* and the view equals its query */
	res = run(conn,
			  "SELECT count(*) FROM ((SELECT g, n, total FROM rp_v EXCEPT ALL"
			  "  SELECT k % 10, count(*), sum(v) FROM rp_t GROUP BY k % 10) UNION ALL"
			  " (SELECT k % 10, count(*), sum(v) FROM rp_t GROUP BY k % 10 EXCEPT ALL"
			  "  SELECT g, n, total FROM rp_v)) d",
			  PGRES_TUPLES_OK);
	if (strcmp(PQgetvalue(res, 0, 0), "0") != 0)
		die("the view differs from its query in %s rows", PQgetvalue(res, 0, 0));
	PQclear(res);

	printf("ok view: %ld changes, %ld progress rows; query: %ld changes, %ld progress rows; replayed state equals the view and the query at progress %llu\n",
		   view.data_rows, view.progress_rows, query.data_rows, query.progress_rows,
		   view.progress);
	PQclear(run(streamer, "COMMIT", PGRES_COMMAND_OK));
	PQfinish(streamer);
	PQfinish(poller);
	PQfinish(conn);
	return 0;
}
