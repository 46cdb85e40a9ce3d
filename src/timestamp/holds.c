/*-------------------------------------------------------------------------
 *
 * holds.c
 *	  Read holds: what keeps a view's since from passing a time still read.
 *
 * Compaction (compaction.c, history.c) advances a view's since to the latest
 * change older than its retain_history, but never past a read hold:
 *
 *	- an AS OF read holds its time on the view until its transaction ends
 *	  (a later AS OF read in the same transaction finds the history there);
 *	- a REPEATABLE READ or SERIALIZABLE transaction holds its timestamp on
 *	  every view it read, until it ends;
 *	- a subscription holds its as_of until its snapshot went out, then the
 *	  time of its latest progress, until it ends.
 *
 * Session holds live in shared memory, HOLDS_PER_BACKEND per backend,
 * indexed by BackendId; they are released at transaction end (commit,
 * abort, which covers cancel) and at session exit.  Taking a hold and
 * checking it against since happen under Coordinator->lock, as does the
 * compaction's check of the holds before it publishes a new since, so a
 * hold that was granted is never compacted away.  Subscriptions' holds are
 * read from their slots (subscriptions.h).  coordinator.read_holds shows them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "storage/backendid.h"
#include "storage/ipc.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "coordinator/shmem.h"
#include "coordinator/subscriptions.h"
#include "coordinator/timestamp.h"

PG_FUNCTION_INFO_V1(coordinator_read_holds);

static bool holds_taken = false;	/* this backend may hold something */
static bool exit_callback_registered = false;

static ReadHold *
my_holds(void)
{
	Assert(MyBackendId != InvalidBackendId && MyBackendId <= MaxBackends);
	return &Coordinator->holds[(MyBackendId - 1) * HOLDS_PER_BACKEND];
}

static void
release_at_exit(int code, Datum arg)
{
	ReadHoldsRelease();
}

/*
 * Hold view relid at ts (a ReadHoldKind) until the transaction ends.
 * Returns false, holding nothing, if ts is before the view's since, which
 * goes to *since (also on success).  A backend that already holds
 * HOLDS_PER_BACKEND views takes no further hold: the read itself is
 * still correct (its snapshot keeps the history it reads), only a later
 * read in the transaction may then find the time compacted away.
 */
bool
ReadHoldAcquire(Oid relid, XLogRecPtr ts, int kind, XLogRecPtr *since)
{
	ReadHold   *holds;
	ReadHold   *free_hold = NULL;
	CoordinatorView *entry;

	if (MyBackendId == InvalidBackendId)
		elog(ERROR, "only a backend can hold a read");
	if (!exit_callback_registered)
	{
		before_shmem_exit(release_at_exit, 0);
		exit_callback_registered = true;
	}
	holds = my_holds();

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(relid);
	*since = entry != NULL ? entry->history_since : InvalidXLogRecPtr;
	if (entry == NULL || ts < entry->history_since)
	{
		LWLockRelease(Coordinator->lock);
		return false;
	}
	for (int i = 0; i < HOLDS_PER_BACKEND; i++)
	{
		ReadHold   *h = &holds[i];

		if (h->kind == READ_HOLD_FREE)
		{
			if (free_hold == NULL)
				free_hold = h;
			continue;
		}
		if (h->relid == relid && h->ts <= ts)
		{
			/* an earlier hold on the view covers this one */
			LWLockRelease(Coordinator->lock);
			return true;
		}
	}
	if (free_hold == NULL)
	{
		LWLockRelease(Coordinator->lock);
		return true;
	}
	free_hold->kind = (ReadHoldKind) kind;
	free_hold->pid = MyProcPid;
	free_hold->relid = relid;
	free_hold->ts = ts;
	holds_taken = true;
	LWLockRelease(Coordinator->lock);
	return true;
}

/* Release this backend's holds (transaction end, session exit). */
void
ReadHoldsRelease(void)
{
	ReadHold   *holds;

	if (!holds_taken || Coordinator == NULL || MyBackendId == InvalidBackendId)
		return;
	holds = my_holds();
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	for (int i = 0; i < HOLDS_PER_BACKEND; i++)
		holds[i].kind = READ_HOLD_FREE;
	LWLockRelease(Coordinator->lock);
	holds_taken = false;
}

/* What a subscription holds of its view: see the top of the file. */
static XLogRecPtr
subscription_hold(CoordinatorSubscription *sub)
{
	if (sub->progress > sub->as_of)
		return sub->progress - 1;
	return sub->as_of;
}

/*
 * The earliest time held on view relid (PG_UINT64_MAX if none).  The
 * caller holds Coordinator->lock.
 */
XLogRecPtr
ReadHoldsMinimum(Oid relid)
{
	XLogRecPtr	min = PG_UINT64_MAX;

	for (int i = 0; i < MaxBackends * HOLDS_PER_BACKEND; i++)
	{
		ReadHold   *h = &Coordinator->holds[i];

		if (h->kind != READ_HOLD_FREE && h->relid == relid)
			min = Min(min, h->ts);
	}
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = SubscriptionSlot(i);

		if (sub->state != SUBSCRIPTION_FREE && sub->state != SUBSCRIPTION_ENDED &&
			sub->relid == relid && sub->as_of != InvalidXLogRecPtr)
			min = Min(min, subscription_hold(sub));
	}
	return min;
}

static const char *
hold_kind_name(ReadHoldKind kind)
{
	return kind == READ_HOLD_AS_OF ? "as of read" : "transaction";
}

/*
 * coordinator.read_holds(): every read hold, of sessions and of
 * subscriptions: (pid, relid, kind, ts).
 */
Datum
coordinator_read_holds(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[4];
	bool		nulls[4] = {false};
	List	   *readable;

	InitMaterializedSRF(fcinfo, 0);
	readable = CoordinatorReadableViews();
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < MaxBackends * HOLDS_PER_BACKEND; i++)
	{
		ReadHold   *h = &Coordinator->holds[i];

		if (h->kind == READ_HOLD_FREE || !list_member_oid(readable, h->relid))
			continue;
		values[0] = Int32GetDatum(h->pid);
		values[1] = ObjectIdGetDatum(h->relid);
		values[2] = CStringGetTextDatum(hold_kind_name(h->kind));
		values[3] = Int64GetDatum((int64) h->ts);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = SubscriptionSlot(i);

		if (sub->state == SUBSCRIPTION_FREE || sub->state == SUBSCRIPTION_ENDED ||
			!OidIsValid(sub->relid) || sub->as_of == InvalidXLogRecPtr ||
			!list_member_oid(readable, sub->relid))
			continue;
		values[0] = Int32GetDatum(sub->pid);
		values[1] = ObjectIdGetDatum(sub->relid);
		values[2] = CStringGetTextDatum("subscription");
		values[3] = Int64GetDatum((int64) subscription_hold(sub));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Coordinator->lock);
	return (Datum) 0;
}
