/*-------------------------------------------------------------------------
 *
 * reads.c
 *	  Consistent reads of maintained views: the ExecutorStart hook.
 *
 * Under coordinator.isolation = 'strict serializable' (the default), a
 * statement that reads a maintained view first waits until the view's
 * upper frontier passes the statement's target T, the oracle's read
 * timestamp (timeline.c): every transaction acknowledged to any client
 * before the statement began ends at or before T, so the view reflects all
 * of them: read-your-writes across sessions.  In REPEATABLE READ and
 * SERIALIZABLE, T is chosen once per transaction.  Under 'serializable'
 * the read only waits for the view to be hydrated (and sees it populated).
 *
 * The executor's snapshot was taken before the wait.  After it, the
 * contents of each view the snapshot sees must reflect T (selection.c): in
 * READ COMMITTED the hook takes a new snapshot; in REPEATABLE READ, the
 * first statement that uses the transaction snapshot may still refresh it;
 * otherwise the read raises a serialization failure instead of returning
 * a stale answer.
 *
 * The wait sleeps on a condition variable, so cancel and statement_timeout
 * end it with SQLSTATE 57014, with a CONTEXT naming the view.  The reader
 * holds only AccessShareLock on the view, which never blocks the worker's
 * writes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "catalog/pg_type.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"
#include "storage/procarray.h"
#include "storage/proc.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/coordinator.h"
#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

/* How often a waiting reader re-wakes the worker, in case a wake-up was lost. */
#define READ_REWAKE_MS 1000

static ExecutorStart_hook_type prev_ExecutorStart = NULL;

/* relid -> is it a maintained view?  Per backend, flushed by relcache invals. */
typedef struct MaintainedEntry
{
	Oid			relid;
	bool		maintained;
} MaintainedEntry;

static HTAB *maintained_cache = NULL;

static void
maintained_cache_invalidate(Datum arg, Oid relid)
{
	if (maintained_cache == NULL)
		return;
	if (OidIsValid(relid))
		hash_search(maintained_cache, &relid, HASH_REMOVE, NULL);
	else
	{
		hash_destroy(maintained_cache);
		maintained_cache = NULL;
	}
}

/*
 * On a standby the views are not maintained (they are replicated as the
 * primary's worker wrote them): what needs their frontiers cannot run.
 */
void
CoordinatorRefuseDuringRecovery(const char *what)
{
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("recovery is in progress"),
				 errdetail("Maintained views are maintained on the primary; a standby shows them as they were last replicated."),
				 errhint("%s cannot be executed during recovery; run it on the primary.", what)));
}

/*
 * The maintained views in the directory that the current role may read
 * (SELECT): introspection shows nothing about the others.
 */
List *
CoordinatorReadableViews(void)
{
	List	   *relids = NIL;
	List	   *readable = NIL;
	ListCell   *lc;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		if (Coordinator->views[i].state != VIEW_FREE)
			relids = lappend_oid(relids, Coordinator->views[i].relid);
	}
	LWLockRelease(Coordinator->lock);
	foreach(lc, relids)
	{
		bool		missing = false;

		if (pg_class_aclcheck_ext(lfirst_oid(lc), GetUserId(), ACL_SELECT,
								  &missing) == ACLCHECK_OK && !missing)
			readable = lappend_oid(readable, lfirst_oid(lc));
	}
	list_free(relids);
	return readable;
}

/*
 * Is relid a maintained view?  The directory answers for views the
 * coordinator knows; the catalog for the others (just created, or the
 * coordinator not started yet).  Needs a transaction.
 */
bool
CoordinatorIsMaintainedView(Oid relid)
{
	MaintainedEntry *entry;
	bool		found;
	bool		maintained;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	found = CoordinatorFindView(relid) != NULL;
	LWLockRelease(Coordinator->lock);
	if (found)
		return true;

	if (maintained_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(MaintainedEntry);
		maintained_cache = hash_create("coordinator maintained views", 64, &ctl,
									   HASH_ELEM | HASH_BLOBS);
	}
	entry = hash_search(maintained_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL)
		return entry->maintained;

	maintained = get_rel_relkind(relid) == RELKIND_MATVIEW &&
		CatalogExtensionExists() && CatalogHasView(relid);
	entry = hash_search(maintained_cache, &relid, HASH_ENTER, NULL);
	entry->maintained = maintained;
	return maintained;
}

/* What a wait is waiting for, for the CONTEXT of an error that ends it. */
typedef struct WaitContext
{
	Oid			relid;
	XLogRecPtr	target;
} WaitContext;

static void
wait_error_context(void *arg)
{
	WaitContext *wait = arg;
	XLogRecPtr	upper = InvalidXLogRecPtr;
	CoordinatorView *entry;
	char	   *name = get_rel_name(wait->relid);

	/* no lock: an error path must not wait, and a torn read is harmless */
	entry = CoordinatorFindView(wait->relid);
	if (entry != NULL)
		upper = pg_atomic_read_u64(&entry->upper);
	if (upper == InvalidXLogRecPtr)
		errcontext("while waiting for maintained view \"%s\" to be hydrated",
				   name ? name : "?");
	else
	{
		TimestampTz since = TimelineWallTime(upper + 1);
		long		secs = 0;
		int			usecs = 0;

		if (since != 0)
			TimestampDifference(since, GetCurrentTimestamp(), &secs, &usecs);
		errcontext("while waiting for maintained view \"%s\" to reach timestamp %s; "
				   "it reflected the WAL up to %X/%X, " UINT64_FORMAT " bytes and %ld ms behind",
				   name ? name : "?", TimestampString(wait->target),
				   LSN_FORMAT_ARGS(upper), (uint64) (wait->target - upper),
				   secs * 1000 + usecs / 1000);
	}
}

/* How many processes waits_for_me follows before it gives up. */
#define WAIT_CHAIN_MAX 64

/*
 * Does process pid wait, directly or through others, for a heavyweight
 * lock this backend (or its lock group) holds?  Follows pg_blocking_pids
 * from pid, breadth first, over at most WAIT_CHAIN_MAX processes; only
 * processes waiting for a lock are asked, so a worker that is not blocked
 * costs one read of its PGPROC.  Our waits for the workers are invisible
 * to the deadlock detector: a reader waiting for a worker that waits for
 * the reader's lock (or for a DROP queued behind it) would wait forever.
 */
static bool
waits_for_me(int pid)
{
	int			leader = MyProc->lockGroupLeader != NULL ?
		MyProc->lockGroupLeader->pid : MyProcPid;
	List	   *queue = list_make1_int(pid);
	List	   *seen = NIL;
	bool		found = false;

	while (queue != NIL && !found && list_length(seen) < WAIT_CHAIN_MAX)
	{
		int			p = linitial_int(queue);
		PGPROC	   *proc;
		ArrayType  *blockers;
		Datum	   *elems;
		int			n;

		queue = list_delete_first(queue);
		if (list_member_int(seen, p))
			continue;
		seen = lappend_int(seen, p);
		/* a read without a lock: whether it waits at all is only a hint */
		proc = BackendPidGetProc(p);
		if (proc == NULL || proc->waitLock == NULL)
			continue;
		blockers = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids,
														  Int32GetDatum(p)));
		deconstruct_array(blockers, INT4OID, sizeof(int32), true, TYPALIGN_INT,
						  &elems, NULL, &n);
		for (int i = 0; i < n && !found; i++)
		{
			int			b = DatumGetInt32(elems[i]);

			if (b == MyProcPid || b == leader)
				found = true;
			else
				queue = lappend_int(queue, b);
		}
		pfree(elems);
		pfree(blockers);
	}
	list_free(queue);
	list_free(seen);
	return found;
}

/*
 * Wait until every view in relids can be read: hydrated, and if target is
 * valid, with upper at or past it.  ERRORs if a view failed, and at once
 * (55000) for a view that the current transaction made maintained: no
 * worker can serve it before the transaction commits, so waiting would
 * never end.  Interruptible: cancel and statement_timeout end it with
 * 57014, with a CONTEXT line naming the view and how far behind it was.
 */
void
CoordinatorWaitForViews(List *relids, XLogRecPtr target)
{
	ListCell   *lc;
	WaitContext wait;
	ErrorContextCallback callback;
	bool		checked_here;

	wait.target = target;
	callback.callback = wait_error_context;
	callback.arg = &wait;
	callback.previous = error_context_stack;
	error_context_stack = &callback;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		wait.relid = relid;
		checked_here = false;
		for (;;)
		{
			CoordinatorView *entry;
			ViewState	state = VIEW_FREE;
			XLogRecPtr	upper = InvalidXLogRecPtr;
			int			worker = 0;
			pid_t		worker_pid = 0;
			char		error[VIEW_ERROR_LEN];
			int			error_code = 0;
			TransactionId hydrating_before = InvalidTransactionId;

			LWLockAcquire(Coordinator->lock, LW_SHARED);
			entry = CoordinatorFindView(relid);
			if (entry != NULL)
			{
				state = entry->state;
				worker = entry->worker;
				upper = pg_atomic_read_u64(&entry->upper);
				strlcpy(error, entry->error, sizeof(error));
				error_code = entry->error_code;
				hydrating_before = Coordinator->workers[worker].hydrating_before;
				worker_pid = Coordinator->workers[worker].pid;
			}
			LWLockRelease(Coordinator->lock);

			if (state == VIEW_PENDING && error[0] != '\0')
			{
				/* its worker could not start (see create_slot in worker.c) */
				ConditionVariableCancelSleep();
				error_context_stack = callback.previous;
				ereport(ERROR,
						(errcode(error_code),
						 errmsg("maintained view \"%s\" cannot start: %s",
								get_rel_name(relid), error),
						 errhint("Its dataflow worker retries every few seconds; the server log says why it stopped.")));
			}
			if (state == VIEW_FAILED)
			{
				ConditionVariableCancelSleep();
				error_context_stack = callback.previous;
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("maintained view \"%s\" could not be maintained",
								get_rel_name(relid)),
						 errdetail("%s", error),
						 errhint("Drop and recreate the view once the input that causes the error is gone.")));
			}
			if (state == VIEW_READY && upper > InvalidXLogRecPtr && upper >= target)
			{
				if (error_code != 0)
				{
					/* a data error is part of the view's contents */
					ConditionVariableCancelSleep();
					error_context_stack = callback.previous;
					ereport(ERROR,
							(errcode(error_code),
							 errmsg("%s", error),
							 errdetail("The error occurred while maintaining view \"%s\".",
									   get_rel_name(relid)),
							 error_code == ERRCODE_INSUFFICIENT_PRIVILEGE ?
							 errhint("The view is maintained with its owner's rights; it reports this error until its owner may read the table again.") :
							 errhint("The view reports this error until the rows that cause it are deleted or changed.")));
				}
				break;
			}

			/*
			 * The view's worker is creating its slot, which waits for this
			 * transaction to end: waiting here would never end.
			 */
			if (TransactionIdIsValid(hydrating_before) &&
				TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
				TransactionIdPrecedes(GetTopTransactionIdIfAny(), hydrating_before))
			{
				ConditionVariableCancelSleep();
				error_context_stack = callback.previous;
				ereport(ERROR,
						(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
						 errmsg("could not read maintained view \"%s\" while its dataflow restarts",
								get_rel_name(relid)),
						 errdetail("The dataflow worker is waiting for this transaction, which has written, to end."),
						 errhint("Commit or roll back, then read the view; or read it before writing in the transaction.")));
			}

			/* the worker waits for a lock of ours: it would never catch up */
			if (worker_pid != 0 && waits_for_me(worker_pid))
			{
				ConditionVariableCancelSleep();
				error_context_stack = callback.previous;
				ereport(ERROR,
						(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
						 errmsg("deadlock detected while waiting for maintained view \"%s\"",
								get_rel_name(relid)),
						 errdetail("The dataflow worker that maintains the view waits for a lock this transaction holds, or for a process that waits for one."),
						 errhint("Read maintained views before taking locks that conflict with their maintenance, or in another transaction.")));
			}

			if (entry == NULL && !checked_here)
			{
				/* once: the catalog row of a view stays where it is */
				checked_here = true;
				if (CatalogViewCreatedHere(relid))
				{
					ConditionVariableCancelSleep();
					error_context_stack = callback.previous;
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("maintained view \"%s\" cannot be read in the transaction that created it",
									get_rel_name(relid)),
							 errdetail("Its dataflow starts when the creating transaction commits."),
							 errhint("Commit, then read the view.")));
				}
			}
			if (entry == NULL)
				CoordinatorWakeCoordinator();
			else
				CoordinatorWakeWorker(worker);
			ConditionVariableTimedSleep(&Coordinator->frontier_cv, READ_REWAKE_MS,
										PG_WAIT_EXTENSION);
		}
	}
	ConditionVariableCancelSleep();
	error_context_stack = callback.previous;
}

/*
 * Transaction-level timestamps.  In REPEATABLE READ and SERIALIZABLE a
 * transaction reads at one timestamp, the oracle's when its snapshot was
 * first used: by its first read of a maintained view, or by the first
 * statement that may have read anything.  In READ COMMITTED each
 * statement chooses its own.
 */
static LocalTransactionId xact_timestamp_lxid = InvalidLocalTransactionId;
static XLogRecPtr xact_timestamp = InvalidXLogRecPtr;

/* The last transaction in which a statement may have read data. */
static LocalTransactionId snapshot_used_lxid = InvalidLocalTransactionId;

void
CoordinatorNoteSnapshotUse(void)
{
	if (snapshot_used_lxid == MyProc->lxid)
		return;
	snapshot_used_lxid = MyProc->lxid;
	if (Coordinator != NULL && IsolationUsesXactSnapshot() &&
		xact_timestamp_lxid != MyProc->lxid &&
		coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE)
	{
		xact_timestamp_lxid = MyProc->lxid;
		xact_timestamp = OracleReadTimestamp();
	}
}

/*
 * Wait until the views reflect target, then make the statement's snapshot
 * see contents of every view that reflect it, or fail.  In READ COMMITTED,
 * take a new snapshot.  In REPEATABLE READ, the first statement of the
 * transaction that reads anything may still move the transaction snapshot
 * forward: nothing has read with it.  Otherwise (SERIALIZABLE, whose
 * snapshot predicate locking has registered, or a later statement) raise
 * a serialization failure rather than return a stale answer.  Without a
 * target (serializable reads), wait for hydration only, and read with a
 * snapshot that sees the view's contents (a snapshot taken before the wait
 * may see it not yet populated), where the snapshot can still be taken.
 */
static TimestampDetermination *
wait_and_read(QueryDesc *qd, List *relids, XLogRecPtr target)
{
	TimestampDetermination *det;
	Oid			stale;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		CoordinatorWaitForViews(relids, target);
		/* the worker marked the view populated: see that in the relcache */
		AcceptInvalidationMessages();
		det = TimestampInputs(relids, qd->snapshot);
		if (!TimestampStaleInput(det, target, &stale))
			return det;

		if (IsolationUsesXactSnapshot() &&
			(IsolationIsSerializable() || snapshot_used_lxid == MyProc->lxid))
		{
			/* serializable: what the transaction's snapshot sees */
			if (target == InvalidXLogRecPtr)
				return det;
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not read maintained view \"%s\" at the transaction's timestamp",
							get_rel_name(stale)),
					 errdetail("The transaction reads at timestamp %s, which the contents of the view in its snapshot do not reflect.",
							   TimestampString(target)),
					 errhint("Retry the transaction; read maintained views in READ COMMITTED, or first in a REPEATABLE READ transaction; or set coordinator.isolation to 'serializable'.")));
		}
		if (IsolationUsesXactSnapshot())
		{
			/* refresh the transaction snapshot in place */
			GetSnapshotData(GetTransactionSnapshot());
		}
		UnregisterSnapshot(qd->snapshot);
		qd->snapshot = RegisterSnapshot(GetTransactionSnapshot());
	}
}

/*
 * The timestamp a strict read must reflect: the transaction's, once chosen
 * in REPEATABLE READ and SERIALIZABLE; else the oracle's read timestamp.
 */
XLogRecPtr
CoordinatorReadTarget(void)
{
	if (IsolationUsesXactSnapshot() && xact_timestamp_lxid == MyProc->lxid)
		return xact_timestamp;
	return OracleReadTimestamp();
}

/* Wait for the views, choose the read's timestamp, fix the snapshot. */
static void
read_views(QueryDesc *qd, List *relids)
{
	bool		strict = coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE;
	XLogRecPtr	target = strict ? CoordinatorReadTarget() : InvalidXLogRecPtr;
	TimestampTz start = GetCurrentTimestamp();
	TimestampDetermination *det;
	long		secs;
	int			usecs;

	det = wait_and_read(qd, relids, target);
	TimestampDetermine(det, strict, target);
	TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
	det->waited_ms = secs * 1000 + usecs / 1000;

	if (IsolationUsesXactSnapshot() && xact_timestamp_lxid != MyProc->lxid)
	{
		xact_timestamp_lxid = MyProc->lxid;
		xact_timestamp = det->chosen;
	}
	if (IsolationUsesXactSnapshot())
	{
		ListCell   *lc;
		XLogRecPtr	since;

		/* the transaction reads at one time: hold it until the end (holds.c) */
		foreach(lc, relids)
			(void) ReadHoldAcquire(lfirst_oid(lc), det->chosen,
								   READ_HOLD_TRANSACTION, &since);
	}
	if (det->chosen > SessionLastReadTimestamp)
		SessionLastReadTimestamp = det->chosen;
	LastReadTimestamp = det->chosen;

	if (coordinator_emit_timestamp_notice &&
		det->waited_ms >= coordinator_timestamp_notice_min_wait)
		ereport(NOTICE,
				(errmsg("EXPLAIN TIMESTAMP for query"),
				 errdetail_internal("%s", TimestampExplainText(det))));
}

static void
coordinator_ExecutorStart(QueryDesc *qd, int eflags)
{
	/*
	 * Parallel workers run under their leader's wait; a standby has no
	 * dataflow (its views are what the primary wrote), so it cannot wait.
	 */
	if (Coordinator != NULL && !CoordinatorIsOwnProcess &&
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) == 0 &&
		!IsParallelWorker() && !RecoveryInProgress())
	{
		List	   *relids = CoordinatorMaintainedViewsIn(qd->plannedstmt->rtable);

		if (relids != NIL)
			read_views(qd, relids);
		CoordinatorNoteSnapshotUse();
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);
}

/*
 * The maintained views in a planned statement's range table that the
 * statement must wait for.  ERRORs if the statement writes one or locks its
 * rows, or reads one that this transaction made maintained and did not
 * populate; one it populated is read as it is, without a wait.
 */
List *
CoordinatorMaintainedViewsIn(List *rtable)
{
	List	   *relids = NIL;
	List	   *unknown = NIL;
	ListCell   *lc;

	foreach(lc, rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		bool		known;

		/*
		 * requiredPerms 0: the OLD and NEW entries of a view's rule, which
		 * stay in the range table of the query a REFRESH runs; the view is
		 * being written there, not read.
		 */
		if (rte->rtekind != RTE_RELATION ||
			rte->relkind != RELKIND_MATVIEW ||
			rte->requiredPerms == 0)
			continue;
		LWLockAcquire(Coordinator->lock, LW_SHARED);
		known = CoordinatorFindView(rte->relid) != NULL;
		LWLockRelease(Coordinator->lock);
		if (!known && !CoordinatorIsMaintainedView(rte->relid))
			continue;

		/*
		 * Postgres refuses writes and row locks of a materialized view when
		 * the executor starts, after this hook: refuse them here, before
		 * any wait, which would hold the lock the statement took on the
		 * view (and that the worker's writes conflict with).
		 */
		if (rte->rellockmode == RowShareLock)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot lock rows in materialized view \"%s\"",
							get_rel_name(rte->relid)),
					 errdetail("Its rows are written only by its dataflow.")));
		if (rte->rellockmode > RowShareLock)
			ereport(ERROR,
					(errcode(ERRCODE_WRONG_OBJECT_TYPE),
					 errmsg("cannot change materialized view \"%s\"",
							get_rel_name(rte->relid)),
					 errdetail("It is a maintained view: it changes only with the tables its query reads."),
					 errhint("Change those tables instead.")));
		relids = list_append_unique_oid(relids, rte->relid);
		if (!known)
			unknown = list_append_unique_oid(unknown, rte->relid);
	}

	/*
	 * The directory knows the views whose making committed; of the others,
	 * those this transaction made maintained (CREATE, or a restore's row of
	 * coordinator.view_options) have no worker before the commit.
	 */
	foreach(lc, unknown)
	{
		Oid			relid = lfirst_oid(lc);
		Relation	rel = RelationIdGetRelation(relid);
		bool		here = rel->rd_createSubid != InvalidSubTransactionId;
		bool		populated = RelationIsPopulated(rel);
		char	   *name = pstrdup(RelationGetRelationName(rel));

		RelationClose(rel);
		if (!here && !CatalogViewCreatedHere(relid))
			continue;
		if (!populated)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("maintained view \"%s\" cannot be read in the transaction that created it", name),
					 errdetail("Its dataflow starts when the creating transaction commits."),
					 errhint("Commit, then read the view; or REFRESH MATERIALIZED VIEW it to read it in this transaction as the transaction sees its tables.")));

		/*
		 * Populated by a REFRESH of this transaction (as a single-transaction
		 * restore does): read as Postgres reads a materialized view, as the
		 * transaction saw its tables then.  No worker serves it before the
		 * commit, and none is waited for.
		 */
		relids = list_delete_oid(relids, relid);
	}
	list_free(unknown);
	return relids;
}

void
CoordinatorInstallReadHooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = coordinator_ExecutorStart;
	CacheRegisterRelcacheCallback(maintained_cache_invalidate, (Datum) 0);
}
