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

/*
 * Maintained views need the whole old row of every UPDATE and DELETE of a
 * source in the WAL.  Set REPLICA IDENTITY FULL if it is not, and say so.
 */
void
CoordinatorEnsureReplicaIdentityFull(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	char		identity = rel->rd_rel->relreplident;
	char	   *name = pstrdup(RelationGetRelationName(rel));
	ReplicaIdentityStmt *ri;
	AlterTableCmd *cmd;

	table_close(rel, AccessShareLock);
	if (identity == REPLICA_IDENTITY_FULL)
		return;

	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table \"%s\" must have REPLICA IDENTITY FULL to be the source of a maintained view", name),
				 errhint("Ask the owner of \"%s\" to run ALTER TABLE ... REPLICA IDENTITY FULL.", name)));

	ri = makeNode(ReplicaIdentityStmt);
	ri->identity_type = REPLICA_IDENTITY_FULL;
	cmd = makeNode(AlterTableCmd);
	cmd->subtype = AT_ReplicaIdentity;
	cmd->def = (Node *) ri;
	AlterTableInternal(relid, list_make1(cmd), false);

	ereport(NOTICE,
			(errmsg("table \"%s\" now has REPLICA IDENTITY FULL", name),
			 errdetail("Maintained views need the old row of every UPDATE and DELETE in the WAL.")));
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

	compiled = CompileView(castNode(Query, stmt->query), queryString, true);
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
					  CompiledViewToString(compiled), compiled->sources,
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

/*
 * A maintained view that reads the table table_rv names (its OID goes to
 * *table), or InvalidOid if none does (or there is no such table).
 */
static Oid
view_reading(RangeVar *table_rv, Oid *table)
{
	*table = RangeVarGetRelid(table_rv, NoLock, true);
	if (!OidIsValid(*table) || !CatalogExtensionExists())
		return InvalidOid;
	return CatalogViewReading(*table);
}

/*
 * A table that a maintained view reads cannot get inheritance children:
 * the view's plan, made at CREATE, scans the table alone, while its query
 * would read the children too.  (Partitioned tables are refused as
 * sources, so ATTACH PARTITION never concerns a source.)
 */
static void
refuse_child_of_source(RangeVar *parent_rv)
{
	Oid			parent;
	Oid			view = view_reading(parent_rv, &parent);

	if (OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot add an inheritance child to table \"%s\"",
						get_rel_name(parent)),
				 errdetail("Maintained view \"%s\" reads the table, and maintained views do not read inheritance children.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/*
 * Maintained views need the whole old row of every UPDATE and DELETE of a
 * source: its REPLICA IDENTITY stays FULL while a view reads it.
 */
static void
refuse_replica_identity(RangeVar *table_rv, ReplicaIdentityStmt *ri)
{
	Oid			table;
	Oid			view;

	if (ri->identity_type == REPLICA_IDENTITY_FULL)
		return;
	view = view_reading(table_rv, &table);
	if (OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" must keep REPLICA IDENTITY FULL",
						get_rel_name(table)),
				 errdetail("Maintained view \"%s\" reads the table and needs the old row of every UPDATE and DELETE in the WAL.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/* An unlogged table's changes are not in the WAL: a source stays logged. */
static void
refuse_unlogged(RangeVar *table_rv)
{
	Oid			table;
	Oid			view = view_reading(table_rv, &table);

	if (OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot make table \"%s\" unlogged", get_rel_name(table)),
				 errdetail("Maintained view \"%s\" reads the table from the WAL.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/*
 * CREATE OR REPLACE VIEW of a plain view that a maintained view reads
 * (maybe through other plain views): the maintained view expanded the old
 * definition at CREATE and would not follow.
 */
static void
refuse_replacing_read_view(RangeVar *view_rv)
{
	Oid			view = RangeVarGetRelid(view_rv, NoLock, true);
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	Datum		reader = ObjectIdGetDatum(InvalidOid);

	if (!OidIsValid(view) || get_rel_relkind(view) != RELKIND_VIEW ||
		!CatalogExtensionExists())
		return;
	values[0] = ObjectIdGetDatum(view);
	CatalogExecuteAsOwner("WITH RECURSIVE readers(relid) AS ("
						  "  SELECT $1"
						  "  UNION"
						  "  SELECT r.ev_class FROM readers"
						  "    JOIN pg_catalog.pg_depend d"
						  "      ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
						  "     AND d.refobjid OPERATOR(pg_catalog.=) readers.relid"
						  "     AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
						  "    JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
						  "   WHERE r.ev_class OPERATOR(pg_catalog.<>) readers.relid)"
						  "SELECT o.relid FROM readers"
						  "  JOIN coordinator.catalog_objects o ON o.relid OPERATOR(pg_catalog.=) readers.relid"
						  " ORDER BY o.id LIMIT 1",
						  1, types, values, NULL, SPI_OK_SELECT, 1, &reader);
	if (OidIsValid(DatumGetObjectId(reader)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot replace view \"%s\"", get_rel_name(view)),
				 errdetail("Maintained view \"%s\" reads it and keeps the definition it had at CREATE.",
						   get_rel_name(DatumGetObjectId(reader))),
				 errhint("Drop the maintained views that read it, replace the view, then create them again.")));
}

/* DDL on the tables that maintained views read. */
static void
check_source_ddl(Node *parsetree)
{
	ListCell   *lc;

	if (IsA(parsetree, CreateStmt) || IsA(parsetree, CreateForeignTableStmt))
	{
		/* a CreateForeignTableStmt begins with its CreateStmt */
		foreach(lc, ((CreateStmt *) parsetree)->inhRelations)
			refuse_child_of_source(lfirst_node(RangeVar, lc));
	}
	else if (IsA(parsetree, ViewStmt) && ((ViewStmt *) parsetree)->replace)
		refuse_replacing_read_view(((ViewStmt *) parsetree)->view);
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_AddInherit)
				refuse_child_of_source(castNode(RangeVar, cmd->def));
			else if (cmd->subtype == AT_ReplicaIdentity)
				refuse_replica_identity(stmt->relation,
										castNode(ReplicaIdentityStmt, cmd->def));
			else if (cmd->subtype == AT_SetUnLogged)
				refuse_unlogged(stmt->relation);
		}
	}
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

	if ((IsA(parsetree, CreateStmt) || IsA(parsetree, CreateForeignTableStmt) ||
		 IsA(parsetree, AlterTableStmt) || IsA(parsetree, ViewStmt)) &&
		coordinator_preloaded)
		check_source_ddl(parsetree);

	/* secrets are owned by roles but are not catalog objects (secrets.c) */
	if (IsA(parsetree, DropRoleStmt) && coordinator_preloaded && CatalogExtensionExists())
		WebhookSecretsBeforeDropRole(((DropRoleStmt *) parsetree)->roles);

	call_previous(pstmt, queryString, readOnlyTree, context, params, queryEnv,
				  dest, qc);

	if (webhook_sources != NIL)
		WebhookSourcesAfterDropExtension(webhook_sources, webhook_calls);

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
