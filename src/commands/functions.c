/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  SQL-callable functions of schema coordinator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "lib/stringinfo.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/pg_lsn.h"
#include "utils/varlena.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/shmem.h"

PG_FUNCTION_INFO_V1(coordinator_check_setup);
PG_FUNCTION_INFO_V1(coordinator_create_materialized_view);
PG_FUNCTION_INFO_V1(coordinator_notify_catalog_change);
PG_FUNCTION_INFO_V1(coordinator_debug_pause_workers);
PG_FUNCTION_INFO_V1(coordinator_debug_inject_error);
PG_FUNCTION_INFO_V1(coordinator_set_retain_history);

/* coordinator.check_setup(): ERROR with a HINT if the server is not ready. */
Datum
coordinator_check_setup(PG_FUNCTION_ARGS)
{
	CoordinatorCheckSetup();
	PG_RETURN_VOID();
}

/* Does text begin with SELECT, WITH, VALUES, TABLE or a parenthesis? */
static bool
begins_as_query(const char *text)
{
	static const char *const starts[] = {"select", "with", "values", "table"};
	int			n = 0;

	while (isspace((unsigned char) *text))
		text++;
	if (*text == '(')
		return true;
	while (isalpha((unsigned char) text[n]))
		n++;
	for (int i = 0; i < lengthof(starts); i++)
		if (n == strlen(starts[i]) && pg_strncasecmp(text, starts[i], n) == 0)
			return true;
	return false;
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
	StringInfoData sql;
	QueryTextContext ctx;
	int			offset;
	List	   *parsed;

	/*
	 * A text that does not begin as a query does is parsed alone, so that
	 * a statement of another kind is named as such (querytext.c); a query
	 * is parsed within the statement, where WITH NO DATA and a second
	 * statement are seen.
	 */
	if (!begins_as_query(query))
		(void) QueryTextParse(query, "a maintained view");

	initStringInfo(&sql);
	appendStringInfo(&sql, "CREATE MATERIALIZED VIEW %s WITH (incremental) AS ",
					 quote_qualified_identifier(rv->schemaname, rv->relname));
	offset = sql.len;
	appendStringInfoString(&sql, query);

	/* an error in the query points into its text, not the statement */
	QueryTextPush(&ctx, query, offset);
	parsed = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	if (list_length(parsed) != 1 ||
		!IsA(linitial_node(RawStmt, parsed)->stmt, CreateTableAsStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("query must be a single SELECT statement")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(sql.data, false, 0) < 0)
		elog(ERROR, "could not create maintained view");
	QueryTextPop(&ctx);
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

/* worker must name a dataflow worker. */
static void
check_worker_number(int worker)
{
	if (worker < 0 || worker >= coordinator_dataflow_workers)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("there is no dataflow worker %d", worker),
				 errhint("Workers are numbered from 0 to coordinator.dataflow_workers - 1 (%d).",
						 coordinator_dataflow_workers - 1)));
}

/*
 * coordinator.debug_pause_workers(paused bool, worker int DEFAULT NULL): a
 * test switch.  While paused, a dataflow worker (every worker, if worker
 * is NULL) stops consuming the WAL, so its views fall behind and strict
 * reads of them wait.  Superuser only (revoked from PUBLIC).
 */
Datum
coordinator_debug_pause_workers(PG_FUNCTION_ARGS)
{
	bool		paused;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("paused must not be NULL")));
	paused = PG_GETARG_BOOL(0);
	if (!PG_ARGISNULL(1))
		check_worker_number(PG_GETARG_INT32(1));
	if (Coordinator == NULL)
		PG_RETURN_VOID();
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	for (int i = 0; i < coordinator_dataflow_workers; i++)
	{
		if (PG_ARGISNULL(1) || PG_GETARG_INT32(1) == i)
			Coordinator->workers[i].paused = paused;
	}
	LWLockRelease(Coordinator->lock);
	for (int i = 0; i < coordinator_dataflow_workers; i++)
		CoordinatorWakeWorker(i);
	PG_RETURN_VOID();
}

/*
 * coordinator.debug_inject_error(worker int): a test switch.  The worker's
 * next step that applies decoded changes to its views fails with an ERROR
 * outside any one view, as a bug in the worker would: the worker exits,
 * its coordinator starts it again and it rebuilds its views; other
 * workers go on.  Superuser only (revoked from PUBLIC).
 */
Datum
coordinator_debug_inject_error(PG_FUNCTION_ARGS)
{
	int			worker = PG_GETARG_INT32(0);

	check_worker_number(worker);
	if (Coordinator == NULL)
		PG_RETURN_VOID();
	Coordinator->workers[worker].inject_error = true;
	PG_RETURN_VOID();
}

/*
 * coordinator.set_retain_history(view regclass, retain_history interval):
 * the view keeps that much history from now on; the coordinator passes it
 * to the view's worker once this transaction commits.  History already
 * compacted away does not come back.
 */
Datum
coordinator_set_retain_history(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	Interval   *retain = PG_GETARG_INTERVAL_P(1);

	if (get_rel_name(relid) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (!CoordinatorIsMaintainedView(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a maintained view", get_rel_name(relid))));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_MATVIEW, get_rel_name(relid));
	CoordinatorCheckRetainHistory(retain);
	CatalogSetRetainHistory(relid, retain);
	CoordinatorNotifyCatalogChange();
	PG_RETURN_VOID();
}
