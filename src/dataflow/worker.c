/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  Dataflow worker: the process.  Hydrate the views assigned to it, then
 *	  keep them current from the WAL, one tick at a time.
 *
 * Life of a worker (launched and relaunched by the coordinator):
 *
 *	1. read its views from the directory in shared memory and their plans
 *	   from the catalog (views.c);
 *	2. hydrate them at its slot's consistent point (hydrate.c);
 *	3. loop: reconcile when its set of views changed (hydrate.c), serve
 *	   subscriptions, compact history (compaction.c), and tick when WAL was
 *	   flushed past what it decoded (tick.c), publishing to readers as the
 *	   views are written (publish.c).
 *
 * This file holds the process: its start, its main loop, its waits and the
 * reason it gives for its exit in coordinator.workers.  What its files
 * share is in worker_internal.h.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "replication/message.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/inval.h"
#include "utils/memutils.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/subscriptions.h"
#include "coordinator/timestamp.h"
#include "worker_internal.h"

/* Idle wake-up, to notice WAL written without a commit wake-up. */
#define WORKER_NAPTIME_MS 1000

/* How often the worker looks for history to compact. */
#define COMPACTION_INTERVAL_MS 1000

int			WorkerIndex = -1;
List	   *WorkerViews = NIL;
MemoryContext WorkerContext = NULL;
CaptureBatch WorkerBatch;
static volatile sig_atomic_t got_sigterm = false;
static bool exit_recorded = false;

/* SIGTERM: remember it, to say why the worker exited. */
static void
worker_sigterm(SIGNAL_ARGS)
{
	got_sigterm = true;
	die(postgres_signal_arg);
}

/*
 * Say why the worker exits, in coordinator.workers (last_exit); the first
 * reason given wins.  slot_invalidated counts an exit forced by
 * max_slot_wal_keep_size.
 */
void
WorkerRecordExit(const char *reason, bool slot_invalidated)
{
	CoordinatorWorker *w = &Coordinator->workers[WorkerIndex];

	if (exit_recorded)
		return;
	exit_recorded = true;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	strlcpy(w->last_exit, reason, WORKER_EXIT_LEN);
	w->last_exit_at = GetCurrentTimestamp();
	if (slot_invalidated)
		w->slot_invalidations++;
	LWLockRelease(Coordinator->lock);
}

/*
 * Has the worker's slot fallen further behind than max_slot_wal_keep_size
 * allows?  Then the checkpointer is terminating the worker to invalidate
 * the slot (it sends SIGTERM, waits for the slot's release, then marks it
 * invalid).
 */
static bool
slot_beyond_wal_limit(void)
{
	XLogRecPtr	restart;
	WALAvailability availability;

	if (MyReplicationSlot == NULL)
		return false;
	SpinLockAcquire(&MyReplicationSlot->mutex);
	restart = MyReplicationSlot->data.restart_lsn;
	SpinLockRelease(&MyReplicationSlot->mutex);
	if (XLogRecPtrIsInvalid(restart))
		return false;
	availability = GetWALAvailability(restart);
	return availability == WALAVAIL_UNRESERVED || availability == WALAVAIL_REMOVED;
}

static void
worker_detach(int code, Datum arg)
{
	if (WorkerIndex < 0)
		return;
	if (slot_beyond_wal_limit())
	{
		ereport(LOG,
				(errmsg("coordinator dataflow worker %d: its replication slot fell more than max_slot_wal_keep_size behind and is invalidated",
						WorkerIndex),
				 errdetail("The views of the worker are rebuilt from their tables when it starts again.")));
		WorkerRecordExit("replication slot invalidated: more than max_slot_wal_keep_size of WAL behind; views rebuilt from their tables",
						 true);
	}
	else if (got_sigterm)
		WorkerRecordExit("terminated", false);
	else
		WorkerRecordExit(code == 0 ? "exited" : "exited with an error", false);
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	Coordinator->workers[WorkerIndex].pid = 0;
	Coordinator->workers[WorkerIndex].latch = NULL;
	Coordinator->workers[WorkerIndex].hydrating_before = InvalidTransactionId;
	LWLockRelease(Coordinator->lock);
}

/* Say what the worker is doing, in coordinator.workers. */
void
WorkerSetActivity(const char *activity)
{
	/* only this process writes it */
	if (strcmp(Coordinator->workers[WorkerIndex].activity, activity) == 0)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	strlcpy(Coordinator->workers[WorkerIndex].activity, activity,
			sizeof(Coordinator->workers[WorkerIndex].activity));
	LWLockRelease(Coordinator->lock);
}

static bool
reload_requested(void)
{
	bool		reload;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	reload = Coordinator->workers[WorkerIndex].reload;
	LWLockRelease(Coordinator->lock);
	return reload;
}

/* The views of this worker that subscriptions can attach to. */
static List *
healthy_views(void)
{
	List	   *relids = NIL;
	ListCell   *lc;

	foreach(lc, WorkerViews)
	{
		DataflowView *view = lfirst(lc);

		if (view->df != NULL && !view->failed && !view->dropped && !view->catching_up)
			relids = lappend_oid(relids, view->relid);
	}
	return relids;
}

/* Serve the subscriptions between ticks; capture what queries read. */
static void
serve_subscriptions(void)
{
	List	   *views = healthy_views();
	MemoryContext old;

	SendersService(WorkerIndex, views);
	list_free(views);
	old = MemoryContextSwitchTo(WorkerContext);
	WorkerBatch.sources = list_concat_unique_oid(WorkerBatch.sources,
												  SendersTransientSources());
	MemoryContextSwitchTo(old);
}

/* Has a subscriber asked this worker for a query's dataflow? */
static bool
query_subscription_requested(void)
{
	bool		requested = false;

	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = SubscriptionSlot(i);

		if (sub->state == SUBSCRIPTION_REQUESTED && sub->worker == WorkerIndex)
			requested = true;
	}
	LWLockRelease(Coordinator->lock);
	return requested;
}

static void
wait_for_work(long timeout)
{
	CoordinatorWaitLatch(timeout);
}

/*
 * Take this worker's index.  A worker of the same index that is still
 * exiting (its coordinator was terminated, and a new one launched us)
 * holds its slot: wait for it to go.
 */
static void
take_worker_index(void)
{
	for (;;)
	{
		pid_t		previous;

		LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
		previous = Coordinator->workers[WorkerIndex].pid;
		if (previous == 0 || previous == MyProcPid || kill(previous, 0) != 0)
		{
			Coordinator->workers[WorkerIndex].pid = MyProcPid;
			Coordinator->workers[WorkerIndex].latch = MyLatch;
			LWLockRelease(Coordinator->lock);
			return;
		}
		LWLockRelease(Coordinator->lock);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void worker_run(void);

void
DataflowWorkerMain(Datum main_arg)
{
	WorkerIndex = DatumGetInt32(main_arg);
	CoordinatorIsOwnProcess = true;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, worker_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(CoordinatorWorkerDatabase(), InvalidOid, 0);

	take_worker_index();
	before_shmem_exit(worker_detach, 0);

	/*
	 * Functions that the views call resolve names at run time with the
	 * safe search_path of Postgres 17's maintenance operations, whatever
	 * objects other roles create in public; their own SET clauses apply.
	 */
	SetConfigOption("search_path", "pg_catalog, pg_temp", PGC_SUSET, PGC_S_SESSION);

	PG_TRY();
	{
		worker_run();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* exiting: say why, in coordinator.workers, then report it */
		HOLD_INTERRUPTS();
		LWLockReleaseAll();
		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		WorkerRecordExit(psprintf("error: %s", edata->message), false);
		PG_RE_THROW();
	}
	PG_END_TRY();
}

static void
worker_run(void)
{
	LogicalDecodingContext *ctx;
	MemoryContext tick_context;
	TimestampTz last_tick = 0;
	TimestampTz last_compaction = 0;

	/* lives as long as the process; freed by its exit */
	WorkerContext = AllocSetContextCreate(TopMemoryContext,
									  "coordinator dataflow worker",
									  ALLOCSET_DEFAULT_SIZES);
	tick_context = AllocSetContextCreate(WorkerContext,
										 "coordinator tick",
										 ALLOCSET_DEFAULT_SIZES);
	memset(&WorkerBatch, 0, sizeof(WorkerBatch));
	WorkerBatch.context = tick_context;
	CaptureCurrent = &WorkerBatch;

	/*
	 * View writes need not wait for a WAL flush: after a crash every view is
	 * rebuilt from its sources, so durability adds nothing but an fsync per
	 * tick that competes with the writers.  Visibility, which strict reads
	 * rely on, does not depend on it.
	 */
	SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);

	WorkerLoadViews();
	ereport(LOG,
			(errmsg("coordinator dataflow worker %d started with %d maintained views",
					WorkerIndex, list_length(WorkerViews))));
	if (WorkerViews == NIL)
	{
		/*
		 * Nothing to maintain: hold no slot, wait to be reloaded or to be
		 * asked for a query's dataflow.
		 */
		WorkerSetActivity("no views");
		while (WorkerViews == NIL && !query_subscription_requested())
		{
			wait_for_work(-1L);
			if (reload_requested())
				WorkerLoadViews();
		}
	}

	{
		char		origin[NAMEDATALEN];

		snprintf(origin, sizeof(origin), "coordinator_worker_%d", WorkerIndex);
		CaptureSetupOrigin(origin);
	}

	WorkerHydrate();

	MemoryContextSwitchTo(WorkerContext);
	ctx = CaptureStartStreaming();
	CaptureReleaseDataHorizon();
	InvalidateSystemCaches();

	for (;;)
	{
		XLogRecPtr	end;
		XLogRecPtr	pause;

		if (reload_requested())
			WorkerReconcile();
		serve_subscriptions();
		if (TimestampDifferenceExceeds(last_compaction, GetCurrentTimestamp(),
									   COMPACTION_INTERVAL_MS))
		{
			WorkerCompactViews();
			last_compaction = GetCurrentTimestamp();
		}
		end = GetFlushRecPtr(NULL);
		TimelineRecord(end, GetCurrentTimestamp());
		/* a read of views of several workers may hold it at a time */
		pause = ReadPauseLimit(WorkerIndex);
		if (pause != InvalidXLogRecPtr && pause < end)
			end = Max(pause, ctx->reader->EndRecPtr);
		if (Coordinator->workers[WorkerIndex].paused || ctx->reader->EndRecPtr >= end)
		{
			TimestampTz now = GetCurrentTimestamp();
			TimestampTz due = WorkerNextDue();
			long		naptime = WORKER_NAPTIME_MS;

			/*
			 * Idle with subscribers or temporal filters: time goes on
			 * without writes.  A clock message once a second, or when a
			 * temporal filter's row comes due, lets the next tick send
			 * subscribers progress (as Materialize's timestamps advance
			 * every second) and move the views' time on.
			 */
			if (!Coordinator->workers[WorkerIndex].paused &&
				(((SendersAttached() || WorkerHasTemporal()) &&
				  TimestampDifferenceExceeds(last_tick, now, WORKER_NAPTIME_MS)) ||
				 (due <= now && DataflowClock < due)) &&
				(pause == InvalidXLogRecPtr || pause > ctx->reader->EndRecPtr))
			{
				(void) TimelineWriteClock();
				last_tick = now;
				continue;
			}
			if (due != DT_NOEND)
				naptime = Min(naptime, Max(1, (due - now + 999) / 1000));
			WorkerSetActivity(Coordinator->workers[WorkerIndex].paused ? "paused" : "idle");
			pgstat_report_stat(false);
			wait_for_work(naptime);
			continue;
		}
		last_tick = GetCurrentTimestamp();
		WorkerTick(ctx, end);
		MemoryContextSwitchTo(WorkerContext);

		CHECK_FOR_INTERRUPTS();
	}
}
