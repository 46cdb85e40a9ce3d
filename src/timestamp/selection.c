/*-------------------------------------------------------------------------
 *
 * selection.c
 *	  The frontiers of a read's inputs and the choice of its timestamp, as
 *	  in Materialize's timestamp selection.
 *
 * The inputs of a read are the maintained views it reads.  What a
 * statement reads of a view is what its snapshot sees: the contents the
 * view's last worker transaction wrote, or the previous contents if the
 * snapshot sees only the transaction that wrote those (the worker records
 * both in the directory before it commits, see shmem.h).  Their interval
 * of validity is the input's [since, upper).  A snapshot older than both
 * (taken before a wait during which the worker committed twice) reads
 * contents whose interval is no longer known: the input is stale, and the
 * reader takes a new snapshot (reads.c).
 *
 *	strict serializable: query timestamp = max(oracle read timestamp, since)
 *	serializable:        query timestamp = max(since, upper - 1), the freshest
 *
 * A read can respond immediately iff the query timestamp is below upper.
 * Tables read directly are not inputs: Postgres reads them at the
 * statement's snapshot, always current.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xlog.h"
#include "storage/procarray.h"
#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

XLogRecPtr	SessionLastReadTimestamp = InvalidXLogRecPtr;
XLogRecPtr	LastReadTimestamp = InvalidXLogRecPtr;

/*
 * Does the snapshot see what transaction xid wrote?  A worker transaction
 * that aborted ends its process, whose successor writes the directory
 * anew, so one older than every running transaction is taken as committed
 * (its commit log may be gone after a long idle time).
 */
static bool
xid_visible(TransactionId xid, Snapshot snapshot)
{
	if (!TransactionIdIsValid(xid))
		return true;
	if (XidInMVCCSnapshot(xid, snapshot))
		return false;
	if (TransactionIdPrecedes(xid, snapshot->xmin))
		return true;
	return TransactionIdDidCommit(xid);
}

/*
 * The frontiers of each view in relids, as a reader with this snapshot
 * sees them.
 */
TimestampDetermination *
TimestampInputs(List *relids, Snapshot snapshot)
{
	TimestampDetermination *det = palloc0(sizeof(TimestampDetermination));
	ListCell   *lc;
	int			i = 0;

	det->ninputs = list_length(relids);
	det->inputs = palloc0(sizeof(TimestampInput) * Max(det->ninputs, 1));
	foreach(lc, relids)
	{
		TimestampInput *in = &det->inputs[i++];
		CoordinatorView *entry;
		TransactionId last_xid = InvalidTransactionId;
		TransactionId prev_xid = InvalidTransactionId;
		XLogRecPtr	since = InvalidXLogRecPtr;
		XLogRecPtr	upper = InvalidXLogRecPtr;
		XLogRecPtr	prev_since = InvalidXLogRecPtr;
		XLogRecPtr	prev_upper = InvalidXLogRecPtr;
		XLogRecPtr	history_since = InvalidXLogRecPtr;

		in->relid = lfirst_oid(lc);
		in->state = VIEW_FREE;
		LWLockAcquire(Coordinator->lock, LW_SHARED);
		entry = CoordinatorFindView(in->relid);
		if (entry != NULL)
		{
			in->state = entry->state;
			in->worker = entry->worker;
			upper = pg_atomic_read_u64(&entry->upper);
			since = entry->since;
			last_xid = entry->last_xid;
			prev_xid = entry->prev_xid;
			prev_since = entry->prev_since;
			prev_upper = entry->prev_upper;
			history_since = entry->history_since;
		}
		LWLockRelease(Coordinator->lock);

		if (in->state != VIEW_READY || upper == InvalidXLogRecPtr)
			continue;
		if (xid_visible(last_xid, snapshot))
		{
			/* upper is published after the commit: since may be ahead */
			in->since = since;
			in->upper = Max(upper, since) + 1;
		}
		else if (prev_upper != InvalidXLogRecPtr && xid_visible(prev_xid, snapshot))
		{
			in->since = prev_since;
			in->upper = prev_upper + 1;
		}
		else
			in->old_snapshot = true;
		/* history reaches back from the contents (history.c) */
		in->history_since = history_since != InvalidXLogRecPtr ?
			Min(history_since, in->since) : in->since;
	}
	det->wall = GetCurrentTimestamp();
	return det;
}

/* Choose the query timestamp from the inputs' frontiers. */
void
TimestampDetermine(TimestampDetermination *det, bool strict, XLogRecPtr oracle)
{
	det->strict = strict;
	det->oracle = strict ? oracle : InvalidXLogRecPtr;
	det->since = InvalidXLogRecPtr;
	det->upper = InvalidXLogRecPtr;
	for (int i = 0; i < det->ninputs; i++)
	{
		TimestampInput *in = &det->inputs[i];

		det->since = Max(det->since, in->since);
		if (i == 0 || in->upper < det->upper)
			det->upper = in->upper;
	}

	if (det->ninputs == 0)
	{
		/* only tables: read at the present */
		det->chosen = strict ? oracle : GetFlushRecPtr(NULL);
		det->respond_immediately = true;
		return;
	}
	if (strict)
		det->chosen = Max(oracle, det->since);
	else
		det->chosen = det->upper > 0 ? Max(det->since, det->upper - 1) : det->since;
	det->respond_immediately = det->upper > 0 && det->chosen < det->upper;
}

/*
 * The one time at which a strict read at target reads every input: the
 * latest of target and the inputs' since.  The contents of one view may be
 * newer than target (a change committed while the read waited, applied
 * first, or by another worker) while those of another are not yet: the
 * read must then wait for the second to reach the first's time too.
 */
XLogRecPtr
TimestampCommonTime(TimestampDetermination *det, XLogRecPtr target)
{
	XLogRecPtr	common = target;

	for (int i = 0; i < det->ninputs; i++)
		common = Max(common, det->inputs[i].since);
	return common;
}

/* The dataflow workers that maintain the inputs: a bit per worker index. */
uint32
TimestampInputWorkers(TimestampDetermination *det)
{
	uint32		workers = 0;

	for (int i = 0; i < det->ninputs; i++)
		if (det->inputs[i].worker >= 0 && det->inputs[i].worker < 32)
			workers |= UINT32_C(1) << det->inputs[i].worker;
	return workers;
}

/*
 * Is there an input whose contents do not reflect every commit ending at
 * or before target?  Sets *relid to the first one.
 */
bool
TimestampStaleInput(TimestampDetermination *det, XLogRecPtr target, Oid *relid)
{
	for (int i = 0; i < det->ninputs; i++)
	{
		if (det->inputs[i].upper <= target)
		{
			*relid = det->inputs[i].relid;
			return true;
		}
	}
	return false;
}
