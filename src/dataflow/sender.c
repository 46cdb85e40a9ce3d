/*-------------------------------------------------------------------------
 *
 * sender.c
 *	  The dataflow worker's side of subscriptions.
 *
 * Between ticks the worker attaches to the subscriptions requested of it
 * (SendersService): for a maintained view it only starts sending; for a
 * query it builds a transient dataflow and hydrates it.  During a tick
 * each view's consolidated change is collected (SendersCollect), transient
 * dataflows run on the tick's changes (SendersApplyTransients), and once
 * the tick's transaction has committed the changes are queued as DATA
 * messages at the tick's timestamp (SendersCommitted), followed by a
 * PROGRESS message at the new upper (SendersProgress).
 *
 * Sending never blocks the worker: what the queue cannot take waits in the
 * worker's memory and goes out when the subscriber has read (its reads set
 * our latch).  A subscription whose waiting messages pass its buffer limit
 * is ended with an error, so a slow subscriber costs bounded memory and
 * never holds the dataflow back.
 *
 * A query's transient dataflow runs with the subscriber's rights, as a
 * maintained view runs with its owner's (privileges.c): as the
 * role that opened the subscription, in a security-restricted operation,
 * with the worker's search_path.  The subscriber's rights are checked at
 * the hydration and again whenever rights may have changed
 * (SendersCheckRights); a lost right ends the subscription with 42501.
 *
 * A query's transient dataflow is hydrated between ticks at a consistent
 * cut (cut.c): fed under a snapshot S, then only the changes S
 * did not see.  Its rows are sent at the cut's time H; the subscriber
 * merges the changes decoded up to H into them, which makes the snapshot
 * exactly the state at H (subscribe/subscriber.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "storage/procarray.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "coordinator/subscriptions.h"
#include "worker_internal.h"

/* A message waiting for room in the queue. */
typedef struct Outgoing
{
	struct Outgoing *next;
	Size		len;
	char		data[FLEXIBLE_ARRAY_MEMBER];
} Outgoing;

typedef struct Sender
{
	uint64		id;
	Oid			relid;			/* view; InvalidOid: transient dataflow */
	MemoryContext context;		/* everything below */
	dsm_segment *seg;
	shm_mq_handle *mqh;
	Outgoing   *head;			/* waiting messages, oldest first */
	Outgoing   *tail;
	int64		waiting;		/* their bytes */
	int64		max_buffer;
	Outgoing   *tick_head;		/* this tick's change, until it commits */
	Outgoing   *tick_tail;
	int64		tick_bytes;
	bool		gone;			/* detach at the next service */

	/* a transient dataflow */
	Oid			userid;			/* runs as the subscriber */
	List	   *rtes;			/* the relations its query names */
	Dataflow   *df;
	AttrNumber *columns;
	TupleDesc	desc;
	TupleTableSlot *root;
	TupleTableSlot *row;
	XLogRecPtr	hydrated_at;	/* H, see above */
	SeenXids	seen;			/* S: skip what it saw, until upper >= H */
} Sender;

static List *senders = NIL;
static MemoryContext senders_context = NULL;

static void
senders_init(void)
{
	if (senders_context != NULL)
		return;
	senders_context = AllocSetContextCreate(TopMemoryContext,
											"coordinator subscriptions",
											ALLOCSET_DEFAULT_SIZES);
}

static void end_for_buffer(Sender *s);

/* A message, allocated in the sender's memory. */
static Outgoing *
make_message(Sender *s, char kind, TransactionId xid, XLogRecPtr ts, int64 diff,
			 MinimalTuple tuple)
{
	Size		tlen = tuple != NULL ? tuple->t_len : 0;
	Outgoing   *out = MemoryContextAlloc(s->context, offsetof(Outgoing, data) +
										 MAXALIGN(sizeof(SubscriptionMessage)) + tlen);
	SubscriptionMessage msg;

	msg.kind = kind;
	msg.xid = xid;
	msg.ts = ts;
	msg.diff = diff;
	memcpy(out->data, &msg, sizeof(msg));
	if (tuple != NULL)
		memcpy(out->data + MAXALIGN(sizeof(SubscriptionMessage)), tuple, tlen);
	out->len = MAXALIGN(sizeof(SubscriptionMessage)) + tlen;
	out->next = NULL;
	return out;
}

/* Queue a message for the subscriber; true if the buffer limit allows. */
static bool
enqueue(Sender *s, char kind, TransactionId xid, XLogRecPtr ts, int64 diff,
		MinimalTuple tuple)
{
	Outgoing   *out;

	/* progress supersedes a progress that is still waiting */
	if (kind == SUBMSG_PROGRESS && s->tail != NULL &&
		((SubscriptionMessage *) s->tail->data)->kind == SUBMSG_PROGRESS)
	{
		((SubscriptionMessage *) s->tail->data)->ts = ts;
		return true;
	}
	out = make_message(s, kind, xid, ts, diff, tuple);
	if (s->tail != NULL)
		s->tail->next = out;
	else
		s->head = out;
	s->tail = out;
	s->waiting += out->len;
	return s->waiting <= s->max_buffer;
}

/*
 * RowDeltaForEach callback during a tick: a changed row, as a message whose
 * timestamp and transaction are set when the tick commits.
 */
static void
collect_row(void *arg, MinimalTuple row, int64 weight)
{
	Sender	   *s = arg;
	Outgoing   *out = make_message(s, SUBMSG_DATA, InvalidTransactionId,
								   InvalidXLogRecPtr, weight, row);

	if (s->tick_tail != NULL)
		s->tick_tail->next = out;
	else
		s->tick_head = out;
	s->tick_tail = out;
	s->tick_bytes += out->len;
}

/* RowDeltaForEach callback at hydration: a row at the cut's time. */
static void
enqueue_hydrated_row(void *arg, MinimalTuple row, int64 weight)
{
	Sender	   *s = arg;

	if (!s->gone && !enqueue(s, SUBMSG_DATA, InvalidTransactionId, s->hydrated_at,
							 weight, row))
		end_for_buffer(s);
}

/* Record in the subscription's slot why the worker ends it. */
static void
end_subscription(Sender *s, int code, const char *message)
{
	CoordinatorSubscription *sub;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	sub = SubscriptionFind(s->id);
	if (sub != NULL)
		SubscriptionEnd(sub, code, message);
	LWLockRelease(Coordinator->lock);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);
	s->gone = true;
}

static void
end_for_buffer(Sender *s)
{
	end_subscription(s, ERRCODE_CONFIGURATION_LIMIT_EXCEEDED,
					 psprintf("subscriber fell behind: more than %lld kB of changes waited to be read",
							  (long long) (s->max_buffer / 1024)));
}

/* Send what the queue takes now; detects a subscriber that went away. */
static void
flush(Sender *s)
{
	while (s->head != NULL && !s->gone)
	{
		Outgoing   *out = s->head;
		shm_mq_result res;

		res = shm_mq_send(s->mqh, out->len, out->data, true, out->next == NULL);
		if (res == SHM_MQ_WOULD_BLOCK)
			break;
		if (res == SHM_MQ_DETACHED)
		{
			s->gone = true;
			break;
		}
		s->head = out->next;
		if (s->head == NULL)
			s->tail = NULL;
		s->waiting -= out->len;
		pfree(out);
	}
}

static void
drop_sender(Sender *s)
{
	if (s->mqh != NULL)
		shm_mq_detach(s->mqh);
	if (s->seg != NULL)
		dsm_detach(s->seg);
	MemoryContextDelete(s->context);
	senders = list_delete_ptr(senders, s);
	pfree(s);
}

/*
 * Build and hydrate the transient dataflow of a query subscription (see
 * the top of the file), then queue its rows.  Runs in its own transaction;
 * an error ends the subscription, not the worker.
 */
static void
hydrate_transient(Sender *s, const char *plan_text)
{
	MemoryContext old = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		PlannedStmt *plan;
		Snapshot	snap;
		int			ncolumns;
		RowDelta   *delta;
		char	   *denied;
		DataflowSavedUser saved;

		snap = CutTakeSnapshot(&s->hydrated_at);

		MemoryContextSwitchTo(s->context);
		SeenXidsCopy(&s->seen, snap, s->context);
		plan = CompiledPlanFromString(plan_text);
		s->rtes = (List *) stringToNode(plan_text + strlen(plan_text) + 1);
		s->desc = ExecCleanTypeFromTL(plan->planTree->targetlist);
		MemoryContextSwitchTo(old);

		/* the subscriber's code runs with the subscriber's rights */
		DataflowBecomeUser(s->userid, &saved);
		MemoryContextSwitchTo(s->context);
		s->df = DataflowCreate(InvalidOid, plan, s->context);
		s->columns = DataflowResultColumns(s->df, &ncolumns);
		s->root = MakeSingleTupleTableSlot(s->df->root->desc, &TTSOpsMinimalTuple);
		s->row = MakeSingleTupleTableSlot(s->desc, &TTSOpsVirtual);
		MemoryContextSwitchTo(old);

		/* which must still allow what the query reads */
		denied = DataflowCheckUserRights(s->userid, s->rtes, s->df->sources);
		if (denied != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg_internal("%s", denied)));

		DataflowBeginTick(s->df);
		if (!DataflowFeedSources(s->df))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("a table the subscription reads was dropped")));
		delta = RowDeltaCreate(s->desc, CurrentMemoryContext);
		DataflowProject(DataflowRun(s->df), s->columns, s->root, s->row, delta);
		DataflowRestoreUser(&saved);
		if (!enqueue(s, SUBMSG_HYDRATED, InvalidTransactionId, s->hydrated_at, 0, NULL))
			end_for_buffer(s);
		RowDeltaForEach(delta, enqueue_hydrated_row, s);
		RowDeltaFree(delta);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		MemoryContextSwitchTo(old);
		end_subscription(s, edata->sqlerrcode, edata->message);
		FreeErrorData(edata);
	}
	PG_END_TRY();
}

/* Attach to a requested subscription; NULL if its subscriber is gone. */
static Sender *
attach(CoordinatorSubscription *sub)
{
	dsm_segment *seg = dsm_attach(sub->handle);
	SubscriptionSegment *header;
	shm_mq	   *mq;
	Sender	   *s;
	MemoryContext old;

	if (seg == NULL)
		return NULL;
	dsm_pin_mapping(seg);
	header = dsm_segment_address(seg);
	mq = (shm_mq *) ((char *) header + header->queue_offset);
	shm_mq_set_sender(mq, MyProc);

	s = MemoryContextAllocZero(senders_context, sizeof(Sender));
	s->id = sub->id;
	s->relid = sub->relid;
	s->userid = sub->userid;
	s->max_buffer = sub->max_buffer;
	s->seg = seg;
	s->context = AllocSetContextCreate(senders_context, "coordinator subscription",
									   ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(s->context);
	s->mqh = shm_mq_attach(mq, seg, NULL);
	MemoryContextSwitchTo(old);
	senders = lappend(senders, s);
	return s;
}

/*
 * Between ticks: attach to the subscriptions requested of this worker,
 * send what waits, and let go of subscriptions that ended.  views: the
 * OIDs of the views this worker maintains and that are healthy.
 */
void
SendersService(int worker, List *views)
{
	List	   *requests = NIL;
	ListCell   *lc;

	senders_init();

	/* the requests for this worker, read under one lock */
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = SubscriptionSlot(i);

		if (sub->state == SUBSCRIPTION_REQUESTED && sub->worker == worker)
		{
			CoordinatorSubscription *copy = palloc(sizeof(CoordinatorSubscription));

			*copy = *sub;
			requests = lappend(requests, copy);
		}
	}
	LWLockRelease(Coordinator->lock);

	foreach(lc, requests)
	{
		CoordinatorSubscription *request = lfirst(lc);
		CoordinatorSubscription *sub;
		Sender	   *s = attach(request);

		if (s == NULL)
			continue;
		if (OidIsValid(s->relid) && !list_member_oid(views, s->relid))
			end_subscription(s, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
							 "the maintained view is not running on its dataflow worker");
		else if (!OidIsValid(s->relid))
		{
			SubscriptionSegment *header = dsm_segment_address(s->seg);

			hydrate_transient(s, header->plan);
		}

		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		sub = SubscriptionFind(s->id);
		if (sub == NULL)
			s->gone = true;		/* the subscriber left meanwhile */
		else if (sub->state == SUBSCRIPTION_REQUESTED)
			sub->state = SUBSCRIPTION_ATTACHED;
		LWLockRelease(Coordinator->lock);
		ConditionVariableBroadcast(&Coordinator->frontier_cv);
	}
	list_free_deep(requests);

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);
		CoordinatorSubscription *sub;

		/* a view the worker no longer maintains (dropped, or failed) */
		if (OidIsValid(s->relid) && !s->gone && !list_member_oid(views, s->relid))
			end_subscription(s, ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE,
							 "the maintained view is no longer maintained");
		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		sub = SubscriptionFind(s->id);
		if (sub == NULL || sub->state == SUBSCRIPTION_ENDED)
			s->gone = true;
		else
			sub->buffered = s->waiting;
		LWLockRelease(Coordinator->lock);
		flush(s);
	}

	/* let go of the ended ones */
	for (;;)
	{
		Sender	   *gone = NULL;

		foreach(lc, senders)
		{
			if (((Sender *) lfirst(lc))->gone)
				gone = lfirst(lc);
		}
		if (gone == NULL)
			break;
		drop_sender(gone);
	}
}

/* Is some subscriber attached to this worker? */
bool
SendersAttached(void)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		if (!((Sender *) lfirst(lc))->gone)
			return true;
	}
	return false;
}

/* During a tick: the consolidated change of view relid, as written. */
void
SendersCollect(Oid relid, RowDelta *delta)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);

		if (s->relid == relid && !s->gone)
			RowDeltaForEach(delta, collect_row, s);
	}
}

/* Is a query subscription's dataflow (a transient one) running here? */
bool
SendersHaveTransients(void)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);

		if (s->df != NULL && !s->gone)
			return true;
	}
	return false;
}

/* The tables the transient dataflows read, to be captured. */
List *
SendersTransientSources(void)
{
	List	   *sources = NIL;
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);

		if (s->df != NULL)
			sources = list_concat_unique_oid(sources, s->df->sources);
	}
	return sources;
}

/* One transient dataflow's tick; see SendersApplyTransients. */
typedef struct TransientTick
{
	Sender	   *sender;
	List	   *changes;
} TransientTick;

static void
transient_tick(void *arg)
{
	TransientTick *tick = arg;
	Sender	   *s = tick->sender;
	ListCell   *lc;
	RowDelta   *delta;
	const char *error;
	int			code = 0;
	DataflowSavedUser saved;

	DataflowBecomeUser(s->userid, &saved);
	DataflowBeginTick(s->df);
	foreach(lc, tick->changes)
	{
		CapturedChange *c = lfirst(lc);

		if (!list_member_oid(s->df->sources, c->relid))
			continue;
		if (SeenXidsSaw(&s->seen, c->xid))
			continue;
		if (c->oldtuple != NULL)
			DataflowPush(s->df, c->relid, c->oldtuple, -1);
		if (c->newtuple != NULL)
			DataflowPush(s->df, c->relid, c->newtuple, 1);
	}
	delta = RowDeltaCreate(s->desc, CurrentMemoryContext);
	DataflowProject(DataflowRun(s->df), s->columns, s->root, s->row, delta);
	DataflowRestoreUser(&saved);
	RowDeltaForEach(delta, collect_row, s);
	RowDeltaFree(delta);
	error = DataflowError(s->df, &code);
	if (error != NULL)
		end_subscription(s, code, error);
}

/*
 * Rights may have changed (a REVOKE, a lost membership, row-level security
 * enabled): check each transient dataflow's subscriber again, and end the
 * subscriptions whose subscriber may no longer read what they read.  In a
 * transaction.
 */
void
SendersCheckRights(void)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);
		char	   *denied;

		if (s->df == NULL || s->gone)
			continue;
		denied = DataflowCheckUserRights(s->userid, s->rtes, s->df->sources);
		if (denied != NULL)
			end_subscription(s, ERRCODE_INSUFFICIENT_PRIVILEGE, denied);
	}
}

/*
 * During a tick, in its transaction: run each transient dataflow on the
 * tick's changes (those its hydration snapshot did not see), collecting
 * its change.  A data error or an ERROR ends that subscription.
 */
void
SendersApplyTransients(List *changes, XLogRecPtr upper)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);
		TransientTick tick = {s, changes};
		ErrorData  *edata;

		if (s->df == NULL || s->gone)
			continue;
		edata = DataflowTrySubtransaction(transient_tick, &tick);
		if (edata != NULL)
		{
			end_subscription(s, edata->sqlerrcode, edata->message);
			FreeErrorData(edata);
		}

		/* past H the snapshot saw nothing that is still to be decoded */
		if (upper >= s->hydrated_at && s->seen.xip != NULL)
		{
			pfree(s->seen.xip);
			s->seen.xip = NULL;
		}
	}
}

/*
 * The tick's transaction committed (xid, InvalidTransactionId if it wrote
 * nothing): queue the collected changes at timestamp ts.
 */
void
SendersCommitted(TransactionId xid, XLogRecPtr ts)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);

		if (s->tick_head == NULL)
			continue;
		for (Outgoing *out = s->tick_head; out != NULL; out = out->next)
		{
			SubscriptionMessage *msg = (SubscriptionMessage *) out->data;

			msg->ts = ts;
			msg->xid = OidIsValid(s->relid) ? xid : InvalidTransactionId;
		}
		if (s->tail != NULL)
			s->tail->next = s->tick_head;
		else
			s->head = s->tick_head;
		s->tail = s->tick_tail;
		s->waiting += s->tick_bytes;
		s->tick_head = s->tick_tail = NULL;
		s->tick_bytes = 0;
		if (!s->gone && s->waiting > s->max_buffer)
			end_for_buffer(s);
	}
}

/*
 * After a tick: every change up to upper was sent.  Also ends the
 * subscriptions of views that now have a data error, as reads of them
 * would fail.
 */
void
SendersProgress(XLogRecPtr upper)
{
	ListCell   *lc;

	foreach(lc, senders)
	{
		Sender	   *s = lfirst(lc);
		char		error[VIEW_ERROR_LEN] = "";
		int			code = 0;

		if (s->gone)
			continue;
		if (OidIsValid(s->relid))
		{
			CoordinatorView *entry;

			LWLockAcquire(Coordinator->lock, LW_SHARED);
			entry = CoordinatorFindView(s->relid);
			if (entry != NULL && entry->error[0] != '\0')
			{
				strlcpy(error, entry->error, sizeof(error));
				code = entry->state == VIEW_FAILED ? ERRCODE_INTERNAL_ERROR : entry->error_code;
			}
			LWLockRelease(Coordinator->lock);
		}
		if (error[0] != '\0')
		{
			end_subscription(s, code, error);
			continue;
		}
		if (!enqueue(s, SUBMSG_PROGRESS, InvalidTransactionId, upper + 1, 0, NULL))
			end_for_buffer(s);
		else
		{
			LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
			{
				CoordinatorSubscription *sub = SubscriptionFind(s->id);

				if (sub != NULL)
					sub->progress = upper + 1;
			}
			LWLockRelease(Coordinator->lock);
			flush(s);
		}
	}
}
