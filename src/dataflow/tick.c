/*-------------------------------------------------------------------------
 *
 * tick.c
 *	  A tick of a dataflow worker: decode the WAL up to the flush pointer,
 *	  push the changes through the views' dataflows, write and publish.
 *
 * The views' changes are written cheapest view first, in transactions of
 * about TICK_SHARED_MS of work each (each view in a subtransaction, so one
 * view's failure does not stop the others); as each commits, its views are
 * published at upper = the decoded position with their data errors, and
 * waiting readers wake, so that a cheap view is current before an
 * expensive one is written.  A TRUNCATE of a source, or a change of its
 * columns, makes the worker exit (code 0): the coordinator starts a new
 * one, which rebuilds the dataflows from the tables, which is what a
 * TRUNCATE costs anyway.  Writes carry the worker's replication origin, so
 * they are never decoded back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgstat.h"
#include "storage/ipc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "worker_internal.h"

/*
 * After a tick that decoded catalog changes: has a source's layout
 * changed?  Then the worker exits, and the new one compiles and hydrates
 * its views for the new layout, as after a TRUNCATE.
 */
static void
restart_if_layout_changed(void)
{
	Oid			changed;
	MemoryContext old = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	changed = SourcesLayoutChanged();
	CommitTransactionCommand();
	MemoryContextSwitchTo(old);
	if (!OidIsValid(changed))
		return;
	ereport(LOG,
			(errmsg("coordinator dataflow worker %d restarts to rebuild its views after the columns of table %u changed",
					WorkerIndex, changed)));
	WorkerRecordExit("restarted to rebuild its views after ALTER TABLE changed the columns of a source", false);
	proc_exit(0);
}

/*
 * The timestamp of the changes of temporal filters in this tick (rows that
 * came due): its end, once the clock that brought them is decoded; 0 in a
 * tick where none came due.
 */
static XLogRecPtr temporal_end = InvalidXLogRecPtr;

/* Apply this tick's changes to one view the batch touches. */
static void
apply_view(DataflowView *view, void *arg)
{
	ViewWrite	w;
	ListCell   *lc;
	XLogRecPtr	first_commit = InvalidXLogRecPtr;
	XLogRecPtr	last_commit = InvalidXLogRecPtr;

	if (!ViewWriteBegin(view, &w, false))
		return;

	/* rows of its temporal filters come due: a change at the tick's end */
	if (temporal_end != InvalidXLogRecPtr &&
		DataflowNextDue(view->df) <= DataflowClock)
		first_commit = last_commit = temporal_end;

	DataflowBeginTick(view->df);
	foreach(lc, WorkerBatch.changes)
	{
		CapturedChange *c = lfirst(lc);

		if (!WorkerViewReads(view, c->relid) || SeenXidsSaw(&view->seen, c->xid))
			continue;
		if (first_commit == InvalidXLogRecPtr || c->commit_end < first_commit)
			first_commit = c->commit_end;
		last_commit = Max(last_commit, c->commit_end);
		if (c->oldtuple != NULL)
			DataflowPush(view->df, c->relid, c->oldtuple, -1);
		if (c->newtuple != NULL)
			DataflowPush(view->df, c->relid, c->newtuple, 1);
	}
	/* the changes of the views it reads, applied before it in this tick */
	foreach(lc, view->inputs)
	{
		DataflowView *input = lfirst(lc);
		ListCell   *lr;

		if (input->out == NIL)
			continue;
		if (first_commit == InvalidXLogRecPtr || input->out_first < first_commit)
			first_commit = input->out_first;
		last_commit = Max(last_commit, input->out_last);
		foreach(lr, input->out)
		{
			ViewChange *change = lfirst(lr);

			DataflowPush(view->df, input->relid, change->tuple, change->weight);
		}
	}
	ViewWriteDelta(view, &w, DataflowRun(view->df));
	ViewWriteEnd(view, &w, first_commit, last_commit);
}

/*
 * A TRUNCATE of a table a view reads: the dataflows are rebuilt from the
 * tables by a new worker (see the top of this file).
 */
static bool
batch_truncates_source(void)
{
	ListCell   *lc;
	ListCell   *lv;

	foreach(lc, WorkerBatch.changes)
	{
		CapturedChange *c = lfirst(lc);

		if (c->kind != CAPTURE_TRUNCATE)
			continue;
		foreach(lv, WorkerViews)
		{
			if (WorkerViewReads(lfirst(lv), c->relid))
				return true;
		}
	}
	return false;
}

/* When the next row of a temporal filter comes due; DT_NOEND: none. */
TimestampTz
WorkerNextDue(void)
{
	TimestampTz due = DT_NOEND;
	ListCell   *lc;

	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->failed && !view->dropped)
			due = Min(due, DataflowNextDue(view->df));
	}
	return due;
}

/* Does a view of the worker have temporal filters? */
bool
WorkerHasTemporal(void)
{
	ListCell   *lc;

	foreach(lc, WorkerViews)
		if (((DataflowView *) lfirst(lc))->temporal)
			return true;
	return false;
}

/* Has the time of a temporal filter's row come? */
static bool
WorkerTemporalDue(void)
{
	return WorkerNextDue() <= DataflowClock;
}

/*
 * Does the batch change a table the view reads, or one that a view it
 * reads reads?  The views it reads come before it in WorkerViews (it was
 * built after them), so their touched is set already.
 */
static bool
batch_touches(DataflowView *view)
{
	ListCell   *lc;

	/* rows of a temporal filter whose time has come */
	if (view->df != NULL && DataflowNextDue(view->df) <= DataflowClock)
		return true;
	foreach(lc, view->inputs)
	{
		if (((DataflowView *) lfirst(lc))->touched)
			return true;
	}
	foreach(lc, WorkerBatch.touched)
	{
		if (WorkerViewReads(view, lfirst_oid(lc)))
			return true;
	}
	return false;
}

/*
 * Order views by what applying a tick to them took, cheapest first, after
 * the views they read.
 */
static int
cheaper_first(const ListCell *a, const ListCell *b)
{
	DataflowView *va = lfirst(a);
	DataflowView *vb = lfirst(b);

	if (va->depth != vb->depth)
		return va->depth < vb->depth ? -1 : 1;
	return va->apply_ms < vb->apply_ms ? -1 : va->apply_ms > vb->apply_ms ? 1 : 0;
}

/* Most changes decoded before they are applied (bounds a tick's memory). */
#define TICK_MAX_CHANGES 50000

/*
 * Views share a transaction while their work in it takes less than this
 * (measured as it goes, and predicted from their recent ticks): one commit
 * for cheap views, and no view waits much longer than this for others.
 */
#define TICK_SHARED_MS 2.0

/* The views being written in one transaction of a tick (apply_views). */
typedef struct TickWrite
{
	List	   *views;
	double		ms;				/* their work so far */
	XLogRecPtr	upper;
	bool		early;			/* publish them once committed */
} TickWrite;

/* Commit the transaction of tw's views and make them current. */
static void
tick_write_commit(TickWrite *tw)
{
	TransactionId xid;
	ListCell   *lc;

	replorigin_session_origin_lsn = tw->upper;
	xid = GetTopTransactionIdIfAny();
	PopActiveSnapshot();
	CommitTransactionCommand();
	foreach(lc, tw->views)
	{
		DataflowView *view = lfirst(lc);

		if (view->changed)
			view->written_xid = xid;
	}
	/* the views' subscribers' changes, with the transaction that wrote them */
	SendersCommitted(xid, WorkerBatch.last_change_end);
	if (tw->early)
		WorkerPublishEarly(tw->views, tw->upper);
	list_free(tw->views);
	tw->views = NIL;
	tw->ms = 0;
}

/*
 * Apply the batch to views (cheapest first) in transactions of about
 * TICK_SHARED_MS of work each, and unless early is false make each
 * transaction's views current at upper once it committed: a view is not
 * held back by the views of its worker that take longer.
 */
static void
apply_views(List *views, XLogRecPtr upper, bool early)
{
	TickWrite	tw = {NIL, 0, upper, early};
	ListCell   *lc;

	foreach(lc, views)
	{
		DataflowView *view = lfirst(lc);
		instr_time	start;
		instr_time	elapsed;
		double		ms;
		MemoryContext old;

		/* failed since the tick began, with a view it reads */
		if (view->failed)
			continue;
		if (tw.views != NIL && tw.ms + view->apply_ms > TICK_SHARED_MS)
			tick_write_commit(&tw);
		if (tw.views == NIL)
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		INSTR_TIME_SET_CURRENT(start);
		WorkerRunForView(view, apply_view, NULL);
		WorkerRecordContents(view, WorkerBatch.last_change_end, false);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		ms = INSTR_TIME_GET_MILLISEC(elapsed);
		view->apply_ms = 0.7 * view->apply_ms + 0.3 * ms;
		/* the list outlives the transaction */
		old = MemoryContextSwitchTo(WorkerContext);
		tw.views = lappend(tw.views, view);
		MemoryContextSwitchTo(old);
		tw.ms += ms;
		if (tw.ms >= TICK_SHARED_MS)
			tick_write_commit(&tw);
	}
	if (tw.views != NIL)
		tick_write_commit(&tw);
}

/*
 * Apply the decoded batch to the views it touches, cheapest first, in
 * transactions of about TICK_SHARED_MS of work each (a view that takes
 * longer has one of its own), each view current as soon as its
 * transaction committed; then the query subscriptions' dataflows.  A batch
 * with catalog changes publishes only at the tick's end, after the owners'
 * rights were checked again (WorkerCheckRights), as every view did before it
 * could be read.
 */
static void
apply_batch(XLogRecPtr upper)
{
	ListCell   *lc;
	TransactionId xid;
	List	   *order;
	List	   *untouched;
	bool		early;

	/* a change that could not be captured fails the views of its table */
	if (WorkerBatch.error != NULL)
	{
		foreach(lc, WorkerViews)
		{
			DataflowView *view = lfirst(lc);

			if (!view->failed && WorkerViewReads(view, WorkerBatch.error_relid))
				WorkerViewFail(view, WorkerBatch.error);
		}
	}
	/*
	 * Rows of temporal filters that come due change their views at the
	 * tick's end: the clock that brought them is decoded by then.
	 */
	if (WorkerTemporalDue())
	{
		temporal_end = upper;
		WorkerBatch.last_change_end = Max(WorkerBatch.last_change_end, upper);
	}
	else if (WorkerBatch.changes == NIL)
		return;
	if (batch_truncates_source())
	{
		ereport(LOG,
				(errmsg("coordinator dataflow worker %d restarts to rebuild its views after a TRUNCATE",
						WorkerIndex)));
		WorkerRecordExit("restarted to rebuild its views after a TRUNCATE of a source", false);
		proc_exit(0);
	}

	pgstat_report_activity(STATE_RUNNING, "applying changes to maintained views");
	WorkerSetActivity("applying");
	SharedArrangementsNextTick();
	/* a tick that coordinator.debug_inject_error fails publishes nothing */
	early = !WorkerBatch.catalog_changed && !DataflowRightsStale() &&
		!Coordinator->workers[WorkerIndex].inject_error;
	order = NIL;
	untouched = NIL;
	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		view->changed = false;
		view->out = NIL;		/* in the batch's memory, reset */
		view->out_first = view->out_last = InvalidXLogRecPtr;
		view->touched = batch_touches(view);
		if (view->failed || view->dropped)
			continue;
		if (view->touched)
			order = lappend(order, view);
		else
			untouched = lappend(untouched, view);
	}
	if (early)
		WorkerPublishEarly(untouched, upper);
	list_free(untouched);
	list_sort(order, cheaper_first);
	apply_views(order, upper, early);
	list_free(order);

	/* the query subscriptions' dataflows, if any, in a last transaction */
	if (SendersHaveTransients() || Coordinator->workers[WorkerIndex].inject_error)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		SendersApplyTransients(WorkerBatch.changes, upper);
		if (Coordinator->workers[WorkerIndex].inject_error)
		{
			Coordinator->workers[WorkerIndex].inject_error = false;
			ereport(ERROR,
					(errmsg("coordinator dataflow worker %d: error injected by coordinator.debug_inject_error",
							WorkerIndex)));
		}
		replorigin_session_origin_lsn = upper;
		xid = GetTopTransactionIdIfAny();
		PopActiveSnapshot();
		CommitTransactionCommand();
		SendersCommitted(xid, WorkerBatch.last_change_end);
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

/*
 * One tick: decode the WAL up to end (whole transactions, at most
 * TICK_MAX_CHANGES changes), apply the changes to the views, and publish
 * the views at the decoded position.
 */
void
WorkerTick(LogicalDecodingContext *ctx, XLogRecPtr end)
{
	XLogRecPtr	upper;

	MemoryContextReset(WorkerBatch.context);
	WorkerBatch.changes = NIL;
	WorkerBatch.touched = NIL;
	WorkerBatch.committed_changes = 0;
	WorkerBatch.last_change_end = InvalidXLogRecPtr;
	WorkerBatch.error = NULL;
	WorkerBatch.error_relid = InvalidOid;
	WorkerBatch.decoded_xids = NIL;
	WorkerBatch.catalog_changed = false;
	WorkerBatch.clock = 0;
	temporal_end = InvalidXLogRecPtr;

	pgstat_report_activity(STATE_RUNNING, "decoding WAL");
	WorkerSetActivity("decoding");
	upper = CaptureDecode(ctx, end, TICK_MAX_CHANGES);
	/* the views' time: the latest commit or clock message decoded */
	DataflowClock = Max(DataflowClock, WorkerBatch.clock);

	/*
	 * Decoding builds cache entries (relations of decoded changes) under
	 * historic snapshots.  The ticks' transactions never use those: they
	 * open only view relations (whose changes are not decoded) and
	 * evaluate expressions; the decoded transactions' own invalidations
	 * run as they are decoded.  A hydration, which opens sources,
	 * flushes the caches first (cut.c).  Flush after a tick only when
	 * it decoded catalog changes, to be safe: flushing costs the next
	 * transaction a rebuild of every entry it uses, milliseconds.
	 */
	if (WorkerBatch.catalog_changed)
	{
		InvalidateSystemCaches();
		restart_if_layout_changed();
	}

	apply_batch(upper);
	WorkerCheckRights();
	WorkerShareArrangements(upper);
	WorkerPublish(upper, false);
	SendersProgress(upper);
	CutNoteDecoded(WorkerBatch.decoded_xids);
	LogicalConfirmReceivedLocation(upper);

	/*
	 * Report the tick's table statistics (at most once a second), as a
	 * backend does when idle: without them autovacuum never sees the
	 * rows the worker inserts into and deletes from the views and
	 * coordinator.history, which then grow without bound.
	 */
	pgstat_report_stat(false);
}
