/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Read and write the coordinator's catalog tables with SPI.
 *
 * The catalog is ordinary tables created by the install script:
 * coordinator.catalog_objects (one row per maintained view: relation, definition,
 * compiled plan, owner), coordinator.sources (the tables each view
 * reads) and coordinator.view_options (what a dump saves); the webhook
 * sources' tables are read and written by webhook/stored.c with
 * CatalogExecuteAsOwner.  Rows are written in the creating transaction, so
 * ROLLBACK leaves nothing behind, and deleted by the sql_drop event trigger.  Every
 * statement passes values as parameters and qualifies its operators.
 *
 * Users cannot write the catalog (a forged plan would run in a superuser
 * worker), so writes run as the catalog's owner (CatalogExecuteAsOwner),
 * as pg_cron does for its job table.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "coordinator/catalog.h"
#include "coordinator/coordinator.h"

/* Does the extension exist in this database?  Needs a transaction. */
bool
CatalogExtensionExists(void)
{
	return OidIsValid(get_extension_oid(COORDINATOR_NAME, true));
}

/* The role that owns the catalog tables (the extension's installer). */
Oid
CatalogOwner(void)
{
	Oid			relid = get_relname_relid("objects",
										  get_namespace_oid(COORDINATOR_NAME, false));

	HeapTuple	tuple;
	Oid			owner;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "coordinator.catalog_objects does not exist");
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}

/*
 * Run one statement on the catalog as the catalog's owner (users cannot
 * write it) and return the rows it processed; the first ncols columns of
 * its first row, which must be passed by value, go to first_row.  Runs in
 * the caller's transaction; ERRORs propagate (and the transaction's abort
 * restores the user id).  Every statement passes values as parameters and
 * qualifies its operators and functions: it runs with the caller's
 * search_path.
 */
uint64
CatalogExecuteAsOwner(const char *sql, int nargs, Oid *types, Datum *values,
					  const char *nulls, int expect, int ncols, Datum *first_row)
{
	Oid			save_userid;
	int			save_sec_context;
	uint64		processed;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(CatalogOwner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0) != expect)
		elog(ERROR, "could not run \"%s\"", sql);
	processed = SPI_processed;
	for (int i = 0; i < ncols && processed > 0; i++)
	{
		bool		isnull;

		first_row[i] = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, i + 1, &isnull);
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return processed;
}

/*
 * Insert a maintained view and its sources, created by the current user,
 * keeping retain_history of history (NULL: as coordinator.view_options
 * says when a restore loaded it there, else the default).
 */
void
CatalogInsertView(Oid relid, const char *definition, const char *plan,
				  List *sources, Interval *retain_history)
{
	Oid			types[5] = {OIDOID, TEXTOID, TEXTOID, OIDOID, INTERVALOID};
	Datum		values[5];
	char		nulls[5] = "    n";
	Datum		id;
	ListCell   *lc;

	values[0] = ObjectIdGetDatum(relid);
	values[1] = CStringGetTextDatum(definition);
	values[2] = CStringGetTextDatum(plan);
	values[3] = ObjectIdGetDatum(GetUserId());
	values[4] = IntervalPGetDatum(retain_history);
	if (retain_history != NULL)
		nulls[4] = ' ';
	CatalogExecuteAsOwner("INSERT INTO coordinator.catalog_objects (relid, kind, definition, plan, owner, retain_history) "
						  "VALUES ($1, 'materialized view', $2, $3, $4, "
						  "COALESCE($5, (SELECT v.retain_history FROM coordinator.view_options v "
						  "              WHERE v.view OPERATOR(pg_catalog.=) $1::pg_catalog.regclass), "
						  "          '1 second'::pg_catalog.interval)) RETURNING id",
						  5, types, values, nulls, SPI_OK_INSERT_RETURNING, 1, &id);

	foreach(lc, sources)
	{
		Oid			stypes[2] = {INT8OID, OIDOID};
		Datum		svalues[2] = {id, ObjectIdGetDatum(lfirst_oid(lc))};

		CatalogExecuteAsOwner("INSERT INTO coordinator.sources (object_id, relid) VALUES ($1, $2)",
							  2, stypes, svalues, NULL, SPI_OK_INSERT, 0, NULL);
	}

	/* what pg_dump saves (a restore's insert is there already) */
	CatalogExecuteAsOwner("INSERT INTO coordinator.view_options (view, retain_history) "
						  "SELECT o.relid, o.retain_history FROM coordinator.catalog_objects o "
						  "WHERE o.id OPERATOR(pg_catalog.=) $1 ON CONFLICT (view) DO NOTHING",
						  1, (Oid[]) {INT8OID}, &id, NULL, SPI_OK_INSERT, 0, NULL);
}

/* Change how much history a maintained view keeps. */
void
CatalogSetRetainHistory(Oid relid, Interval *retain_history)
{
	Oid			types[2] = {OIDOID, INTERVALOID};
	Datum		values[2] = {ObjectIdGetDatum(relid), IntervalPGetDatum(retain_history)};

	CatalogExecuteAsOwner("UPDATE coordinator.catalog_objects SET retain_history = $2 "
						  "WHERE relid OPERATOR(pg_catalog.=) $1",
						  2, types, values, NULL, SPI_OK_UPDATE, 0, NULL);
	CatalogExecuteAsOwner("UPDATE coordinator.view_options SET retain_history = $2 "
						  "WHERE view OPERATOR(pg_catalog.=) $1",
						  2, types, values, NULL, SPI_OK_UPDATE, 0, NULL);
}

/* Is relid a maintained view?  Needs a transaction and the extension. */
bool
CatalogHasView(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	return CatalogExecuteAsOwner("SELECT 1 FROM coordinator.catalog_objects WHERE relid OPERATOR(pg_catalog.=) $1",
								 1, types, values, NULL, SPI_OK_SELECT, 0, NULL) > 0;
}

/*
 * Did the current transaction make relid a maintained view (CREATE, or a
 * restore's coordinator.view_options row)?  Such a view is not the
 * coordinator's until the transaction commits.
 */
bool
CatalogViewCreatedHere(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Datum		xmin = TransactionIdGetDatum(InvalidTransactionId);

	if (CatalogExecuteAsOwner("SELECT xmin FROM coordinator.catalog_objects "
							  "WHERE relid OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, SPI_OK_SELECT, 1, &xmin) == 0)
		return false;
	return TransactionIdIsCurrentTransactionId(DatumGetTransactionId(xmin));
}

/* A maintained view that reads table relid, or InvalidOid if none does. */
Oid
CatalogViewReading(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	Datum		view = ObjectIdGetDatum(InvalidOid);

	CatalogExecuteAsOwner("SELECT o.relid FROM coordinator.sources s "
						  "JOIN coordinator.catalog_objects o ON o.id OPERATOR(pg_catalog.=) s.object_id "
						  "WHERE s.relid OPERATOR(pg_catalog.=) $1 ORDER BY o.id LIMIT 1",
						  1, types, values, NULL, SPI_OK_SELECT, 1, &view);
	return DatumGetObjectId(view);
}

/* An oid[] as a List of OIDs, in CurrentMemoryContext. */
static List *
oid_array_list(Datum array)
{
	Datum	   *elems;
	int			nelems;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), OIDOID, sizeof(Oid), true,
					  TYPALIGN_INT, &elems, NULL, &nelems);
	for (int i = 0; i < nelems; i++)
		result = lappend_oid(result, DatumGetObjectId(elems[i]));
	return result;
}

/*
 * The OIDs of every maintained view, read as the catalog's owner (users
 * cannot read the catalog).  Needs a transaction with a snapshot.
 */
List *
CatalogViewRelids(void)
{
	Oid			save_userid;
	int			save_sec_context;
	List	   *result = NIL;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(CatalogOwner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT relid FROM coordinator.catalog_objects ORDER BY id",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.catalog_objects");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		relid = SPI_getbinval(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1, &isnull);

		result = lappend_oid(result, DatumGetObjectId(relid));
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/*
 * Every maintained view, ordered by id, as a List of CatalogView allocated
 * in the caller's memory context.  Needs a transaction with a snapshot.
 */
List *
CatalogLoadViews(void)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *result = NIL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT o.id, o.relid, o.plan, "
					"(pg_catalog.date_part('epoch', o.retain_history) OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8, "
					"ARRAY(SELECT u.relid FROM coordinator.sources s "
					"JOIN coordinator.catalog_objects u ON u.relid OPERATOR(pg_catalog.=) s.relid "
					"WHERE s.object_id OPERATOR(pg_catalog.=) o.id ORDER BY u.id), "
					"ARRAY(SELECT s.relid FROM coordinator.sources s "
					"WHERE s.object_id OPERATOR(pg_catalog.=) o.id ORDER BY s.relid) "
					"FROM coordinator.catalog_objects o "
					"ORDER BY o.id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.catalog_objects");

	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		MemoryContext old = MemoryContextSwitchTo(caller);
		CatalogView *view = palloc0(sizeof(CatalogView));

		view->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		view->relid = DatumGetObjectId(SPI_getbinval(tup, desc, 2, &isnull));
		view->plan = TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull));
		view->retain_ms = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		view->inputs = oid_array_list(SPI_getbinval(tup, desc, 5, &isnull));
		view->tables = oid_array_list(SPI_getbinval(tup, desc, 6, &isnull));
		result = lappend(result, view);
		MemoryContextSwitchTo(old);
	}

	SPI_finish();
	return result;
}

/* The owner of relation relid (which must exist). */
Oid
CatalogRelationOwner(Oid relid)
{
	HeapTuple	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tuple))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
	ReleaseSysCache(tuple);
	return owner;
}
