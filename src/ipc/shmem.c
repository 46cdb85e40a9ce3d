/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of the coordinator and the wake-ups that go through it.
 *
 * The struct is sized by coordinator.max_views and allocated once in the
 * main segment.  A crash-restart of the server reinitializes it: nothing in
 * it is durable, everything is rebuilt from the catalog tables.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "storage/ipc.h"
#include "storage/shmem.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/subscribe.h"
#include "coordinator/timestamp.h"

CoordinatorShared *Coordinator = NULL;

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
coordinator_shmem_size(void)
{
	return add_size(add_size(add_size(MAXALIGN(views_size()), MAXALIGN(arrangements_size())),
							 MAXALIGN(holds_size())),
					SubscriptionShmemSize());
}

/* Called from shmem_request_hook. */
void
CoordinatorShmemRequest(void)
{
	RequestAddinShmemSpace(coordinator_shmem_size());
	RequestNamedLWLockTranche(COORDINATOR_NAME, 1);
}

/* Called from shmem_startup_hook, in the postmaster and in EXEC_BACKEND children. */
void
CoordinatorShmemStartup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	Coordinator = ShmemInitStruct(COORDINATOR_NAME, coordinator_shmem_size(), &found);
	if (!found)
	{
		memset(Coordinator, 0, coordinator_shmem_size());
		Coordinator->lock = &(GetNamedLWLockTranche(COORDINATOR_NAME))->lock;
		Coordinator->database = InvalidOid;
		pg_atomic_init_u64(&Coordinator->catalog_generation, 1);
		SpinLockInit(&Coordinator->timeline_lock);
		pg_atomic_init_u64(&Coordinator->last_commit_end, 0);
		Coordinator->arrangements = (ArrangementStat *)
			((char *) Coordinator + MAXALIGN(views_size()));
		Coordinator->holds = (ReadHold *)
			((char *) Coordinator + MAXALIGN(views_size()) +
			 MAXALIGN(arrangements_size()));
		SubscriptionShmemInit((char *) Coordinator + MAXALIGN(views_size()) +
							  MAXALIGN(arrangements_size()) + MAXALIGN(holds_size()));
		ConditionVariableInit(&Coordinator->frontier_cv);
		for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
			pg_atomic_init_u64(&Coordinator->workers[i].decoded, 0);
		Coordinator->max_views = coordinator_max_views;
		for (int i = 0; i < coordinator_max_views; i++)
			pg_atomic_init_u64(&Coordinator->views[i].upper, 0);
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

/* Set the coordinator's latch, if it runs.  Safe without the lock. */
void
CoordinatorWakeCoordinator(void)
{
	Latch	   *latch = Coordinator->coordinator_latch;

	if (latch != NULL)
		SetLatch(latch);
	latch = Coordinator->launcher_latch;
	if (latch != NULL)
		SetLatch(latch);
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

	if (Coordinator == NULL)
		return;

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
				if (!CoordinatorIsOwnProcess)
					OracleApplyWrite(last_commit_end);
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

	/* read holds last as long as the transaction (holds.c) */
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			ReadHoldsRelease();
			break;
		default:
			break;
	}
}
