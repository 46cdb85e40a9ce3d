/*-------------------------------------------------------------------------
 *
 * publish.c
 *	  What readers see of a worker's views: their contents' times in the
 *	  directory, their frontiers, data errors, sizes and shared
 *	  arrangements, and the owners' rights checked before any of it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/ipc.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/snapmgr.h"

#include "coordinator/shmem.h"
#include "worker_internal.h"

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
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(view->relid)))
	{
		/*
		 * Dropped (DROP ... CASCADE of a table it reads, say): its tables'
		 * policies are gone with it, which is no reason to restart.
		 */
		view->dropped = true;
		view->rights_checked = true;
		return;
	}
	denied = DataflowCheckRights(view->relid);
	if (view->denied != NULL)
		pfree(view->denied);
	view->denied = denied != NULL ? MemoryContextStrdup(view->context, denied) : NULL;
	view->rights_checked = true;
	if (DataflowRowSecurity(view->relid, view->df->plan) != view->row_security)
		*(Oid *) arg = view->relid;
}

/*
 * Check the owners' rights of the views again, and the subscribers' rights
 * of the query subscriptions, in a transaction of its own, if they may
 * have changed or a view is new (privileges.c).  Called
 * before publishing, so a read at a time after a REVOKE sees its effect.
 */
void
WorkerCheckRights(void)
{
	bool		unchecked = false;
	Oid			policies_changed = InvalidOid;
	ListCell   *lc;

	foreach(lc, WorkerViews)
		unchecked |= !((DataflowView *) lfirst(lc))->rights_checked;
	if (!DataflowRightsStale() && !unchecked)
		return;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	AcceptInvalidationMessages();
	DataflowRightsChecked();
	PushActiveSnapshot(GetTransactionSnapshot());
	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (!view->failed && !view->dropped)
			WorkerRunForView(view, check_view_rights, &policies_changed);
	}
	SendersCheckRights();
	PopActiveSnapshot();
	CommitTransactionCommand();

	/*
	 * The row-level security policies that apply to a view's owner are
	 * not those its dataflow was built with: build the views again, as
	 * after a change of a source's columns, before publishing anything.
	 */
	if (OidIsValid(policies_changed))
	{
		ereport(LOG,
				(errmsg("coordinator dataflow worker %d restarts to rebuild its views after the row-level security of a table that view %u reads changed",
						WorkerIndex, policies_changed)));
		WorkerRecordExit("restarted to rebuild its views after the row-level security policies of a source changed", false);
		proc_exit(0);
	}
}

/*
 * Just before the transaction that wrote a view commits: the contents of
 * the view, if it changed, are valid from since on (the end of the last
 * decoded transaction with changes; at hydration, the consistent point)
 * and were written by this transaction; the previous contents were valid
 * from the old since to the old upper.  A reader whose snapshot does not
 * see this transaction yet reads the previous contents (selection.c).
 */
void
WorkerRecordContents(DataflowView *view, XLogRecPtr since, bool hydrated)
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

/* WorkerRecordContents of every view the current transaction wrote. */
void
WorkerRecordAllContents(XLogRecPtr since, bool hydrated)
{
	ListCell   *lc;

	foreach(lc, WorkerViews)
		WorkerRecordContents(lfirst(lc), since, hydrated);
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

/*
 * The view's data error, or the lack of its owner's rights, or else those
 * of a maintained view it reads (whose rows it is computed from); NULL if
 * none.
 */
static const char *
view_error(DataflowView *view, int *code)
{
	const char *error = view->denied;
	ListCell   *lc;

	/* a lost right hides the contents, data errors and all */
	if (error != NULL)
	{
		*code = ERRCODE_INSUFFICIENT_PRIVILEGE;
		return error;
	}
	error = DataflowError(view->df, code);
	foreach(lc, view->inputs)
	{
		if (error == NULL)
			error = view_error(lfirst(lc), code);
	}
	return error;
}

/* The view's error (see view_error) for readers. */
static void
publish_error(DataflowView *view, CoordinatorView *entry)
{
	int			code = 0;
	const char *error = view_error(view, &code);

	strlcpy(entry->error, error ? error : "", VIEW_ERROR_LEN);
	entry->error_code = code;
}

/* Publish the frontier of every healthy view and wake readers. */
void
WorkerPublish(XLogRecPtr upper, bool hydrated)
{
	ListCell   *lc;
	int			dataflows = 0;
	bool		resized = false;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	foreach(lc, WorkerViews)
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
	Coordinator->workers[WorkerIndex].dataflows = dataflows;
	if (resized || hydrated)
		Coordinator->workers[WorkerIndex].memory =
			MemoryContextMemAllocated(TopMemoryContext, true);
	LWLockRelease(Coordinator->lock);
	pg_atomic_write_u64(&Coordinator->workers[WorkerIndex].decoded, upper);
	ConditionVariableBroadcast(&Coordinator->frontier_cv);
}

/*
 * Make views current at upper before the tick's end, with their data
 * errors if they have some: their contents are those of upper (the batch
 * did not touch them, or their transaction for this tick committed).  Not
 * a view catching up, failed or with its owner's rights unchecked: the
 * tick's WorkerPublish() settles those.  Wakes the readers.
 */
void
WorkerPublishEarly(List *views, XLogRecPtr upper)
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

/*
 * After a tick that brought the views to upper, before it is published:
 * the views whose contents are now those of the others (a view created
 * while the worker runs, once it has caught up; the worker's hydration
 * shares as it goes) share their joins' arrangements.  Failed and dropped
 * views let go of theirs first, so that an arrangement that no running
 * view updates any more is freed, never shared again.  Sizes are
 * published again when sharing changed.
 */
void
WorkerShareArrangements(XLogRecPtr upper)
{
	ListCell   *lc;
	bool		changed = false;

	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (view->sharing && (view->failed || view->dropped))
		{
			DataflowUnshare(view->df);
			view->sharing = false;
			changed = true;
		}
	}
	foreach(lc, WorkerViews)
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
	foreach(lc, WorkerViews)
		((DataflowView *) lfirst(lc))->sized_tick = 0;
}
