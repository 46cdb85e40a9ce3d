/*-------------------------------------------------------------------------
 *
 * processes.h
 *	  Entry points of the background workers: launcher, coordinator and
 *	  dataflow workers.
 *
 * launcher (static, no database) -> one coordinator per database with the
 * extension (dynamic) -> dataflow workers (dynamic, coordinator.dataflow_workers
 * per database); launcher -> webhook listener (dynamic, no database, when
 * coordinator.webhook_port > 0) -> one webhook appender per database that
 * receives POSTs (dynamic).
 * Each process supervises the next and relaunches it when it exits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_PROCESSES_H
#define COORDINATOR_PROCESSES_H

#include "fmgr.h"
#include "postmaster/bgworker.h"
#include "utils/timestamp.h"

/* true in the launcher, the coordinator and dataflow workers */
extern bool CoordinatorIsOwnProcess;

extern BackgroundWorkerHandle *CoordinatorStartWorker(const char *function,
													  const char *name,
													  const char *type,
													  Datum arg);
extern long CoordinatorRestartDelay(TimestampTz start, long interval_ms);
extern Oid	CoordinatorWorkerDatabase(void);
struct CoordinatorShared;

extern PGDLLEXPORT void CoordinatorLauncherMain(Datum main_arg);
extern PGDLLEXPORT void CoordinatorMain(Datum main_arg);
extern PGDLLEXPORT void DataflowWorkerMain(Datum main_arg);
extern PGDLLEXPORT void WebhookListenerMain(Datum main_arg);
extern PGDLLEXPORT void WebhookAppenderMain(Datum main_arg);

#endif							/* COORDINATOR_PROCESSES_H */
