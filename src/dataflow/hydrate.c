/*-------------------------------------------------------------------------
 *
 * hydrate.c
 *	  Hydration: build the views' dataflows and make their heaps equal to
 *	  their queries, at the worker's start and for views created while it
 *	  runs.
 *
 * At start, in one REPEATABLE READ transaction, the worker creates a
 * temporary slot, adopts its initial snapshot, builds each view's dataflow
 * (graph.c), feeds it every row of its sources under that snapshot, writes
 * the difference between the result and the view's heap, and publishes
 * upper = the slot's consistent point.  When the coordinator changes the
 * worker's set of views, the worker reconciles in place: it lets go of
 * dropped views and hydrates new ones at a consistent cut (cut.c) while
 * the others go on; a new view becomes readable once decoding has passed
 * the cut.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "commands/matview.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "worker_internal.h"

/*
 * Decode the tables the view reads; the changes of the maintained views it
 * reads come from their dataflows.
 */
static void
capture_sources(DataflowView *view)
{
	MemoryContext old = MemoryContextSwitchTo(WorkerContext);
	ListCell   *lc;

	foreach(lc, view->df->sources)
	{
		if (!list_member_oid(view->df->inputs, lfirst_oid(lc)))
			WorkerBatch.sources = list_append_unique_oid(WorkerBatch.sources,
														  lfirst_oid(lc));
	}
	MemoryContextSwitchTo(old);
}

/*
 * Build the view's dataflow, compiling the view's query as its rule
 * stores it (resolved at CREATE, and kept valid by Postgres's dependencies)
 * for the tables as they are now.  Rights are checked apart (privileges.c).
 */
static void
build_view(DataflowView *view, void *arg)
{
	CompiledView *compiled;
	PlannedStmt *plan;
	MemoryContext old = MemoryContextSwitchTo(view->context);
	int			ncolumns;
	Relation	rel = relation_open(view->relid, AccessShareLock);
	Query	   *query = CompileStoredQuery(rel);
	CoordinatorView *entry;
	ListCell   *lc;

	relation_close(rel, NoLock);
	if (query == NULL)
		elog(ERROR, "could not find the query of materialized view %u", view->relid);
	/*
	 * The plan lives as long as the dataflow that points into it.  The
	 * maintained views it reads that the worker runs already are its
	 * inputs; the others are expanded into their queries.
	 */
	compiled = CompileView(query, NULL, false, WorkerInputsFor(view));
	plan = compiled->plan;
	MemoryContextSwitchTo(old);

	view->df = DataflowCreate(view->relid, plan, view->context);
	WorkerLinkInputs(view);
	view->temporal = view->df->temporal != NIL;
	foreach(lc, view->inputs)
		view->temporal |= ((DataflowView *) lfirst(lc))->temporal;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(view->relid);
	if (entry != NULL)
		entry->temporal = view->temporal;
	LWLockRelease(Coordinator->lock);
	view->row_security = DataflowRowSecurity(view->relid, plan);
	view->columns = DataflowResultColumns(view->df, &ncolumns);
	capture_sources(view);
	SourcesRecordLayouts(view->df->sources, WorkerContext);
	/* a partitioned table's partitions are part of its layout */
	SourcesRecordLayouts(compiled->tables, WorkerContext);
}

/*
 * Hydration of one view: build its dataflow, feed it its sources under the
 * slot snapshot, make the heap equal to the result.  arg points to a bool:
 * true at the worker's hydration (every view at one snapshot in one tick),
 * where the dataflow shares its arrangements before it runs (shared.c).
 */
static void
hydrate_view(DataflowView *view, void *arg)
{
	ViewWrite	w;

	ProgressHydrationBegin(view->relid);
	build_view(view, NULL);
	if (*(bool *) arg)
	{
		DataflowShare(view->df);
		view->sharing = true;
	}

	/* temporal filters: the rows valid now */
	DataflowClock = Max(DataflowClock, GetCurrentTimestamp());
	DataflowBeginTick(view->df);
	if (!DataflowFeedSources(view->df))
	{
		/* dropped with CASCADE since the worker started */
		view->dropped = true;
		return;
	}
	if (!ViewWriteBegin(view, &w, true))
		return;
	ViewWriteDelta(view, &w, DataflowRun(view->df));

	if (!RelationIsPopulated(w.view_rel))
	{
		/*
		 * Marking it populated updates its pg_class row, as an ALTER
		 * MATERIALIZED VIEW ... SET (...) right after CREATE may at the
		 * same time (under ShareUpdateExclusiveLock, which our writes'
		 * lock does not conflict with): "tuple concurrently updated"
		 * would fail the view.  Take that lock first, then look again.
		 */
		LockRelationOid(view->relid, ShareUpdateExclusiveLock);
		if (!RelationIsPopulated(w.view_rel))
			SetMatViewPopulatedState(w.view_rel, true);
	}
	/* history starts at the hydration */
	HistoryForget(view->relid);
	view->oldest_wall = 0;
	ViewWriteEnd(view, &w, InvalidXLogRecPtr, InvalidXLogRecPtr);
	ProgressHydrationEnd();
}

/*
 * Create the worker's slot (see CaptureCreateSlot).  If that fails (no free
 * replication slot, say), the worker's views that are not running yet get
 * the error, so their readers fail instead of waiting, and the worker exits
 * with it; the coordinator starts it again a little later.
 */
static XLogRecPtr
create_slot(const char *slotname)
{
	MemoryContext old = CurrentMemoryContext;
	XLogRecPtr	consistent = InvalidXLogRecPtr;

	PG_TRY();
	{
		consistent = CaptureCreateSlot(slotname);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		char	   *message;

		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		message = edata->hint != NULL ?
			psprintf("%s (%s)", edata->message, edata->hint) : edata->message;
		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		for (int i = 0; i < Coordinator->max_views; i++)
		{
			CoordinatorView *entry = &Coordinator->views[i];

			if (entry->state == VIEW_PENDING && entry->worker == WorkerIndex)
			{
				strlcpy(entry->error, message, VIEW_ERROR_LEN);
				entry->error_code = edata->sqlerrcode;
			}
		}
		Coordinator->workers[WorkerIndex].hydrating_before = InvalidTransactionId;
		LWLockRelease(Coordinator->lock);
		ConditionVariableBroadcast(&Coordinator->frontier_cv);
		ReThrowError(edata);
	}
	PG_END_TRY();
	return consistent;
}

/*
 * A hydration's commit is asynchronous, as a tick's: flush it at once, or
 * the next decode stops in the middle of the worker's own records until the
 * WAL writer flushes them (up to wal_writer_delay), and the new views stay
 * unreadable that long.
 */
static void
flush_hydration(void)
{
	if (XactLastCommitEnd != InvalidXLogRecPtr)
		XLogFlush(XactLastCommitEnd);
}

/*
 * Create the slot and hydrate every view at its consistent point.  Returns
 * the consistent point.
 */
XLogRecPtr
WorkerHydrate(void)
{
	char		slotname[NAMEDATALEN];
	XLogRecPtr	consistent;
	bool		share = true;
	ListCell   *lc;

	snprintf(slotname, sizeof(slotname), "coordinator_%u_%d",
			 MyDatabaseId, WorkerIndex);

	pgstat_report_activity(STATE_RUNNING, "hydrating maintained views");
	WorkerSetActivity("hydrating");

	/*
	 * Creating the slot waits for every transaction that has an xid now.
	 * Say so, so that a reader inside one of them fails instead of waiting
	 * for us while we wait for it.
	 */
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[WorkerIndex].hydrating_before =
		XidFromFullTransactionId(ReadNextFullTransactionId());
	LWLockRelease(Coordinator->lock);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	XactIsoLevel = XACT_REPEATABLE_READ;
	consistent = create_slot(slotname);
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) WorkerLockSources(WorkerViews, true);

	SharedArrangementsNextTick();
	foreach(lc, WorkerViews)
		WorkerRunForView(lfirst(lc), hydrate_view, &share);

	WorkerRecordAllContents(consistent, true);
	replorigin_session_origin_lsn = consistent;
	PopActiveSnapshot();
	CommitTransactionCommand();
	flush_hydration();

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[WorkerIndex].hydrating_before = InvalidTransactionId;
	LWLockRelease(Coordinator->lock);
	WorkerCheckRights();
	WorkerShareArrangements(consistent);
	WorkerPublish(consistent, true);
	pgstat_report_activity(STATE_IDLE, NULL);
	return consistent;
}

/*
 * The set of views changed: let go of the dropped ones, hydrate the new
 * ones at a cut (cut.c) and let them catch up; the others go on untouched.
 */
void
WorkerReconcile(void)
{
	List	   *relids = WorkerAssignedViews();
	List	   *keep = NIL;
	List	   *gone = NIL;
	List	   *added;
	bool		new_views = false;
	ListCell   *lc;
	MemoryContext old;
	Snapshot	snap;
	XLogRecPtr	cut;
	TransactionId xid;
	int			nadded;
	bool		share = false;	/* at a cut: shares once caught up */

	foreach(lc, relids)
		new_views |= !WorkerHasView(lfirst_oid(lc));
	old = MemoryContextSwitchTo(WorkerContext);
	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (list_member_oid(relids, view->relid))
			keep = lappend(keep, view);
		else
			gone = lappend(gone, view);
	}
	WorkerUnlinkInputs(gone);
	foreach(lc, gone)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL)
			DataflowUnshare(view->df);
		MemoryContextDelete(view->context);
		pfree(view);
	}
	list_free(gone);
	list_free(WorkerViews);
	WorkerViews = keep;
	/* capture what the remaining views read (subscriptions add theirs) */
	list_free(WorkerBatch.sources);
	WorkerBatch.sources = NIL;
	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL)
			capture_sources(view);
	}
	WorkerBatch.sources = list_concat_unique_oid(WorkerBatch.sources,
												  SendersTransientSources());
	MemoryContextSwitchTo(old);
	if (!new_views)
		return;

	pgstat_report_activity(STATE_RUNNING, "hydrating maintained views");
	WorkerSetActivity("hydrating");
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	added = WorkerAddViews(relids);
	(void) WorkerLockSources(added, false);
	PopActiveSnapshot();
	snap = CutTakeSnapshot(&cut);
	foreach(lc, added)
	{
		DataflowView *view = lfirst(lc);

		WorkerRunForView(view, hydrate_view, &share);
		view->catching_up = true;
		view->cut = cut;
		SeenXidsCopy(&view->seen, snap, view->context);
	}
	/* added lives in the transaction's memory: done with it before commit */
	xid = GetTopTransactionIdIfAny();
	foreach(lc, added)
		((DataflowView *) lfirst(lc))->written_xid = xid;
	nadded = list_length(added);
	PopActiveSnapshot();
	CommitTransactionCommand();
	flush_hydration();
	pgstat_report_activity(STATE_IDLE, NULL);
	ereport(LOG,
			(errmsg("coordinator dataflow worker %d hydrated %d new maintained views while running",
					WorkerIndex, nadded)));
}
