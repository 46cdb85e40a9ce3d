/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Progress of a view's hydration, for coordinator.progress_hydration,
 *	  in the manner of pg_stat_progress_create_index.
 *
 * The dataflow worker hydrates one view at a time (hydrate.c's
 * hydrate_view): it says which view it begins, graph.c counts the source
 * rows it feeds and the rows the dataflow arranged, and the worker says
 * when the view is done and waits for the commit that publishes it.  The
 * figures live in the view's entry of the directory in shared memory:
 * phase and start under the coordinator's lock (a few times per view),
 * row counts in atomics (every PROGRESS_ROWS_BATCH rows).  A reader
 * trusts them while the view is still pending and they carry the pid of
 * its worker; the SQL function is coordinator.hydration_progress().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"

PG_FUNCTION_INFO_V1(coordinator_hydration_progress);

/* The view this process hydrates now (InvalidOid: none). */
static Oid	hydrating = InvalidOid;

static const char *
phase_name(HydrationPhase phase)
{
	switch (phase)
	{
		case HYDRATION_BUILDING:
			return "building dataflow";
		case HYDRATION_SCANNING:
			return "scanning sources";
		case HYDRATION_COMPUTING:
			return "computing result";
		case HYDRATION_WRITING:
			return "writing view";
		case HYDRATION_COMMITTING:
			return "waiting for commit";
		default:
			return "waiting to start";
	}
}

/* The directory entry of the view being hydrated, or NULL. */
static CoordinatorView *
current_entry(Oid relid)
{
	if (Coordinator == NULL || !OidIsValid(hydrating) || relid != hydrating)
		return NULL;
	return CoordinatorFindView(relid);
}

/* The worker begins to hydrate view relid. */
void
ProgressHydrationBegin(Oid relid)
{
	CoordinatorView *entry;

	hydrating = relid;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(relid);
	if (entry != NULL)
	{
		entry->progress_pid = MyProcPid;
		entry->progress_phase = HYDRATION_BUILDING;
		entry->progress_started = GetCurrentTimestamp();
		pg_atomic_write_u64(&entry->rows_scanned, 0);
		pg_atomic_write_u64(&entry->rows_arranged, 0);
	}
	LWLockRelease(Coordinator->lock);
}

/* The hydration of relid enters phase (no-op for a view not hydrating). */
void
ProgressHydrationPhase(Oid relid, HydrationPhase phase)
{
	CoordinatorView *entry;

	if (Coordinator == NULL || relid != hydrating)
		return;
	LWLockAcquire(Coordinator->lock, LW_EXCLUSIVE);
	entry = CoordinatorFindView(relid);
	if (entry != NULL && entry->progress_pid == MyProcPid)
		entry->progress_phase = phase;
	LWLockRelease(Coordinator->lock);
}

/* rows more source rows were fed to relid's dataflow. */
void
ProgressRowsScanned(Oid relid, int64 rows)
{
	CoordinatorView *entry = current_entry(relid);

	if (entry != NULL)
		pg_atomic_fetch_add_u64(&entry->rows_scanned, rows);
}

/* relid's dataflow holds rows rows in its arrangements. */
void
ProgressRowsArranged(Oid relid, int64 rows)
{
	CoordinatorView *entry = current_entry(relid);

	if (entry != NULL)
		pg_atomic_write_u64(&entry->rows_arranged, rows);
}

/*
 * The view is written: it waits for the commit of the worker's hydration
 * (which also writes its other new views) and for its publication.
 */
void
ProgressHydrationEnd(void)
{
	if (OidIsValid(hydrating))
		ProgressHydrationPhase(hydrating, HYDRATION_COMMITTING);
	hydrating = InvalidOid;
}

/*
 * coordinator.hydration_progress(): one row per view not hydrated yet
 * that the current role may read: its worker and the worker's pid, phase,
 * source rows fed, rows arranged, when its hydration began.  A view whose
 * worker has not begun it is "waiting for transactions" while the worker
 * creates its slot (which waits for every transaction that has an xid),
 * "waiting for worker" while no worker runs, else "waiting to start".
 */
Datum
coordinator_hydration_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	List	   *readable;

	InitMaterializedSRF(fcinfo, 0);
	if (Coordinator == NULL)
		PG_RETURN_VOID();

	readable = CoordinatorReadableViews();
	LWLockAcquire(Coordinator->lock, LW_SHARED);
	for (int i = 0; i < Coordinator->max_views; i++)
	{
		CoordinatorView *v = &Coordinator->views[i];
		CoordinatorWorker *w;
		Datum		values[7];
		bool		nulls[7] = {false};
		bool		begun;
		const char *phase;

		if (v->state != VIEW_PENDING || !list_member_oid(readable, v->relid))
			continue;
		w = &Coordinator->workers[v->worker];
		begun = w->pid != 0 && v->progress_pid == w->pid &&
			v->progress_phase != HYDRATION_NOT_STARTED;
		if (begun)
			phase = phase_name(v->progress_phase);
		else if (w->pid == 0)
			phase = "waiting for worker";
		else if (TransactionIdIsValid(w->hydrating_before))
			phase = "waiting for transactions";
		else
			phase = phase_name(HYDRATION_NOT_STARTED);

		values[0] = ObjectIdGetDatum(v->relid);
		values[1] = Int32GetDatum(v->worker);
		values[2] = Int32GetDatum(w->pid);
		nulls[2] = w->pid == 0;
		values[3] = CStringGetTextDatum(phase);
		values[4] = Int64GetDatum(begun ? (int64) pg_atomic_read_u64(&v->rows_scanned) : 0);
		values[5] = Int64GetDatum(begun ? (int64) pg_atomic_read_u64(&v->rows_arranged) : 0);
		values[6] = TimestampTzGetDatum(v->progress_started);
		nulls[6] = !begun;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	LWLockRelease(Coordinator->lock);
	PG_RETURN_VOID();
}
