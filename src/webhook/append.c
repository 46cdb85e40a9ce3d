/*-------------------------------------------------------------------------
 *
 * append.c
 *	  Append a batch of webhook requests to their tables in one transaction.
 *
 * The listener hands over every request whose body has arrived since the
 * last batch.  All of them commit together (one WAL flush for the batch, as
 * Materialize's group commit), and the listener answers 200 only after that
 * commit.  Each request runs in a subtransaction of its own, so a request
 * that fails its CHECK or whose insert fails leaves the others untouched;
 * a batch holds at most WEBHOOK_MAX_BATCH requests, which keeps the
 * subtransactions that wrote within the per-backend cache of subtransaction
 * ids (PGPROC_MAX_CACHED_SUBXIDS) and so keeps everyone's snapshots cheap.
 *
 * A request runs as the owner of its table, in a security-restricted
 * operation (../dataflow/privileges.c): the CHECK's functions, the
 * table's defaults, triggers and index expressions get the owner's
 * rights, never the listener's.  So does the planning of the CHECK and of
 * the INSERT, which folds constant expressions by running their functions.
 * Names the owner's code resolves at run time see the search_path
 * pg_catalog, pg_temp, as in the dataflow workers.
 *
 * What the client learns is only the status and a fixed message; why a
 * request failed goes to the server log: at DEBUG1 when the request was at
 * fault (a client must not be able to flood the log), as a WARNING for a
 * 500.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timeout.h"
#include "utils/guc.h"

#include "coordinator/catalog.h"
#include "coordinator/dataflow.h"
#include "coordinator/webhook.h"

/*
 * A request may take this long (as statement_timeout; lock waits included):
 * one process serves every source, so a lock held on one table, a slow
 * trigger or a CHECK that backtracks on a hostile body must not hold up
 * the others for long.
 */
#define WEBHOOK_REQUEST_TIMEOUT_MS 5000

/* What a request is doing when an error interrupts it: decides the status. */
typedef enum AppendStage
{
	STAGE_RESOLVE,
	STAGE_DECODE,
	STAGE_CHECK,
	STAGE_INSERT
} AppendStage;

/* A webhook source as the listener runs it; rebuilt when its table changes. */
typedef struct SourceEntry
{
	Oid			relid;			/* hash key */
	bool		valid;
	MemoryContext context;
	CatalogWebhook *source;
	Oid			owner;
	char	   *name;			/* schema.table, for the log */
	Expr	   *check;			/* planned, or NULL */
	SPIPlanPtr	insert;
	int			nparams;		/* of the insert */
} SourceEntry;

static HTAB *source_entries = NULL;
static char *database_name = NULL;
/* relcache invalidations seen: an entry built across one is rebuilt next time */
static uint64 invalidations = 0;

static void
invalidate_source(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	SourceEntry *entry;

	invalidations++;
	hash_seq_init(&status, source_entries);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (!OidIsValid(relid) || entry->relid == relid)
			entry->valid = false;
	}
}

/* Once per listener process, in a transaction. */
void
WebhookAppendInit(void)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(SourceEntry);
	source_entries = hash_create("webhook sources", 64, &ctl, HASH_ELEM | HASH_BLOBS);
	CacheRegisterRelcacheCallback(invalidate_source, (Datum) 0);
	database_name = MemoryContextStrdup(TopMemoryContext, get_database_name(MyDatabaseId));

	/*
	 * Functions, defaults and triggers of the sources resolve names at run
	 * time without what other roles create in public, as in the workers.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);
}

/*
 * Free the entries whose tables changed (or were dropped) since they were
 * built; the next request to such a source builds it again.  Between
 * requests, so that no plan in use is freed.
 */
static void
sweep_sources(void)
{
	HASH_SEQ_STATUS status;
	SourceEntry *entry;

	hash_seq_init(&status, source_entries);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (entry->valid)
			continue;
		if (entry->insert != NULL)
			SPI_freeplan(entry->insert);
		MemoryContextDelete(entry->context);
		hash_search(source_entries, &entry->relid, HASH_REMOVE, NULL);
	}
}

/* The INSERT for a source's table, its parameters in the order rows are built. */
static void
prepare_insert(SourceEntry *entry)
{
	CatalogWebhook *source = entry->source;
	StringInfoData sql;
	StringInfoData args;
	Oid		   *types = palloc(sizeof(Oid) * (2 + list_length(source->header_columns)));
	int			n = 0;
	ListCell   *lc;

	initStringInfo(&sql);
	initStringInfo(&args);
	appendStringInfo(&sql, "INSERT INTO %s (body", entry->name);
	types[n++] = source->body_format == WEBHOOK_BODY_TEXT ? TEXTOID :
		source->body_format == WEBHOOK_BODY_BYTES ? BYTEAOID : JSONBOID;
	appendStringInfoString(&args, "$1");
	if (source->include_headers)
	{
		appendStringInfoString(&sql, ", headers");
		types[n++] = JSONBOID;
		appendStringInfo(&args, ", $%d", n);
	}
	foreach(lc, source->header_columns)
	{
		appendStringInfo(&sql, ", %s",
						 quote_identifier(WebhookHeaderColumnName((char *) lfirst(lc))));
		types[n++] = TEXTOID;
		appendStringInfo(&args, ", $%d", n);
	}
	appendStringInfo(&sql, ") VALUES (%s)", args.data);

	entry->insert = SPI_prepare(sql.data, n, types);
	if (entry->insert == NULL)
		elog(ERROR, "could not prepare \"%s\": %s", sql.data,
			 SPI_result_code_string(SPI_result));
	SPI_keepplan(entry->insert);
	entry->nparams = n;
}


/*
 * The source of relid, loaded or rebuilt if its table changed since; NULL
 * if relid is not a webhook source.
 */
static SourceEntry *
lookup_source(Oid relid)
{
	SourceEntry *entry;
	bool		found;
	CatalogWebhook *source;
	MemoryContext old;
	uint64		invalidations_before = invalidations;
	DataflowSavedUser saved;

	entry = hash_search(source_entries, &relid, HASH_ENTER, &found);
	if (found && entry->valid)
		return entry;
	if (found)
	{
		if (entry->insert != NULL)
			SPI_freeplan(entry->insert);
		MemoryContextDelete(entry->context);
	}
	entry->valid = false;
	entry->insert = NULL;
	entry->context = AllocSetContextCreate(TopMemoryContext, "webhook source",
										   ALLOCSET_SMALL_SIZES);

	old = MemoryContextSwitchTo(entry->context);
	source = WebhookCatalogLoad(relid);
	if (source == NULL)
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(entry->context);
		hash_search(source_entries, &relid, HASH_REMOVE, NULL);
		return NULL;
	}
	entry->source = source;
	entry->owner = CatalogRelationOwner(relid);
	entry->name = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
											 get_rel_name(relid));
	MemoryContextSwitchTo(old);

	/* planning runs the owner's functions (constant folding) */
	DataflowBecomeUser(entry->owner, &saved);
	old = MemoryContextSwitchTo(entry->context);
	entry->check = source->check_plan == NULL ? NULL :
		expression_planner((Expr *) stringToNode(source->check_plan));
	MemoryContextSwitchTo(old);
	prepare_insert(entry);
	DataflowRestoreUser(&saved);
	/* usable now; but if the table changed meanwhile, build it again next time */
	entry->valid = invalidations == invalidations_before;
	return entry;
}

/* Text of len bytes that must be valid in the database encoding, or NULL. */
static text *
valid_text(const char *data, int len)
{
	if (!pg_verifymbstr(data, len, true))
		return NULL;
	return cstring_to_text_with_len(data, len);
}

/* A jsonb object of the request's headers, leaving out those in exclude. */
static Datum
headers_jsonb(WebhookRequest *req, List *exclude, bool *valid)
{
	JsonbParseState *state = NULL;
	JsonbValue *result;

	*valid = true;
	pushJsonbValue(&state, WJB_BEGIN_OBJECT, NULL);
	for (int i = 0; i < req->nheaders; i++)
	{
		JsonbValue	key;
		JsonbValue	value;
		ListCell   *lc;
		bool		skip = false;

		foreach(lc, exclude)
			skip |= strcmp((char *) lfirst(lc), req->header_names[i]) == 0;
		if (skip)
			continue;
		if (!pg_verifymbstr(req->header_names[i], strlen(req->header_names[i]), true) ||
			!pg_verifymbstr(req->header_values[i], strlen(req->header_values[i]), true))
		{
			*valid = false;
			return (Datum) 0;
		}
		key.type = jbvString;
		key.val.string.val = req->header_names[i];
		key.val.string.len = strlen(req->header_names[i]);
		value.type = jbvString;
		value.val.string.val = req->header_values[i];
		value.val.string.len = strlen(req->header_values[i]);
		pushJsonbValue(&state, WJB_KEY, &key);
		pushJsonbValue(&state, WJB_VALUE, &value);
	}
	result = pushJsonbValue(&state, WJB_END_OBJECT, NULL);
	return JsonbPGetDatum(JsonbValueToJsonb(result));
}

static const char *
header_value(WebhookRequest *req, const char *name)
{
	for (int i = 0; i < req->nheaders; i++)
	{
		if (strcmp(req->header_names[i], name) == 0)
			return req->header_values[i];
	}
	return NULL;
}

static void
finish(WebhookRequest *req, int status, const char *message)
{
	req->status = status;
	req->message = message;
}

/* The rows of a body: one, or one per element of a JSON array. */
static List *
body_rows(WebhookRequest *req, WebhookBodyFormat format, Datum raw)
{
	Jsonb	   *json;
	List	   *rows = NIL;
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken r;

	switch (format)
	{
		case WEBHOOK_BODY_TEXT:
		case WEBHOOK_BODY_BYTES:
			return list_make1((void *) DatumGetPointer(raw));
		case WEBHOOK_BODY_JSON:
		case WEBHOOK_BODY_JSON_ARRAY:
			break;
	}
	json = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(req->body.data)));
	if (format == WEBHOOK_BODY_JSON || !JB_ROOT_IS_ARRAY(json) || JB_ROOT_IS_SCALAR(json))
		return list_make1(json);
	it = JsonbIteratorInit(&json->root);
	while ((r = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (r == WJB_ELEM)
			rows = lappend(rows, JsonbValueToJsonb(&v));
	}
	return rows;
}

/* Does the request pass the source's CHECK?  Sets a 404 if a secret is gone. */
static bool
passes_check(WebhookRequest *req, SourceEntry *entry, Datum raw, Datum headers,
			 volatile AppendStage *stage)
{
	List	   *secrets = entry->source->secrets;
	ParamListInfo params = makeParamList(2 + list_length(secrets));
	EState	   *estate;
	ExprContext *econtext;
	ExprState  *state;
	Datum		result;
	bool		isnull;
	ListCell   *lc;

	*stage = STAGE_RESOLVE;
	params->params[0].value = raw;
	params->params[0].ptype = entry->source->body_format == WEBHOOK_BODY_BYTES ? BYTEAOID : TEXTOID;
	params->params[1].value = headers;
	params->params[1].ptype = JSONBOID;
	foreach(lc, secrets)
	{
		ParamExternData *p = &params->params[WEBHOOK_FIRST_SECRET_PARAM - 1 + foreach_current_index(lc)];
		char	   *value = WebhookLookupSecret(entry->owner, (char *) lfirst(lc));

		if (value == NULL)
		{
			ereport(LOG,
					(errmsg("webhook source %s: secret \"%s\" of its owner does not exist",
							entry->name, (char *) lfirst(lc))));
			finish(req, 404, "not found");
			return false;
		}
		p->value = CStringGetTextDatum(value);
		p->ptype = TEXTOID;
	}
	for (int i = 0; i < params->numParams; i++)
	{
		params->params[i].isnull = false;
		params->params[i].pflags = PARAM_FLAG_CONST;
	}

	*stage = STAGE_CHECK;
	estate = CreateExecutorState();
	econtext = GetPerTupleExprContext(estate);
	econtext->ecxt_param_list_info = params;
	state = ExecInitExpr(entry->check, NULL);
	result = ExecEvalExprSwitchContext(state, econtext, &isnull);
	FreeExecutorState(estate);
	if (isnull || !DatumGetBool(result))
	{
		finish(req, 400, "failed to validate the request");
		return false;
	}
	return true;
}

/*
 * One request: resolve its source, decode its body, check it, insert its
 * rows.  Sets req->status unless it throws; *stage says how far it got.
 */
static void
append_request(WebhookRequest *req, volatile AppendStage *stage,
			   SourceEntry *volatile *entryp)
{
	SourceEntry *entry;
	CatalogWebhook *source;
	Oid			nspid;
	Oid			relid;
	Datum		raw;
	Datum		all_headers = (Datum) 0;
	Datum	   *values;
	char	   *nulls;
	bool		valid;
	List	   *rows;
	ListCell   *lc;
	int			n;
	DataflowSavedUser saved;

	*stage = STAGE_RESOLVE;
	nspid = strcmp(req->database, database_name) == 0 ?
		get_namespace_oid(req->schema, true) : InvalidOid;
	relid = OidIsValid(nspid) ? get_relname_relid(req->name, nspid) : InvalidOid;
	entry = OidIsValid(relid) ? lookup_source(relid) : NULL;
	*entryp = entry;
	if (entry == NULL)
	{
		finish(req, 404, "not found");
		return;
	}
	source = entry->source;

	*stage = STAGE_DECODE;
	if (source->body_format == WEBHOOK_BODY_BYTES)
	{
		bytea	   *b = palloc(VARHDRSZ + req->body.len);

		SET_VARSIZE(b, VARHDRSZ + req->body.len);
		memcpy(VARDATA(b), req->body.data, req->body.len);
		raw = PointerGetDatum(b);
	}
	else
	{
		text	   *t = valid_text(req->body.data, req->body.len);

		if (t == NULL)
		{
			finish(req, 400, "invalid body");
			return;
		}
		raw = PointerGetDatum(t);
	}
	if (entry->check != NULL || source->include_headers)
	{
		all_headers = headers_jsonb(req, NIL, &valid);
		if (!valid)
		{
			finish(req, 400, "invalid header");
			return;
		}
	}

	/*
	 * The owner's code (the CHECK's functions, defaults, triggers) runs with
	 * the owner's rights, and settings it changes end with the request, so
	 * they can reach neither the next request nor the listener (as
	 * REFRESH MATERIALIZED VIEW does).  An error ends both with the
	 * subtransaction.
	 */
	DataflowBecomeUser(entry->owner, &saved);

	rows = body_rows(req, source->body_format, raw);
	if (entry->check != NULL && !passes_check(req, entry, raw, all_headers, stage))
	{
		DataflowRestoreUser(&saved);
		return;
	}

	*stage = STAGE_INSERT;
	values = palloc(sizeof(Datum) * entry->nparams);
	nulls = palloc(entry->nparams);
	memset(nulls, ' ', entry->nparams);
	n = 1;
	if (source->include_headers)
		values[n++] = source->exclude_headers == NIL ? all_headers :
			headers_jsonb(req, source->exclude_headers, &valid);
	foreach(lc, source->header_columns)
	{
		const char *value = header_value(req, (char *) lfirst(lc));

		if (value == NULL)
			nulls[n++] = 'n';
		else
			values[n++] = CStringGetTextDatum(value);
	}
	foreach(lc, rows)
	{
		values[0] = PointerGetDatum(lfirst(lc));
		if (SPI_execute_plan(entry->insert, values, nulls, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into %s", entry->name);
	}

	DataflowRestoreUser(&saved);
	finish(req, 200, "");
}

/* An error interrupted a request: its status, and a line in the log. */
static void
request_failed(WebhookRequest *req, AppendStage stage, SourceEntry *entry,
			   ErrorData *edata)
{
	int			class = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
	bool		request_at_fault = class == ERRCODE_DATA_EXCEPTION ||
		class == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION;

	switch (stage)
	{
		case STAGE_DECODE:
			finish(req, 400, "invalid body");
			break;
		case STAGE_CHECK:
			finish(req, 400, "validation error");
			break;
		case STAGE_INSERT:
			if (request_at_fault)
				finish(req, 400, "invalid request");
			else
				finish(req, 500, "internal error");
			break;
		case STAGE_RESOLVE:
			finish(req, 500, "internal error");
			break;
	}
	ereport(req->status >= 500 ? WARNING : DEBUG1,
			(errmsg("webhook request to %s failed with status %d: %s",
					entry != NULL ? entry->name : req->name, req->status, edata->message)));
}

static void
append_one(WebhookRequest *req, MemoryContext context)
{
	ResourceOwner owner = CurrentResourceOwner;
	volatile AppendStage stage = STAGE_RESOLVE;
	SourceEntry *volatile entry = NULL;

	enable_timeout_after(STATEMENT_TIMEOUT, WEBHOOK_REQUEST_TIMEOUT_MS);
	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(context);
	PG_TRY();
	{
		append_request(req, &stage, &entry);
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
		request_failed(req, stage, entry, edata);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	/* a timeout that fired as the request ended must not cancel the next */
	disable_timeout(STATEMENT_TIMEOUT, false);
	QueryCancelPending = false;
}

/*
 * Append requests (at most WEBHOOK_MAX_BATCH) in one transaction and set
 * each one's status.  Rows of requests given 200 are committed when this
 * returns; if the commit itself fails, those requests get 500 instead.
 */
void
WebhookAppendBatch(WebhookRequest **requests, int nrequests)
{
	MemoryContext context = CurrentMemoryContext;

	Assert(nrequests <= WEBHOOK_MAX_BATCH);
	SetCurrentStatementStartTimestamp();
	PG_TRY();
	{
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		MemoryContextSwitchTo(context);
		if (!CatalogExtensionExists())
		{
			for (int i = 0; i < nrequests; i++)
				finish(requests[i], 404, "not found");
		}
		else
		{
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "SPI_connect failed");
			sweep_sources();
			for (int i = 0; i < nrequests; i++)
				append_one(requests[i], context);
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		MemoryContextSwitchTo(context);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(context);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(context);
		ereport(WARNING,
				(errmsg("webhook batch of %d requests failed: %s", nrequests, edata->message)));
		for (int i = 0; i < nrequests; i++)
		{
			if (requests[i]->status == 0 || requests[i]->status == 200)
				finish(requests[i], 500, "internal error");
		}
		FreeErrorData(edata);
	}
	PG_END_TRY();
}
