/*-------------------------------------------------------------------------
 *
 * coordinator.c
 *	  Library entry point: GUCs, shared memory requests, hooks, workers.
 *
 * The library must be in shared_preload_libraries: only then does it get
 * shared memory, the launcher background worker and the hooks in every
 * backend.  When it is merely loaded (CREATE EXTENSION without the
 * preload), _PG_init still defines the GUCs so that the setup check in
 * ipc/setup.c can explain what is missing instead of failing later.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "coordinator/commands.h"
#include "coordinator/shmem.h"
#include "coordinator/subscribe.h"
#include "coordinator/timestamp.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

char	   *coordinator_database = NULL;
int			coordinator_dataflow_workers = 1;
int			coordinator_view_placement = COORDINATOR_PLACEMENT_SPREAD;
int			coordinator_isolation = COORDINATOR_ISOLATION_STRICT_SERIALIZABLE;
int			coordinator_max_databases = 8;
int			coordinator_max_views = 256;
int			coordinator_max_recursion_iterations = 10000;
bool		coordinator_preloaded = false;
bool		coordinator_emit_timestamp_notice = false;
int			coordinator_timestamp_notice_min_wait = 0;
int			coordinator_max_subscriptions = 64;
int			coordinator_subscribe_buffer_limit = 65536;
int			coordinator_webhook_port = 0;
char	   *coordinator_webhook_listen_address = NULL;
int			coordinator_webhook_body_limit = 2 * 1024 * 1024;
int			coordinator_webhook_concurrency_limit = 500;
int			coordinator_webhook_max_connections = 600;
int			coordinator_webhook_request_timeout = 10000;

static const struct config_enum_entry isolation_options[] = {
	{"strict serializable", COORDINATOR_ISOLATION_STRICT_SERIALIZABLE, false},
	{"serializable", COORDINATOR_ISOLATION_SERIALIZABLE, false},
	{NULL, 0, false}
};

static const struct config_enum_entry placement_options[] = {
	{"spread", COORDINATOR_PLACEMENT_SPREAD, false},
	{"share", COORDINATOR_PLACEMENT_SHARE, false},
	{NULL, 0, false}
};

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
coordinator_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	CoordinatorShmemRequest();
}

static void
coordinator_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	CoordinatorShmemStartup();
}

/*
 * Register the static launcher.  It needs no database; it starts a
 * coordinator in every database that has the extension (launcher.c).
 */
static void
register_launcher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 1;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, COORDINATOR_NAME);
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "CoordinatorLauncherMain");
	snprintf(worker.bgw_name, BGW_MAXLEN, "coordinator launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "coordinator launcher");
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	DefineCustomEnumVariable("coordinator.isolation",
							 "Consistency of reads of maintained views.",
							 "\"strict serializable\" waits until a view reflects every transaction "
							 "committed before the statement began; \"serializable\" reads at once.",
							 &coordinator_isolation,
							 COORDINATOR_ISOLATION_STRICT_SERIALIZABLE,
							 isolation_options,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomStringVariable("coordinator.read_after",
							   "A primary's timestamp that strict reads on a compute server reflect.",
							   "A WAL position that coordinator.timestamp_token() returned on the primary: "
							   "strict reads first wait until the subscription carrying "
							   "coordinator.primary_clock has applied the primary's commits up to it. "
							   "Empty: local time only.",
							   &coordinator_read_after,
							   "",
							   PGC_USERSET,
							   0,
							   PrimaryCheckReadAfter, NULL, NULL);
	DefineCustomBoolVariable("coordinator.emit_timestamp_notice",
							 "Report the timestamp of each read of maintained views as a NOTICE.",
							 "The NOTICE's DETAIL is the read's EXPLAIN TIMESTAMP.",
							 &coordinator_emit_timestamp_notice,
							 false,
							 PGC_USERSET,
							 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("coordinator.timestamp_notice_min_wait",
							"Only reads that waited at least this long get the timestamp NOTICE.",
							"Applies when coordinator.emit_timestamp_notice is on; 0 reports every read.",
							&coordinator_timestamp_notice_min_wait,
							0, 0, INT_MAX,
							PGC_USERSET,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.subscribe_buffer_limit",
							"Changes a dataflow worker may hold for a subscriber that does not keep up.",
							"Past it the subscription ends with an error; applies to subscriptions opened afterwards.",
							&coordinator_subscribe_buffer_limit,
							65536, 64, INT_MAX / 1024,
							PGC_SUSET,
							GUC_UNIT_KB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.webhook_body_limit",
							"Largest request body a webhook source accepts.",
							"Larger requests get HTTP 413.",
							&coordinator_webhook_body_limit,
							2 * 1024 * 1024, 1, MaxAllocSize - 1,
							PGC_SIGHUP,
							GUC_UNIT_BYTE,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.webhook_request_timeout",
							"Time a webhook client has to send a whole request.",
							"Counted from the connection's accept, or from its last response on a kept-alive connection; then the listener closes the connection.",
							&coordinator_webhook_request_timeout,
							10000, 100, INT_MAX,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);

	/*
	 * Without the preload there are no workers, no shared memory and no
	 * hooks; coordinator.check_setup() says so.  PGC_POSTMASTER settings
	 * cannot be defined after startup, so stop here.
	 */
	if (!process_shared_preload_libraries_in_progress)
		return;

	DefineCustomStringVariable("coordinator.database",
							   "Restricts the coordinator to this database; empty: every database with the extension.",
							   NULL,
							   &coordinator_database,
							   "",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.dataflow_workers",
							"Number of dataflow workers that maintain views.",
							"Each worker decodes the WAL itself and maintains the views assigned to it.",
							&coordinator_dataflow_workers,
							1, 1, COORDINATOR_MAX_WORKERS,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);
	DefineCustomEnumVariable("coordinator.view_placement",
							 "How new maintained views are placed on dataflow workers.",
							 "\"spread\": by OID; \"share\": on the worker of the first view "
							 "that reads one of the same tables, so that their joins can share "
							 "arrangements.  A view over maintained views always goes to the "
							 "worker of the first of them.",
							 &coordinator_view_placement,
							 COORDINATOR_PLACEMENT_SPREAD,
							 placement_options,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.max_databases",
							"Maximum number of databases the coordinator serves at once.",
							"Each database in which the extension exists takes one slot of shared memory.",
							&coordinator_max_databases,
							8, 1, 1000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.max_views",
							"Maximum number of maintained views.",
							NULL,
							&coordinator_max_views,
							256, 1, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.max_recursion_iterations",
							"Most rounds a maintained view's WITH RECURSIVE takes in one change.",
							"Past it the view reports a data error until a later change lets the recursion finish.",
							&coordinator_max_recursion_iterations,
							10000, 1, INT_MAX,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.max_subscriptions",
							"Maximum number of subscriptions open at once.",
							NULL,
							&coordinator_max_subscriptions,
							64, 1, 10000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.webhook_port",
							"TCP port of the webhook listener; 0 turns it off.",
							NULL,
							&coordinator_webhook_port,
							0, 0, 65535,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomStringVariable("coordinator.webhook_listen_address",
							   "Address the webhook listener binds to; * for every IPv4 address.",
							   NULL,
							   &coordinator_webhook_listen_address,
							   "localhost",
							   PGC_POSTMASTER,
							   0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.webhook_concurrency_limit",
							"Webhook requests in flight at once; more get HTTP 429.",
							NULL,
							&coordinator_webhook_concurrency_limit,
							500, 1, 10000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("coordinator.webhook_max_connections",
							"Webhook connections open at once.",
							"Near the limit the listener closes the connections that have waited longest without sending a whole request.",
							&coordinator_webhook_max_connections,
							600, 16, 100000,
							PGC_POSTMASTER,
							0,
							NULL, NULL, NULL);

	MarkGUCPrefixReserved(COORDINATOR_NAME);
	coordinator_preloaded = true;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = coordinator_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = coordinator_shmem_startup;

	register_launcher();

	/* hooks and callbacks of every process */
	CoordinatorInstallUtilityHook();
	CoordinatorInstallReadHooks();
	CoordinatorInstallSubscribeHook();
	RegisterXactCallback(CoordinatorXactCallback, NULL);
	RegisterXactCallback(TimestampXactCallback, NULL);
}
