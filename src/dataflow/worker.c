/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Dataflow worker: hydrate the views assigned to it, then keep them
 *	  current from the WAL, one tick at a time.
 *
 * Life of a worker (launched and relaunched by the coordinator):
 *
 *	1. read its views from the directory in shared memory and their plans
 *	   from the catalog;
 *	2. hydrate: in one REPEATABLE READ transaction, create a temporary slot,
 *	   adopt its initial snapshot, build each view's dataflow (graph.c) and
 *	   feed it every row of its sources under that snapshot; write the
 *	   difference between the result and the view's heap; publish
 *	   upper = the slot's consistent point;
 *	3. tick: decode the WAL up to the flush pointer (whole transactions),
 *	   push the changes through each view's dataflow, and write the views'
 *	   changes, cheapest view first, in transactions of about
 *	   TICK_SHARED_MS of work each (each view in a subtransaction, so one
 *	   view's failure does not stop the others); as each commits, publish
 *	   its views' upper = the decoded position and their data errors, and
 *	   wake waiting readers, so that a cheap view is current before an
 *	   expensive one is written.
 *
 * When the coordinator changes the worker's set of views, the worker
 * reconciles in place: it lets go of dropped views and hydrates new ones at
 * a consistent cut (cut.c) while the others go on; a new view becomes
 * readable once decoding has passed the cut.  The worker exits (code 0, the
 * coordinator starts a new one, which hydrates everything from its slot)
 * only when a source is truncated: the dataflows are then rebuilt from the
 * tables, which is what a TRUNCATE costs anyway.  Writes carry the worker's
 * replication origin, so they are never decoded back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/heapam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "commands/matview.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/message.h"
#include "replication/slot.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "coordinator/capture.h"
#include "coordinator/catalog.h"
#include "coordinator/compile.h"
#include "coordinator/dataflow.h"
#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/subscribe.h"
#include "coordinator/timestamp.h"

/* Most changes decoded before they are applied (bounds a tick's memory). */
#define TICK_MAX_CHANGES 50000

/* Idle wake-up, to notice WAL written without a commit wake-up. */
#define WORKER_NAPTIME_MS 1000

/* How often the worker looks for history to compact. */
#define COMPACTION_INTERVAL_MS 1000

typedef struct DataflowView
{
	Oid			relid;
	MemoryContext context;		/* everything of the view's below */
	char	   *plan;			/* catalog form */
	Dataflow   *df;
	AttrNumber *columns;		/* root output column of each view column */
	Sink	   *sink;
	bool		failed;			/* stays failed until the worker restarts */
	bool		rights_checked; /* its owner's rights were checked ... */
	char	   *denied;			/* ... and this is why they fall short */
	bool		dropped;
	bool		sharing;		/* its joins read shared arrangements */
	bool		changed;		/* written in the current tick */
	double		apply_ms;		/* what applying a tick to it took, smoothed */
	uint64		sized_tick;		/* dataflow tick whose sizes are published */
	TransactionId written_xid;	/* the last transaction that wrote its heap */
	TimestampTz history_wall;	/* wall time of its latest change in history */
	TimestampTz oldest_wall;	/* ... and of its oldest (0: none kept) */

	/*
	 * A view created while the worker runs is hydrated at a cut (cut.c) and
	 * catches up: the changes its snapshot saw are skipped, and it becomes
	 * readable once decoding passes the cut's time.
	 */
	bool		catching_up;
	XLogRecPtr	cut;
	SeenXids	seen;
} DataflowView;

static int	worker_index = -1;
static List *worker_views = NIL;
static MemoryContext worker_context = NULL;
static CaptureBatch worker_batch;
static volatile sig_atomic_t got_sigterm = false;
static bool exit_recorded = false;

/* SIGTERM: remember it, to say why the worker exited. */
static void
worker_sigterm(SIGNAL_ARGS)
{
	got_sigterm = true;
	die(postgres_signal_arg);
}

/*
 * Say why the worker exits, in coordinator.workers (last_exit); the first
 * reason given wins.  slot_invalidated counts an exit forced by
 * max_slot_wal_keep_size.
 */
static void
record_exit(const char *reason, bool slot_invalidated)
{
	CoordinatorWorker *w = &Coordinator->workers[worker_index];

	if (exit_recorded)
		return;
	exit_recorded = true;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	strlcpy(w->last_exit, reason, WORKER_EXIT_LEN);
	w->last_exit_at = GetCurrentTimestamp();
	if (slot_invalidated)
		w->slot_invalidations++;
	LWLockRelease(Coordinator->lock);
}

/*
 * Has the worker's slot fallen further behind than max_slot_wal_keep_size
 * allows?  Then the checkpointer is terminating the worker to invalidate
 * the slot (it sends SIGTERM, waits for the slot's release, then marks it
 * invalid).
 */
static bool
slot_beyond_wal_limit(void)
{
	XLogRecPtr	restart;
	WALAvailability availability;

	if (MyReplicationSlot == NULL)
		return false;
	SpinLockAcquire(&MyReplicationSlot->mutex);
	restart = MyReplicationSlot->data.restart_lsn;
	SpinLockRelease(&MyReplicationSlot->mutex);
	if (XLogRecPtrIsInvalid(restart))
		return false;
	availability = GetWALAvailability(restart);
	return availability == WALAVAIL_UNRESERVED || availability == WALAVAIL_REMOVED;
}

static void
worker_detach(int code, Datum arg)
{
	if (worker_index < 0)
		return;
	if (slot_beyond_wal_limit())
	{
		ereport(LOG,
				(errmsg("coordinator dataflow worker %d: its replication slot fell more than max_slot_wal_keep_size behind and is invalidated",
						worker_index),
				 errdetail("The views of the worker are rebuilt from their tables when it starts again.")));
		record_exit("replication slot invalidated: more than max_slot_wal_keep_size of WAL behind; views rebuilt from their tables",
					true);
	}
	else if (got_sigterm)
		record_exit("terminated", false);
	else
		record_exit(code == 0 ? "exited" : "exited with an error", false);
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[worker_index].pid = 0;
	Coordinator->workers[worker_index].latch = NULL;
	Coordinator->workers[worker_index].hydrating_before = InvalidTransactionId;
	LWLockRelease(Coordinator->lock);
}

/* Record a view's failure in the directory, where readers will find it. */
static void
view_fail(DataflowView *view, const char *message)
{
	CoordinatorView *entry;

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
}

/*
 * The views the directory assigns to this worker.  Clears the reload
 * request first, so a change made while loading triggers another reload.
 */
static List *
assigned_views(void)
{
	List	   *relids = NIL;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[worker_index].reload = false;
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *entry = &Coordinator->views[i];

		if (entry->state != VIEW_FREE && entry->worker == worker_index)
			relids = lappend_oid(relids, entry->relid);
	}
	LWLockRelease(Coordinator->lock);
	return relids;
}

/* Does the worker maintain view relid already? */
static bool
has_view(Oid relid)
{
	ListCell   *lc;

	foreach(lc, worker_views)
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
static List *
add_views(List *relids)
{
	List	   *added = NIL;
	List	   *catalog = CatalogLoadViews();
	ListCell   *lc;

	foreach(lc, catalog)
	{
		CatalogView *cv = lfirst(lc);
		DataflowView *view;
		MemoryContext old;

		if (!list_member_oid(relids, cv->relid) || has_view(cv->relid))
			continue;
		view = MemoryContextAllocZero(worker_context, sizeof(DataflowView));
		view->relid = cv->relid;
		view->context = AllocSetContextCreate(worker_context, "coordinator view",
											  ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(view->context);
		view->plan = pstrdup(cv->plan);
		view->sink = SinkCreate();
		MemoryContextSwitchTo(old);
		old = MemoryContextSwitchTo(worker_context);
		worker_views = lappend(worker_views, view);
		MemoryContextSwitchTo(old);
		added = lappend(added, view);
	}
	return added;
}

/* Read the views assigned to this worker, at start. */
static void
load_views(void)
{
	List	   *relids = assigned_views();

	if (relids == NIL)
		return;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) add_views(relids);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* Does the view read the table? */
static bool
view_reads(DataflowView *view, Oid relid)
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
static void
run_for_view(DataflowView *view, void (*fn) (DataflowView *, void *), void *arg)
{
	ViewCall	call = {view, fn, arg};
	ErrorData  *edata = DataflowTrySubtransaction(call_for_view, &call);

	if (edata != NULL)
	{
		/* the other views read what the error left half-done */
		if (SharedArrangementsTorn())
			ereport(ERROR,
					(errmsg("coordinator dataflow worker %d restarts: an error left an arrangement that views share half-updated",
							worker_index),
					 errdetail("The error, in maintained view with OID %u: %s",
							   view->relid, edata->message)));
		SinkInvalidate(view->sink);
		view_fail(view, edata->message);
		FreeErrorData(edata);
	}
}

/* What writing one view in one transaction needs. */
typedef struct ViewWrite
{
	Relation	view_rel;
	RowDelta   *delta;
	TupleTableSlot *root;		/* a row of the dataflow's output */
	TupleTableSlot *row;		/* the same row as a row of the view */
} ViewWrite;

/*
 * Open a view and prepare to write it (with retract, hydration: see
 * SinkBegin).  Returns false, marking the view dropped, if it is gone
 * (DROP ... CASCADE committed since the worker started).
 */
static bool
view_write_begin(DataflowView *view, ViewWrite *w, bool hydrate)
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
static void
view_write_delta(DataflowView *view, ViewWrite *w, ZSet *z)
{
	DataflowProject(z, view->columns, w->root, w->row, w->delta);
	view->changed |= z->nrows > 0;
}

/*
 * Write the consolidated delta and release; locks are kept to commit.  A
 * valid ts records the delta in the view's history as the change made by
 * the transactions that committed from first_commit to ts (those of the
 * tick that changed what the view reads).
 */
static void
view_write_end(DataflowView *view, ViewWrite *w, XLogRecPtr first_commit,
			   XLogRecPtr ts)
{
	RowDeltaApply(w->delta, view->sink, w->view_rel);
	if (ts != InvalidXLogRecPtr && view->changed && !view->catching_up)
	{
		/* wall times of a view's changes never go back */
		view->history_wall = Max(view->history_wall, GetCurrentTimestamp());
		HistoryAppend(view->relid, first_commit, ts, view->history_wall, w->delta);
		if (view->oldest_wall == 0)
			view->oldest_wall = view->history_wall;
	}
	SendersCollect(view->relid, w->delta);
	SinkEnd();
	RowDeltaFree(w->delta);
	ExecDropSingleTupleTableSlot(w->root);
	ExecDropSingleTupleTableSlot(w->row);
	table_close(w->view_rel, NoLock);
}

/* The tables a view reads, from its stored plan, added to *relids. */
static void
add_plan_sources(DataflowView *view, List **relids)
{
	PlannedStmt *plan = CompiledPlanFromString(view->plan);
	ListCell   *lc;

	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->relkind == RELKIND_RELATION)
			*relids = list_append_unique_oid(*relids, rte->relid);
	}
}

/* The tables the views read, from their stored plans, in OID order. */
static List *
views_sources(List *views)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, views)
		add_plan_sources(lfirst(lc), &relids);
	list_sort(relids, list_oid_cmp);
	return relids;
}

/*
 * Lock the views' sources for their hydration (sources.c); at the first
 * hydration, whose snapshot is the slot's, taken before the locks, exit
 * if one was rewritten meanwhile: the coordinator starts a new worker,
 * which hydrates from the new table.
 */
static List *
lock_sources(List *views, bool check_rewrites)
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
			(errmsg("coordinator dataflow worker %d restarts: table %u was rewritten while its views were hydrated",
					worker_index, rewritten)));
	record_exit("restarted to hydrate again after a source was rewritten during the hydration", false);
	proc_exit(0);
}

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
					worker_index, changed)));
	record_exit("restarted to rebuild its views after ALTER TABLE changed the columns of a source", false);
	proc_exit(0);
}

/*
 * Build the view's dataflow, compiling the view's query as its rule
 * stores it (resolved at CREATE, and kept valid by Postgres's dependencies)
 * for the tables as they are now.  Rights are checked apart (privileges.c).
 */
static void
build_view(DataflowView *view, void *arg)
{
	PlannedStmt *plan;
	MemoryContext old = MemoryContextSwitchTo(view->context);
	ListCell   *lc;
	int			ncolumns;
	Relation	rel = relation_open(view->relid, AccessShareLock);
	Query	   *query = CompileStoredQuery(rel);

	relation_close(rel, NoLock);
	if (query == NULL)
		elog(ERROR, "could not find the query of materialized view %u", view->relid);
	/* the plan lives as long as the dataflow that points into it */
	plan = CompileView(query, NULL, false)->plan;
	MemoryContextSwitchTo(old);

	view->df = DataflowCreate(view->relid, plan, view->context);
	view->columns = DataflowResultColumns(view->df, &ncolumns);
	old = MemoryContextSwitchTo(worker_context);
	foreach(lc, view->df->sources)
		worker_batch.sources = list_append_unique_oid(worker_batch.sources,
													  lfirst_oid(lc));
	MemoryContextSwitchTo(old);
	SourcesRecordLayouts(view->df->sources, worker_context);
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

	build_view(view, NULL);
	if (*(bool *) arg)
	{
		DataflowShare(view->df);
		view->sharing = true;
	}

	DataflowBeginTick(view->df);
	if (!DataflowFeedSources(view->df))
	{
		/* dropped with CASCADE since the worker started */
		view->dropped = true;
		return;
	}
	if (!view_write_begin(view, &w, true))
		return;
	view_write_delta(view, &w, DataflowRun(view->df));

	if (!RelationIsPopulated(w.view_rel))
		SetMatViewPopulatedState(w.view_rel, true);
	/* history starts at the hydration */
	HistoryForget(view->relid);
	view->oldest_wall = 0;
	view_write_end(view, &w, InvalidXLogRecPtr, InvalidXLogRecPtr);
}

/* Say what the worker is doing, in coordinator.workers. */
static void
set_activity(const char *activity)
{
	/* only this process writes it */
	if (strcmp(Coordinator->workers[worker_index].activity, activity) == 0)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	strlcpy(Coordinator->workers[worker_index].activity, activity,
			sizeof(Coordinator->workers[worker_index].activity));
	LWLockRelease(Coordinator->lock);
}

static void
check_view_rights(DataflowView *view, void *arg)
{
	char	   *denied;

	if (view->df == NULL)
	{
		/* not built (its build failed): nothing is published for it */
		view->rights_checked = true;
		return;
	}
	denied = DataflowCheckRights(view->relid, view->df->sources);
	if (view->denied != NULL)
		pfree(view->denied);
	view->denied = denied != NULL ? MemoryContextStrdup(view->context, denied) : NULL;
	view->rights_checked = true;
}

/*
 * Check the owners' rights of the views again, and the subscribers' rights
 * of the query subscriptions, in a transaction of its own, if they may
 * have changed or a view is new (privileges.c).  Called
 * before publishing, so a read at a time after a REVOKE sees its effect.
 */
static void
check_rights(void)
{
	bool		unchecked = false;
	ListCell   *lc;

	foreach(lc, worker_views)
		unchecked |= !((DataflowView *) lfirst(lc))->rights_checked;
	if (!DataflowRightsStale() && !unchecked)
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	AcceptInvalidationMessages();
	DataflowRightsChecked();
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (!view->failed && !view->dropped)
			run_for_view(view, check_view_rights, NULL);
	}
	SendersCheckRights();
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/*
 * Just before the transaction that wrote a view commits: the contents of
 * the view, if it changed, are valid from since on (the end of the last
 * decoded transaction with changes; at hydration, the consistent point)
 * and were written by this transaction; the previous contents were valid
 * from the old since to the old upper.  A reader whose snapshot does not
 * see this transaction yet reads the previous contents (selection.c).
 */
static void
record_view_contents(DataflowView *view, XLogRecPtr since, bool hydrated)
{
	TransactionId xid = GetTopTransactionIdIfAny();
	CoordinatorView *entry;

	if (view->failed || view->dropped || view->catching_up ||
		!(view->changed || hydrated))
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(view->relid);
	if (entry != NULL)
	{
		entry->prev_xid = hydrated ? InvalidTransactionId : entry->last_xid;
		entry->prev_since = hydrated ? InvalidXLogRecPtr : entry->since;
		entry->prev_upper = hydrated ? InvalidXLogRecPtr : pg_atomic_read_u64(&entry->upper);
		entry->since = since;
		entry->last_xid = xid;
		if (hydrated)
		{
			entry->history_since = since;
			entry->history_since_wall = GetCurrentTimestamp();
		}
	}
	LWLockRelease(Coordinator->lock);
}

/* record_view_contents of every view the current transaction wrote. */
static void
record_contents(XLogRecPtr since, bool hydrated)
{
	ListCell   *lc;

	foreach(lc, worker_views)
		record_view_contents(lfirst(lc), since, hydrated);
}

/* The sizes of the view's arrangements, in its slots of the directory. */
static void
publish_arrangements(DataflowView *view, CoordinatorView *entry)
{
	ArrangementStat *stats = Coordinator->arrangements +
		(entry - Coordinator->views) * ARRANGEMENTS_PER_VIEW;
	ListCell   *lc;
	int			n = 0;

	memset(stats, 0, sizeof(ArrangementStat) * ARRANGEMENTS_PER_VIEW);
	foreach(lc, view->df->arrangements)
	{
		Arrangement *a = lfirst(lc);
		ArrangementStat *s = &stats[Min(n, ARRANGEMENTS_PER_VIEW - 1)];

		/* more than fit: the last slot sums up the rest */
		if (n == ARRANGEMENTS_PER_VIEW - 1 && list_length(view->df->arrangements) > ARRANGEMENTS_PER_VIEW)
		{
			strlcpy(s->name, "(others)", ARRANGEMENT_NAME_LEN);
			s->operator_id = -1;
		}
		else if (n < ARRANGEMENTS_PER_VIEW)
		{
			strlcpy(s->name, a->name, ARRANGEMENT_NAME_LEN);
			s->operator_id = a->node;
		}
		s->relid = view->relid;
		s->keys += a->ngroups;
		s->records += a->nrows;
		s->bytes += MemoryContextMemAllocated(a->context, true);
		s->shared_by = Max(s->shared_by,
						   a->shared != NULL ? SharedArrangementConsumers(a->shared) : 1);
		n++;
	}
}

/* The view's data error, or the lack of its owner's rights, for readers. */
static void
publish_error(DataflowView *view, CoordinatorView *entry)
{
	int			code = 0;
	const char *error = view->denied;

	/* a lost right hides the contents, data errors and all */
	if (error != NULL)
		code = ERRCODE_INSUFFICIENT_PRIVILEGE;
	else
		error = DataflowError(view->df, &code);

	strlcpy(entry->error, error ? error : "", VIEW_ERROR_LEN);
	entry->error_code = code;
}

/* Publish the frontier of every healthy view and wake readers. */
static void
publish(XLogRecPtr upper, bool hydrated)
{
	ListCell   *lc;
	int			dataflows = 0;
	bool		resized = false;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);
		CoordinatorView *entry;

		if (view->failed || view->dropped)
			continue;
		entry = CoordinatorFindView(view->relid);
		if (entry == NULL)
			continue;
		if (hydrated)
			entry->state = VIEW_READY;
		if (view->catching_up)
		{
			if (upper < view->cut)
				continue;
			/* decoding passed the cut: the contents are the state at upper */
			entry->state = VIEW_READY;
			entry->since = upper;
			entry->history_since = upper;
			entry->history_since_wall = GetCurrentTimestamp();
			entry->last_xid = view->written_xid;
			entry->prev_xid = InvalidTransactionId;
			entry->prev_since = InvalidXLogRecPtr;
			entry->prev_upper = InvalidXLogRecPtr;
			view->catching_up = false;
			pfree(view->seen.xip);
			view->seen.xip = NULL;
		}
		if (view->df != NULL)
		{
			publish_error(view, entry);
			dataflows++;
			/* sizes walk every memory context: only after a tick ran */
			if (view->df->tick != view->sized_tick)
			{
				DataflowSize(view->df, &entry->arranged_rows, &entry->dataflow_bytes);
				publish_arrangements(view, entry);
				view->sized_tick = view->df->tick;
				resized = true;
			}
		}
		if (pg_atomic_read_u64(&entry->upper) < upper)
			pg_atomic_write_u64(&entry->upper, upper);
	}
	Coordinator->workers[worker_index].dataflows = dataflows;
	if (resized || hydrated)
		Coordinator->workers[worker_index].memory =
			MemoryContextMemAllocated(TopMemoryContext, true);
	LWLockRelease(Coordinator->lock);
	pg_atomic_write_u64(&Coordinator->workers[worker_index].decoded, upper);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);
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

			if (entry->state == VIEW_PENDING && entry->worker == worker_index)
			{
				strlcpy(entry->error, message, VIEW_ERROR_LEN);
				entry->error_code = edata->sqlerrcode;
			}
		}
		Coordinator->workers[worker_index].hydrating_before = InvalidTransactionId;
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
 * After a tick that brought the views to upper, before it is published:
 * the views whose contents are now those of the others (a view created
 * while the worker runs, once it has caught up; the worker's hydration
 * shares as it goes) share their joins' arrangements.  Failed and dropped
 * views let go of theirs first, so that an arrangement that no running
 * view updates any more is freed, never shared again.  Sizes are
 * published again when sharing changed.
 */
static void
share_arrangements(XLogRecPtr upper)
{
	ListCell   *lc;
	bool		changed = false;

	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (view->sharing && (view->failed || view->dropped))
		{
			DataflowUnshare(view->df);
			view->sharing = false;
			changed = true;
		}
	}
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->sharing && !view->failed &&
			!view->dropped && (!view->catching_up || upper >= view->cut))
		{
			DataflowShare(view->df);
			view->sharing = true;
			changed = true;
		}
	}
	if (!changed)
		return;
	/* the readers' counts changed in other views' arrangements too */
	foreach(lc, worker_views)
		((DataflowView *) lfirst(lc))->sized_tick = 0;
}

/*
 * Create the slot and hydrate every view at its consistent point.  Returns
 * the consistent point.
 */
static XLogRecPtr
hydrate(void)
{
	char		slotname[NAMEDATALEN];
	XLogRecPtr	consistent;
	bool		share = true;
	ListCell   *lc;

	snprintf(slotname, sizeof(slotname), "coordinator_%u_%d",
			 MyDatabaseId, worker_index);

	pgstat_report_activity(STATE_RUNNING, "hydrating maintained views");
	set_activity("hydrating");

	/*
	 * Creating the slot waits for every transaction that has an xid now.
	 * Say so, so that a reader inside one of them fails instead of waiting
	 * for us while we wait for it.
	 */
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[worker_index].hydrating_before =
		XidFromFullTransactionId(ReadNextFullTransactionId());
	LWLockRelease(Coordinator->lock);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	XactIsoLevel = XACT_REPEATABLE_READ;
	consistent = create_slot(slotname);
	PushActiveSnapshot(GetTransactionSnapshot());
	(void) lock_sources(worker_views, true);

	SharedArrangementsNextTick();
	foreach(lc, worker_views)
		run_for_view(lfirst(lc), hydrate_view, &share);

	record_contents(consistent, true);
	replorigin_session_origin_lsn = consistent;
	PopActiveSnapshot();
	CommitTransactionCommand();
	flush_hydration();

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[worker_index].hydrating_before = InvalidTransactionId;
	LWLockRelease(Coordinator->lock);
	check_rights();
	share_arrangements(consistent);
	publish(consistent, true);
	pgstat_report_activity(STATE_IDLE, NULL);
	return consistent;
}

/* Apply this tick's changes to one view the batch touches. */
static void
apply_view(DataflowView *view, void *arg)
{
	ViewWrite	w;
	ListCell   *lc;
	XLogRecPtr	first_commit = InvalidXLogRecPtr;
	XLogRecPtr	last_commit = InvalidXLogRecPtr;

	if (!view_write_begin(view, &w, false))
		return;

	DataflowBeginTick(view->df);
	foreach(lc, worker_batch.changes)
	{
		CapturedChange *c = lfirst(lc);

		if (!view_reads(view, c->relid) || SeenXidsSaw(&view->seen, c->xid))
			continue;
		if (first_commit == InvalidXLogRecPtr)
			first_commit = c->commit_end;
		last_commit = c->commit_end;
		if (c->oldtuple != NULL)
			DataflowPush(view->df, c->relid, c->oldtuple, -1);
		if (c->newtuple != NULL)
			DataflowPush(view->df, c->relid, c->newtuple, 1);
	}
	view_write_delta(view, &w, DataflowRun(view->df));
	view_write_end(view, &w, first_commit, last_commit);
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

	foreach(lc, worker_batch.changes)
	{
		CapturedChange *c = lfirst(lc);

		if (c->kind != CAPTURE_TRUNCATE)
			continue;
		foreach(lv, worker_views)
		{
			if (view_reads(lfirst(lv), c->relid))
				return true;
		}
	}
	return false;
}

/*
 * Make views current at upper before the tick's end, with their data
 * errors if they have some: their contents are those of upper (the batch
 * did not touch them, or their transaction for this tick committed).  Not
 * a view catching up, failed or with its owner's rights unchecked: the
 * tick's publish() settles those.  Wakes the readers.
 */
static void
publish_early(List *views, XLogRecPtr upper)
{
	ListCell   *lc;

	if (views == NIL)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	foreach(lc, views)
	{
		DataflowView *view = lfirst(lc);
		CoordinatorView *entry;

		if (view->failed || view->dropped || view->catching_up || view->df == NULL ||
			!view->rights_checked)
			continue;
		entry = CoordinatorFindView(view->relid);
		if (entry != NULL && entry->state == VIEW_READY &&
			pg_atomic_read_u64(&entry->upper) < upper)
		{
			publish_error(view, entry);
			pg_atomic_write_u64(&entry->upper, upper);
		}
	}
	LWLockRelease(Coordinator->lock);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);
}

/* Does the batch change a table the view reads? */
static bool
batch_touches(DataflowView *view)
{
	ListCell   *lc;

	foreach(lc, worker_batch.touched)
	{
		if (view_reads(view, lfirst_oid(lc)))
			return true;
	}
	return false;
}

/* Order views by what applying a tick to them took, cheapest first. */
static int
cheaper_first(const ListCell *a, const ListCell *b)
{
	double		ca = ((DataflowView *) lfirst(a))->apply_ms;
	double		cb = ((DataflowView *) lfirst(b))->apply_ms;

	return ca < cb ? -1 : ca > cb ? 1 : 0;
}

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
	SendersCommitted(xid, worker_batch.last_change_end);
	if (tw->early)
		publish_early(tw->views, tw->upper);
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

		if (tw.views != NIL && tw.ms + view->apply_ms > TICK_SHARED_MS)
			tick_write_commit(&tw);
		if (tw.views == NIL)
		{
			SetCurrentStatementStartTimestamp();
			StartTransactionCommand();
			PushActiveSnapshot(GetTransactionSnapshot());
		}
		INSTR_TIME_SET_CURRENT(start);
		run_for_view(view, apply_view, NULL);
		record_view_contents(view, worker_batch.last_change_end, false);
		INSTR_TIME_SET_CURRENT(elapsed);
		INSTR_TIME_SUBTRACT(elapsed, start);
		ms = INSTR_TIME_GET_MILLISEC(elapsed);
		view->apply_ms = 0.7 * view->apply_ms + 0.3 * ms;
		/* the list outlives the transaction */
		old = MemoryContextSwitchTo(worker_context);
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
 * rights were checked again (check_rights), as every view did before it
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
	if (worker_batch.error != NULL)
	{
		foreach(lc, worker_views)
		{
			DataflowView *view = lfirst(lc);

			if (!view->failed && view_reads(view, worker_batch.error_relid))
				view_fail(view, worker_batch.error);
		}
	}
	if (worker_batch.changes == NIL)
		return;
	if (batch_truncates_source())
	{
		ereport(LOG,
				(errmsg("coordinator dataflow worker %d restarts to rebuild its views after a TRUNCATE",
						worker_index)));
		record_exit("restarted to rebuild its views after a TRUNCATE of a source", false);
		proc_exit(0);
	}

	pgstat_report_activity(STATE_RUNNING, "applying changes to maintained views");
	set_activity("applying");
	SharedArrangementsNextTick();
	early = !worker_batch.catalog_changed && !DataflowRightsStale();
	order = NIL;
	untouched = NIL;
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		view->changed = false;
		if (view->failed || view->dropped)
			continue;
		if (batch_touches(view))
			order = lappend(order, view);
		else
			untouched = lappend(untouched, view);
	}
	if (early)
		publish_early(untouched, upper);
	list_free(untouched);
	list_sort(order, cheaper_first);
	apply_views(order, upper, early);
	list_free(order);

	/* the query subscriptions' dataflows, if any, in a last transaction */
	if (SendersHaveTransients() || Coordinator->workers[worker_index].inject_error)
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		SendersApplyTransients(worker_batch.changes, upper);
		if (Coordinator->workers[worker_index].inject_error)
		{
			Coordinator->workers[worker_index].inject_error = false;
			ereport(ERROR,
					(errmsg("coordinator dataflow worker %d: error injected by coordinator.debug_inject_error",
							worker_index)));
		}
		replorigin_session_origin_lsn = upper;
		xid = GetTopTransactionIdIfAny();
		PopActiveSnapshot();
		CommitTransactionCommand();
		SendersCommitted(xid, worker_batch.last_change_end);
	}
	pgstat_report_activity(STATE_IDLE, NULL);
}

static bool
reload_requested(void)
{
	bool		reload;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	reload = Coordinator->workers[worker_index].reload;
	LWLockRelease(Coordinator->lock);
	return reload;
}

/* The views of this worker that subscriptions can attach to. */
static List *
healthy_views(void)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->failed && !view->dropped && !view->catching_up)
			relids = lappend_oid(relids, view->relid);
	}
	return relids;
}

/* Serve the subscriptions between ticks; capture what queries read. */
static void
serve_subscriptions(void)
{
	List	   *views = healthy_views();
	MemoryContext old;

	SendersService(worker_index, views);
	list_free(views);
	old = MemoryContextSwitchTo(worker_context);
	worker_batch.sources = list_concat_unique_oid(worker_batch.sources,
												  SendersTransientSources());
	MemoryContextSwitchTo(old);
}

/* Has a subscriber asked this worker for a query's dataflow? */
static bool
query_subscription_requested(void)
{
	bool		requested = false;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = SubscriptionSlot(i);

		if (sub->state == SUBSCRIPTION_REQUESTED && sub->worker == worker_index)
			requested = true;
	}
	LWLockRelease(Coordinator->lock);
	return requested;
}

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
static void
compact_views(void)
{
	TimestampTz now = GetCurrentTimestamp();
	ListCell   *lc;

	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->failed && !view->dropped &&
			!view->catching_up && view->oldest_wall != 0)
			compact_view(view, now);
	}
}

/*
 * The set of views changed: let go of the dropped ones, hydrate the new
 * ones at a cut (cut.c) and let them catch up; the others go on untouched.
 */
static void
reconcile(void)
{
	List	   *relids = assigned_views();
	List	   *keep = NIL;
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
		new_views |= !has_view(lfirst_oid(lc));
	old = MemoryContextSwitchTo(worker_context);
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (list_member_oid(relids, view->relid))
			keep = lappend(keep, view);
		else
		{
			if (view->df != NULL)
				DataflowUnshare(view->df);
			MemoryContextDelete(view->context);
			pfree(view);
		}
	}
	list_free(worker_views);
	worker_views = keep;
	/* capture what the remaining views read (subscriptions add theirs) */
	list_free(worker_batch.sources);
	worker_batch.sources = NIL;
	foreach(lc, worker_views)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL)
			worker_batch.sources = list_concat_unique_oid(worker_batch.sources,
														  view->df->sources);
	}
	worker_batch.sources = list_concat_unique_oid(worker_batch.sources,
												  SendersTransientSources());
	MemoryContextSwitchTo(old);
	if (!new_views)
		return;

	pgstat_report_activity(STATE_RUNNING, "hydrating maintained views");
	set_activity("hydrating");
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	added = add_views(relids);
	(void) lock_sources(added, false);
	PopActiveSnapshot();
	snap = CutTakeSnapshot(&cut);
	foreach(lc, added)
	{
		DataflowView *view = lfirst(lc);

		run_for_view(view, hydrate_view, &share);
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
					worker_index, nadded)));
}

static void
wait_for_work(long timeout)
{
	CoordinatorWaitLatch(timeout);
}

/*
 * Take this worker's index.  A worker of the same index that is still
 * exiting (its coordinator was terminated, and a new one launched us)
 * holds its slot: wait for it to go.
 */
static void
take_worker_index(void)
{
	for (;;)
	{
		pid_t		previous;

		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		previous = Coordinator->workers[worker_index].pid;
		if (previous == 0 || previous == MyProcPid || kill(previous, 0) != 0)
		{
			Coordinator->workers[worker_index].pid = MyProcPid;
			Coordinator->workers[worker_index].latch = MyLatch;
			LWLockRelease(Coordinator->lock);
			return;
		}
		LWLockRelease(Coordinator->lock);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void worker_run(void);

void
DataflowWorkerMain(Datum main_arg)
{
	worker_index = DatumGetInt32(main_arg);
	CoordinatorIsOwnProcess = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(Coordinator->database, InvalidOid, 0);

	take_worker_index();
	before_shmem_exit(worker_detach, 0);

	/*
	 * Functions that the views call resolve names at run time with the
	 * safe search_path of Postgres 17's maintenance operations, whatever
	 * objects other roles create in public; their own SET clauses apply.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);

	PG_TRY();
	{
		worker_run();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* exiting: say why, in coordinator.workers, then report it */
		HOLD_INTERRUPTS();
		LWLockReleaseAll();
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		record_exit(psprintf("error: %s", edata->message), false);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static void
worker_run(void)
{
	LogicalDecodingContext *ctx;
	MemoryContext tick_context;
	TimestampTz last_tick = 0;
	TimestampTz last_compaction = 0;

	/* lives as long as the process; freed by its exit */
	worker_context = AllocSetContextCreate(TopMemoryContext,
										   "coordinator dataflow worker",
										   ALLOCSET_DEFAULT_SIZES);
	tick_context = AllocSetContextCreate(worker_context,
										 "coordinator tick",
										 ALLOCSET_DEFAULT_SIZES);
	memset(&worker_batch, 0, sizeof(worker_batch));
	worker_batch.context = tick_context;
	CaptureCurrent = &worker_batch;

	/*
	 * View writes need not wait for a WAL flush: after a crash every view is
	 * rebuilt from its sources, so durability adds nothing but an fsync per
	 * tick that competes with the writers.  Visibility, which strict reads
	 * rely on, does not depend on it.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	load_views();
	ereport(LOG,
			(errmsg("coordinator dataflow worker %d started with %d maintained views",
					worker_index, list_length(worker_views))));
	if (worker_views == NIL)
	{
		/*
		 * Nothing to maintain: hold no slot, wait to be reloaded or to be
		 * asked for a query's dataflow.
		 */
		set_activity("no views");
		while (worker_views == NIL && !query_subscription_requested())
		{
			wait_for_work(-1L);
			if (reload_requested())
				load_views();
		}
	}

	{
		char		origin[NAMEDATALEN];

		snprintf(origin, sizeof(origin), "coordinator_worker_%d", worker_index);
		CaptureSetupOrigin(origin);
	}

	hydrate();

	MemoryContextSwitchTo(worker_context);
	ctx = CaptureStartStreaming();
	CaptureReleaseDataHorizon();
	InvalidateSystemCaches();

	for (;;)
	{
		XLogRecPtr	end;
		XLogRecPtr	upper;

		if (reload_requested())
			reconcile();
		serve_subscriptions();
		if (TimestampDifferenceExceeds(last_compaction, GetCurrentTimestamp(),
									   COMPACTION_INTERVAL_MS))
		{
			compact_views();
			last_compaction = GetCurrentTimestamp();
		}
		end = GetFlushRecPtr(NULL);
		TimelineRecord(end, GetCurrentTimestamp());
		if (Coordinator->workers[worker_index].paused || ctx->reader->EndRecPtr >= end)
		{
			/*
			 * Idle with subscribers: time goes on without writes.  A WAL
			 * record of our own (ignored by the plugin) once a second lets
			 * the next tick send them progress, as Materialize's timestamps
			 * advance every second.
			 */
			if (!Coordinator->workers[worker_index].paused && SendersAttached() &&
				TimestampDifferenceExceeds(last_tick, GetCurrentTimestamp(),
										   WORKER_NAPTIME_MS))
			{
				XLogFlush(LogLogicalMessage("coordinator", "", 0, false));
				last_tick = GetCurrentTimestamp();
				continue;
			}
			set_activity(Coordinator->workers[worker_index].paused ? "paused" : "idle");
			pgstat_report_stat(false);
			wait_for_work(WORKER_NAPTIME_MS);
			continue;
		}
		last_tick = GetCurrentTimestamp();

		MemoryContextReset(tick_context);
		worker_batch.changes = NIL;
		worker_batch.touched = NIL;
		worker_batch.committed_changes = 0;
		worker_batch.last_change_end = InvalidXLogRecPtr;
		worker_batch.error = NULL;
		worker_batch.error_relid = InvalidOid;
		worker_batch.decoded_xids = NIL;
		worker_batch.catalog_changed = false;

		pgstat_report_activity(STATE_RUNNING, "decoding WAL");
		set_activity("decoding");
		upper = CaptureDecode(ctx, end, TICK_MAX_CHANGES);

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
		if (worker_batch.catalog_changed)
		{
			InvalidateSystemCaches();
			restart_if_layout_changed();
		}

		apply_batch(upper);
		check_rights();
		share_arrangements(upper);
		publish(upper, false);
		SendersProgress(upper);
		CutNoteDecoded(worker_batch.decoded_xids);
		LogicalConfirmReceivedLocation(upper);

		/*
		 * Report the tick's table statistics (at most once a second), as a
		 * backend does when idle: without them autovacuum never sees the
		 * rows the worker inserts into and deletes from the views and
		 * coordinator.history, which then grow without bound.
		 */
		pgstat_report_stat(false);
		MemoryContextSwitchTo(worker_context);

		CHECK_FOR_INTERRUPTS();
	}
}
