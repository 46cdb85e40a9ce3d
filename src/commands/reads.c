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
#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

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
	XLogRecPtr	wait_for = target;

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		CoordinatorWaitForViews(relids, wait_for);
		/* the worker marked the view populated: see that in the relcache */
		AcceptInvalidationMessages();
		det = TimestampInputs(relids, qd->snapshot);

		if (!TimestampStaleInput(det, target, &stale))
		{
			/*
			 * A strict read reads every view at one time, at or after
			 * target: if the snapshot sees one view's contents from a
			 * later time than another view has reached (its change was
			 * applied first, or by a faster worker), wait for that one to
			 * reach it too and look again.  One worker gets there at once
			 * (it applies a tick to all its views before the next).
			 * Several workers, under writes that keep one ahead, may not:
			 * pause them at that time meanwhile (pause.c).
			 */
			XLogRecPtr	common = target == InvalidXLogRecPtr ? target :
				TimestampCommonTime(det, target);
			uint32		workers = TimestampInputWorkers(det);

			if (!TimestampStaleInput(det, common, &stale))
			{
				ReadPauseRelease();
				return det;
			}
			if ((workers & (workers - 1)) != 0)
				ReadPauseSet(common, workers);
			wait_for = common;
		}

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

/* Does one of the views have temporal filters (or read one that has)? */
static bool
any_temporal(List *relids)
{
	ListCell   *lc;
	bool		temporal = false;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	foreach(lc, relids)
	{
		CoordinatorView *entry = CoordinatorFindView(lfirst_oid(lc));

		temporal |= entry != NULL && entry->temporal;
	}
	LWLockRelease(Coordinator->lock);
	return temporal;
}

/* Wait for the views, choose the read's timestamp, fix the snapshot. */
static void
read_views(QueryDesc *qd, List *relids)
{
	bool		strict = coordinator_isolation == COORDINATOR_ISOLATION_STRICT_SERIALIZABLE;
	XLogRecPtr	read_after = strict ? PrimaryReadAfter() : InvalidXLogRecPtr;
	XLogRecPtr	target;
	TimestampTz start = GetCurrentTimestamp();
	TimestampDetermination *det;
	long		secs;
	int			usecs;

	/*
	 * On a compute server, a primary's timestamp first: its commits up to
	 * it applied here, so that the read's own timestamp comes after them.
	 * A transaction's snapshot, taken before they were applied, cannot
	 * show them.
	 */
	if (read_after != InvalidXLogRecPtr && PrimaryWaitApplied(read_after) &&
		IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not read maintained views after the primary's timestamp %s in this transaction",
						coordinator_read_after),
				 errdetail("The subscription had not applied the primary's commits up to it when the transaction's snapshot was taken."),
				 errhint("Read in READ COMMITTED, or retry the transaction once the subscription has caught up.")));
	target = strict ? CoordinatorReadTarget() : InvalidXLogRecPtr;

	/*
	 * Views with temporal filters change with the clock: their time must
	 * reach the read's start too.  A clock message gives the workers that
	 * time at a WAL position, which the read waits for (unless the
	 * transaction's timestamp is chosen already).
	 */
	if (strict && any_temporal(relids) &&
		!(IsolationUsesXactSnapshot() && xact_timestamp_lxid == MyProc->lxid))
		target = Max(target, TimelineWriteClock());

	det = wait_and_read(qd, relids, target);
	TimestampDetermine(det, strict, target);
	if (read_after != InvalidXLogRecPtr)
		PrimaryDescribe(det);
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
