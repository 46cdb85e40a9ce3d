/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The static background worker that starts the coordinator.
 *
 * Registered in _PG_init, it connects to no database (shared catalogs
 * only), so it can wait for coordinator.database to exist -- pg_regress,
 * for one, creates its database after the server starts.  Once it exists,
 * the launcher starts the coordinator in it and relaunches it whenever it
 * exits, at most once a second.  When coordinator.webhook_port is set it
 * starts the webhook listener there too, and relaunches it at most every
 * LISTENER_RESTART_MS (a port in use would otherwise fill the log).
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
	bool		warned = false;

	CoordinatorIsOwnProcess = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	Coordinator->launcher_latch = MyLatch;
	before_shmem_exit(launcher_detach, 0);

	for (;;)
	{
		pid_t		pid;

		if (handle != NULL &&
			GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			pfree(handle);
			handle = NULL;
		}

		if (handle == NULL)
		{
			Oid			dboid = lookup_database();

			if (OidIsValid(dboid))
			{
				Coordinator->database = dboid;
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

		if (listener != NULL &&
			GetBackgroundWorkerPid(listener, &pid) == BGWH_STOPPED)
		{
			pfree(listener);
			listener = NULL;
		}
		if (listener == NULL && coordinator_webhook_port != 0 &&
			OidIsValid(Coordinator->database) &&
			TimestampDifferenceExceeds(listener_started, GetCurrentTimestamp(),
									   LISTENER_RESTART_MS))
		{
			listener_started = GetCurrentTimestamp();
			listener = CoordinatorStartWorker("WebhookListenerMain", "coordinator webhook listener",
											  "coordinator webhook listener",
											  ObjectIdGetDatum(Coordinator->database));
		}

		CoordinatorWaitLatch(LAUNCHER_NAPTIME_MS);
	}
}
