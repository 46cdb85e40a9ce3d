/*-------------------------------------------------------------------------
 *
 * reads.c
 *	  Consistent reads of maintained views: the ExecutorStart hook.
 *
 * Under coordinator.isolation = 'strict serializable' (the default), a
 * statement that reads a maintained view first waits until the view's
 * upper frontier reaches the statement's target T, the WAL flush position
 * when the statement began (or this session's last commit, if later, which
 * is flushed first).  Every transaction acknowledged to any client before
 * the statement began ends at or before T, so the view reflects all of
 * them: read-your-writes across sessions.  Under 'serializable' the read
 * only waits for the view to be hydrated.
 *
 * The executor's snapshot was taken before the wait.  After it, the
 * snapshot must see the worker transaction that brought the view to T:
 * in READ COMMITTED the hook takes a new snapshot; in REPEATABLE READ and
 * SERIALIZABLE it cannot, and raises a serialization failure instead of
 * returning a stale answer.
 *
 * The wait sleeps on a condition variable, so cancel and statement_timeout
 * end it with SQLSTATE 57014.  The reader holds only AccessShareLock on the
 * view, which never blocks the worker's writes.
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
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/relcache.h"
#include "utils/snapmgr.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"
#include "coordinator/coordinator.h"
#include "coordinator/processes.h"
#include "coordinator/shmem.h"

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

/*
 * Wait until every view in relids can be read: hydrated, and under strict
 * reads with upper at or past this statement's target.  ERRORs if a view
 * failed.  Interruptible.
 */
void
CoordinatorWaitForViews(List *relids, bool strict)
{
	XLogRecPtr	target = InvalidXLogRecPtr;
	ListCell   *lc;

	if (strict)
	{
		target = GetFlushRecPtr(NULL);
		if (XactLastCommitEnd > target)
		{
			XLogFlush(XactLastCommitEnd);
			target = XactLastCommitEnd;
		}
	}

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);

		for (;;)
		{
			CoordinatorView *entry;
			ViewState	state = VIEW_FREE;
			XLogRecPtr	upper = InvalidXLogRecPtr;
			int			worker = 0;
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
			}
			LWLockRelease(Coordinator->lock);

			if (state == VIEW_FAILED)
			{
				ConditionVariableCancelSleep();
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
					ereport(ERROR,
							(errcode(error_code),
							 errmsg("%s", error),
							 errdetail("The error occurred while maintaining view \"%s\".",
									   get_rel_name(relid)),
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
				ereport(ERROR,
						(errcode(ERRCODE_T_R_DEADLOCK_DETECTED),
						 errmsg("could not read maintained view \"%s\" while its dataflow restarts",
								get_rel_name(relid)),
						 errdetail("The dataflow worker is waiting for this transaction, which has written, to end."),
						 errhint("Commit or roll back, then read the view; or read it before writing in the transaction.")));
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
}

/*
 * After the wait, make sure the statement's snapshot sees the worker
 * transactions that brought the views to the target.
 */
static void
ensure_fresh_snapshot(QueryDesc *qd, List *relids)
{
	ListCell   *lc;
	Oid			stale = InvalidOid;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	foreach(lc, relids)
	{
		CoordinatorView *entry = CoordinatorFindView(lfirst_oid(lc));

		if (entry != NULL && TransactionIdIsValid(entry->last_xid) &&
			XidInMVCCSnapshot(entry->last_xid, qd->snapshot))
			stale = entry->relid;
	}
	LWLockRelease(Coordinator->lock);

	if (!OidIsValid(stale))
		return;

	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not read maintained view \"%s\" at a fresh enough time",
						get_rel_name(stale)),
				 errdetail("This transaction's snapshot was taken before the view reflected every transaction committed before the statement began."),
				 errhint("Retry the transaction, read maintained views in READ COMMITTED, or set coordinator.isolation to 'serializable'.")));

	UnregisterSnapshot(qd->snapshot);
	qd->snapshot = RegisterSnapshot(GetTransactionSnapshot());
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
		List	   *relids = NIL;
		ListCell   *lc;

		foreach(lc, qd->plannedstmt->rtable)
		{
			RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

			if (rte->rtekind == RTE_RELATION &&
				rte->relkind == RELKIND_MATVIEW &&
				CoordinatorIsMaintainedView(rte->relid))
				relids = list_append_unique_oid(relids, rte->relid);
		}

		foreach(lc, relids)
		{
			Relation	rel = RelationIdGetRelation(lfirst_oid(lc));
			bool		created_here = rel->rd_createSubid != InvalidSubTransactionId;
			char	   *name = pstrdup(RelationGetRelationName(rel));

			RelationClose(rel);
			if (created_here)
				ereport(ERROR,
						(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
						 errmsg("maintained view \"%s\" cannot be read in the transaction that created it", name),
						 errdetail("Its dataflow starts when the creating transaction commits."),
						 errhint("Commit, then read the view.")));
		}

		if (relids != NIL)
		{
			bool		strict = coordinator_isolation ==
				COORDINATOR_ISOLATION_STRICT_SERIALIZABLE;

			CoordinatorWaitForViews(relids, strict);
			/* the worker marked the view populated: see that in the relcache */
			AcceptInvalidationMessages();
			if (strict)
				ensure_fresh_snapshot(qd, relids);
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(qd, eflags);
	else
		standard_ExecutorStart(qd, eflags);
}

void
CoordinatorInstallReadHooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = coordinator_ExecutorStart;
	CacheRegisterRelcacheCallback(maintained_cache_invalidate, (Datum) 0);
}
