/*-------------------------------------------------------------------------
 *
 * utility.c
 *	  ProcessUtility hook: route maintained-view DDL to the coordinator.
 *
 * CREATE MATERIALIZED VIEW v WITH (incremental) AS q:
 *	  check the setup, compile q (refusing what cannot be maintained before
 *	  anything is created), make sure the source logs full old rows, let
 *	  Postgres create v as a materialized view WITH NO DATA (so its rule
 *	  records the dependencies on the sources: DROP TABLE is refused, and
 *	  DROP TABLE ... CASCADE drops v), record v in the catalog and tell the
 *	  coordinator at commit.  The dataflow worker populates v.
 * REFRESH MATERIALIZED VIEW v (maintained): wait until v is current.
 * DDL on a table that a maintained view reads: checked and followed by
 *	  source_ddl.c, before and after the statement.
 * CREATE/DROP EXTENSION coordinator: tell the coordinator at commit; at
 *	  DROP, webhook sources become plain tables (outlive.c).
 * DROP DATABASE of a database served: our processes leave it first.
 *
 * Everything else goes to the previous hook or standard_ProcessUtility,
 * exactly once.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/timestamp.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "coordinator/webhook.h"

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static void
call_previous(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
			  ProcessUtilityContext context, ParamListInfo params,
			  QueryEnvironment *queryEnv, DestReceiver *dest,
			  QueryCompletion *qc)
{
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params,
							queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/* Remove the reloption called name from *options and return it, or NULL. */
static DefElem *
take_option(List **options, const char *name)
{
	ListCell   *lc;

	foreach(lc, *options)
	{
		DefElem    *def = lfirst_node(DefElem, lc);

		if (def->defnamespace == NULL && strcmp(def->defname, name) == 0)
		{
			*options = foreach_delete_current(*options, lc);
			return def;
		}
	}
	return NULL;
}

/* retain_history must not be negative. */
void
CoordinatorCheckRetainHistory(Interval *retain)
{
	Interval	zero = {0};

	if (DatumGetBool(DirectFunctionCall2(interval_lt, IntervalPGetDatum(retain),
										 IntervalPGetDatum(&zero))))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("retain_history must not be negative")));
}

/* The value of WITH (retain_history = '1 hour'), checked. */
static Interval *
retain_history_option(DefElem *def)
{
	Interval   *retain;

	retain = DatumGetIntervalP(DirectFunctionCall3(interval_in,
												   CStringGetDatum(defGetString(def)),
												   ObjectIdGetDatum(InvalidOid),
												   Int32GetDatum(-1)));
	CoordinatorCheckRetainHistory(retain);
	return retain;
}

static void
create_maintained_view(PlannedStmt *pstmt, const char *queryString,
					   ProcessUtilityContext context, ParamListInfo params,
					   QueryEnvironment *queryEnv, DestReceiver *dest,
					   QueryCompletion *qc, Interval *retain_history)
{
	CreateTableAsStmt *stmt = castNode(CreateTableAsStmt, pstmt->utilityStmt);
	IntoClause *into = stmt->into;
	CompiledView *compiled;
	Oid			relid;
	ListCell   *lc;

	/* the view is always populated: it has no unpopulated state to start in */
	if (into->skipData)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("maintained views do not support WITH NO DATA"),
				 errdetail("A maintained view is populated by its dataflow as soon as it is created, and kept current."),
				 errhint("Create it without WITH NO DATA, or create a materialized view without WITH (incremental), populated by REFRESH MATERIALIZED VIEW.")));

	CoordinatorCheckSetup();
	if (!CatalogExtensionExists())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension \"coordinator\" is not installed in this database"),
				 errhint("Run CREATE EXTENSION coordinator.")));

	if (stmt->if_not_exists &&
		OidIsValid(RangeVarGetRelid(into->rel, NoLock, true)))
	{
		/* let Postgres say "already exists, skipping" */
		into->skipData = true;
		call_previous(pstmt, queryString, false, context, params, queryEnv,
					  dest, qc);
		return;
	}

	compiled = CompileView(castNode(Query, stmt->query), queryString, true,
						   CatalogViewRelids());
	foreach(lc, compiled->sources)
		CoordinatorEnsureReplicaIdentityFull(lfirst_oid(lc));

	/* the dataflow worker populates the view after commit */
	into->skipData = true;
	call_previous(pstmt, queryString, false, context, params, queryEnv,
				  dest, qc);
	CommandCounterIncrement();

	relid = RangeVarGetRelid(into->rel, NoLock, false);
	CoordinatorRecordView(relid, castNode(Query, stmt->query), compiled,
						  retain_history);
}

/*
 * Record materialized view relid, of the analyzed query, compiled, as
 * maintained: it depends on the extension, the catalog has it, and the
 * coordinator learns of it at commit.
 */
void
CoordinatorRecordView(Oid relid, Query *query, CompiledView *compiled,
					  Interval *retain_history)
{
	ObjectAddress view_address;
	ObjectAddress extension_address;

	ObjectAddressSet(view_address, RelationRelationId, relid);
	ObjectAddressSet(extension_address, ExtensionRelationId,
					 get_extension_oid(COORDINATOR_NAME, false));
	recordDependencyOn(&view_address, &extension_address, DEPENDENCY_NORMAL);

	CatalogInsertView(relid, pg_get_querydef(query, true),
					  CompiledViewToString(compiled), compiled->tables,
					  retain_history);
	CoordinatorNotifyCatalogChange();
}

/*
 * REFRESH of a maintained view: it is always current; wait until it is.
 * A view that this transaction made maintained (CREATE, or a restore that
 * loaded coordinator.view_options, as psql -1 and pg_restore
 * --single-transaction do) has no dataflow before the commit: Postgres's
 * own REFRESH populates it, as the transaction sees its tables, so that
 * the transaction can read it (a restore refreshes the plain materialized
 * views over it next); its worker reconciles it with its query after the
 * commit.  Returns false for Postgres to run the statement.  The wait
 * holds only AccessShareLock on the view, which the worker's writes and
 * hydration never conflict with.
 */
static bool
refresh_maintained_view(RefreshMatViewStmt *stmt)
{
	Oid			relid = RangeVarGetRelid(stmt->relation, AccessShareLock, false);

	if (!CoordinatorIsMaintainedView(relid))
		return false;
	CoordinatorRefuseDuringRecovery("REFRESH MATERIALIZED VIEW of a maintained view");
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_MATVIEW, get_rel_name(relid));
	if (stmt->skipData)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot empty maintained view \"%s\"", get_rel_name(relid)),
				 errhint("Drop the view instead.")));
	if (CatalogViewCreatedHere(relid))
		return false;
	CoordinatorWaitForViews(list_make1_oid(relid), OracleReadTimestamp());
	return true;
}

/* DROP DATABASE of a database the coordinator serves: our processes leave it first. */
static void
drop_served_database(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Oid			dboid = get_database_oid(((DropdbStmt *) pstmt->utilityStmt)->dbname, true);
	struct CoordinatorShared *volatile slot = NULL;

	PG_TRY();
	{
		slot = CoordinatorLeaveDatabase(dboid);
		call_previous(pstmt, queryString, readOnlyTree, context, params,
					  queryEnv, dest, qc);
	}
	PG_CATCH();
	{
		CoordinatorResumeAfterDropDatabase(slot);
		PG_RE_THROW();
	}
	PG_END_TRY();
	CoordinatorResumeAfterDropDatabase(slot);
}

static void
coordinator_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
						   bool readOnlyTree, ProcessUtilityContext context,
						   ParamListInfo params, QueryEnvironment *queryEnv,
						   DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	bool		catalog_changed = false;
	List	   *webhook_sources = NIL;
	List	   *webhook_calls = NIL;

	if (IsA(parsetree, CreateTableAsStmt) &&
		((CreateTableAsStmt *) parsetree)->objtype == OBJECT_MATVIEW)
	{
		List	   *options;
		DefElem    *incremental;
		DefElem    *retain;

		if (readOnlyTree)
			pstmt = copyObject(pstmt);
		parsetree = pstmt->utilityStmt;
		options = list_copy(((CreateTableAsStmt *) parsetree)->into->options);
		incremental = take_option(&options, "incremental");
		retain = take_option(&options, "retain_history");
		((CreateTableAsStmt *) parsetree)->into->options = options;
		if (incremental != NULL && defGetBoolean(incremental))
		{
			create_maintained_view(pstmt, queryString, context, params,
								   queryEnv, dest, qc,
								   retain ? retain_history_option(retain) : NULL);
			return;
		}
		if (retain != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("retain_history applies to maintained views only"),
					 errhint("Add the option incremental: WITH (incremental, retain_history = '...').")));
		readOnlyTree = false;
	}
	else if (IsA(parsetree, RefreshMatViewStmt) && CoordinatorIsOwnProcess == false &&
			 Coordinator != NULL)
	{
		if (refresh_maintained_view((RefreshMatViewStmt *) parsetree))
			return;
	}
	else if (IsA(parsetree, CreateExtensionStmt))
		catalog_changed = strcmp(((CreateExtensionStmt *) parsetree)->extname,
								 COORDINATOR_NAME) == 0;
	else if (IsA(parsetree, DropStmt) &&
			 ((DropStmt *) parsetree)->removeType == OBJECT_EXTENSION)
	{
		ListCell   *lc;

		foreach(lc, ((DropStmt *) parsetree)->objects)
		{
			if (strcmp(strVal(lfirst(lc)), COORDINATOR_NAME) == 0)
				catalog_changed = true;
		}
		/* webhook sources become plain tables: say so once the drop is done */
		if (catalog_changed && coordinator_preloaded && CatalogExtensionExists())
			webhook_sources = WebhookSourcesBeforeDropExtension(&webhook_calls);
	}

	/* our processes leave a database so that it can be dropped */
	if (IsA(parsetree, DropdbStmt) && coordinator_preloaded)
	{
		drop_served_database(pstmt, queryString, readOnlyTree, context,
							 params, queryEnv, dest, qc);
		return;
	}

	if (coordinator_preloaded)
		CoordinatorCheckSourceDDL(parsetree);

	/* secrets are owned by roles but are not catalog objects (secrets.c) */
	if (IsA(parsetree, DropRoleStmt) && coordinator_preloaded && CatalogExtensionExists())
		WebhookSecretsBeforeDropRole(((DropRoleStmt *) parsetree)->roles);

	call_previous(pstmt, queryString, readOnlyTree, context, params, queryEnv,
				  dest, qc);

	if (webhook_sources != NIL)
		WebhookSourcesAfterDropExtension(webhook_sources, webhook_calls);
	if (coordinator_preloaded)
		CoordinatorAfterSourceDDL(parsetree);

	if (IsA(parsetree, DropOwnedStmt) && coordinator_preloaded && CatalogExtensionExists())
		WebhookSecretsDropOwned(((DropOwnedStmt *) parsetree)->roles);
	else if (IsA(parsetree, ReassignOwnedStmt) && coordinator_preloaded && CatalogExtensionExists())
		WebhookSecretsReassignOwned(((ReassignOwnedStmt *) parsetree)->roles,
									((ReassignOwnedStmt *) parsetree)->newrole);

	/* a statement that may have read data with the transaction snapshot */
	if (!IsA(parsetree, TransactionStmt) && !IsA(parsetree, VariableSetStmt) &&
		!IsA(parsetree, VariableShowStmt))
		CoordinatorNoteSnapshotUse();
	if (catalog_changed)
		CoordinatorNotifyCatalogChange();
}

void
CoordinatorInstallUtilityHook(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = coordinator_ProcessUtility;
}
