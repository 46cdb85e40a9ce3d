/*-------------------------------------------------------------------------
 *
 * introspection.c
 *	  SQL functions behind the introspection views of schema coordinator
 *	  (objects, frontiers, materialization_lag, workers, arrangements) and
 *	  EXPLAIN TIMESTAMP.  The views themselves are in the install script.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "coordinator/commands.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

PG_FUNCTION_INFO_V1(coordinator_view_status);
PG_FUNCTION_INFO_V1(coordinator_worker_status);
PG_FUNCTION_INFO_V1(coordinator_arrangement_sizes);
PG_FUNCTION_INFO_V1(coordinator_timestamp_wall_time);
PG_FUNCTION_INFO_V1(coordinator_last_read_timestamp);
PG_FUNCTION_INFO_V1(coordinator_oracle_timestamp);
PG_FUNCTION_INFO_V1(coordinator_explain_timestamp);
PG_FUNCTION_INFO_V1(coordinator_explain_timestamp_json);

/*
 * coordinator.view_status(): one row per view the coordinator maintains:
 * relation, worker, state, since (the read frontier, which retained
 * history reaches back to) and upper as this statement's snapshot
 * sees them (NULL before hydration), error and its SQLSTATE, rows arranged
 * and memory held by its dataflow.
 */
Datum
coordinator_view_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *relids = NIL;
	TimestampDetermination *det;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	relids = CoordinatorReadableViews();
	det = TimestampInputs(relids, GetActiveSnapshot());
	for (int i = 0; i < det->ninputs; i++)
	{
		TimestampInput *in = &det->inputs[i];
		CoordinatorView *entry;
		Datum		values[9];
		bool		nulls[9] = {false};
		char		error[VIEW_ERROR_LEN] = "";
		int			error_code = 0;
		int64		rows = 0;
		int64		bytes = 0;

		LWLockAcquire(Coordinator->lock, LW_SHARED);
		entry = CoordinatorFindView(in->relid);
		if (entry != NULL)
		{
			strlcpy(error, entry->error, sizeof(error));
			error_code = entry->error_code;
			rows = entry->arranged_rows;
			bytes = entry->dataflow_bytes;
		}
		LWLockRelease(Coordinator->lock);
		if (entry == NULL)
			continue;			/* dropped meanwhile */

		values[0] = ObjectIdGetDatum(in->relid);
		values[1] = Int32GetDatum(in->worker);
		values[2] = CStringGetTextDatum(CoordinatorViewStateName(in->state));
		values[3] = Int64GetDatum((int64) in->history_since);
		nulls[3] = in->history_since == InvalidXLogRecPtr;
		values[4] = Int64GetDatum((int64) in->upper);
		nulls[4] = in->upper == InvalidXLogRecPtr;
		values[5] = CStringGetTextDatum(error);
		nulls[5] = error[0] == '\0';
		values[6] = CStringGetTextDatum(unpack_sql_state(error_code));
		nulls[6] = error_code == 0;
		values[7] = Int64GetDatum(rows);
		values[8] = Int64GetDatum(bytes);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}

/* What a worker's last ERROR said, shown to whom may not see it. */
#define EXIT_ERROR_PREFIX "error: "

/*
 * coordinator.worker_status(): one row per dataflow worker.  The message
 * of the ERROR a worker last exited with may quote a view's data (a key
 * of a unique violation, say): as pg_stat_activity shows a query, it shows
 * to roles with the privileges of pg_read_all_stats only.
 */
Datum
coordinator_worker_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bool		see_errors = has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < coordinator_dataflow_workers; i++)
	{
		CoordinatorWorker *w = &Coordinator->workers[i];
		Datum		values[10];
		bool		nulls[10] = {false};
		XLogRecPtr	decoded = pg_atomic_read_u64(&w->decoded);

		values[0] = Int32GetDatum(i);
		values[1] = Int32GetDatum(w->pid);
		nulls[1] = w->pid == 0;
		values[2] = CStringGetTextDatum(w->pid == 0 ? "stopped" : w->activity);
		values[3] = Int32GetDatum(w->dataflows);
		values[4] = Int64GetDatum(w->memory);
		nulls[4] = w->pid == 0;
		values[5] = Int64GetDatum(w->launches);
		values[6] = LSNGetDatum(decoded);
		nulls[6] = decoded == InvalidXLogRecPtr;
		if (!see_errors &&
			strncmp(w->last_exit, EXIT_ERROR_PREFIX, strlen(EXIT_ERROR_PREFIX)) == 0)
			values[7] = CStringGetTextDatum(EXIT_ERROR_PREFIX "<insufficient privilege>");
		else
			values[7] = CStringGetTextDatum(w->last_exit);
		nulls[7] = w->last_exit_at == 0;
		values[8] = TimestampTzGetDatum(w->last_exit_at);
		nulls[8] = w->last_exit_at == 0;
		values[9] = Int64GetDatum(w->slot_invalidations);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Coordinator->lock);
	PG_RETURN_VOID();
}

/* coordinator.arrangement_sizes(): one row per arrangement of each view. */
Datum
coordinator_arrangement_sizes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *readable;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	readable = CoordinatorReadableViews();
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		ArrangementStat *stats = Coordinator->arrangements + i * ARRANGEMENTS_PER_VIEW;

		if (Coordinator->views[i].state == VIEW_FREE ||
			!list_member_oid(readable, Coordinator->views[i].relid))
			continue;
		for (int k = 0; k < ARRANGEMENTS_PER_VIEW; k++)
		{
			Datum		values[7];
			bool		nulls[7] = {false};

			if (stats[k].relid != Coordinator->views[i].relid)
				continue;
			values[0] = ObjectIdGetDatum(stats[k].relid);
			values[1] = Int32GetDatum(stats[k].operator_id);
			nulls[1] = stats[k].operator_id < 0;
			values[2] = CStringGetTextDatum(stats[k].name);
			values[3] = Int64GetDatum(stats[k].records);
			values[4] = Int64GetDatum(stats[k].bytes);
			values[5] = Int32GetDatum(stats[k].shared_by);
			values[6] = Int64GetDatum(stats[k].keys);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	LWLockRelease(Coordinator->lock);
	PG_RETURN_VOID();
}

/* coordinator.timestamp_wall_time(ts bigint): the wall time of a timestamp. */
Datum
coordinator_timestamp_wall_time(PG_FUNCTION_ARGS)
{
	int64		ts = PG_GETARG_INT64(0);
	TimestampTz wall = ts > 0 ? TimelineWallTime((XLogRecPtr) ts) : 0;

	if (wall == 0)
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(wall);
}

/* coordinator.oracle_timestamp(): the end of the latest commit. */
Datum
coordinator_oracle_timestamp(PG_FUNCTION_ARGS)
{
	if (Coordinator == NULL)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) OracleLatestWrite());
}

/* coordinator.last_read_timestamp(): this session's last read of views. */
Datum
coordinator_last_read_timestamp(PG_FUNCTION_ARGS)
{
	if (LastReadTimestamp == InvalidXLogRecPtr)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64) LastReadTimestamp);
}

/*
 * How a read of query would choose its timestamp now, without running it:
 * plan the query, find the maintained views it reads, and determine.
 */
static TimestampDetermination *
explain_query(text *query_text)
{
	char	   *query = text_to_cstring(query_text);
	List	   *relids = NIL;
	ListCell   *lc;
	RawStmt    *raw = QueryTextParse(query, "EXPLAIN TIMESTAMP");
	QueryTextContext ctx;
	List	   *planned;
	TimestampDetermination *det;
	bool		strict = coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE;

	QueryTextPush(&ctx, query, 0);
	planned = pg_plan_queries(pg_analyze_and_rewrite_fixedparams(raw, query, NULL, 0, NULL),
							  query, CURSOR_OPT_PARALLEL_OK, NULL);
	QueryTextPop(&ctx);
	foreach(lc, planned)
	{
		PlannedStmt *stmt = lfirst_node(PlannedStmt, lc);

		/* the read needs these privileges; so does explaining it */
		ExecCheckRTPerms(stmt->rtable, true);
		relids = list_concat_unique_oid(relids, CoordinatorMaintainedViewsIn(stmt->rtable));
	}

	det = TimestampInputs(relids, GetTransactionSnapshot());
	TimestampDetermine(det, strict, strict ? CoordinatorReadTarget() : InvalidXLogRecPtr);
	if (strict)
		PrimaryDescribe(det);
	return det;
}

/* coordinator.explain_timestamp(query text) RETURNS text */
Datum
coordinator_explain_timestamp(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(TimestampExplainText(explain_query(PG_GETARG_TEXT_PP(0)))));
}

/* coordinator.explain_timestamp_json(query text) RETURNS jsonb */
Datum
coordinator_explain_timestamp_json(PG_FUNCTION_ARGS)
{
	PG_RETURN_JSONB_P(TimestampExplainJsonb(explain_query(PG_GETARG_TEXT_PP(0))));
}
