/*-------------------------------------------------------------------------
 *
 * restore.c
 *	  Maintained views come back from pg_dump.
 *
 * pg_dump saves a maintained view as Postgres sees it, a materialized view
 * (CREATE ... WITH NO DATA, and a REFRESH in the post-data section), and,
 * since coordinator.view_options is a configuration table of the
 * extension, that table's rows: each view's name (a regclass, which the
 * restore maps to the new relation) and options.  A restore creates the
 * materialized views, then loads the table, whose trigger
 * (coordinator.restore_view) compiles each view's query from its rule, as
 * CREATE compiles it, and records the view as maintained; the worker
 * populates it after commit, and the restore's REFRESH waits until it is
 * current (utility.c).
 *
 * Row triggers fire after the whole COPY, so every listed view is there:
 * a view over other maintained views restores them first.
 *
 * Webhook sources come back the same way: coordinator.webhook_options,
 * another configuration table, holds each source as its definition was
 * given, and its trigger (coordinator.restore_webhook_source) makes each
 * restored table a source again.  Secrets are not in a dump (they are not
 * the database's objects, and a dump should not carry them); a CHECK
 * that reads them refuses requests until the owner creates them again.  A
 * CHECK that cannot be analyzed in the restored database (it names a
 * function by a search_path the restore does not have, say) leaves the
 * table a plain table with a WARNING that gives the call that makes it a
 * source: the restore goes on.
 *
 * The restore's REFRESH of a view whose row was loaded in the same
 * transaction (psql -1, pg_restore --single-transaction) does not wait:
 * the worker populates the view after the commit (utility.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/resowner.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/webhook.h"

PG_FUNCTION_INFO_V1(coordinator_restore_view);
PG_FUNCTION_INFO_V1(coordinator_restore_webhook_source);

static void restore_view(Oid relid);

/* Is relid listed in coordinator.view_options? */
static bool
listed(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	return CatalogExecuteAsOwner("SELECT 1 FROM coordinator.view_options "
								 "WHERE view OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
								 1, types, values, NULL, SPI_OK_SELECT, 0, NULL) > 0;
}

/*
 * Prepare a stored query for compilation: restore the listed maintained
 * views it reads first, and check its privileges as the restoring role
 * rather than as the view's owner (the relcache sets checkAsUser to the
 * owner): a dump grants privileges only after loading the data.  The
 * worker checks the owner's rights once the view runs (privileges.c).
 */
static bool
prepare_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		rte->checkAsUser = InvalidOid;
		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_MATVIEW &&
			rte->relid != *(Oid *) context && listed(rte->relid))
			restore_view(rte->relid);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, prepare_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, prepare_walker, context);
}

/*
 * Make materialized view relid maintained, compiling its stored query as
 * CREATE would; nothing to do if it is already.
 */
static void
restore_view(Oid relid)
{
	Relation	rel;
	Query	   *query;
	CompiledView *compiled;
	ListCell   *lc;

	check_stack_depth();
	if (CatalogHasView(relid))
		return;
	rel = table_open(relid, AccessExclusiveLock);
	if (rel->rd_rel->relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a materialized view", RelationGetRelationName(rel)),
				 errdetail("Only materialized views can be listed in coordinator.view_options.")));
	query = CompileStoredQuery(rel);
	table_close(rel, NoLock);
	if (query == NULL)
		elog(ERROR, "could not find the query of materialized view %u", relid);

	(void) prepare_walker((Node *) query, &relid);
	CommandCounterIncrement();

	compiled = CompileView(query, NULL, true, CatalogViewRelids());
	foreach(lc, compiled->sources)
		CoordinatorEnsureReplicaIdentityFull(lfirst_oid(lc));
	CoordinatorRecordView(relid, query, compiled, NULL);
	CommandCounterIncrement();
}

/*
 * coordinator.restore_view(): AFTER INSERT row trigger on
 * coordinator.view_options.  Only the extension's owner may insert there
 * (a CREATE's own insert finds the view maintained already).
 */
Datum
coordinator_restore_view(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	bool		isnull;
	Datum		view;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("coordinator.restore_view must run AFTER INSERT FOR EACH ROW"),
				 errdetail("It is the trigger of coordinator.view_options.")));
	view = heap_getattr(trigdata->tg_trigtuple, 1,
						RelationGetDescr(trigdata->tg_relation), &isnull);
	if (!isnull)
		restore_view(DatumGetObjectId(view));
	return PointerGetDatum(NULL);
}

/* The columns of coordinator.webhook_options. */
#define WEBHOOK_OPTIONS_COLUMNS 7

/*
 * coordinator.restore_webhook_source(): AFTER INSERT row trigger on
 * coordinator.webhook_options.  Only the extension's owner may insert
 * there (make_webhook_source's own insert finds the table a source
 * already).  The source is defined in a subtransaction, so that a
 * definition the restored database cannot take leaves a plain table and a
 * WARNING instead of failing the restore.
 */
Datum
coordinator_restore_webhook_source(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Datum		values[WEBHOOK_OPTIONS_COLUMNS];
	bool		nulls[WEBHOOK_OPTIONS_COLUMNS];
	Oid			relid;
	MemoryContext context = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("coordinator.restore_webhook_source must run AFTER INSERT FOR EACH ROW"),
				 errdetail("It is the trigger of coordinator.webhook_options.")));
	if (RelationGetDescr(trigdata->tg_relation)->natts != WEBHOOK_OPTIONS_COLUMNS)
		elog(ERROR, "coordinator.webhook_options has %d columns, not %d",
			 RelationGetDescr(trigdata->tg_relation)->natts, WEBHOOK_OPTIONS_COLUMNS);
	heap_deform_tuple(trigdata->tg_trigtuple, RelationGetDescr(trigdata->tg_relation),
					  values, nulls);
	relid = DatumGetObjectId(values[0]);
	if (nulls[0] || WebhookCatalogHas(relid))
		return PointerGetDatum(NULL);

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		WebhookRestoreSource(relid, values, nulls);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(context);
		CurrentResourceOwner = owner;
		ereport(WARNING,
				(errcode(edata->sqlerrcode),
				 errmsg("table \"%s\" was restored as a plain table, not as a webhook source",
						get_rel_name(relid)),
				 errdetail("Its definition in coordinator.webhook_options could not be restored: %s",
						   edata->message),
				 errhint("Once the cause is fixed, coordinator.make_webhook_source makes the table a source; coordinator.webhook_options shows its arguments.")));
		FreeErrorData(edata);
	}
	PG_END_TRY();
	return PointerGetDatum(NULL);
}
