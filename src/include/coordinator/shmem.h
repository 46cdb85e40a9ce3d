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
#include "storage/latch.h"
#include "storage/lwlock.h"

#include "coordinator/coordinator.h"

#define VIEW_ERROR_LEN 256

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
	TransactionId last_xid;		/* last worker transaction that wrote it */
	pg_atomic_uint64 upper;		/* every commit with end LSN <= upper is
								 * reflected; 0 until hydrated */
	char		error[VIEW_ERROR_LEN];	/* FAILED: why; READY: a data error */
	int			error_code;		/* READY: SQLSTATE of the data error, or 0 */
	int64		arranged_rows;	/* distinct rows in the view's arrangements */
	int64		dataflow_bytes; /* memory of the view's dataflow */
} CoordinatorView;

typedef struct CoordinatorWorker
{
	pid_t		pid;			/* 0 when not running */
	Latch	   *latch;
	bool		reload;			/* asked to exit and start again */
	uint64		launches;		/* how many times it was launched */
	TransactionId hydrating_before;	/* while creating its slot: it waits
									 * for every xid older than this */
	pg_atomic_uint64 decoded;	/* WAL position decoded so far */
} CoordinatorWorker;

typedef struct CoordinatorShared
{
	LWLock	   *lock;
	Oid			database;		/* set by the launcher once it exists */
	Latch	   *launcher_latch;
	Latch	   *coordinator_latch;
	bool		extension_ready;	/* coordinator saw the extension */
	pg_atomic_uint64 catalog_generation;	/* bumped by committed DDL */
	uint64		loaded_generation;	/* what the coordinator has applied */
	bool		paused;			/* debug: workers stop consuming the WAL */
	ConditionVariable frontier_cv;	/* broadcast when any view changes */
	CoordinatorWorker workers[COORDINATOR_MAX_WORKERS];
	int			max_views;
	CoordinatorView views[FLEXIBLE_ARRAY_MEMBER];
} CoordinatorShared;

extern CoordinatorShared *Coordinator;

extern void CoordinatorShmemRequest(void);
extern void CoordinatorShmemStartup(void);
extern CoordinatorView *CoordinatorFindView(Oid relid);
extern void CoordinatorWaitLatch(long timeout);
extern void CoordinatorWakeCoordinator(void);
extern void CoordinatorWakeWorker(int worker);
extern void CoordinatorNotifyCatalogChange(void);
extern void CoordinatorXactCallback(XactEvent event, void *arg);

#endif							/* COORDINATOR_SHMEM_H */
