/*-------------------------------------------------------------------------
 *
 * coordinator.c
 *	  The coordinator: catalog -> view directory -> dataflow workers.
 *
 * One runs in each database in which the extension exists, started by
 * the launcher (which also starts one, to find out, in each database it
 * has not seen yet: it exits at once where there is no extension).  It
 * serves its database's slot of shared memory.  Its loop never does long
 * work:
 *
 *	- when the catalog generation moved (a committed CREATE or DROP of a
 *	  maintained view, CREATE or DROP EXTENSION), it re-reads the catalog,
 *	  updates the view directory in shared memory, assigns each view to a
 *	  worker (that of the first maintained view it reads, else relid mod
 *	  coordinator.dataflow_workers), and asks the workers
 *	  whose set of views changed to reload;
 *	- it keeps coordinator.dataflow_workers workers running while the
 *	  extension exists, relaunching any that exits (it is their bgw_notify_pid,
 *	  so it wakes when they do), and stops them when the extension is gone;
 *	  then it exits too, and the launcher gives the slot back.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "coordinator/catalog.h"
#include "coordinator/processes.h"
#include "coordinator/shmem.h"

#define COORDINATOR_NAPTIME_MS 1000
#define WORKER_RELAUNCH_DELAY_MS 1000

static BackgroundWorkerHandle *workers[COORDINATOR_MAX_WORKERS];
static TimestampTz last_launch[COORDINATOR_MAX_WORKERS];

/*
 * The workers go with the coordinator that supervises them: a new
 * coordinator could not, and would start a second worker of each index.
 */
static void
coordinator_detach(int code, Datum arg)
{
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
	{
		if (workers[i] != NULL)
			TerminateBackgroundWorker(workers[i]);
	}
	Coordinator->coordinator_latch = NULL;
	Coordinator->extension_ready = false;
}

/*
 * The worker of a new view: that of the first maintained view it reads,
 * whose changes are then its input (a view on another worker is expanded
 * into its query instead); with coordinator.view_placement = 'share', that
 * of the first earlier view of the catalog (views) that reads one of its
 * tables, whose joins' arrangements it may share; else by its OID.  Views
 * that read each other end up on one worker, in the order they were
 * created.
 */
static int
view_worker(CatalogView *view, List *views, int nworkers)
{
	ListCell   *lc;
	ListCell   *lt;

	foreach(lc, view->inputs)
	{
		CoordinatorView *input = CoordinatorFindView(lfirst_oid(lc));

		if (input != NULL && input->worker < nworkers)
			return input->worker;
	}
	if (coordinator_view_placement == COORDINATOR_PLACEMENT_SHARE)
	{
		foreach(lc, views)
		{
			CatalogView *other = lfirst(lc);
			CoordinatorView *entry;

			if (other == view)
				break;
			entry = CoordinatorFindView(other->relid);
			if (entry == NULL || entry->worker >= nworkers)
				continue;
			foreach(lt, view->tables)
			{
				if (list_member_oid(other->tables, lfirst_oid(lt)))
					return entry->worker;
			}
		}
	}
	return view->relid % nworkers;
}

/*
 * Bring the directory in line with the catalog.  views is the catalog's
 * list (CatalogView *), or NIL when the extension does not exist.  Returns
 * whether a view was added or dropped.
 */
static bool
sync_directory(List *views)
{
	bool		reload[COORDINATOR_MAX_WORKERS] = {false};
	bool		changed = false;
	ListCell   *lc;
	int			nworkers = coordinator_dataflow_workers;

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);

	/* forget dropped views */
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *entry = &Coordinator->views[i];
		bool		found = false;

		if (entry->state == VIEW_FREE)
			continue;
		foreach(lc, views)
		{
			if (((CatalogView *) lfirst(lc))->relid == entry->relid)
				found = true;
		}
		if (!found)
		{
			elog(DEBUG1, "coordinator: view %u was dropped", entry->relid);
			reload[entry->worker] = true;
			entry->state = VIEW_FREE;
			entry->relid = InvalidOid;
		}
	}

	/* register new ones */
	foreach(lc, views)
	{
		CatalogView *view = lfirst(lc);
		CoordinatorView *free_entry = NULL;
		int			worker;

		if ((free_entry = CoordinatorFindView(view->relid)) != NULL)
		{
			free_entry->retain_ms = view->retain_ms;
			continue;
		}
		for (int i = 0; i < Coordinator->max_views && free_entry == NULL; i++)
		{
			if (Coordinator->views[i].state == VIEW_FREE)
				free_entry = &Coordinator->views[i];
		}
		if (free_entry == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("coordinator: more maintained views than coordinator.max_views (%d)",
							Coordinator->max_views),
					 errhint("Raise coordinator.max_views and restart the server.")));
			break;
		}
		worker = view_worker(view, views, nworkers);
		elog(DEBUG1, "coordinator: maintaining view %u on worker %d",
			 view->relid, worker);
		free_entry->relid = view->relid;
		free_entry->retain_ms = view->retain_ms;
		free_entry->history_since = InvalidXLogRecPtr;
		free_entry->history_since_wall = 0;
		free_entry->worker = worker;
		free_entry->state = VIEW_PENDING;
		free_entry->last_xid = InvalidTransactionId;
		free_entry->prev_xid = InvalidTransactionId;
		free_entry->temporal = false;
		free_entry->since = InvalidXLogRecPtr;
		free_entry->prev_since = InvalidXLogRecPtr;
		free_entry->prev_upper = InvalidXLogRecPtr;
		memset(Coordinator->arrangements +
			   (free_entry - Coordinator->views) * ARRANGEMENTS_PER_VIEW,
			   0, sizeof(ArrangementStat) * ARRANGEMENTS_PER_VIEW);
		free_entry->error[0] = '\0';
		free_entry->error_code = 0;
		free_entry->arranged_rows = 0;
		free_entry->dataflow_bytes = 0;
		free_entry->progress_pid = 0;	/* no hydration progress yet */
		pg_atomic_write_u64(&free_entry->upper, 0);
		reload[free_entry->worker] = true;
	}

	for (int i = 0; i < nworkers; i++)
	{
		if (reload[i])
		{
			Coordinator->workers[i].reload = true;
			/* a requested restart is not a crash loop: no relaunch delay */
			last_launch[i] = 0;
		}
	}
	LWLockRelease(Coordinator->lock);

	for (int i = 0; i < nworkers; i++)
	{
		if (reload[i])
		{
			CoordinatorWakeWorker(i);
			changed = true;
		}
	}
	return changed;
}

/*
 * Read the catalog and bring the directory in line with it.  Readers
 * waiting for a view are woken only when something they wait for changed:
 * a reader that waits for a view the coordinator cannot see yet wakes the
 * coordinator, and a wake-up for nothing would make the two wake each
 * other without end.
 */
static void
load_catalog(uint64 generation)
{
	List	   *views = NIL;
	bool		exists;
	bool		changed;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "reading the coordinator catalog");
	exists = CatalogExtensionExists();
	if (exists)
		views = CatalogLoadViews();
	changed = sync_directory(views);
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	changed |= Coordinator->extension_ready != exists;
	Coordinator->extension_ready = exists;
	Coordinator->loaded_generation = generation;
	LWLockRelease(Coordinator->lock);
	if (changed)
		ConditionVariableBroadcast(&Coordinator->frontier_cv);
}

static void
launch_worker(int i)
{
	char		name[BGW_MAXLEN];

	snprintf(name, sizeof(name), "coordinator dataflow worker %d", i);
	last_launch[i] = GetCurrentTimestamp();
	workers[i] = CoordinatorStartWorker("DataflowWorkerMain", name,
										"coordinator dataflow worker",
										Int32GetDatum(i));

	/*
	 * The worker's views that are not running yet say why they cannot start
	 * (readers fail at once with it), or no longer say so once it runs.
	 */
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	if (workers[i] != NULL)
		Coordinator->workers[i].launches++;
	for (int v = 0; v < Coordinator->max_views; v++)
	{
		CoordinatorView *entry = &Coordinator->views[v];

		if (entry->state != VIEW_PENDING || entry->worker != i)
			continue;
		if (workers[i] == NULL)
		{
			strlcpy(entry->error,
					"no background worker slot is free for its dataflow worker (raise max_worker_processes)",
					VIEW_ERROR_LEN);
			entry->error_code = ERRCODE_CONFIGURATION_LIMIT_EXCEEDED;
		}
		else
		{
			entry->error[0] = '\0';
			entry->error_code = 0;
		}
	}
	LWLockRelease(Coordinator->lock);
	if (workers[i] == NULL)
		ConditionVariableBroadcast(&Coordinator->frontier_cv);
}

/*
 * Keep the workers running while the extension exists; stop them when it
 * does not.  Returns how long to sleep before the next relaunch is due.
 */
static long
supervise_workers(void)
{
	long		timeout = COORDINATOR_NAPTIME_MS;

	for (int i = 0; i < coordinator_dataflow_workers; i++)
	{
		pid_t		pid;

		if (workers[i] != NULL &&
			GetBackgroundWorkerPid(workers[i], &pid) == BGWH_STOPPED)
		{
			pfree(workers[i]);
			workers[i] = NULL;
		}

		if (!Coordinator->extension_ready)
		{
			if (workers[i] != NULL)
				TerminateBackgroundWorker(workers[i]);
			continue;
		}

		if (workers[i] == NULL)
		{
			long		delay = CoordinatorRestartDelay(last_launch[i],
														WORKER_RELAUNCH_DELAY_MS);

			if (delay == 0)
				launch_worker(i);
			else
				timeout = Min(timeout, delay);
		}
	}
	return timeout;
}

/* No worker of ours runs: the coordinator may leave. */
static bool
workers_stopped(void)
{
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
	{
		if (workers[i] != NULL)
			return false;
	}
	return true;
}

/*
 * The extension is not (or no longer) in this database: say so in the
 * database's slot, if it has one, so that the launcher gives the slot back
 * unless the catalog changed after generation (a CREATE EXTENSION that
 * committed meanwhile), and exit.  The launcher starts a coordinator here
 * again when the extension comes.
 */
static void
leave_database(CoordinatorShared *slot, uint64 generation)
{
	if (slot != NULL)
	{
		LWLockAcquire(slot->lock, LW_EXCLUSIVE);
		slot->extension_absent = true;
		slot->absent_generation = generation;
		LWLockRelease(slot->lock);
		CoordinatorWakeLauncher();
	}
	proc_exit(0);
}

/*
 * Connect to the database the launcher named and serve it if the
 * extension exists there; exit at once if not (the launcher starts one
 * coordinator in every database it has not seen yet, to find out).
 */
void
CoordinatorMain(Datum main_arg)
{
	uint32		launcher_generation;
	CoordinatorShared *slot;
	uint64		generation;
	bool		exists;

	CoordinatorIsOwnProcess = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);

	slot = CoordinatorFindDatabase(MyDatabaseId);
	generation = slot ? pg_atomic_read_u64(&slot->catalog_generation) : 0;
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	exists = CatalogExtensionExists() &&
		CoordinatorServesDatabaseName(get_database_name(MyDatabaseId));
	if (exists)
		slot = CoordinatorAttachDatabase();
	CommitTransactionCommand();
	if (!exists)
		leave_database(slot, generation);

	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->coordinator_latch = MyLatch;
	Coordinator->extension_absent = false;
	LWLockRelease(Coordinator->lock);
	LWLockAcquire(CoordinatorGlobals->lock, LW_SHARED);
	launcher_generation = CoordinatorGlobals->launcher_generation;
	LWLockRelease(CoordinatorGlobals->lock);
	before_shmem_exit(coordinator_detach, 0);
	Coordinator->loaded_generation = 0;
	ereport(DEBUG1,
			(errmsg("coordinator serving database \"%s\"", NameStr(Coordinator->dbname))));

	for (;;)
	{
		long		timeout;

		generation = pg_atomic_read_u64(&Coordinator->catalog_generation);

		/* a new launcher (the old one was terminated) starts its own */
		if (CoordinatorGlobals->launcher_generation != launcher_generation)
		{
			ereport(LOG,
					(errmsg("coordinator exits: its launcher was restarted")));
			proc_exit(0);
		}

		if (generation != Coordinator->loaded_generation ||
			!Coordinator->extension_ready)
			load_catalog(generation);

		timeout = supervise_workers();

		/* DROP EXTENSION: once its workers are gone, the coordinator goes */
		if (!Coordinator->extension_ready && workers_stopped())
			leave_database(Coordinator, Coordinator->loaded_generation);

		CoordinatorWaitLatch(timeout);
	}
}
