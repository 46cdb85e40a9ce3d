/*-------------------------------------------------------------------------
 *
 * compaction.c
 *	  Compaction of the views' history (coordinator.history) past each
 *	  view's retain_history, never past a granted read hold (holds.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "worker_internal.h"

/*
 * Compaction of one view's history, in its own transaction: delete the
 * changes older than its retain_history that no read hold needs, and move
 * its since to the latest of them.  The holds are checked again under the
 * lock just before since moves: a hold granted while the changes were
 * being deleted (against the old since) aborts the compaction, so a
 * granted hold is never compacted away (holds.c).
 */
static void
compact_view(DataflowView *view, TimestampTz now)
{
	CoordinatorView *entry;
	XLogRecPtr	hold;
	int64		retain_ms;
	XLogRecPtr	since = InvalidXLogRecPtr;
	TimestampTz since_wall = 0;
	TimestampTz oldest_wall;
	bool		publish_since;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	entry = CoordinatorFindView(view->relid);
	retain_ms = entry != NULL ? entry->retain_ms : 0;
	hold = ReadHoldsMinimum(view->relid);
	LWLockRelease(Coordinator->lock);
	/* a window longer than the time since 2000 keeps everything */
	if (entry == NULL || retain_ms > now / 1000 ||
		view->oldest_wall >= now - retain_ms * INT64CONST(1000))
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	if (!HistoryCompact(view->relid, hold, now - retain_ms * INT64CONST(1000),
						&since, &since_wall, &oldest_wall))
	{
		/* held back: try again once the hold is gone */
		PopActiveSnapshot();
		AbortCurrentTransaction();
		view->oldest_wall = oldest_wall;
		return;
	}
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(view->relid);
	publish_since = entry != NULL && ReadHoldsMinimum(view->relid) >= since;
	if (publish_since && since > entry->history_since)
	{
		entry->history_since = since;
		entry->history_since_wall = since_wall;
	}
	LWLockRelease(Coordinator->lock);
	PopActiveSnapshot();
	if (publish_since)
	{
		CommitTransactionCommand();
		view->oldest_wall = oldest_wall;
	}
	else
		AbortCurrentTransaction();
}

/* Compact the history of every view that has changes past its window. */
void
WorkerCompactViews(void)
{
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->failed && !view->dropped &&
			!view->catching_up && view->oldest_wall != 0)
			compact_view(view, now);
	}
}
