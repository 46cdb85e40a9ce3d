/*-------------------------------------------------------------------------
 *
 * wait.c
 *	  Waiting for maintained views to reflect a timestamp, and who waits.
 *
 * A statement that reads a maintained view under strict serializable
 * waits until the view reflects its timestamp (CoordinatorWaitForViews,
 * called by reads.c and by SUBSCRIBE).  It sleeps on the frontiers'
 * condition variable, so cancel and statement_timeout end it with 57014,
 * with a CONTEXT naming the view and how far behind it is; it fails at
 * once where waiting would never end (a failed view, a view created by
 * the waiting transaction, a worker that waits for the reader's locks).
 *
 * While it waits,
 * its backend's slot in shared memory names the view, the timestamp and
 * when the wait began, so that coordinator.waits can say who waits for
 * what and how far behind the view is, as pg_locks says who waits for a
 * lock.  The slot is written under the coordinator's lock once when a
 * wait begins and once when it ends (or when an error ends it: the abort
 * callback in transaction.c); a read that need not wait writes nothing.
 *
 * In pg_stat_activity a waiting read shows wait_event_type "Extension":
 * Postgres 15 gives an extension no name of its own for a wait event.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/backendid.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "coordinator/catalog.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

PG_FUNCTION_INFO_V1(coordinator_read_waits);

/* How often a waiting reader re-wakes the worker, in case a wake-up was lost. */
#define READ_REWAKE_MS 1000

/* Does this backend's slot say it waits? */
static bool waiting = false;

/* This backend's slot, or NULL for a process without one. */
ReadWait *
ReadWaitSlot(void)
{
	if (Coordinator == NULL || MyBackendId == InvalidBackendId ||
		MyBackendId > MaxBackends)
		return NULL;
	return &Coordinator->waits[MyBackendId - 1];
}

/* A strict read begins to wait for view relid to reflect target. */
void
ReadWaitBegin(Oid relid, XLogRecPtr target)
{
	ReadWait   *w = ReadWaitSlot();

	if (w == NULL)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	w->pid = MyProcPid;
	w->relid = relid;
	w->target = target;
	w->since = GetCurrentTimestamp();
	LWLockRelease(Coordinator->lock);
	waiting = true;
}

/* The wait ended (or an error ended it); cheap when there was none. */
void
ReadWaitEnd(void)
{
	ReadWait   *w;

	if (!waiting)
		return;
	waiting = false;
	w = ReadWaitSlot();
	if (w == NULL)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	w->pid = 0;
	LWLockRelease(Coordinator->lock);
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
	bool		published;

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
		published = false;
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
				/* its worker could not start (see create_slot in hydrate.c) */
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
			if (!published)
			{
				/* coordinator.waits shows it from now on */
				ReadWaitBegin(relid, target);
				published = true;
			}
			ConditionVariableTimedSleep(&Coordinator->frontier_cv, READ_REWAKE_MS,
										PG_WAIT_EXTENSION);
		}
	}
	ConditionVariableCancelSleep();
	ReadWaitEnd();
	error_context_stack = callback.previous;
}

/*
 * coordinator.read_waits(): one row per strict read waiting for a view
 * the current role may SELECT: pid, view, timestamp waited for (NULL:
 * waiting for the view's hydration), since when.
 */
Datum
coordinator_read_waits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ReadWait   *copy;
	int			n = 0;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	copy = palloc(sizeof(ReadWait) * MaxBackends);
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < MaxBackends; i++)
		if (Coordinator->waits[i].pid != 0)
			copy[n++] = Coordinator->waits[i];
	LWLockRelease(Coordinator->lock);

	for (int i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false};

		bool		missing = false;

		if (pg_class_aclcheck_ext(copy[i].relid, GetUserId(), ACL_SELECT,
								  &missing) != ACLCHECK_OK || missing)
			continue;
		values[0] = Int32GetDatum(copy[i].pid);
		values[1] = ObjectIdGetDatum(copy[i].relid);
		values[2] = Int64GetDatum((int64) copy[i].target);
		nulls[2] = copy[i].target == InvalidXLogRecPtr;
		values[3] = TimestampTzGetDatum(copy[i].since);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PG_RETURN_VOID();
}
