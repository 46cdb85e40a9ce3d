/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of the coordinator and the wake-ups that go through it.
 *
 * One CoordinatorGlobal (the launcher, the webhook listener, the directory
 * of databases) followed by coordinator.max_databases slots, one per
 * database served, each sized by coordinator.max_views and allocated once
 * in the main segment.  A slot is taken by the first process of a database
 * that needs it once the extension exists there (CREATE EXTENSION, the
 * coordinator at its start, a backend after a restart) and given back by
 * the launcher when the extension or the database is gone.  Every other
 * file reaches its database's slot through the macro Coordinator.  A
 * crash-restart of the server reinitializes all of it: nothing in it is
 * durable, everything is rebuilt from the catalog tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/syscache.h"

#include "coordinator/shmem.h"
#include "coordinator/subscriptions.h"

CoordinatorGlobal *CoordinatorGlobals = NULL;

static Size
views_size(void)
{
	return add_size(offsetof(CoordinatorShared, views),
					mul_size(sizeof(CoordinatorView), coordinator_max_views));
}

static Size
arrangements_size(void)
{
	return mul_size(mul_size(sizeof(ArrangementStat), ARRANGEMENTS_PER_VIEW),
					coordinator_max_views);
}

static Size
holds_size(void)
{
	return mul_size(mul_size(sizeof(ReadHold), HOLDS_PER_BACKEND), MaxBackends);
}

static Size
waits_size(void)
{
	return mul_size(sizeof(ReadWait), MaxBackends);
}

/* The size of one database's slot, with its arrays. */
static Size
slot_size(void)
{
	return MAXALIGN(add_size(add_size(add_size(add_size(MAXALIGN(views_size()),
														MAXALIGN(arrangements_size())),
											   MAXALIGN(holds_size())),
									  MAXALIGN(waits_size())),
							 SubscriptionShmemSize()));
}

static Size
global_size(void)
{
	return MAXALIGN(add_size(offsetof(CoordinatorGlobal, slots),
							 mul_size(sizeof(CoordinatorShared *),
									  coordinator_max_databases)));
}

static Size
coordinator_shmem_size(void)
{
	return add_size(global_size(), mul_size(slot_size(), coordinator_max_databases));
}

/* Called from shmem_request_hook. */
void
CoordinatorShmemRequest(void)
{
	RequestAddinShmemSpace(coordinator_shmem_size());
	/* one lock for the directory of databases, one per slot */
	RequestNamedLWLockTranche(COORDINATOR_NAME, coordinator_max_databases + 1);
}

/*
 * Make a slot as new: zeroed, its arrays laid out after it, its lock and
 * atomics initialized.  The slot must be free (no process uses it).
 */
void
CoordinatorInitDatabaseSlot(CoordinatorShared *slot, int index)
{
	char	   *base = (char *) slot;

	if (index < 0 || index >= coordinator_max_databases)
		elog(PANIC, "coordinator: database slot %d out of range", index);
	memset(slot, 0, slot_size());
	slot->lock = &(GetNamedLWLockTranche(COORDINATOR_NAME))[index + 1].lock;
	slot->database = InvalidOid;
	pg_atomic_init_u64(&slot->catalog_generation, 1);
	SpinLockInit(&slot->timeline_lock);
	pg_atomic_init_u64(&slot->last_commit_end, 0);
	slot->arrangements = (ArrangementStat *) (base + MAXALIGN(views_size()));
	slot->holds = (ReadHold *) (base + MAXALIGN(views_size()) +
								MAXALIGN(arrangements_size()));
	slot->waits = (ReadWait *) (base + MAXALIGN(views_size()) +
								MAXALIGN(arrangements_size()) +
								MAXALIGN(holds_size()));
	SubscriptionShmemInit(slot, base + MAXALIGN(views_size()) +
						  MAXALIGN(arrangements_size()) + MAXALIGN(holds_size()) +
						  MAXALIGN(waits_size()));
	pg_atomic_init_u32(&slot->pausing, 0);
	for (int i = 0; i < MaxBackends; i++)
	{
		pg_atomic_init_u64(&slot->waits[i].pause_at, 0);
		pg_atomic_init_u32(&slot->waits[i].pause_workers, 0);
	}
	ConditionVariableInit(&slot->frontier_cv);
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
		pg_atomic_init_u64(&slot->workers[i].decoded, 0);
	slot->max_views = coordinator_max_views;
	for (int i = 0; i < coordinator_max_views; i++)
	{
		pg_atomic_init_u64(&slot->views[i].upper, 0);
		pg_atomic_init_u64(&slot->views[i].rows_scanned, 0);
		pg_atomic_init_u64(&slot->views[i].rows_arranged, 0);
	}
	slot->relay_segment = DSM_HANDLE_INVALID;
}

/* Called from shmem_startup_hook, in the postmaster and in EXEC_BACKEND children. */
void
CoordinatorShmemStartup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	CoordinatorGlobals = ShmemInitStruct(COORDINATOR_NAME, coordinator_shmem_size(), &found);
	if (!found)
	{
		memset(CoordinatorGlobals, 0, global_size());
		CoordinatorGlobals->lock = &(GetNamedLWLockTranche(COORDINATOR_NAME))->lock;
		CoordinatorGlobals->max_databases = coordinator_max_databases;
		pg_atomic_init_u64(&CoordinatorGlobals->slots_generation, 1);
		for (int i = 0; i < coordinator_max_databases; i++)
		{
			CoordinatorGlobals->slots[i] = (CoordinatorShared *)
				((char *) CoordinatorGlobals + global_size() + i * slot_size());
			CoordinatorInitDatabaseSlot(CoordinatorGlobals->slots[i], i);
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * Find the directory entry of a view.  The caller must hold
 * Coordinator->lock (shared is enough); returns NULL when the coordinator
 * has not registered the view.
 */
CoordinatorView *
CoordinatorFindView(Oid relid)
{
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *view = &Coordinator->views[i];

		if (view->state != VIEW_FREE && view->relid == relid)
			return view;
	}
	return NULL;
}

/*
 * The other maintained views of the worker that maintains view relid (NIL
 * if the directory does not have it): those it may read as inputs.
 */
List *
CoordinatorViewsBeside(Oid relid)
{
	List	   *relids = NIL;
	CoordinatorView *entry;

	if (Coordinator == NULL)
		return NIL;
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	entry = CoordinatorFindView(relid);
	for (int i = 0; entry != NULL && i < Coordinator->max_views; i++)
	{
		CoordinatorView *view = &Coordinator->views[i];

		if (view->state != VIEW_FREE && view->relid != relid &&
			view->worker == entry->worker)
			relids = lappend_oid(relids, view->relid);
	}
	LWLockRelease(Coordinator->lock);
	return relids;
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

/* A view's state as introspection shows it. */
const char *
CoordinatorViewStateName(ViewState state)
{
	switch (state)
	{
		case VIEW_PENDING:
			return "hydrating";
		case VIEW_READY:
			return "running";
		case VIEW_FAILED:
			return "failed";
		default:
			return "pending";	/* not registered by the coordinator yet */
	}
}

/*
 * The wait of every coordinator process: sleep on the process latch until
 * it is set or timeout ms pass (-1: no timeout), exit with the postmaster,
 * then process interrupts (SIGTERM ends the process) and configuration
 * reloads.
 */
void
CoordinatorWaitLatch(long timeout)
{
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

	if (timeout >= 0)
		events |= WL_TIMEOUT;
	(void) WaitLatch(MyLatch, events, timeout, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/* Set the launcher's latch, if it runs.  Safe without the lock. */
void
CoordinatorWakeLauncher(void)
{
	Latch	   *latch = CoordinatorGlobals ? CoordinatorGlobals->launcher_latch : NULL;

	if (latch != NULL)
		SetLatch(latch);
}

/*
 * Set the latch of this database's coordinator, if it runs, and the
 * launcher's.  Safe without the lock.
 */
void
CoordinatorWakeCoordinator(void)
{
	CoordinatorShared *slot = Coordinator;
	Latch	   *latch = slot ? slot->coordinator_latch : NULL;

	if (latch != NULL)
		SetLatch(latch);
	CoordinatorWakeLauncher();
}

/* Set a dataflow worker's latch, if it runs. */
void
CoordinatorWakeWorker(int worker)
{
	Latch	   *latch = Coordinator->workers[worker].latch;

	if (latch != NULL)
		SetLatch(latch);
}

/*
 * Catalog changes (a view created or dropped, the extension dropped) reach
 * the coordinator only when the transaction that made them commits.
 */
static bool catalog_change_pending = false;

void
CoordinatorNotifyCatalogChange(void)
{
	catalog_change_pending = true;
}

/*
 * Transaction callback, installed in every backend: after a commit, bump the
 * catalog generation if this transaction changed the catalog, and wake the
 * dataflow workers if it wrote anything, so they decode it at once instead
 * of at their next timeout.
 */
void
CoordinatorXactCallback(XactEvent event, void *arg)
{
	static XLogRecPtr last_commit_end = InvalidXLogRecPtr;

	if (CoordinatorGlobals == NULL)
		return;
	if (Coordinator == NULL)
	{
		/*
		 * A CREATE EXTENSION whose slot is gone (its coordinator found no
		 * extension before this commit and the launcher freed it): the
		 * launcher looks at every database again.
		 */
		if (event == XACT_EVENT_COMMIT && catalog_change_pending)
		{
			LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
			CoordinatorGlobals->probe_generation++;
			LWLockRelease(CoordinatorGlobals->lock);
			CoordinatorWakeLauncher();
		}
		if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
			event == XACT_EVENT_PARALLEL_COMMIT || event == XACT_EVENT_PARALLEL_ABORT)
			catalog_change_pending = false;
		return;
	}

	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (catalog_change_pending)
			{
				catalog_change_pending = false;
				pg_atomic_fetch_add_u64(&Coordinator->catalog_generation, 1);
				CoordinatorWakeCoordinator();
			}
			if (XactLastCommitEnd != last_commit_end)
			{
				last_commit_end = XactLastCommitEnd;
				/* a worker's own writes are never decoded: no need to wake it */
				for (int i = 0; i < coordinator_dataflow_workers; i++)
				{
					if (Coordinator->workers[i].latch != MyLatch)
						CoordinatorWakeWorker(i);
				}
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			catalog_change_pending = false;
			break;
		default:
			break;
	}
}
