/*-------------------------------------------------------------------------
 *
 * outlive.c
 *	  Webhook sources outlive DROP EXTENSION coordinator.
 *
 * A source is the user's table: DROP EXTENSION drops the catalog, so every
 * source becomes a plain table with its rows.  The utility hook lists the
 * sources before the drop and, once it is done, tells the user about each
 * one (with the call that makes it a source again) and removes the
 * dependencies its CHECK had recorded, which a plain table without a CHECK
 * must not keep (source.c records them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_ts_config.h"
#include "catalog/pg_ts_dict.h"
#include "catalog/pg_type.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "coordinator/webhook.h"

/*
 * Delete the dependencies a CHECK recorded for the table: those of the
 * table itself (not of a column) on functions, operators, types,
 * collations and text search objects, but for the type a typed table is
 * OF.  A table has no others of these kinds.  Needs a transaction.
 */
static void
forget_check_dependencies(Oid relid)
{
	Relation	depend;
	ScanKeyData key[3];
	SysScanDesc scan;
	HeapTuple	tuple;
	HeapTuple	classtuple;
	Oid			oftype = InvalidOid;

	classtuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(classtuple))
	{
		oftype = ((Form_pg_class) GETSTRUCT(classtuple))->reloftype;
		ReleaseSysCache(classtuple);
	}

	depend = table_open(DependRelationId, RowExclusiveLock);
	ScanKeyInit(&key[0], Anum_pg_depend_classid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(RelationRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_objid, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&key[2], Anum_pg_depend_objsubid, BTEqualStrategyNumber, F_INT4EQ,
				Int32GetDatum(0));
	scan = systable_beginscan(depend, DependDependerIndexId, true, NULL, 3, key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_depend dep = (Form_pg_depend) GETSTRUCT(tuple);

		if (dep->deptype != DEPENDENCY_NORMAL)
			continue;
		if (dep->refclassid == ProcedureRelationId ||
			dep->refclassid == OperatorRelationId ||
			dep->refclassid == CollationRelationId ||
			dep->refclassid == TSConfigRelationId ||
			dep->refclassid == TSDictionaryRelationId ||
			(dep->refclassid == TypeRelationId && dep->refobjid != oftype))
			CatalogTupleDelete(depend, &tuple->t_self);
	}
	systable_endscan(scan);
	table_close(depend, RowExclusiveLock);
}

/*
 * Before DROP EXTENSION coordinator: the sources, with the calls that
 * define them again (see WebhookCatalogList), in the caller's context.
 */
List *
WebhookSourcesBeforeDropExtension(List **calls)
{
	return WebhookCatalogList(calls);
}

/*
 * After DROP EXTENSION coordinator: each source still there is now a plain
 * table.  Say so, with the call that makes it a source again, and remove
 * the dependencies its CHECK recorded (on functions, operators, types,
 * collations and text search objects): a plain table has no CHECK, and
 * must not keep a DROP FUNCTION from working, or let DROP FUNCTION ...
 * CASCADE drop it.
 */
void
WebhookSourcesAfterDropExtension(List *relids, List *calls)
{
	ListCell   *lc1;
	ListCell   *lc2;

	forboth(lc1, relids, lc2, calls)
	{
		Oid			relid = lfirst_oid(lc1);
		char	   *relname = get_rel_name(relid);

		if (relname == NULL)
			continue;
		forget_check_dependencies(relid);
		ereport(NOTICE,
				(errmsg("table \"%s\" is no longer a webhook source", relname),
				 errdetail("The table and its rows are kept; the listener no longer appends to it."),
				 errhint("After CREATE EXTENSION coordinator (and its secrets created again), %s makes it a source again.",
						 (char *) lfirst(lc2))));
	}
	CommandCounterIncrement();
}
