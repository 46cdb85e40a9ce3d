/*-------------------------------------------------------------------------
 *
 * functions.c
 *	  The SQL functions of SUBSCRIBE and their options:
 *
 *	coordinator.subscribe(target, snapshot, progress, as_of, up_to,
 *						  upsert_key)	streams rows; call it in the select
 *										list, e.g. in a cursor
 *	coordinator.subscribe_open(...)		the polling form: returns an id
 *	coordinator.subscribe_fetch(id, max_rows, timeout)
 *	coordinator.subscribe_close(id)
 *	coordinator.subscription_status()
 *
 * The polling form keeps the subscription in the session between
 * fetches (subscriber.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_authid.h"
#include "funcapi.h"
#include "pgstat.h"
#include "utils/acl.h"
#include "utils/builtins.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "subscriber_internal.h"

PG_FUNCTION_INFO_V1(coordinator_subscribe);
PG_FUNCTION_INFO_V1(coordinator_subscribe_open);
PG_FUNCTION_INFO_V1(coordinator_subscribe_fetch);
PG_FUNCTION_INFO_V1(coordinator_subscribe_close);
PG_FUNCTION_INFO_V1(coordinator_subscription_status);

static List *polling_subscribers = NIL;

static XLogRecPtr
timestamp_arg(FunctionCallInfo fcinfo, int arg, const char *name)
{
	int64		value = PG_GETARG_INT64(arg);

	if (value < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be negative", name)));
	return (XLogRecPtr) value;
}

/*
 * The options of subscribe() and subscribe_open(), which share arguments.
 * A NULL target is an error; a NULL snapshot or progress is its default,
 * a NULL as_of, up_to or upsert_key is absent (the functions are not
 * STRICT for these).
 */
static void
read_options(FunctionCallInfo fcinfo, SubscribeOptions *opts)
{
	memset(opts, 0, sizeof(*opts));
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("what to subscribe to must not be NULL"),
				 errhint("Name a relation or give a query.")));
	opts->target = text_to_cstring(PG_GETARG_TEXT_PP(0));
	opts->snapshot = PG_ARGISNULL(1) ? true : PG_GETARG_BOOL(1);
	opts->progress = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	opts->has_as_of = !PG_ARGISNULL(3);
	if (opts->has_as_of)
		opts->as_of = timestamp_arg(fcinfo, 3, "as_of");
	opts->has_up_to = !PG_ARGISNULL(4);
	if (opts->has_up_to)
		opts->up_to = timestamp_arg(fcinfo, 4, "up_to");
	if (!PG_ARGISNULL(5))
	{
		opts->keys = SubscriptionKeyList(PG_GETARG_ARRAYTYPE_P(5));
		if (opts->keys == NIL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("upsert_key must name at least one column")));
	}
	if (opts->has_as_of && opts->has_up_to)
		SubscribeCheckBounds(opts->as_of, opts->up_to);
}

static void
subscriber_context_reset(void *arg)
{
	SubscriberClose((Subscriber *) arg);
}

/*
 * coordinator.subscribe(target, snapshot, progress, as_of, up_to,
 * upsert_key) RETURNS SETOF record: one row per call, as rows arrive.
 */
Datum
coordinator_subscribe(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	Subscriber *sub;
	HeapTuple	tuple;

	if (SRF_IS_FIRSTCALL())
	{
		ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
		SubscribeOptions opts;
		MemoryContextCallback *cb;

		read_options(fcinfo, &opts);
		if (rsinfo != NULL && rsinfo->expectedDesc != NULL && !opts.has_up_to)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("coordinator.subscribe streams without end: it cannot be called in FROM"),
					 errhint("Call it in the select list, e.g. DECLARE c CURSOR FOR SELECT coordinator.subscribe('v'); FETCH 10 c; or give up_to.")));
		funcctx = SRF_FIRSTCALL_INIT();
		CoordinatorRefuseDuringRecovery("SUBSCRIBE");
		sub = SubscriberOpen(&opts);
		funcctx->user_fctx = sub;
		cb = MemoryContextAlloc(funcctx->multi_call_memory_ctx, sizeof(MemoryContextCallback));
		cb->func = subscriber_context_reset;
		cb->arg = sub;
		MemoryContextRegisterResetCallback(funcctx->multi_call_memory_ctx, cb);
	}
	funcctx = SRF_PERCALL_SETUP();
	sub = funcctx->user_fctx;
	SubscriberPump(sub, 1, InvalidXLogRecPtr, -1);
	tuple = SubscriberNextReady(sub);
	if (tuple == NULL)
		SRF_RETURN_DONE(funcctx);
	SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
}

static Subscriber *
find_polling(int64 id)
{
	ListCell   *lc;

	foreach(lc, polling_subscribers)
	{
		Subscriber *sub = lfirst(lc);

		if (sub->id == (uint64) id)
			return sub;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_OBJECT),
			 errmsg("subscription %lld does not exist in this session", (long long) id)));
	return NULL;
}

/* The output columns of this session's polling subscription id. */
TupleDesc
SubscriptionShapeOf(int64 id)
{
	return find_polling(id)->outdesc;
}

/* coordinator.subscribe_open(...) RETURNS bigint */
Datum
coordinator_subscribe_open(PG_FUNCTION_ARGS)
{
	SubscribeOptions opts;
	Subscriber *sub;
	MemoryContext old;

	read_options(fcinfo, &opts);
	CoordinatorRefuseDuringRecovery("SUBSCRIBE");
	sub = SubscriberOpen(&opts);
	old = MemoryContextSwitchTo(TopMemoryContext);
	polling_subscribers = lappend(polling_subscribers, sub);
	MemoryContextSwitchTo(old);
	PG_RETURN_INT64((int64) sub->id);
}

/*
 * A fetch's timeout in milliseconds, at most INT_MAX (a month counts 30
 * days, as interval comparison does).  ERRORs if it is negative; computed
 * in floating point, so no interval overflows.
 */
static long
timeout_milliseconds(Interval *timeout)
{
	double		ms = (double) timeout->time / 1000.0 +
		(double) timeout->day * (USECS_PER_DAY / 1000) +
		(double) timeout->month * DAYS_PER_MONTH * (USECS_PER_DAY / 1000);

	if (ms < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	return (long) Min(ms, (double) INT_MAX);
}

/*
 * coordinator.subscribe_fetch(id, max_rows, timeout) RETURNS SETOF record:
 * up to max_rows rows, waiting up to timeout for the first.
 */
Datum
coordinator_subscribe_fetch(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	Subscriber *sub;
	HeapTuple	tuple;

	if (SRF_IS_FIRSTCALL())
	{
		int32		max_rows;
		long		timeout_ms;

		/* a NULL max_rows or timeout is its default; an id has none */
		if (PG_ARGISNULL(0))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("the subscription's id must not be NULL")));
		max_rows = PG_ARGISNULL(1) ? 1000 : PG_GETARG_INT32(1);
		timeout_ms = PG_ARGISNULL(2) ? 1000 : timeout_milliseconds(PG_GETARG_INTERVAL_P(2));
		if (max_rows < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("max_rows must not be negative")));
		funcctx = SRF_FIRSTCALL_INIT();
		sub = find_polling(PG_GETARG_INT64(0));

		/*
		 * Under strict serializable, once there are rows, wait until every
		 * change committed before the fetch began has been received (read
		 * your writes); then take whatever else has arrived.
		 */
		if (max_rows > 0)
			SubscriberPump(sub, max_rows,
						   coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE ?
						   OracleReadTimestamp() : InvalidXLogRecPtr,
						   timeout_ms);
		funcctx->user_fctx = sub;
		funcctx->max_calls = Min(list_length(sub->ready), max_rows);
	}
	funcctx = SRF_PERCALL_SETUP();
	sub = funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls || (tuple = SubscriberNextReady(sub)) == NULL)
		SRF_RETURN_DONE(funcctx);
	SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
}

/* coordinator.subscribe_close(id) RETURNS void */
Datum
coordinator_subscribe_close(PG_FUNCTION_ARGS)
{
	Subscriber *sub = find_polling(PG_GETARG_INT64(0));

	polling_subscribers = list_delete_ptr(polling_subscribers, sub);
	SubscriberClose(sub);
	PG_RETURN_VOID();
}

/*
 * coordinator.subscription_status(): one row per subscription, for the
 * view coordinator.subscriptions.  As pg_stat_activity shows a query,
 * what a subscription reads (relid, name) shows only to roles that have
 * the privileges of its subscriber or of pg_read_all_stats (superusers
 * have both); the other columns show to everyone.
 */
Datum
coordinator_subscription_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		return (Datum) 0;
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription slot;
		Datum		values[11];
		bool		nulls[11] = {0};
		bool		visible;

		LWLockAcquire(Coordinator->lock, LW_SHARED);
		slot = *SubscriptionSlot(i);
		LWLockRelease(Coordinator->lock);
		if (slot.state == SUBSCRIPTION_FREE)
			continue;
		values[0] = Int64GetDatum((int64) slot.id);
		values[1] = Int32GetDatum(slot.pid);
		values[2] = ObjectIdGetDatum(slot.userid);
		visible = has_privs_of_role(GetUserId(), slot.userid) ||
			has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_STATS);
		values[3] = CStringGetTextDatum(OidIsValid(slot.relid) ? "materialized view" : "query");
		values[4] = ObjectIdGetDatum(slot.relid);
		nulls[4] = !OidIsValid(slot.relid) || !visible;
		values[5] = CStringGetTextDatum(slot.name);
		nulls[5] = !visible;
		values[6] = Int32GetDatum(slot.worker);
		values[7] = CStringGetTextDatum(SubscriptionStateName(slot.state));
		values[8] = Int64GetDatum((int64) slot.as_of);
		nulls[8] = slot.as_of == InvalidXLogRecPtr;
		values[9] = Int64GetDatum(slot.buffered);
		values[10] = TimestampTzGetDatum(slot.created);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
