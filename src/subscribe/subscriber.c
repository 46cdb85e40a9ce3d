/*-------------------------------------------------------------------------
 *
 * subscriber.c
 *	  The subscriber's side of SUBSCRIBE, in the client's backend: a
 *	  subscription's life, from its request to a worker to its end.  The
 *	  SQL functions are in functions.c, targets in target.c, the output
 *	  rows in emit.c.
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

#include "access/table.h"
#include "access/tableam.h"
#include "funcapi.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/acl.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "coordinator/coordinator.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "subscriber_internal.h"

static bool exit_callback_registered = false;

/* as_of past up_to is an error (as Materialize's, 22000). */
void
SubscribeCheckBounds(XLogRecPtr as_of, XLogRecPtr up_to)
{
	if (as_of > up_to)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_EXCEPTION),
				 errmsg("subscription lower bound (as_of) is greater than its upper bound (up_to): %llu > %llu",
						(unsigned long long) as_of, (unsigned long long) up_to)));
}

/* Free the slot and the queue.  Safe during abort and twice. */
void
SubscriberRelease(Subscriber *sub)
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
void
SubscriberCheckSources(Subscriber *sub)
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
void
SubscriberReportEnd(Subscriber *sub)
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

	SubscriberCheckSources(sub);
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
			SubscriberReportEnd(sub);
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
void
SubscriberSetAsOf(Subscriber *sub, XLogRecPtr history_since, XLogRecPtr since,
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
		SubscribeCheckBounds(sub->as_of, sub->opts.up_to);
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
	SubscriberSetAsOf(sub, det->inputs[0].history_since, det->inputs[0].since,
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
Subscriber *
SubscriberOpen(SubscribeOptions *opts)
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
		old = MemoryContextSwitchTo(context);
		sub->opts = *opts;
		sub->opts.target = pstrdup(opts->target);
		sub->opts.keys = copyObject(opts->keys);
		SubscribeResolveTarget(opts->target, &sub->target);
		sub->outdesc = BlessTupleDesc(SubscribeOutputDesc(sub->target.rowdesc, opts->progress, opts->keys));
		sub->nkeys = list_length(opts->keys);
		sub->keys = SubscribeKeyColumns(sub->target.rowdesc, opts->keys);
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
			Query	   *query = SubscribeAnalyzeQuery(sub->target.query);
			List	   *named = DataflowNamedRelations(query);
			CompiledView *compiled;
			ListCell   *lc;

			if (TemporalConditionsOf(query) != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("SUBSCRIBE to a query does not support temporal filters"),
						 errhint("Create a maintained view with the query and subscribe to the view.")));
			compiled = CompileView(query, sub->target.query, true, NIL);

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
			SubscriberRelease(sub);		/* as_of = up_to: nothing to receive */
	}
	PG_CATCH();
	{
		SubscriberRelease(sub);
		MemoryContextDelete(context);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return sub;
}

void
SubscriberClose(Subscriber *sub)
{
	SubscriberRelease(sub);
	MemoryContextDelete(sub->context);
}
