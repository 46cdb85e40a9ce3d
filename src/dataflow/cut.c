/*-------------------------------------------------------------------------
 *
 * cut.c
 *	  A consistent cut in a running worker: a snapshot from which a new
 *	  dataflow (a view created meanwhile, or a subscription's query) can be
 *	  hydrated while the worker goes on decoding.
 *
 * The worker has decoded every commit up to its upper U.  A new dataflow is
 * fed its sources under a fresh MVCC snapshot S and afterwards only the
 * changes of transactions S did not see (SeenXids).  That is exact when
 * every commit up to U is visible in S, i.e. when no transaction whose
 * commit was already decoded is still running in S (between writing its
 * commit record and leaving the proc array).  The worker remembers those
 * transactions (CutNoteDecoded) and takes S again while one of them is in
 * it.
 *
 * The cut's time H is the end of a WAL record written just after S (a
 * logical message, which the output plugin ignores): every commit S sees
 * ends before H.  Once decoding has passed H, the new dataflow holds the
 * state at the decoded position exactly: what S saw, plus every later
 * commit.  Writing the record also makes sure decoding reaches H without
 * waiting for other writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/message.h"
#include "storage/latch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "coordinator/dataflow.h"

/* How long to retry while a decoded transaction is still in a snapshot. */
#define CUT_MAX_TRIES 10000

static List *window_xids = NIL; /* decoded, maybe still in the proc array */
static MemoryContext cut_context = NULL;

/*
 * After a tick, outside a transaction: xids are the transactions whose
 * commits it decoded.  Keep those still in the proc array.
 */
void
CutNoteDecoded(List *xids)
{
	List	   *keep = NIL;
	List	   *all;
	ListCell   *lc;
	Snapshot	snap;
	MemoryContext old;

	if (xids == NIL && window_xids == NIL)
		return;
	if (cut_context == NULL)
		cut_context = AllocSetContextCreate(TopMemoryContext, "coordinator cut",
											ALLOCSET_SMALL_SIZES);
	StartTransactionCommand();
	snap = GetLatestSnapshot();
	old = MemoryContextSwitchTo(cut_context);
	all = list_concat_copy(window_xids, xids);
	foreach(lc, all)
	{
		if (XidInMVCCSnapshot((TransactionId) lfirst_int(lc), snap))
			keep = lappend_int(keep, lfirst_int(lc));
	}
	list_free(all);
	list_free(window_xids);
	window_xids = keep;
	MemoryContextSwitchTo(old);
	CommitTransactionCommand();
}

/* Is a transaction whose commit was already decoded still running in snap? */
static bool
misses_decoded(Snapshot snap)
{
	ListCell   *lc;

	foreach(lc, window_xids)
	{
		if (XidInMVCCSnapshot((TransactionId) lfirst_int(lc), snap))
			return true;
	}
	return false;
}

/*
 * In a READ COMMITTED transaction, between ticks: push as the active
 * snapshot a snapshot S that sees every decoded commit, and return it (a
 * copy that stays as it is until popped: later snapshots of the
 * transaction overwrite the one GetTransactionSnapshot returns); *h is the
 * cut's time H (see above).
 */
Snapshot
CutTakeSnapshot(XLogRecPtr *h)
{
	Snapshot	snap;

	/*
	 * The hydration opens source relations: drop cache entries the decoder
	 * may have built for them under historic snapshots (see WorkerTick in tick.c).
	 */
	InvalidateSystemCaches();

	for (int tries = 0;; tries++)
	{
		snap = GetTransactionSnapshot();
		if (!misses_decoded(snap))
			break;
		if (tries >= CUT_MAX_TRIES)
			elog(ERROR, "could not take a snapshot consistent with the decoded WAL");
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1L,
						 PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	*h = LogLogicalMessage("coordinator", "", 0, false);
	XLogFlush(*h);
	PushActiveSnapshot(snap);
	return GetActiveSnapshot();
}

/* Keep what snapshot saw, in context. */
void
SeenXidsCopy(SeenXids *seen, Snapshot snapshot, MemoryContext context)
{
	seen->xmin = snapshot->xmin;
	seen->xmax = snapshot->xmax;
	seen->xcnt = snapshot->xcnt;
	seen->xip = MemoryContextAlloc(context, sizeof(TransactionId) * Max(snapshot->xcnt, 1));
	memcpy(seen->xip, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
}

/*
 * Was the committed top-level transaction xid visible to the snapshot?
 * (A top-level xid running at the snapshot is in its xip.)
 */
bool
SeenXidsSaw(SeenXids *seen, TransactionId xid)
{
	if (!TransactionIdIsValid(xid) || seen->xip == NULL)
		return false;
	if (TransactionIdPrecedes(xid, seen->xmin))
		return true;
	if (TransactionIdFollowsOrEquals(xid, seen->xmax))
		return false;
	for (int i = 0; i < seen->xcnt; i++)
	{
		if (TransactionIdEquals(seen->xip[i], xid))
			return false;
	}
	return true;
}
