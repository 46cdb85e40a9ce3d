/*-------------------------------------------------------------------------
 *
 * views.c
 *	  The views of a dataflow worker: which ones the directory assigns it,
 *	  their plans, running a step for one view without stopping the others,
 *	  and writing a view's change into its heap.
 *
 * Each step for one view (its hydration, its share of a tick, the check of
 * its owner's rights) runs as the view's owner, in a subtransaction: an
 * ERROR fails that view alone, and its readers get the message.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "coordinator/catalog.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"
#include "worker_internal.h"

/*
 * Record a view's failure in the directory, where readers will find it;
 * the views that read its changes fail with it (their inputs stop).
 */
void
WorkerViewFail(DataflowView *view, const char *message)
{
	CoordinatorView *entry;
	ListCell   *lc;

	if (view->failed)
		return;
	view->failed = true;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(view->relid);
	if (entry != NULL)
	{
		entry->state = VIEW_FAILED;
		strlcpy(entry->error, message, VIEW_ERROR_LEN);
	}
	LWLockRelease(Coordinator->lock);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);
	ereport(WARNING,
			(errmsg("coordinator: maintained view with OID %u failed: %s",
					view->relid, message)));
	if (!view->read_by_views)
		return;
	foreach(lc, WorkerViews)
	{
		DataflowView *reader = lfirst(lc);

		if (list_member_ptr(reader->inputs, view))
		{
			char		reason[VIEW_ERROR_LEN];

			snprintf(reason, sizeof(reason),
					 "maintained view with OID %u, which it reads, failed: %s",
					 view->relid, message);
			WorkerViewFail(reader, reason);
		}
	}
}

/*
 * The maintained views of the worker that view may read as inputs: those
 * built before it and running (a view reads only views created before it,
 * which the worker builds first).
 */
List *
WorkerInputsFor(DataflowView *view)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, WorkerViews)
	{
		DataflowView *other = lfirst(lc);

		if (other != view && other->df != NULL && !other->failed && !other->dropped)
			relids = lappend_oid(relids, other->relid);
	}
	return relids;
}

/* After its dataflow was built: the views whose changes feed it. */
void
WorkerLinkInputs(DataflowView *view)
{
	ListCell   *lc;
	ListCell   *lv;
	MemoryContext old = MemoryContextSwitchTo(view->context);

	view->inputs = NIL;
	view->depth = 0;
	foreach(lc, view->df->inputs)
	{
		foreach(lv, WorkerViews)
		{
			DataflowView *input = lfirst(lv);

			if (input->relid != lfirst_oid(lc))
				continue;
			view->inputs = lappend(view->inputs, input);
			view->depth = Max(view->depth, input->depth + 1);
			input->read_by_views = true;
		}
	}
	MemoryContextSwitchTo(old);
	if (list_length(view->inputs) != list_length(view->df->inputs))
		elog(ERROR, "a maintained view that maintained view %u reads is not on its worker",
			 view->relid);
}

/*
 * Before the views in gone are let go of: a view that reads one of them
 * fails (it cannot be, as DROP drops the views over a view, but its
 * inputs must never point to freed memory), and which views are read is
 * counted again.
 */
void
WorkerUnlinkInputs(List *gone)
{
	ListCell   *lc;
	ListCell   *li;

	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (list_member_ptr(gone, view))
			continue;
		foreach(li, view->inputs)
		{
			if (list_member_ptr(gone, lfirst(li)))
			{
				WorkerViewFail(view, "a maintained view that it reads was dropped");
				break;
			}
		}
	}
	foreach(lc, WorkerViews)
		((DataflowView *) lfirst(lc))->read_by_views = false;
	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (list_member_ptr(gone, view))
			continue;
		if (view->failed)
		{
			list_free(view->inputs);
			view->inputs = NIL;
		}
		foreach(li, view->inputs)
			((DataflowView *) lfirst(li))->read_by_views = true;
	}
}

/*
 * The views the directory assigns to this worker.  Clears the reload
 * request first, so a change made while loading triggers another reload.
 */
List *
WorkerAssignedViews(void)
{
	List	   *relids = NIL;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[WorkerIndex].reload = false;
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *entry = &Coordinator->views[i];

		if (entry->state != VIEW_FREE && entry->worker == WorkerIndex)
			relids = lappend_oid(relids, entry->relid);
	}
	LWLockRelease(Coordinator->lock);
	return relids;
}

/* Does the worker maintain view relid already? */
bool
WorkerHasView(Oid relid)
{
	ListCell   *lc;

	foreach(lc, WorkerViews)
	{
		if (((DataflowView *) lfirst(lc))->relid == relid)
			return true;
	}
	return false;
}

/*
 * Add the views among relids that the worker does not have yet, with their
 * plans from the catalog (under the active snapshot, in a transaction).
 * Returns the views added.
 */
List *
WorkerAddViews(List *relids)
{
	List	   *added = NIL;
	List	   *catalog = CatalogLoadViews();
	ListCell   *lc;

	foreach(lc, catalog)
	{
		CatalogView *cv = lfirst(lc);
		DataflowView *view;
		MemoryContext old;

		if (!list_member_oid(relids, cv->relid) || WorkerHasView(cv->relid))
			continue;
		view = MemoryContextAllocZero(WorkerContext, sizeof(DataflowView));
		view->relid = cv->relid;
		view->context = AllocSetContextCreate(WorkerContext, "coordinator view",
											  ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(view->context);
		view->plan = pstrdup(cv->plan);
		view->sink = SinkCreate();
		MemoryContextSwitchTo(old);
		old = MemoryContextSwitchTo(WorkerContext);
		WorkerViews = lappend(WorkerViews, view);
		MemoryContextSwitchTo(old);
		added = lappend(added, view);
	}
	return added;
}

/* Read the views assigned to this worker, at start. */
void
WorkerLoadViews(void)
{
	List	   *relids = WorkerAssignedViews();

	if (relids == NIL)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) WorkerAddViews(relids);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Does the view read the table? */
bool
WorkerViewReads(DataflowView *view, Oid relid)
{
	return view->df != NULL && list_member_oid(view->df->sources, relid);
}

typedef struct ViewCall
{
	DataflowView *view;
	void		(*fn) (DataflowView *, void *);
	void	   *arg;
} ViewCall;

/* Run the call as the view's owner (privileges.c). */
static void
call_for_view(void *arg)
{
	ViewCall   *call = arg;
	DataflowSavedUser saved;

	DataflowBecomeOwner(call->view->relid, &saved);
	call->fn(call->view, call->arg);
	DataflowRestoreUser(&saved);
}

/*
 * Run fn on one view inside a subtransaction; an ERROR marks that view
 * failed (readers get the message) and leaves the others untouched.
 */
void
WorkerRunForView(DataflowView *view, void (*fn) (DataflowView *, void *), void *arg)
{
	ViewCall	call = {view, fn, arg};
	ErrorData  *edata = DataflowTrySubtransaction(call_for_view, &call);

	if (edata != NULL)
	{
		/* the other views read what the error left half-done */
		if (SharedArrangementsTorn())
			ereport(ERROR,
					(errmsg("coordinator dataflow worker %d restarts: an error left an arrangement that views share half-updated",
							WorkerIndex),
					 errdetail("The error, in maintained view with OID %u: %s",
							   view->relid, edata->message)));
		SinkInvalidate(view->sink);
		WorkerViewFail(view, edata->message);
		FreeErrorData(edata);
	}
}

/*
 * Open a view and prepare to write it (with retract, hydration: see
 * SinkBegin).  Returns false, marking the view dropped, if it is gone
 * (DROP ... CASCADE committed since the worker started).
 */
bool
ViewWriteBegin(DataflowView *view, ViewWrite *w, bool hydrate)
{
	TupleDesc	view_desc;

	w->view_rel = try_relation_open(view->relid, RowExclusiveLock);
	if (w->view_rel == NULL)
	{
		view->dropped = true;
		return false;
	}
	view_desc = RelationGetDescr(w->view_rel);
	w->delta = RowDeltaCreate(view_desc, CurrentMemoryContext);
	w->root = MakeSingleTupleTableSlot(view->df->root->desc, &TTSOpsMinimalTuple);
	w->row = MakeSingleTupleTableSlot(view_desc, &TTSOpsVirtual);
	SinkBegin(view->sink, w->view_rel, hydrate ? w->delta : NULL);
	return true;
}

/* Add the dataflow's change (its output columns that are the view's). */
void
ViewWriteDelta(DataflowView *view, ViewWrite *w, ZSet *z)
{
	DataflowProject(z, view->columns, w->root, w->row, w->delta);
	view->changed |= z->nrows > 0;
}

static void
collect_row(void *arg, MinimalTuple row, int64 weight)
{
	DataflowView *view = arg;
	ViewChange *change = palloc(sizeof(ViewChange));

	change->tuple = heap_tuple_from_minimal_tuple(row);
	change->weight = weight;
	view->out = lappend(view->out, change);
}

/*
 * Keep a view's change of this tick, made by the commits from first to
 * last, for the views that read it (in the tick's memory).
 */
static void
collect_change(DataflowView *view, RowDelta *delta, XLogRecPtr first,
			   XLogRecPtr last)
{
	MemoryContext old = MemoryContextSwitchTo(WorkerBatch.context);

	RowDeltaForEach(delta, collect_row, view);
	MemoryContextSwitchTo(old);
	if (view->out_first == InvalidXLogRecPtr || first < view->out_first)
		view->out_first = first;
	view->out_last = Max(view->out_last, last);
}

/*
 * Write the consolidated delta and release; locks are kept to commit.  A
 * valid ts records the delta in the view's history as the change made by
 * the transactions that committed from first_commit to ts (those of the
 * tick that changed what the view reads).
 */
void
ViewWriteEnd(DataflowView *view, ViewWrite *w, XLogRecPtr first_commit,
			 XLogRecPtr ts)
{
	RowDeltaApply(w->delta, view->sink, w->view_rel);
	if (ts != InvalidXLogRecPtr && view->changed && !view->catching_up)
	{
		HistoryWrite *hw;

		/* wall times of a view's changes never go back */
		view->history_wall = Max(view->history_wall, GetCurrentTimestamp());
		hw = HistoryAppendBegin(view->relid, first_commit, ts,
								view->history_wall, w->delta->desc);
		RowDeltaForEach(w->delta, HistoryAppendRow, hw);
		HistoryAppendEnd(hw);
		if (view->oldest_wall == 0)
			view->oldest_wall = view->history_wall;
	}
	if (ts != InvalidXLogRecPtr && view->read_by_views)
		collect_change(view, w->delta, first_commit, ts);
	SendersCollect(view->relid, w->delta);
	SinkEnd();
	RowDeltaFree(w->delta);
	ExecDropSingleTupleTableSlot(w->root);
	ExecDropSingleTupleTableSlot(w->row);
	table_close(w->view_rel, NoLock);
}

/*
 * The tables a view reads, from its stored plan, added to *relids; for a
 * partitioned table, the table and its partitions as they are now; for a
 * maintained view it reads, the tables that view reads (*catalog: the
 * catalog's views, loaded when first needed), whether it reads that view's
 * changes or expands its query.  *seen: the maintained views visited (a
 * plan's range table may name its own view, unread).
 */
static void
add_plan_sources(const char *plan_text, List **catalog, List **relids,
				 List **seen)
{
	PlannedStmt *plan = CompiledPlanFromString(plan_text);
	ListCell   *lc;
	ListCell   *lv;

	check_stack_depth();
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind == RELKIND_RELATION)
			*relids = list_append_unique_oid(*relids, rte->relid);
		else if (rte->relkind == RELKIND_PARTITIONED_TABLE)
			*relids = list_concat_unique_oid(*relids,
											 find_all_inheritors(rte->relid, NoLock, NULL));
		else if (rte->relkind == RELKIND_MATVIEW &&
				 !list_member_oid(*seen, rte->relid))
		{
			*seen = lappend_oid(*seen, rte->relid);
			if (*catalog == NIL)
				*catalog = CatalogLoadViews();
			foreach(lv, *catalog)
			{
				CatalogView *cv = lfirst(lv);

				if (cv->relid == rte->relid)
					add_plan_sources(cv->plan, catalog, relids, seen);
			}
		}
	}
}

/* The tables the views read, from their stored plans, in OID order. */
static List *
views_sources(List *views)
{
	List	   *relids = NIL;
	List	   *catalog = NIL;
	ListCell   *lc;

	foreach(lc, views)
	{
		DataflowView *view = lfirst(lc);
		List	   *seen = list_make1_oid(view->relid);

		add_plan_sources(view->plan, &catalog, &relids, &seen);
		list_free(seen);
	}
	list_sort(relids, list_oid_cmp);
	return relids;
}

/*
 * Lock the views' sources for their hydration (sources.c); at the first
 * hydration, whose snapshot is the slot's, taken before the locks, exit
 * if one was rewritten meanwhile: the coordinator starts a new worker,
 * which hydrates from the new table.
 */
List *
WorkerLockSources(List *views, bool check_rewrites)
{
	List	   *relids = views_sources(views);
	Oid			rewritten;

	SourcesLock(relids);
	if (!check_rewrites)
		return relids;
	rewritten = SourcesRewrittenSince(relids, GetActiveSnapshot());
	if (!OidIsValid(rewritten))
		return relids;
	ereport(LOG,
			(errmsg("coordinator dataflow worker %d restarts: table %u was rewritten, or its partitions changed, while its views were hydrated",
					WorkerIndex, rewritten)));
	WorkerRecordExit("restarted to hydrate again after a source was rewritten or repartitioned during the hydration", false);
	proc_exit(0);
}
