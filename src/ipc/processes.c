/*-------------------------------------------------------------------------
 *
 * processes.c
 *	  Starting the coordinator's background workers, and knowing that one
 *	  runs.
 *
 * The launcher is registered at server start (coordinator.c); every
 * other process of ours (a coordinator, a dataflow worker, the webhook
 * listener and appenders) is a dynamic background worker started here,
 * and a worker of one database carries that database's OID in bgw_extra.
 * CoordinatorIsOwnProcess tells the hooks, which every process loads,
 * that they run in the launcher, a coordinator or a dataflow worker: the
 * commits of those never advance the oracle (a webhook appender's do, as
 * any writer's).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/timestamp.h"

#include "coordinator/coordinator.h"
#include "coordinator/processes.h"

/* true in the launcher, the coordinators and dataflow workers */
bool		CoordinatorIsOwnProcess = false;

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
 * The worker learns the caller's database from bgw_extra
 * (CoordinatorWorkerDatabase).  Returns its handle, or NULL with a WARNING
 * if no worker slot is free.
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
	memcpy(worker.bgw_extra, &MyDatabaseId, sizeof(Oid));

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

/* The database of the process that started this worker (CoordinatorStartWorker). */
Oid
CoordinatorWorkerDatabase(void)
{
	Oid			dboid;

	memcpy(&dboid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	return dboid;
}
