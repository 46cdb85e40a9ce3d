/*-------------------------------------------------------------------------
 *
 * stored.c
 *	  Webhook sources and secrets as the catalog stores them:
 *	  coordinator.catalog_webhooks (one row per source, with its compiled
 *	  CHECK), coordinator.webhook_options (its definition as given, which a
 *	  dump saves) and coordinator.secrets (what CHECKs read).
 *
 * Users cannot write these tables, so writes run as the catalog's owner
 * (CatalogExecuteAsOwner, catalog.c), and so do the reads any role may
 * make; a source's definition and its secrets are read as the caller.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "coordinator/catalog.h"
#include "coordinator/webhook.h"

static Datum
string_list_array(List *strings)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(list_length(strings), 1));
	ListCell   *lc;

	foreach(lc, strings)
		elems[foreach_current_index(lc)] = CStringGetTextDatum((char *) lfirst(lc));
	return PointerGetDatum(construct_array(elems, list_length(strings), TEXTOID,
										   -1, false, TYPALIGN_INT));
}

static List *
array_string_list(Datum array)
{
	Datum	   *elems;
	int			n;
	List	   *result = NIL;

	deconstruct_array(DatumGetArrayTypeP(array), TEXTOID, -1, false, TYPALIGN_INT,
					  &elems, NULL, &n);
	for (int i = 0; i < n; i++)
		result = lappend(result, TextDatumGetCString(elems[i]));
	return result;
}

/*
 * Insert a webhook source, as the catalog's owner: into catalog_webhooks,
 * and its definition as given into webhook_options (what a dump saves).
 */
void
WebhookCatalogInsert(CatalogWebhook *source, const char *check_expression)
{
	Oid			types[8] = {OIDOID, TEXTOID, BOOLOID, TEXTARRAYOID, TEXTARRAYOID,
		TEXTOID, TEXTOID, TEXTARRAYOID};
	Datum		values[8];
	char		nulls[8] = "        ";

	values[0] = ObjectIdGetDatum(source->relid);
	values[1] = CStringGetTextDatum(WebhookBodyFormatName(source->body_format));
	values[2] = BoolGetDatum(source->include_headers);
	values[3] = string_list_array(source->exclude_headers);
	values[4] = string_list_array(source->header_columns);
	if (check_expression != NULL)
	{
		values[5] = CStringGetTextDatum(check_expression);
		values[6] = CStringGetTextDatum(source->check_plan);
	}
	else
		nulls[5] = nulls[6] = 'n';
	values[7] = string_list_array(source->secrets);

	CatalogExecuteAsOwner("INSERT INTO coordinator.catalog_webhooks "
						  "(relid, body_format, include_headers, exclude_headers, header_columns, "
						  " check_expression, check_plan, secrets) "
						  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
						  8, types, values, nulls, SPI_OK_INSERT, 0, NULL);

	/*
	 * What a dump saves (the trigger finds the table a source already).  A
	 * row may be there for a table that a restore left plain (restore.c).
	 */
	CatalogExecuteAsOwner("INSERT INTO coordinator.webhook_options "
						  "(source, body_format, include_headers, exclude_headers, header_columns, "
						  " check_expression, secrets) "
						  "VALUES ($1, $2, $3, $4, $5, $6, $8) "
						  "ON CONFLICT (source) DO UPDATE SET body_format = $2, "
						  " include_headers = $3, exclude_headers = $4, header_columns = $5, "
						  " check_expression = $6, secrets = $8",
						  8, types, values, nulls, SPI_OK_INSERT, 0, NULL);
}

/*
 * Is relid a webhook source?  Reads the catalog as its owner, so any role
 * may ask.  Needs a transaction with a snapshot.
 */
bool
WebhookCatalogHas(Oid relid)
{
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};

	return CatalogExecuteAsOwner("SELECT 1 FROM coordinator.catalog_webhooks "
								 "WHERE relid OPERATOR(pg_catalog.=) $1",
								 1, types, values, NULL, SPI_OK_SELECT, 0, NULL) > 0;
}

/*
 * Every webhook source: their relids (a List of Oids) and, in *calls, for
 * each the call of coordinator.make_webhook_source that defines it again
 * (a List of char *), both in the caller's memory context.  Reads the
 * catalog as its owner; needs a transaction with a snapshot.
 */
List *
WebhookCatalogList(List **calls)
{
	MemoryContext caller = CurrentMemoryContext;
	List	   *result = NIL;
	Oid			save_userid;
	int			save_sec_context;

	*calls = NIL;
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(CatalogOwner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT relid, pg_catalog.format("
					"'SELECT coordinator.make_webhook_source(%L, body_format => %L, "
					"include_headers => %s, exclude_headers => %L, header_columns => %L, "
					"check_expression => %L, secrets => %L)', "
					"relid::pg_catalog.regclass, body_format, include_headers::pg_catalog.text, exclude_headers, "
					"header_columns, check_expression, secrets) "
					"FROM coordinator.catalog_webhooks ORDER BY relid",
					true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.catalog_webhooks");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		bool		isnull;
		Datum		relid = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		Datum		call = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		result = lappend_oid(result, DatumGetObjectId(relid));
		*calls = lappend(*calls, TextDatumGetCString(call));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return result;
}

/*
 * The webhook source stored for relid, allocated in the caller's memory
 * context, or NULL.  Needs a transaction with a snapshot.
 */
CatalogWebhook *
WebhookCatalogLoad(Oid relid)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(relid)};
	CatalogWebhook *source = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT body_format, include_headers, exclude_headers, header_columns, "
							  "       check_plan, secrets "
							  "FROM coordinator.catalog_webhooks WHERE relid OPERATOR(pg_catalog.=) $1",
							  1, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.catalog_webhooks");
	if (SPI_processed > 0)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		plan;
		MemoryContext old = MemoryContextSwitchTo(caller);

		source = palloc0(sizeof(CatalogWebhook));
		source->relid = relid;
		source->body_format =
			WebhookParseBodyFormat(TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)));
		source->include_headers = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
		source->exclude_headers = array_string_list(SPI_getbinval(tup, desc, 3, &isnull));
		source->header_columns = array_string_list(SPI_getbinval(tup, desc, 4, &isnull));
		plan = SPI_getbinval(tup, desc, 5, &isnull);
		source->check_plan = isnull ? NULL : TextDatumGetCString(plan);
		source->secrets = array_string_list(SPI_getbinval(tup, desc, 6, &isnull));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return source;
}

/*
 * The value of owner's secret name, in the caller's memory context, or NULL
 * if there is none.  Called as the source's owner (append.c): the row-level
 * security of coordinator.secrets shows a role its own secrets.
 */
char *
WebhookLookupSecret(Oid owner, const char *name)
{
	MemoryContext caller = CurrentMemoryContext;
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(owner), CStringGetTextDatum(name)};
	char	   *value = NULL;
	static SPIPlanPtr plan = NULL;	/* every request of a signed source runs it */

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (plan == NULL)
	{
		SPIPlanPtr	prepared = SPI_prepare("SELECT value FROM coordinator.secrets "
										   "WHERE owner OPERATOR(pg_catalog.=) $1 "
										   "AND name OPERATOR(pg_catalog.=) $2",
										   2, types);

		if (prepared == NULL || SPI_keepplan(prepared) != 0)
			elog(ERROR, "could not prepare a read of coordinator.secrets");
		plan = prepared;
	}
	if (SPI_execute_plan(plan, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.secrets");
	if (SPI_processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(caller);

		value = TextDatumGetCString(d);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return value;
}
