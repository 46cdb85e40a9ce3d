/*-------------------------------------------------------------------------
 *
 * subscriber.c
 *	  The subscriber's side of SUBSCRIBE, in the client's backend, and its
 *	  SQL functions.
 *
 *	coordinator.subscribe(target, snapshot, progress, as_of, up_to,
 *						  upsert_key)	streams rows; call it in the select
 *										list, e.g. in a cursor
 *	coordinator.subscribe_open(...)		the polling form: returns an id
 *	coordinator.subscribe_fetch(id, max_rows, timeout)
 *	coordinator.subscribe_close(id)
 *
 * target is a relation name or a query ("SELECT ...", "(SELECT ...)").  A
 * maintained view is streamed by the worker that maintains it; anything
 * else runs as a transient dataflow on a worker, dropped when the
 * subscription ends.
 *
 * The snapshot.  For a view, the subscriber reads the view's heap under a
 * fresh snapshot S, after the worker has attached: every tick committed
 * since then is in the queue too, and a change whose worker transaction S
 * saw is skipped.  The contents S sees are valid from since to upper
 * (selection.c), and the snapshot's timestamp (as_of) is chosen as for a
 * read: max(oracle, since) under strict serializable, max(since, upper - 1)
 * under serializable, or the AS OF given.  For a query, the worker sends
 * the transient dataflow's first rows at its hydration time H, which is
 * then the since.  Changes at or before as_of are merged into the
 * snapshot; once the progress passes as_of the snapshot is complete and
 * goes out, every row stamped as_of.  After it, each tick's change goes
 * out at the tick's timestamp, consolidated, once the progress after it
 * arrives (so a timestamp is never split across fetches).
 *
 * The polling form keeps the subscription in the session between
 * fetches; no snapshot is held between statements, so VACUUM is not held
 * back by an idle subscriber.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/compile.h"
#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"
#include "coordinator/subscribe.h"
#include "coordinator/timestamp.h"

PG_FUNCTION_INFO_V1(coordinator_subscribe);
PG_FUNCTION_INFO_V1(coordinator_subscribe_open);
PG_FUNCTION_INFO_V1(coordinator_subscribe_fetch);
PG_FUNCTION_INFO_V1(coordinator_subscribe_close);
PG_FUNCTION_INFO_V1(coordinator_subscription_status);

/* How often a waiting subscriber checks that what it reads still exists. */
#define SUBSCRIBER_CHECK_MS 1000

typedef struct SubscribeOptions
{
	char	   *target;
	bool		snapshot;
	bool		progress;
	bool		has_as_of;
	XLogRecPtr	as_of;
	bool		has_up_to;
	XLogRecPtr	up_to;
	List	   *keys;			/* upsert_key: column names */
} SubscribeOptions;

/* What a target names: a maintained view, or a query to run. */
typedef struct SubscribeTarget
{
	Oid			relid;			/* a maintained view, or InvalidOid */
	char	   *query;			/* otherwise: the query's text */
	char	   *name;			/* for messages */
	TupleDesc	rowdesc;		/* its columns */
} SubscribeTarget;

/* A change of the view's history that goes out after the snapshot. */
typedef struct HistoryChange
{
	XLogRecPtr	ts;
	int64		diff;
	MinimalTuple row;
} HistoryChange;

typedef struct Subscriber
{
	uint64		id;				/* the user's handle; the slot's id */
	bool		registered;		/* the slot is ours */
	MemoryContext context;		/* everything of the subscription */
	SubscribeOptions opts;
	SubscribeTarget target;
	List	   *sources;		/* relations whose DROP ends it */
	List	   *source_names;
	TupleDesc	outdesc;		/* blessed output rows */
	int			nkeys;
	AttrNumber *keys;			/* upsert: key columns of rowdesc */
	dsm_segment *seg;
	shm_mq_handle *mqh;

	/* the snapshot */
	bool		have_snapshot;	/* as_of is chosen */
	bool		emitted;		/* the snapshot went out */
	XLogRecPtr	as_of;
	XLogRecPtr	oracle;			/* strict serializable: at the start */
	SeenXids	seen;			/* view: what the snapshot that read the heap saw */
	ZSet		rows;			/* the snapshot, until it goes out */
	List	   *history;		/* HistoryChange: from as_of to the contents
								 * the snapshot saw, in time order */
	MemoryContext history_context;	/* history and its rows */

	/* after the snapshot */
	XLogRecPtr	batch_ts;		/* the timestamp being received */
	ZSet		batch;
	XLogRecPtr	progress;		/* everything before it was received */
	XLogRecPtr	progress_out;	/* the last progress row */
	bool		done;			/* up_to reached */

	MemoryContext data_context; /* rows of the snapshot or batch received */
	List	   *ready;			/* output HeapTuples, oldest first */
	MemoryContext ready_context;	/* ready and its tuples */
	TimestampTz last_check;
} Subscriber;

static List *polling_subscribers = NIL;
static bool exit_callback_registered = false;

/* --- targets and shapes ---------------------------------------------- */

/*
 * Does the text read as a query rather than a relation name?  A name has
 * no space or parenthesis outside double quotes.
 */
static bool
is_query_text(const char *text)
{
	bool		quoted = false;

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	for (; *text != '\0'; text++)
	{
		if (*text == '"')
			quoted = !quoted;
		else if (!quoted && (isspace((unsigned char) *text) || *text == '(' || *text == ';'))
			return true;
	}
	return false;
}

/* Parse and analyze a subscription's query: one SELECT. */
static Query *
analyze_query(const char *text)
{
	List	   *parsed = raw_parser(text, RAW_PARSE_DEFAULT);
	RawStmt    *raw;
	Query	   *query;

	if (list_length(parsed) != 1 ||
		!IsA(linitial_node(RawStmt, parsed)->stmt, SelectStmt))
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a subscription's query must be a single SELECT statement")));
	raw = linitial_node(RawStmt, parsed);
	query = parse_analyze_fixedparams(raw, text, NULL, 0, NULL);
	if (query->commandType != CMD_SELECT || query->utilityStmt != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("a subscription's query must be a single SELECT statement")));
	return query;
}

/* Resolve a target (does not check privileges). */
static void
resolve_target(const char *text, SubscribeTarget *target)
{
	memset(target, 0, sizeof(*target));
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("what to subscribe to must not be NULL")));
	if (!is_query_text(text))
	{
		RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(text));
		Oid			relid = RangeVarGetRelid(rv, AccessShareLock, false);

		if (CatalogHasView(relid))
		{
			Relation	rel = table_open(relid, NoLock);

			target->relid = relid;
			target->name = pstrdup(RelationGetRelationName(rel));
			target->rowdesc = CreateTupleDescCopy(RelationGetDescr(rel));
			table_close(rel, AccessShareLock);
			return;
		}
		target->name = get_rel_name(relid);
		target->query = psprintf("SELECT * FROM %s",
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															target->name));
		UnlockRelationOid(relid, AccessShareLock);
	}
	else
	{
		target->query = pstrdup(text);
		target->name = "query";
	}
	target->rowdesc = ExecCleanTypeFromTL(analyze_query(target->query)->targetList);
}

static void
add_column(TupleDesc desc, int *n, const char *name, Oid type, int32 typmod,
		   Oid collation)
{
	(*n)++;
	TupleDescInitEntry(desc, *n, name, type, typmod, 0);
	TupleDescInitEntryCollation(desc, *n, collation);
}

/* Key columns of rowdesc named in keys; ERRORs on an unknown name. */
static AttrNumber *
key_columns(TupleDesc rowdesc, List *keys)
{
	AttrNumber *cols = palloc(sizeof(AttrNumber) * Max(list_length(keys), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, keys)
	{
		char	   *name = strVal(lfirst(lc));
		AttrNumber	found = InvalidAttrNumber;

		for (int i = 0; i < rowdesc->natts; i++)
		{
			if (!TupleDescAttr(rowdesc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(rowdesc, i)->attname), name) == 0)
				found = i + 1;
		}
		if (found == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("upsert key column \"%s\" is not a column of the subscription", name)));
		cols[n++] = found;
	}
	return cols;
}

static bool
is_key(AttrNumber *keys, int nkeys, AttrNumber att)
{
	for (int i = 0; i < nkeys; i++)
	{
		if (keys[i] == att)
			return true;
	}
	return false;
}

/*
 * The output rows: mz_timestamp, [mz_progressed], mz_diff and the columns;
 * with an upsert key, mz_state instead of mz_diff and the key columns
 * first.
 */
static TupleDesc
output_desc(TupleDesc rowdesc, bool progress, List *keys)
{
	int			natts = 0;
	int			n = 0;
	TupleDesc	desc;
	AttrNumber *kcols = key_columns(rowdesc, keys);

	for (int i = 0; i < rowdesc->natts; i++)
		natts += TupleDescAttr(rowdesc, i)->attisdropped ? 0 : 1;
	desc = CreateTemplateTupleDesc(natts + (progress ? 3 : 2));
	add_column(desc, &n, "mz_timestamp", INT8OID, -1, InvalidOid);
	if (progress)
		add_column(desc, &n, "mz_progressed", BOOLOID, -1, InvalidOid);
	if (keys != NIL)
		add_column(desc, &n, "mz_state", TEXTOID, -1, DEFAULT_COLLATION_OID);
	else
		add_column(desc, &n, "mz_diff", INT8OID, -1, InvalidOid);
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < rowdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(rowdesc, i);

			if (att->attisdropped)
				continue;
			if (keys != NIL && (pass == 0) != is_key(kcols, list_length(keys), i + 1))
				continue;
			if (keys == NIL && pass == 1)
				continue;
			add_column(desc, &n, NameStr(att->attname), att->atttypid,
					   att->atttypmod, att->attcollation);
		}
	}
	return desc;
}

/* The output columns of a subscription to target (for rewrite.c). */
TupleDesc
SubscriptionShape(const char *text, bool progress, List *keys)
{
	SubscribeTarget target;

	resolve_target(text, &target);
	return output_desc(target.rowdesc, progress, keys);
}

/* --- options ------------------------------------------------------------ */

/* The column names of an upsert_key argument (for rewrite.c too). */
List *
SubscriptionKeyList(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("upsert key columns must not be NULL")));
		result = lappend(result, makeString(TextDatumGetCString(elems[i])));
	}
	return result;
}

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

/* as_of past up_to is an error (as Materialize's, 22000). */
static void
check_bounds(XLogRecPtr as_of, XLogRecPtr up_to)
{
	if (as_of > up_to)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("subscription lower bound (as_of) is greater than its upper bound (up_to): %llu > %llu",
						(unsigned long long) as_of, (unsigned long long) up_to)));
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
		check_bounds(opts->as_of, opts->up_to);
}

/* --- the subscription's life ------------------------------------------- */

/* Free the slot and the queue.  Safe during abort and twice. */
static void
release(Subscriber *sub)
{
	CoordinatorSubscription *slot;

	if (sub->registered && Coordinator != NULL)
	{
		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		slot = SubscriptionFind(sub->id);
		if (slot != NULL && slot->pid == MyProcPid)
			slot->state = SUBSCRIPTION_FREE;
		LWLockRelease(Coordinator->lock);
		sub->registered = false;
	}
	if (sub->mqh != NULL)
	{
		shm_mq_detach(sub->mqh);
		sub->mqh = NULL;
	}
	if (sub->seg != NULL)
	{
		dsm_detach(sub->seg);
		sub->seg = NULL;
	}
}

/* At backend exit: free the slots of this backend's subscriptions. */
static void
release_at_exit(int code, Datum arg)
{
	if (Coordinator == NULL)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *slot = SubscriptionSlot(i);

		if (slot->state != SUBSCRIPTION_FREE && slot->pid == MyProcPid)
			slot->state = SUBSCRIPTION_FREE;
	}
	LWLockRelease(Coordinator->lock);
}

/* The worker that runs a query's dataflow: the one with the fewest. */
static int
choose_worker(void)
{
	int			best = 0;

	for (int i = 1; i < coordinator_dataflow_workers; i++)
	{
		if (Coordinator->workers[i].dataflows < Coordinator->workers[best].dataflows)
			best = i;
	}
	return best;
}

/* Does relation relid still exist, as of the latest catalog? */
static bool
relation_exists(Oid relid)
{
	AcceptInvalidationMessages();
	return SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid));
}

/* ERROR if something the subscription reads was dropped. */
static void
check_sources(Subscriber *sub)
{
	ListCell   *lc;
	ListCell   *ln;

	forboth(lc, sub->sources, ln, sub->source_names)
	{
		if (!relation_exists(lfirst_oid(lc)))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("subscribe has been terminated because underlying relation \"%s\" was dropped",
							(char *) lfirst(ln))));
	}
}

/* The worker ended the subscription, or went away: say why. */
static void
report_end(Subscriber *sub)
{
	int			code = 0;
	char		error[SUBSCRIPTION_ERROR_LEN] = "";
	CoordinatorSubscription *slot;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	slot = SubscriptionFind(sub->id);
	if (slot != NULL && slot->state == SUBSCRIPTION_ENDED)
	{
		code = slot->error_code;
		strlcpy(error, slot->error, sizeof(error));
	}
	LWLockRelease(Coordinator->lock);

	check_sources(sub);
	if (code == ERRCODE_CONFIGURATION_LIMIT_EXCEEDED)
		ereport(ERROR,
				(errcode(code),
				 errmsg("subscription to %s ended: %s", sub->target.name, error),
				 errhint("Fetch more often, or raise coordinator.subscribe_buffer_limit.")));
	if (code != 0)
		ereport(ERROR,
				(errcode(code),
				 errmsg("subscription to %s ended: %s", sub->target.name, error)));
	ereport(ERROR,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("subscription to %s ended because its dataflow worker restarted",
					sub->target.name),
			 errhint("Subscribe again.")));
}

/*
 * Take a slot, create the queue and wait until the worker has attached.
 * plan: a query's compiled plan, or NULL for a view; rtes: the text of the
 * relations the query names, whose rights the worker checks again.
 */
static void
request(Subscriber *sub, int worker, const char *plan, const char *rtes)
{
	Size		plan_len = plan != NULL ? strlen(plan) + 1 + strlen(rtes) + 1 : 1;
	Size		queue_offset = MAXALIGN(offsetof(SubscriptionSegment, plan) + plan_len);
	SubscriptionSegment *header;
	shm_mq	   *mq;
	CoordinatorSubscription *slot = NULL;
	MemoryContext old;

	sub->seg = dsm_create(queue_offset + SUBSCRIPTION_QUEUE_SIZE, 0);
	dsm_pin_mapping(sub->seg);
	header = dsm_segment_address(sub->seg);
	header->plan_len = plan_len;
	header->queue_offset = queue_offset;
	if (plan != NULL)
	{
		memcpy(header->plan, plan, strlen(plan) + 1);
		memcpy(header->plan + strlen(plan) + 1, rtes, strlen(rtes) + 1);
	}
	else
		header->plan[0] = '\0';
	mq = shm_mq_create((char *) header + queue_offset, SUBSCRIPTION_QUEUE_SIZE);
	shm_mq_set_receiver(mq, MyProc);
	old = MemoryContextSwitchTo(sub->context);
	sub->mqh = shm_mq_attach(mq, sub->seg, NULL);
	MemoryContextSwitchTo(old);

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		if (SubscriptionSlot(i)->state == SUBSCRIPTION_FREE)
		{
			slot = SubscriptionSlot(i);
			break;
		}
	}
	if (slot == NULL)
	{
		LWLockRelease(Coordinator->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many subscriptions"),
				 errhint("Raise coordinator.max_subscriptions (%d) and restart the server.",
						 Coordinator->max_subscriptions)));
	}
	memset(slot, 0, sizeof(*slot));
	slot->id = sub->id = Coordinator->next_subscription_id++;
	sub->registered = true;
	slot->state = SUBSCRIPTION_REQUESTED;
	slot->pid = MyProcPid;
	slot->userid = GetUserId();
	slot->relid = sub->target.relid;
	strlcpy(slot->name, sub->target.name, SUBSCRIPTION_NAME_LEN);
	slot->worker = worker;
	slot->handle = dsm_segment_handle(sub->seg);
	slot->max_buffer = (int64) coordinator_subscribe_buffer_limit * 1024;
	slot->created = GetCurrentTimestamp();
	LWLockRelease(Coordinator->lock);
	CoordinatorWakeWorker(worker);

	for (;;)
	{
		SubscriptionState state;

		LWLockAcquire(Coordinator->lock, LW_SHARED);
		state = SubscriptionFind(sub->id)->state;
		LWLockRelease(Coordinator->lock);
		if (state == SUBSCRIPTION_ATTACHED)
			break;
		if (state == SUBSCRIPTION_ENDED)
		{
			ConditionVariableCancelSleep();
			report_end(sub);
		}
		ConditionVariableTimedSleep(&Coordinator->frontier_cv, SUBSCRIBER_CHECK_MS,
									PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	ConditionVariableCancelSleep();
}

/*
 * Choose the snapshot's timestamp: the AS OF given, which must not be
 * before history_since, or as a read would from the contents valid from
 * since to upper.
 */
static void
set_as_of(Subscriber *sub, XLogRecPtr history_since, XLogRecPtr since,
		  XLogRecPtr upper)
{
	if (sub->opts.has_as_of)
	{
		if (sub->opts.as_of < history_since)
			HistoryNoValidTimestamp(sub->target.name, TimestampString(history_since),
									TimestampString(sub->opts.as_of));
		sub->as_of = sub->opts.as_of;
	}
	else if (coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE)
		sub->as_of = Max(sub->oracle, since);
	else
		sub->as_of = upper > since ? upper - 1 : since;
	sub->have_snapshot = true;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	{
		CoordinatorSubscription *slot = SubscriptionFind(sub->id);

		if (slot != NULL)
			slot->as_of = sub->as_of;
	}
	LWLockRelease(Coordinator->lock);

	if (sub->opts.has_up_to)
		check_bounds(sub->as_of, sub->opts.up_to);
	if (sub->opts.has_up_to && sub->opts.up_to == sub->as_of)
	{
		ereport(NOTICE,
				(errmsg("subscription as of %llu (inclusive) up to the same bound %llu (exclusive) is guaranteed to be empty",
						(unsigned long long) sub->as_of,
						(unsigned long long) sub->opts.up_to)));
		sub->done = true;
	}
}

/*
 * A change of the view after the snapshot's time, from its history: it is
 * taken out of the snapshot and goes out after it, at its own time.
 */
static void
add_history(void *arg, XLogRecPtr first_commit, XLogRecPtr ts,
			TimestampTz wall, int64 diff, MinimalTuple row)
{
	Subscriber *sub = arg;
	MemoryContext old;
	HistoryChange *change;

	HistoryCheckKnown(sub->target.relid, first_commit, ts, sub->as_of);
	if (sub->history_context == NULL)
		sub->history_context = AllocSetContextCreate(sub->context,
													 "coordinator subscriber history",
													 ALLOCSET_DEFAULT_SIZES);
	if (sub->opts.snapshot)
	{
		old = MemoryContextSwitchTo(sub->data_context);
		ZSetAdd(&sub->rows, heap_copy_minimal_tuple(row), -diff);
		MemoryContextSwitchTo(old);
	}
	old = MemoryContextSwitchTo(sub->history_context);
	change = palloc(sizeof(HistoryChange));
	change->ts = ts;
	change->diff = diff;
	change->row = heap_copy_minimal_tuple(row);
	sub->history = lappend(sub->history, change);
	MemoryContextSwitchTo(old);
}

/*
 * Read the view's heap under a fresh snapshot (after the worker attached)
 * and choose the snapshot's timestamp from the contents it sees.
 */
static void
read_view_snapshot(Subscriber *sub)
{
	Snapshot	snap;
	TimestampDetermination *det;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	MemoryContext old;

	for (;;)
	{
		snap = RegisterSnapshot(GetLatestSnapshot());
		det = TimestampInputs(list_make1_oid(sub->target.relid), snap);
		/* the worker committed twice since the snapshot: take another */
		if (!det->inputs[0].old_snapshot)
			break;
		UnregisterSnapshot(snap);
		CHECK_FOR_INTERRUPTS();
	}
	if (det->inputs[0].upper == InvalidXLogRecPtr)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("maintained view \"%s\" is not running", sub->target.name)));
	set_as_of(sub, det->inputs[0].history_since, det->inputs[0].since,
			  det->inputs[0].upper);
	sub->progress = det->inputs[0].upper;

	SeenXidsCopy(&sub->seen, snap, sub->context);

	if (sub->opts.snapshot)
	{
		/* the lock is not kept: DROP must end the subscription, not wait */
		rel = table_open(sub->target.relid, AccessShareLock);
		slot = table_slot_create(rel, NULL);
		scan = table_beginscan(rel, snap, 0, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			old = MemoryContextSwitchTo(sub->data_context);
			ZSetAdd(&sub->rows, RowFromSlot(slot), 1);
			MemoryContextSwitchTo(old);
			CHECK_FOR_INTERRUPTS();
		}
		table_endscan(scan);
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}

	/* as of a time before the contents: go back through the history */
	if (sub->as_of < det->inputs[0].since && !sub->done)
		HistoryScan(sub->target.relid, sub->as_of, snap, add_history, sub);
	UnregisterSnapshot(snap);
}

/* Open a subscription: resolve, check, request, read the snapshot. */
static Subscriber *
subscriber_open(SubscribeOptions *opts)
{
	MemoryContext context = AllocSetContextCreate(TopMemoryContext,
												  "coordinator subscriber",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	Subscriber *sub = palloc0(sizeof(Subscriber));
	char	   *plan = NULL;
	char	   *rtes = NULL;
	int			worker;

	if (!exit_callback_registered)
	{
		before_shmem_exit(release_at_exit, 0);
		exit_callback_registered = true;
	}
	sub->context = context;
	sub->data_context = AllocSetContextCreate(context, "coordinator subscriber rows",
											  ALLOCSET_DEFAULT_SIZES);
	sub->ready_context = AllocSetContextCreate(context, "coordinator subscriber output",
											   ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(old);

	PG_TRY();
	{
		CoordinatorCheckSetup();
		if (MyDatabaseId != Coordinator->database)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("subscriptions are served in database \"%s\" only",
							coordinator_database),
					 errhint("Connect to the database named by coordinator.database.")));
		old = MemoryContextSwitchTo(context);
		sub->opts = *opts;
		sub->opts.target = pstrdup(opts->target);
		sub->opts.keys = copyObject(opts->keys);
		resolve_target(opts->target, &sub->target);
		sub->outdesc = BlessTupleDesc(output_desc(sub->target.rowdesc, opts->progress, opts->keys));
		sub->nkeys = list_length(opts->keys);
		sub->keys = key_columns(sub->target.rowdesc, opts->keys);
		if (coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE)
			sub->oracle = OracleReadTimestamp();
		MemoryContextSwitchTo(old);

		if (OidIsValid(sub->target.relid))
		{
			CoordinatorView *entry;

			if (pg_class_aclcheck(sub->target.relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
				aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_MATVIEW, sub->target.name);
			/* hydrated and free of errors, as a read would require */
			CoordinatorWaitForViews(list_make1_oid(sub->target.relid), 1);
			LWLockAcquire(Coordinator->lock, LW_SHARED);
			entry = CoordinatorFindView(sub->target.relid);
			worker = entry != NULL ? entry->worker : 0;
			LWLockRelease(Coordinator->lock);
			old = MemoryContextSwitchTo(context);
			sub->sources = list_make1_oid(sub->target.relid);
			sub->source_names = list_make1(pstrdup(sub->target.name));
			MemoryContextSwitchTo(old);
		}
		else
		{
			Query	   *query = analyze_query(sub->target.query);
			List	   *named = DataflowNamedRelations(query);
			CompiledView *compiled = CompileView(query, sub->target.query, true);
			ListCell   *lc;

			foreach(lc, compiled->sources)
			{
				Oid			relid = lfirst_oid(lc);

				if (get_rel_relkind(relid) == RELKIND_RELATION)
				{
					Relation	rel = table_open(relid, AccessShareLock);
					bool		full = rel->rd_rel->relreplident == REPLICA_IDENTITY_FULL;

					table_close(rel, AccessShareLock);
					if (!full)
						ereport(ERROR,
								(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
								 errmsg("table \"%s\" must have REPLICA IDENTITY FULL to be subscribed to",
										get_rel_name(relid)),
								 errhint("Run ALTER TABLE ... REPLICA IDENTITY FULL.")));
				}
				old = MemoryContextSwitchTo(context);
				sub->sources = lappend_oid(sub->sources, relid);
				sub->source_names = lappend(sub->source_names, get_rel_name(relid));
				MemoryContextSwitchTo(old);
			}
			plan = CompiledViewToString(compiled);
			rtes = nodeToString(named);
			worker = choose_worker();
		}

		request(sub, worker, plan, rtes);
		if (OidIsValid(sub->target.relid))
			read_view_snapshot(sub);
		if (sub->done)
			release(sub);		/* as_of = up_to: nothing to receive */
	}
	PG_CATCH();
	{
		release(sub);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return sub;
}

static void
subscriber_close(Subscriber *sub)
{
	release(sub);
	MemoryContextDelete(sub->context);
}

/* --- turning messages into rows ---------------------------------------- */

/* Append an output row; values of row (in rowdesc) or NULLs. */
static void
emit(Subscriber *sub, XLogRecPtr ts, bool progressed, int64 diff,
	 const char *state, MinimalTuple row)
{
	TupleDesc	rowdesc = sub->target.rowdesc;
	int			natts = sub->outdesc->natts;
	Datum	   *values = palloc0(sizeof(Datum) * natts);
	bool	   *nulls = palloc(sizeof(bool) * natts);
	Datum	   *rvalues = NULL;
	bool	   *rnulls = NULL;
	int			n = 0;
	MemoryContext old;

	memset(nulls, true, sizeof(bool) * natts);
	if (row != NULL)
	{
		HeapTupleData htup;

		rvalues = palloc(sizeof(Datum) * rowdesc->natts);
		rnulls = palloc(sizeof(bool) * rowdesc->natts);
		htup.t_len = row->t_len + MINIMAL_TUPLE_OFFSET;
		htup.t_data = (HeapTupleHeader) ((char *) row - MINIMAL_TUPLE_OFFSET);
		heap_deform_tuple(&htup, rowdesc, rvalues, rnulls);
	}

	values[n] = Int64GetDatum((int64) ts);
	nulls[n++] = false;
	if (sub->opts.progress)
	{
		values[n] = BoolGetDatum(progressed);
		nulls[n++] = false;
	}
	if (!progressed)
	{
		if (sub->nkeys > 0)
			values[n] = CStringGetTextDatum(state);
		else
			values[n] = Int64GetDatum(diff);
		nulls[n] = false;
	}
	n++;
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < rowdesc->natts; i++)
		{
			bool		key = is_key(sub->keys, sub->nkeys, i + 1);

			if (TupleDescAttr(rowdesc, i)->attisdropped)
				continue;
			if (sub->nkeys > 0 && (pass == 0) != key)
				continue;
			if (sub->nkeys == 0 && pass == 1)
				continue;
			/* upsert: only an upserted row shows its values; keys always */
			if (row != NULL && (key || state == NULL || strcmp(state, "upsert") == 0))
			{
				values[n] = rvalues[i];
				nulls[n] = rnulls[i];
			}
			n++;
		}
	}
	old = MemoryContextSwitchTo(sub->ready_context);
	sub->ready = lappend(sub->ready, heap_form_tuple(sub->outdesc, values, nulls));
	MemoryContextSwitchTo(old);
}

/* The key image of a row, for grouping by the upsert key. */
static uint32
key_hash(Subscriber *sub, MinimalTuple row, Datum *values, bool *nulls)
{
	TupleDesc	rowdesc = sub->target.rowdesc;
	HeapTupleData htup;
	uint32		h = 0;

	htup.t_len = row->t_len + MINIMAL_TUPLE_OFFSET;
	htup.t_data = (HeapTupleHeader) ((char *) row - MINIMAL_TUPLE_OFFSET);
	heap_deform_tuple(&htup, rowdesc, values, nulls);
	for (int k = 0; k < sub->nkeys; k++)
	{
		int			i = sub->keys[k] - 1;

		if (nulls[i])
			h = h * 31 + 1;
		else
			h = h * 31 + (uint32) datum_image_hash(values[i],
												   TupleDescAttr(rowdesc, i)->attbyval,
												   TupleDescAttr(rowdesc, i)->attlen);
	}
	return h;
}

static bool
same_key(Subscriber *sub, Datum *v1, bool *n1, Datum *v2, bool *n2)
{
	TupleDesc	rowdesc = sub->target.rowdesc;

	for (int k = 0; k < sub->nkeys; k++)
	{
		int			i = sub->keys[k] - 1;
		Form_pg_attribute att = TupleDescAttr(rowdesc, i);

		if (n1[i] != n2[i])
			return false;
		if (!n1[i] && !datum_image_eq(v1[i], v2[i], att->attbyval, att->attlen))
			return false;
	}
	return true;
}

/* A row of a batch with the hash of its key, for grouping by key. */
typedef struct KeyedRow
{
	uint32		hash;
	int			index;
} KeyedRow;

static int
keyed_row_cmp(const void *a, const void *b)
{
	const KeyedRow *x = a;
	const KeyedRow *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index - y->index;
}

/*
 * The upsert envelope of one timestamp: per key, a lone insertion or a
 * retraction with an insertion is an upsert, a lone retraction a delete,
 * anything else a key violation.  Rows are sorted by key hash; rows of one
 * key are found within a run of equal hashes.
 */
static void
emit_upserts(Subscriber *sub, XLogRecPtr ts, ZSet *z)
{
	int			natts = sub->target.rowdesc->natts;
	KeyedRow   *order = palloc(sizeof(KeyedRow) * Max(z->nrows, 1));
	bool	   *done = palloc0(sizeof(bool) * Max(z->nrows, 1));
	Datum	   *v1 = palloc(sizeof(Datum) * natts);
	bool	   *n1 = palloc(sizeof(bool) * natts);
	Datum	   *v2 = palloc(sizeof(Datum) * natts);
	bool	   *n2 = palloc(sizeof(bool) * natts);

	for (int i = 0; i < z->nrows; i++)
	{
		order[i].hash = key_hash(sub, z->rows[i].tuple, v1, n1);
		order[i].index = i;
	}
	qsort(order, z->nrows, sizeof(KeyedRow), keyed_row_cmp);

	for (int i = 0; i < z->nrows; i++)
	{
		int64		inserted = 0;
		int64		deleted = 0;
		MinimalTuple insert = NULL;
		MinimalTuple any = z->rows[order[i].index].tuple;

		if (done[i])
			continue;
		(void) key_hash(sub, any, v1, n1);
		for (int j = i; j < z->nrows && order[j].hash == order[i].hash; j++)
		{
			ZRow	   *row = &z->rows[order[j].index];

			if (done[j])
				continue;
			(void) key_hash(sub, row->tuple, v2, n2);
			if (!same_key(sub, v1, n1, v2, n2))
				continue;
			done[j] = true;
			if (row->diff > 0)
			{
				inserted += row->diff;
				insert = row->tuple;
			}
			else
				deleted -= row->diff;
		}
		if (inserted == 1 && deleted <= 1)
			emit(sub, ts, false, 0, "upsert", insert);
		else if (inserted == 0 && deleted == 1)
			emit(sub, ts, false, 0, "delete", any);
		else
			emit(sub, ts, false, 0, "key_violation", any);
	}
}

/*
 * Forget the received rows of z (the snapshot or the batch; the other one
 * is empty whenever this is called).
 */
static void
discard_rows(Subscriber *sub, ZSet *z)
{
	memset(z, 0, sizeof(ZSet));
	MemoryContextReset(sub->data_context);
}

/* Emit a consolidated batch of changes at one timestamp. */
static void
emit_batch(Subscriber *sub, XLogRecPtr ts, ZSet *z)
{
	ZSetConsolidate(z);
	if (sub->nkeys > 0)
		emit_upserts(sub, ts, z);
	else
	{
		/* retractions first; each pass in the consolidated (hash) order */
		for (int pass = 0; pass < 2; pass++)
		{
			for (int i = 0; i < z->nrows; i++)
			{
				if ((z->rows[i].diff < 0) == (pass == 0))
					emit(sub, ts, false, z->rows[i].diff, NULL, z->rows[i].tuple);
			}
		}
	}
	discard_rows(sub, z);
}

static void
emit_progress(Subscriber *sub, XLogRecPtr p)
{
	if (sub->opts.has_up_to)
		p = Min(p, sub->opts.up_to);
	if (sub->opts.progress && p > sub->progress_out)
		emit(sub, p, true, 0, NULL, NULL);
	sub->progress_out = Max(sub->progress_out, p);
}

/*
 * The changes of the history after the snapshot's time, one batch per
 * timestamp (whole, as a worker transaction wrote them).
 */
static void
emit_history(Subscriber *sub)
{
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, sub->history)
	{
		HistoryChange *change = lfirst(lc);

		if (sub->done || (sub->opts.has_up_to && change->ts >= sub->opts.up_to))
			break;
		/* the row lives in history_context until the end */
		old = MemoryContextSwitchTo(sub->data_context);
		ZSetAdd(&sub->batch, change->row, change->diff);
		MemoryContextSwitchTo(old);
		if (lnext(sub->history, lc) == NULL ||
			((HistoryChange *) lfirst(lnext(sub->history, lc)))->ts != change->ts)
			emit_batch(sub, change->ts, &sub->batch);
	}
	discard_rows(sub, &sub->batch);
	sub->history = NIL;
	if (sub->history_context != NULL)
		MemoryContextDelete(sub->history_context);
	sub->history_context = NULL;
}

/* Once the progress passed as_of: the snapshot goes out. */
static void
maybe_emit_snapshot(Subscriber *sub)
{
	if (!sub->have_snapshot || sub->emitted || sub->progress <= sub->as_of)
		return;
	sub->emitted = true;
	sub->progress_out = sub->as_of;
	if (sub->opts.progress && !sub->done)
		emit(sub, sub->as_of, true, 0, NULL, NULL);
	if (sub->opts.snapshot && !sub->done)
		emit_batch(sub, sub->as_of, &sub->rows);
	else
		discard_rows(sub, &sub->rows);
	emit_history(sub);
	emit_progress(sub, sub->progress);
}

/* The batch being received is complete (progress passed it). */
static void
finish_batch(Subscriber *sub)
{
	if (sub->batch.nrows > 0 && !sub->done)
	{
		if (sub->opts.has_up_to && sub->batch_ts >= sub->opts.up_to)
			discard_rows(sub, &sub->batch);
		else
			emit_batch(sub, sub->batch_ts, &sub->batch);
	}
	sub->batch_ts = InvalidXLogRecPtr;
}

/* A copy of a DATA message's row, in the context of received rows. */
static MinimalTuple
message_row(Subscriber *sub, SubscriptionMessage *msg, Size len)
{
	Size		tlen = len - MAXALIGN(sizeof(SubscriptionMessage));
	MinimalTuple tuple = MemoryContextAlloc(sub->data_context, tlen);

	memcpy(tuple, (char *) msg + MAXALIGN(sizeof(SubscriptionMessage)), tlen);
	return tuple;
}

static void
handle_message(Subscriber *sub, SubscriptionMessage *msg, Size len)
{
	MemoryContext old;

	switch (msg->kind)
	{
		case SUBMSG_HYDRATED:
			/* a query's first rows come at H, its since */
			set_as_of(sub, msg->ts, msg->ts, msg->ts + 1);
			break;
		case SUBMSG_DATA:
			if (SeenXidsSaw(&sub->seen, msg->xid))
				break;
			if (!sub->emitted && msg->ts <= sub->as_of)
			{
				old = MemoryContextSwitchTo(sub->data_context);
				ZSetAdd(&sub->rows, message_row(sub, msg, len), msg->diff);
				MemoryContextSwitchTo(old);
				break;
			}
			if (!sub->emitted)
			{
				sub->progress = Max(sub->progress, sub->as_of + 1);
				maybe_emit_snapshot(sub);
			}
			if (sub->batch_ts != msg->ts)
				finish_batch(sub);
			sub->batch_ts = msg->ts;
			old = MemoryContextSwitchTo(sub->data_context);
			ZSetAdd(&sub->batch, message_row(sub, msg, len), msg->diff);
			MemoryContextSwitchTo(old);
			break;
		case SUBMSG_PROGRESS:
			sub->progress = Max(sub->progress, msg->ts);
			if (!sub->emitted)
				maybe_emit_snapshot(sub);
			if (sub->emitted)
			{
				finish_batch(sub);
				emit_progress(sub, sub->progress);
			}
			break;
		default:
			elog(ERROR, "unexpected subscription message \"%c\"", msg->kind);
	}
	if (sub->emitted && sub->opts.has_up_to && sub->progress >= sub->opts.up_to)
		sub->done = true;
}

/*
 * Receive until want rows are ready, or the queue is empty and some rows
 * are ready and everything before target was received (0: no target), or
 * the subscription is done, or timeout_ms passes (-1: no timeout).  Honors
 * cancel.
 */
static void
pump(Subscriber *sub, int want, XLogRecPtr target, long timeout_ms)
{
	TimestampTz start = GetCurrentTimestamp();

	/* the rows handed out before were sent on */
	if (sub->ready == NIL)
		MemoryContextReset(sub->ready_context);
	maybe_emit_snapshot(sub);
	while (list_length(sub->ready) < want && !sub->done)
	{
		Size		len;
		void	   *data;
		shm_mq_result res = shm_mq_receive(sub->mqh, &len, &data, true);
		long		wait = SUBSCRIBER_CHECK_MS;
		TimestampTz now;

		if (res == SHM_MQ_SUCCESS)
		{
			handle_message(sub, data, len);
			/* past up_to: the worker can stop sending */
			if (sub->done)
				release(sub);
			continue;
		}
		if (res == SHM_MQ_DETACHED)
			report_end(sub);
		/* nothing more queued: once caught up with target, do not wait */
		if (sub->ready != NIL && sub->emitted && sub->progress > target)
			break;

		now = GetCurrentTimestamp();
		if (timeout_ms >= 0)
		{
			long		left = timeout_ms - (long) ((now - start) / 1000);

			if (left <= 0)
				break;
			wait = Min(wait, left);
		}
		if (now - sub->last_check >= SUBSCRIBER_CHECK_MS * INT64CONST(1000))
		{
			check_sources(sub);
			sub->last_check = now;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static HeapTuple
next_ready(Subscriber *sub)
{
	HeapTuple	tuple;

	if (sub->ready == NIL)
		return NULL;
	tuple = linitial(sub->ready);
	sub->ready = list_delete_first(sub->ready);
	return tuple;
}

/* --- SQL functions ------------------------------------------------------- */

static void
subscriber_context_reset(void *arg)
{
	subscriber_close((Subscriber *) arg);
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
		sub = subscriber_open(&opts);
		funcctx->user_fctx = sub;
		cb = MemoryContextAlloc(funcctx->multi_call_memory_ctx, sizeof(MemoryContextCallback));
		cb->func = subscriber_context_reset;
		cb->arg = sub;
		MemoryContextRegisterResetCallback(funcctx->multi_call_memory_ctx, cb);
	}
	funcctx = SRF_PERCALL_SETUP();
	sub = funcctx->user_fctx;
	pump(sub, 1, InvalidXLogRecPtr, -1);
	tuple = next_ready(sub);
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
	sub = subscriber_open(&opts);
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
			pump(sub, max_rows,
				 coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE ?
				 OracleReadTimestamp() : InvalidXLogRecPtr,
				 timeout_ms);
		funcctx->user_fctx = sub;
		funcctx->max_calls = Min(list_length(sub->ready), max_rows);
	}
	funcctx = SRF_PERCALL_SETUP();
	sub = funcctx->user_fctx;
	if (funcctx->call_cntr >= funcctx->max_calls || (tuple = next_ready(sub)) == NULL)
		SRF_RETURN_DONE(funcctx);
	SRF_RETURN_NEXT(funcctx, HeapTupleGetDatum(tuple));
}

/* coordinator.subscribe_close(id) RETURNS void */
Datum
coordinator_subscribe_close(PG_FUNCTION_ARGS)
{
	Subscriber *sub = find_polling(PG_GETARG_INT64(0));

	polling_subscribers = list_delete_ptr(polling_subscribers, sub);
	subscriber_close(sub);
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
		values[3] = CStringGetTextDatum(OidIsValid(slot.relid) ? "materialized-view" : "query");
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
