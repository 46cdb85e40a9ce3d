/*-------------------------------------------------------------------------
 *
 * shmem.h
 *	  Shared state of the coordinator: processes, views and their frontiers.
 *
 * One fixed-size struct in the main shared memory segment, requested in
 * _PG_init.  The coordinator owns the view directory (which views exist and
 * which dataflow worker maintains each); dataflow workers own the frontiers
 * of their views; client backends only read, and wait on frontier_cv.
 *
 * Locking: CoordinatorShared->lock protects every field except those
 * declared pg_atomic_*, which are read without it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_SHMEM_H
#define COORDINATOR_SHMEM_H

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlogdefs.h"
#include "port/atomics.h"
#include "storage/condition_variable.h"
#include "storage/dsm.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/spin.h"
#include "utils/timestamp.h"

#include "coordinator/coordinator.h"

#define VIEW_ERROR_LEN 256
#define WORKER_EXIT_LEN 256

typedef enum ViewState
{
	VIEW_FREE = 0,				/* directory slot unused */
	VIEW_PENDING,				/* known, not hydrated yet */
	VIEW_READY,					/* hydrated; upper is meaningful */
	VIEW_FAILED					/* maintenance failed; error says why */
} ViewState;

typedef struct CoordinatorView
{
	Oid			relid;			/* the view's heap relation */
	int			worker;			/* index of the dataflow worker */
	ViewState	state;
	bool		temporal;		/* its contents change with the clock: a
								 * strict read writes a clock message first */
	pg_atomic_uint64 upper;		/* every commit with end LSN <= upper is
								 * reflected; 0 until hydrated */

	/*
	 * The view's contents, as a worker transaction left them, are the
	 * query's result at every time from since to upper: since is the tick
	 * that last changed them.  The worker sets since, last_xid and the
	 * previous contents' interval just before that transaction commits,
	 * so a reader whose snapshot does not see last_xid knows it reads the
	 * previous contents, if its snapshot sees prev_xid, the transaction
	 * that wrote those; a snapshot that sees neither is older than both
	 * and reflects no known interval (selection.c).
	 */
	XLogRecPtr	since;
	TransactionId last_xid;		/* the worker transaction that wrote them */
	TransactionId prev_xid;		/* the one that wrote the previous contents, */
	XLogRecPtr	prev_since;		/* ... valid from prev_since ... */
	XLogRecPtr	prev_upper;		/* ... to prev_upper */

	/*
	 * Retained history (history.c): the view can be read as of any time
	 * from history_since on, because coordinator.history holds every change
	 * after it.  The worker advances it (compaction) to the latest change
	 * older than retain_ms that no read hold needs, just before the
	 * transaction that deletes the changes up to it commits.
	 */
	XLogRecPtr	history_since;
	TimestampTz history_since_wall; /* when the worker applied that change */
	int64		retain_ms;		/* retain_history, set by the coordinator */
	char		error[VIEW_ERROR_LEN];	/* FAILED: why; READY: a data error */
	int			error_code;		/* READY: SQLSTATE of the data error, or 0 */
	int64		arranged_rows;	/* distinct rows in the view's arrangements */
	int64		dataflow_bytes; /* memory of the view's dataflow */

	/*
	 * Hydration progress (progress.c), written by the hydrating worker:
	 * valid while the view is VIEW_PENDING and progress_pid is its
	 * worker's pid.  Phase and start under the lock, counts atomic.
	 */
	pid_t		progress_pid;
	int			progress_phase; /* HydrationPhase */
	TimestampTz progress_started;
	pg_atomic_uint64 rows_scanned;
	pg_atomic_uint64 rows_arranged;
} CoordinatorView;

/* Phases of a view's hydration (coordinator.progress_hydration). */
typedef enum HydrationPhase
{
	HYDRATION_NOT_STARTED = 0,
	HYDRATION_BUILDING,			/* compiling the query, building the dataflow */
	HYDRATION_SCANNING,			/* feeding the sources' rows */
	HYDRATION_COMPUTING,		/* running the dataflow over them */
	HYDRATION_WRITING,			/* making the heap equal to the result */
	HYDRATION_COMMITTING		/* done; waiting for the worker's commit */
} HydrationPhase;

typedef struct CoordinatorWorker
{
	pid_t		pid;			/* 0 when not running */
	Latch	   *latch;
	bool		reload;			/* asked to exit and start again */
	uint64		launches;		/* how many times it was launched */
	TransactionId hydrating_before;	/* while creating its slot: it waits
									 * for every xid older than this */
	pg_atomic_uint64 decoded;	/* WAL position decoded so far */
	bool		paused;			/* debug: stops consuming the WAL */
	char		activity[32];	/* what it is doing: see WorkerSetActivity */
	int			dataflows;		/* views it maintains */
	int64		memory;			/* bytes allocated by the process */
	bool		inject_error;	/* debug: fail the next apply step */
	char		last_exit[WORKER_EXIT_LEN];	/* why it last exited */
	TimestampTz last_exit_at;	/* ... and when (0: never) */
	uint64		slot_invalidations; /* exits because its slot fell more
									 * than max_slot_wal_keep_size behind */
} CoordinatorWorker;

/*
 * One sample of the timeline: at wall-clock time "time" the WAL ended at
 * or before "lsn" (timeline.c).
 */
typedef struct TimelineSample
{
	XLogRecPtr	lsn;
	TimestampTz time;
} TimelineSample;

#define TIMELINE_SAMPLES 4096

/* Per-arrangement sizes, published by the workers (arrangements view). */
#define ARRANGEMENT_NAME_LEN 48

typedef struct ArrangementStat
{
	Oid			relid;			/* the view; InvalidOid: slot unused */
	int			operator_id;	/* plan node id of the operator */
	char		name[ARRANGEMENT_NAME_LEN];
	int64		keys;			/* distinct keys (groups) */
	int64		records;
	int64		bytes;
	int			shared_by;		/* joins that read it, this view's and others' */
} ArrangementStat;

#define ARRANGEMENTS_PER_VIEW 32

/*
 * A read hold (holds.c): a session's AS OF read or transaction needs view
 * relid readable at ts until its transaction ends.  Each backend has
 * HOLDS_PER_BACKEND slots, indexed by its BackendId.
 */
typedef enum ReadHoldKind
{
	READ_HOLD_FREE = 0,
	READ_HOLD_AS_OF,			/* an AS OF read */
	READ_HOLD_TRANSACTION		/* a REPEATABLE READ or SERIALIZABLE
								 * transaction's timestamp */
} ReadHoldKind;

typedef struct ReadHold
{
	ReadHoldKind kind;
	pid_t		pid;
	Oid			relid;
	XLogRecPtr	ts;
} ReadHold;

#define HOLDS_PER_BACKEND 16

/*
 * A strict read waiting for a view (wait.c): one slot per backend,
 * indexed by BackendId, written by its backend under the lock.
 */
typedef struct ReadWait
{
	pid_t		pid;			/* 0: not waiting */
	Oid			relid;			/* the view waited for */
	XLogRecPtr	target;			/* the timestamp it waits for (0: hydration) */
	TimestampTz since;			/* when the wait began */
	/* its pause of dataflow workers (pause.c), written by its backend */
	pg_atomic_uint64 pause_at;	/* 0: none */
	pg_atomic_uint32 pause_workers;	/* a bit per worker index */
} ReadWait;

/*
 * The state of one database that the coordinator serves: one such slot per
 * database in which the extension exists (coordinator.max_databases of
 * them).  Everything a coordinator, its workers and the backends of its
 * database share lives here; databases never share anything but the
 * launcher and the webhook listener (CoordinatorGlobal).
 */
typedef struct CoordinatorShared
{
	LWLock	   *lock;
	Oid			database;		/* InvalidOid: the slot is free */
	NameData	dbname;			/* its name, for the webhook listener */
	TimestampTz allocated_at;	/* when the slot was taken */
	bool		extension_absent;	/* the coordinator found no extension
									 * at catalog generation absent_generation:
									 * the launcher frees the slot */
	uint64		absent_generation;
	Latch	   *coordinator_latch;
	bool		dropping_database;	/* a DROP DATABASE of this database
									 * waits for our processes to leave it */
	bool		extension_ready;	/* coordinator saw the extension */
	pg_atomic_uint64 catalog_generation;	/* bumped by committed DDL */
	uint64		loaded_generation;	/* what the coordinator has applied */
	ConditionVariable frontier_cv;	/* broadcast when any view changes */
	CoordinatorWorker workers[COORDINATOR_MAX_WORKERS];
	pg_atomic_uint64 last_commit_end;	/* the oracle: see timeline.c */
	slock_t		timeline_lock;	/* protects the timeline */
	int			timeline_next;	/* next sample to write */
	int			timeline_count;
	TimelineSample timeline[TIMELINE_SAMPLES];
	ArrangementStat *arrangements;	/* max_views * ARRANGEMENTS_PER_VIEW */
	struct CoordinatorSubscription *subscriptions;	/* max_subscriptions */
	int			max_subscriptions;
	ReadHold   *holds;			/* MaxBackends * HOLDS_PER_BACKEND */
	ReadWait   *waits;			/* MaxBackends */
	pg_atomic_uint32 pausing;	/* backends whose pause_workers is set */
	uint64		next_subscription_id;

	/* the webhook appender of this database (relay.c) */
	pid_t		appender_pid;	/* 0 when not running */
	Latch	   *appender_latch;
	uint32		relay_state;	/* RELAY_IDLE, _POSTED, _DONE */
	dsm_handle	relay_segment;	/* the batch posted by the listener */

	int			max_views;
	CoordinatorView views[FLEXIBLE_ARRAY_MEMBER];
} CoordinatorShared;

#define RELAY_IDLE 0
#define RELAY_POSTED 1
#define RELAY_DONE 2

/*
 * What all databases share: the launcher, the webhook listener, and the
 * directory of database slots.  lock protects the slots' database, dbname
 * and allocated_at, and the fields below; each slot's own lock the rest of
 * the slot.
 */
typedef struct CoordinatorGlobal
{
	LWLock	   *lock;
	Latch	   *launcher_latch;
	uint32		launcher_generation;	/* bumped by each launcher start: a
										 * coordinator of an older launcher
										 * exits */
	uint32		probe_generation;	/* bumped when a database may have
									 * gained the extension unseen */
	pg_atomic_uint64 slots_generation;	/* bumped when a slot is taken or
										 * given back */
	bool		listener_running;	/* the webhook listener is up */
	pid_t		listener_pid;	/* ... and its pid: its appenders leave
								 * when another takes its place */
	Latch	   *listener_latch;
	int			max_databases;
	CoordinatorShared *slots[FLEXIBLE_ARRAY_MEMBER];	/* max_databases */
} CoordinatorGlobal;

extern CoordinatorGlobal *CoordinatorGlobals;

/*
 * The slot of the current process's database, or NULL (library not
 * preloaded, no database, or a database the coordinator does not serve).
 * See CoordinatorForDatabase in databases.c.
 */
#define Coordinator (CoordinatorForDatabase())

extern void CoordinatorInitDatabaseSlot(CoordinatorShared *slot, int index);
extern CoordinatorShared *CoordinatorForDatabase(void);
extern CoordinatorShared *CoordinatorFindDatabase(Oid dboid);
extern CoordinatorShared *CoordinatorFindDatabaseByName(const char *dbname);
extern CoordinatorShared *CoordinatorAttachDatabase(void);
extern void CoordinatorFreeDatabase(CoordinatorShared *slot);
extern bool CoordinatorDatabaseBusy(CoordinatorShared *slot);
extern bool CoordinatorServesDatabaseName(const char *dbname);
extern CoordinatorShared *CoordinatorLeaveDatabase(Oid dboid);
extern void CoordinatorResumeAfterDropDatabase(CoordinatorShared *slot);
extern void CoordinatorShmemRequest(void);
extern void CoordinatorShmemStartup(void);
extern CoordinatorView *CoordinatorFindView(Oid relid);
extern List *CoordinatorViewsBeside(Oid relid);
extern List *CoordinatorReadableViews(void);
extern const char *CoordinatorViewStateName(ViewState state);
extern void CoordinatorWaitLatch(long timeout);
extern void CoordinatorWakeCoordinator(void);
extern void CoordinatorWakeLauncher(void);
extern void CoordinatorWakeWorker(int worker);
extern void CoordinatorNotifyCatalogChange(void);
extern void CoordinatorXactCallback(XactEvent event, void *arg);

#endif							/* COORDINATOR_SHMEM_H */
