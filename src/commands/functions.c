/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  SQL-callable functions of schema coordinator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/varlena.h"

#include "coordinator/commands.h"
#include "coordinator/shmem.h"

PG_FUNCTION_INFO_V1(coordinator_check_setup);
PG_FUNCTION_INFO_V1(coordinator_create_materialized_view);
PG_FUNCTION_INFO_V1(coordinator_notify_catalog_change);
PG_FUNCTION_INFO_V1(coordinator_view_frontiers);
PG_FUNCTION_INFO_V1(coordinator_worker_status);
PG_FUNCTION_INFO_V1(coordinator_debug_pause_workers);

/* coordinator.check_setup(): ERROR with a HINT if the server is not ready. */
Datum
coordinator_check_setup(PG_FUNCTION_ARGS)
{
	CoordinatorCheckSetup();
	PG_RETURN_VOID();
}

/*
 * coordinator.create_materialized_view(name text, query text) RETURNS regclass
 *
 * For clients that cannot pass reloptions: the same as
 * CREATE MATERIALIZED VIEW name WITH (incremental) AS query.  The statement
 * is built with the name quoted and must parse as exactly that one
 * statement, so the query text cannot smuggle in another.
 */
Datum
coordinator_create_materialized_view(PG_FUNCTION_ARGS)
{
	List	   *names = textToQualifiedNameList(PG_GETARG_TEXT_PP(0));
	char	   *query = text_to_cstring(PG_GETARG_TEXT_PP(1));
	RangeVar   *rv = makeRangeVarFromNameList(names);
	char	   *sql;
	List	   *parsed;

	sql = psprintf("CREATE MATERIALIZED VIEW %s WITH (incremental) AS %s",
				   quote_qualified_identifier(rv->schemaname, rv->relname),
				   query);
	parsed = raw_parser(sql, RAW_PARSE_DEFAULT);
	if (list_length(parsed) != 1 ||
		!IsA(linitial_node(RawStmt, parsed)->stmt, CreateTableAsStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("query must be a single SELECT statement")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql, false, 0) < 0)
		elog(ERROR, "could not create maintained view");
	SPI_finish();

	PG_RETURN_OID(RangeVarGetRelid(rv, NoLock, false));
}

/* Called by the sql_drop event trigger when maintained views were dropped. */
Datum
coordinator_notify_catalog_change(PG_FUNCTION_ARGS)
{
	if (Coordinator != NULL)
		CoordinatorNotifyCatalogChange();
	PG_RETURN_VOID();
}

static const char *
view_state_name(ViewState state)
{
	switch (state)
	{
		case VIEW_PENDING:
			return "hydrating";
		case VIEW_READY:
			return "running";
		case VIEW_FAILED:
			return "failed";
		default:
			return "unknown";
	}
}

/*
 * coordinator.view_frontiers(): one row per view the coordinator maintains:
 * relation, worker, state, upper (NULL before hydration), error, rows
 * arranged and memory held by its dataflow.
 */
Datum
coordinator_view_frontiers(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *entry = &Coordinator->views[i];
		Datum		values[7];
		bool		nulls[7] = {false};
		XLogRecPtr	upper;

		if (entry->state == VIEW_FREE)
			continue;
		upper = pg_atomic_read_u64(&entry->upper);
		values[0] = ObjectIdGetDatum(entry->relid);
		values[1] = Int32GetDatum(entry->worker);
		values[2] = CStringGetTextDatum(view_state_name(entry->state));
		values[3] = LSNGetDatum(upper);
		nulls[3] = upper == InvalidXLogRecPtr;
		values[4] = CStringGetTextDatum(entry->error);
		nulls[4] = entry->error[0] == '\0';
		values[5] = Int64GetDatum(entry->arranged_rows);
		values[6] = Int64GetDatum(entry->dataflow_bytes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Coordinator->lock);
	PG_RETURN_VOID();
}

/* coordinator.worker_status(): one row per dataflow worker. */
Datum
coordinator_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < coordinator_dataflow_workers; i++)
	{
		CoordinatorWorker *w = &Coordinator->workers[i];
		Datum		values[4];
		bool		nulls[4] = {false};
		XLogRecPtr	decoded = pg_atomic_read_u64(&w->decoded);

		values[0] = Int32GetDatum(i);
		values[1] = Int32GetDatum(w->pid);
		nulls[1] = w->pid == 0;
		values[2] = Int64GetDatum(w->launches);
		values[3] = LSNGetDatum(decoded);
		nulls[3] = decoded == InvalidXLogRecPtr;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Coordinator->lock);
	PG_RETURN_VOID();
}

/*
 * coordinator.debug_pause_workers(paused bool): a test switch.  While
 * paused, dataflow workers stop consuming the WAL, so views fall behind
 * and strict reads wait.  Superuser only (revoked from PUBLIC).
 */
Datum
coordinator_debug_pause_workers(PG_FUNCTION_ARGS)
{
	bool		paused = PG_GETARG_BOOL(0);

	if (Coordinator == NULL)
		PG_RETURN_VOID();
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->paused = paused;
	LWLockRelease(Coordinator->lock);
	for (int i = 0; i < coordinator_dataflow_workers; i++)
		CoordinatorWakeWorker(i);
	PG_RETURN_VOID();
}
