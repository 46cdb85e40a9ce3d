/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The static background worker that starts the coordinator.
 *
 * Registered in _PG_init, it connects to no database (shared catalogs
 * only), so it can wait for coordinator.database to exist -- pg_regress,
 * for one, creates its database after the server starts.  Once it exists,
 * the launcher starts the coordinator in it and relaunches it whenever it
 * exits, at most once a second (a coordinator that fails at once would
 * otherwise be relaunched in a tight loop).  When coordinator.webhook_port
 * is set it starts the webhook listener there too, and relaunches it at
 * most every LISTENER_RESTART_MS (a port in use would otherwise fill the
 * log).
 *
 * While a DROP DATABASE of coordinator.database waits (dropping_database,
 * set by the utility hook), the launcher stops both and starts neither;
 * once the database is gone it waits for it to exist again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"

#define LAUNCHER_NAPTIME_MS 1000
#define COORDINATOR_RESTART_MS 1000
#define LISTENER_RESTART_MS 5000

bool		CoordinatorIsOwnProcess = false;

static void
launcher_detach(int code, Datum arg)
{
	Coordinator->launcher_latch = NULL;
}

/*
 * OID of coordinator.database, or InvalidOid.  Scans pg_database directly,
 * as the autovacuum launcher does: without a database, catalog lookups
 * through indexes are not available.
 */
static Oid
lookup_database(void)
{
	Oid			dboid = InvalidOid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (strcmp(NameStr(db->datname), coordinator_database) == 0 &&
			db->datconnlimit != DATCONNLIMIT_INVALID_DB)
		{
			dboid = db->oid;
			break;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dboid;
}

/* Milliseconds until interval_ms have passed since start (0: they have). */
long
CoordinatorRestartDelay(TimestampTz start, long interval_ms)
{
	long		secs;
	int			usecs;
	long		elapsed;

	if (start == 0)
		return 0;
	TimestampDifference(start, GetCurrentTimestamp(), &secs, &usecs);
	elapsed = secs * 1000 + usecs / 1000;
	return elapsed >= interval_ms ? 0 : interval_ms - elapsed;
}

/*
 * Start a dynamic background worker of this library that the calling
 * process supervises (it is notified when the worker starts and stops).
 * Returns its handle, or NULL with a WARNING if no worker slot is free.
 */
BackgroundWorkerHandle *
CoordinatorStartWorker(const char *function, const char *name,
					   const char *type, Datum arg)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, COORDINATOR_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker.bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(worker.bgw_type, BGW_MAXLEN, "%s", type);
	worker.bgw_main_arg = arg;
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
	{
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("coordinator: could not start background worker \"%s\"", name),
				 errhint("Raise max_worker_processes.")));
		return NULL;
	}
	return handle;
}

void
CoordinatorLauncherMain(Datum main_arg)
{
	BackgroundWorkerHandle *handle = NULL;
	BackgroundWorkerHandle *listener = NULL;
	TimestampTz listener_started = 0;
	TimestampTz coordinator_started = 0;
	bool		warned = false;

	CoordinatorIsOwnProcess = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	/*
	 * A launcher that was terminated left its coordinator running: tell it
	 * to go (it exits when the generation moves), and wait, so that there
	 * is never a second coordinator.
	 */
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->launcher_generation++;
	Coordinator->launcher_latch = MyLatch;
	LWLockRelease(Coordinator->lock);
	before_shmem_exit(launcher_detach, 0);
	while (Coordinator->coordinator_latch != NULL)
	{
		CoordinatorWakeCoordinator();
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	for (;;)
	{
		pid_t		pid;
		long		timeout = LAUNCHER_NAPTIME_MS;
		long		delay;
		bool		dropping = Coordinator->dropping_database;

		if (handle != NULL &&
			GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			pfree(handle);
			handle = NULL;
		}
		if (listener != NULL &&
			GetBackgroundWorkerPid(listener, &pid) == BGWH_STOPPED)
		{
			pfree(listener);
			listener = NULL;
		}

		if (dropping)
		{
			/* leave the database to DROP DATABASE (the coordinator stops its workers) */
			if (handle != NULL)
				TerminateBackgroundWorker(handle);
			if (listener != NULL)
				TerminateBackgroundWorker(listener);
		}
		else if (handle == NULL &&
				 (delay = CoordinatorRestartDelay(coordinator_started, COORDINATOR_RESTART_MS)) > 0)
			timeout = Min(timeout, delay);
		else if (handle == NULL)
		{
			Oid			dboid = lookup_database();

			if (OidIsValid(dboid))
			{
				Coordinator->database = dboid;
				coordinator_started = GetCurrentTimestamp();
				handle = CoordinatorStartWorker("CoordinatorMain", "coordinator",
												"coordinator", ObjectIdGetDatum(dboid));
				warned = false;
			}
			else if (!warned)
			{
				ereport(LOG,
						(errmsg("coordinator: waiting for database \"%s\" to exist",
								coordinator_database)));
				warned = true;
			}
		}

		if (listener == NULL && !dropping && coordinator_webhook_port != 0 &&
			OidIsValid(Coordinator->database) &&
			TimestampDifferenceExceeds(listener_started, GetCurrentTimestamp(),
									   LISTENER_RESTART_MS))
		{
			listener_started = GetCurrentTimestamp();
			listener = CoordinatorStartWorker("WebhookListenerMain", "coordinator webhook listener",
											  "coordinator webhook listener",
											  ObjectIdGetDatum(Coordinator->database));
		}

		CoordinatorWaitLatch(timeout);
	}
}

/* Are any of our processes connected to coordinator.database? */
static bool
connected_to_database(void)
{
	bool		connected;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	connected = Coordinator->coordinator_latch != NULL || Coordinator->listener_running;
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
		connected |= Coordinator->workers[i].pid != 0;
	LWLockRelease(Coordinator->lock);
	return connected;
}

/*
 * DROP DATABASE of coordinator.database, in the dropping backend: ask the
 * launcher to stop the coordinator (which stops its workers) and the
 * webhook listener, and wait up to DROP_DATABASE_WAIT_MS for them to leave
 * the database.  DROP DATABASE then proceeds as usual (and waits for other
 * sessions itself).  CoordinatorResumeAfterDropDatabase must follow,
 * whether the drop succeeded or not.
 */
#define DROP_DATABASE_WAIT_MS 10000

void
CoordinatorLeaveDatabase(void)
{
	TimestampTz start = GetCurrentTimestamp();

	Coordinator->dropping_database = true;
	CoordinatorWakeCoordinator();
	while (connected_to_database() &&
		   CoordinatorRestartDelay(start, DROP_DATABASE_WAIT_MS) > 0)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* The database is gone, or the drop failed: the launcher goes on. */
void
CoordinatorResumeAfterDropDatabase(void)
{
	Coordinator->dropping_database = false;
	CoordinatorWakeCoordinator();
}
