/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The static background worker that starts a coordinator in every
 *	  database that has the extension, and the webhook listener.
 *
 * Design.  The launcher is connected to no database (shared catalogs
 * only).  Which databases have the extension it cannot see from there:
 * pg_extension is per database.  So, as TimescaleDB's launcher does, it
 * starts the per-database entry point -- the coordinator itself -- in every
 * connectable database that is not a template once when it first sees it
 * (at the launcher's start, and for each database created later: a
 * CREATE DATABASE from a template that has the extension gets it), and
 * that coordinator exits at once where the extension is not installed.
 * Afterwards the extension's appearance is announced, not polled for:
 *
 *	- CREATE EXTENSION takes the database's slot of shared memory in the
 *	  creating backend (databases.c: an ERROR there when all
 *	  coordinator.max_databases slots are taken) and, at commit, bumps the
 *	  slot's catalog generation and sets the launcher's latch; a slot
 *	  without a coordinator is started at once.  If the slot was given back
 *	  meanwhile, the commit bumps probe_generation instead and the launcher
 *	  looks at every database again.
 *	- A backend that finds the extension in a database that has no slot
 *	  yet (after a restart, before the launcher got there) takes it too.
 *	- DROP EXTENSION: the coordinator stops its workers, marks its slot
 *	  extension_absent with the catalog generation it saw, and exits; the
 *	  launcher gives the slot back once no process of ours is in the
 *	  database, unless the generation moved since (the extension came back).
 *	- DROP DATABASE: the dropping backend marks the slot dropping_database
 *	  (utility hook, CoordinatorLeaveDatabase); the launcher stops that
 *	  database's coordinator (which stops its workers) and the webhook
 *	  listener's appender there, and starts nothing in it until the drop
 *	  is over; once the database is gone from pg_database, the slot is
 *	  given back.
 *
 * Per-database state is the slot (oracle, timeline, views, frontiers,
 * holds, workers, subscriptions): nothing is shared between databases
 * but this launcher and the webhook listener.  The launcher's own list of
 * databases (known_databases) only remembers what it started where.
 * coordinator.database, when not empty, restricts all of this to the one
 * database of that name (and the launcher logs while it does not exist).
 *
 * A coordinator that fails is started again at most once a second (one
 * that fails at once would otherwise loop); the webhook listener, when
 * coordinator.webhook_port is set, at most every LISTENER_RESTART_MS (a
 * port in use would otherwise fill the log).
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
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"

#define LAUNCHER_NAPTIME_MS 1000
#define COORDINATOR_RESTART_MS 1000
#define LISTENER_RESTART_MS 5000

/* What the launcher knows of one database. */
typedef struct KnownDatabase
{
	Oid			dboid;
	NameData	name;
	bool		seen;			/* in the latest scan of pg_database */
	bool		probed;			/* a coordinator was started here once */
	bool		failed;			/* its coordinator exited while serving */
	BackgroundWorkerHandle *handle; /* its coordinator, or NULL */
	TimestampTz started;		/* when it was last started */
} KnownDatabase;

static KnownDatabase *known_databases = NULL;	/* in TopMemoryContext */
static int	nknown = 0;
static int	known_capacity = 0;

static void
launcher_detach(int code, Datum arg)
{
	CoordinatorGlobals->launcher_latch = NULL;
}

static KnownDatabase *
find_known(Oid dboid)
{
	for (int i = 0; i < nknown; i++)
	{
		if (known_databases[i].dboid == dboid)
			return &known_databases[i];
	}
	return NULL;
}

/*
 * Scan pg_database directly, as the autovacuum launcher does (without a
 * database, catalog lookups through indexes are not available): mark the
 * databases a coordinator may serve as seen, adding those not known yet.
 * Templates, databases that do not allow connections and those half
 * dropped are left out, and with coordinator.database every other one.
 */
static void
scan_databases(void)
{
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	for (int i = 0; i < nknown; i++)
		known_databases[i].seen = false;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		KnownDatabase *known;

		if (db->datistemplate || !db->datallowconn ||
			db->datconnlimit == DATCONNLIMIT_INVALID_DB ||
			!CoordinatorServesDatabaseName(NameStr(db->datname)))
			continue;
		if ((known = find_known(db->oid)) == NULL)
		{
			if (nknown == known_capacity)
			{
				known_capacity = Max(16, known_capacity * 2);
				known_databases = known_databases == NULL ?
					MemoryContextAlloc(TopMemoryContext, sizeof(KnownDatabase) * known_capacity) :
					repalloc(known_databases, sizeof(KnownDatabase) * known_capacity);
			}
			known = &known_databases[nknown++];
			memset(known, 0, sizeof(KnownDatabase));
			known->dboid = db->oid;
		}
		known->name = db->datname;
		known->seen = true;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
}

/*
 * Whether the coordinator of a known database should run: once to find
 * out whether the extension is there, then while its slot says so (not
 * absent since the last catalog change, no DROP DATABASE in progress).
 */
static bool
wants_coordinator(KnownDatabase *known, CoordinatorShared *slot)
{
	if (slot != NULL && slot->dropping_database)
		return false;
	if (!known->probed)
		return true;
	return slot != NULL &&
		!(slot->extension_absent &&
		  slot->absent_generation == pg_atomic_read_u64(&slot->catalog_generation));
}

/*
 * Start, stop and forget the coordinators of the known databases.  Returns
 * how long to sleep before a restart is due.
 */
static long
supervise_databases(void)
{
	long		timeout = LAUNCHER_NAPTIME_MS;
	int			kept = 0;

	for (int i = 0; i < nknown; i++)
	{
		KnownDatabase *known = &known_databases[i];
		CoordinatorShared *slot = CoordinatorFindDatabase(known->dboid);
		pid_t		pid;

		if (known->handle != NULL &&
			GetBackgroundWorkerPid(known->handle, &pid) == BGWH_STOPPED)
		{
			pfree(known->handle);
			known->handle = NULL;
			known->failed = slot != NULL && !slot->extension_absent &&
				!slot->dropping_database;
		}

		if (!known->seen || !wants_coordinator(known, slot))
		{
			/* leave the database to DROP DATABASE (the coordinator stops its workers) */
			if (known->handle != NULL && slot != NULL && slot->dropping_database)
				TerminateBackgroundWorker(known->handle);
		}
		else if (known->handle == NULL)
		{
			long		delay = known->failed ?
				CoordinatorRestartDelay(known->started, COORDINATOR_RESTART_MS) : 0;

			if (delay > 0)
				timeout = Min(timeout, delay);
			else
			{
				known->started = GetCurrentTimestamp();
				known->probed = true;
				known->failed = false;
				known->handle = CoordinatorStartWorker("CoordinatorMain", "coordinator",
													   "coordinator",
													   ObjectIdGetDatum(known->dboid));
				if (known->handle == NULL)
				{
					/* no worker slot: try again, later */
					known->probed = false;
					known->failed = true;
					timeout = Min(timeout, COORDINATOR_RESTART_MS);
				}
			}
		}

		/* a dropped database is forgotten once its coordinator is gone */
		if (known->seen || known->handle != NULL)
			known_databases[kept++] = *known;
	}
	nknown = kept;
	return timeout;
}

/*
 * Give back the slots of databases that are gone, or whose extension is,
 * once no process of ours is in them.  A slot taken after scan_start may
 * belong to a database the scan did not see yet: it stays.
 */
static void
free_slots(TimestampTz scan_start)
{
	for (int i = 0; i < CoordinatorGlobals->max_databases; i++)
	{
		CoordinatorShared *slot = CoordinatorGlobals->slots[i];
		Oid			dboid = slot->database;
		KnownDatabase *known;
		bool		gone;

		if (!OidIsValid(dboid) || slot->dropping_database ||
			slot->allocated_at >= scan_start)
			continue;
		known = find_known(dboid);
		gone = known == NULL || !known->seen;
		if (!gone && !(slot->extension_absent &&
					   slot->absent_generation == pg_atomic_read_u64(&slot->catalog_generation)))
			continue;
		if ((known != NULL && known->handle != NULL) || CoordinatorDatabaseBusy(slot))
			continue;
		ereport(DEBUG1,
				(errmsg("coordinator: no longer serving database \"%s\"",
						NameStr(slot->dbname))));
		CoordinatorFreeDatabase(slot);
	}
}

void
CoordinatorLauncherMain(Datum main_arg)
{
	BackgroundWorkerHandle *listener = NULL;
	TimestampTz listener_started = 0;
	uint32		probe_generation;
	bool		warned = false;

	CoordinatorIsOwnProcess = true;
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	/*
	 * A launcher that was terminated left its coordinators running: tell
	 * them to go (each exits when the generation moves), and wait, so that
	 * there is never a second coordinator in a database.
	 */
	LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
	CoordinatorGlobals->launcher_generation++;
	CoordinatorGlobals->launcher_latch = MyLatch;
	probe_generation = CoordinatorGlobals->probe_generation;
	LWLockRelease(CoordinatorGlobals->lock);
	before_shmem_exit(launcher_detach, 0);
	for (;;)
	{
		bool		running = false;

		for (int i = 0; i < CoordinatorGlobals->max_databases; i++)
		{
			Latch	   *latch = CoordinatorGlobals->slots[i]->coordinator_latch;

			if (latch != NULL)
			{
				SetLatch(latch);
				running = true;
			}
		}
		if (!running)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	for (;;)
	{
		pid_t		pid;
		long		timeout;
		TimestampTz scan_start = GetCurrentTimestamp();

		/* a CREATE EXTENSION the slots missed: look everywhere again */
		if (CoordinatorGlobals->probe_generation != probe_generation)
		{
			probe_generation = CoordinatorGlobals->probe_generation;
			for (int i = 0; i < nknown; i++)
			{
				if (CoordinatorFindDatabase(known_databases[i].dboid) == NULL)
					known_databases[i].probed = false;
			}
		}

		scan_databases();
		timeout = supervise_databases();
		free_slots(scan_start);

		if (coordinator_database[0] != '\0' && nknown == 0 && !warned)
		{
			ereport(LOG,
					(errmsg("coordinator: waiting for database \"%s\" to exist",
							coordinator_database)));
			warned = true;
		}
		else if (nknown > 0)
			warned = false;

		if (listener != NULL &&
			GetBackgroundWorkerPid(listener, &pid) == BGWH_STOPPED)
		{
			pfree(listener);
			listener = NULL;
		}
		if (listener == NULL && coordinator_webhook_port != 0 &&
			TimestampDifferenceExceeds(listener_started, GetCurrentTimestamp(),
									   LISTENER_RESTART_MS))
		{
			listener_started = GetCurrentTimestamp();
			listener = CoordinatorStartWorker("WebhookListenerMain", "coordinator webhook listener",
											  "coordinator webhook listener", (Datum) 0);
		}

		CoordinatorWaitLatch(timeout);
	}
}
