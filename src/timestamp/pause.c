/*-------------------------------------------------------------------------
 *
 * pause.c
 *	  Pauses that let the views of several dataflow workers reach one time.
 *
 * A strict read of views that several workers maintain reads them all at
 * one time C (reads.c): the latest time its snapshot sees in any of them.
 * The workers go on independently, and under writes a fast worker's views
 * keep moving past the time a slow worker's reach: waiting for the slow one
 * alone might never end.  So the read pauses the workers of its views at
 * C: none of them decodes past the later of C and where it already is.  A
 * worker past C stops where it is, and its contents, written at or before
 * C, stay valid at C once it writes no more; a worker behind C decodes up
 * to C and stops there.  Timestamps are the ends of commit records, and a
 * worker asked to decode up to one stops exactly there; where C is not a
 * record's end, a worker may decode one record past it, and the read moves
 * C there and pauses again.  Rounds end: once the workers hold still, only
 * records up to the pause point are decoded.
 *
 * A backend has one pause, in its ReadWait slot (pause_at, and the workers
 * it names), and the database's slot counts the backends that pause, so
 * that without pauses a worker reads one atomic per tick.  A worker obeys
 * the least point among the pauses that name it; the read with the least
 * point never waits for another read's pause, so every paused read ends.
 * A pause ends when its read has a snapshot at one time, or with its
 * transaction (an error, a cancel, statement_timeout): then the workers it
 * named are woken.  Meanwhile their views do not advance: a read that
 * pauses stalls them for as long as its own wait, which is a tick or two
 * of the slowest of them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"

#include "coordinator/coordinator.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

/* Does this backend pause workers? */
static bool pausing = false;

static void
wake_workers(uint32 workers)
{
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
		if (workers & (UINT32_C(1) << i))
			CoordinatorWakeWorker(i);
}

/*
 * Pause the given workers (a bit per worker index) at time at, or move
 * this backend's pause there.
 */
void
ReadPauseSet(XLogRecPtr at, uint32 workers)
{
	ReadWait   *w = ReadWaitSlot();
	uint32		before;

	if (w == NULL || at == InvalidXLogRecPtr || workers == 0)
		return;
	before = pg_atomic_read_u32(&w->pause_workers);
	pg_atomic_write_u64(&w->pause_at, at);
	pg_atomic_write_u32(&w->pause_workers, workers | before);
	if (!pausing)
	{
		pausing = true;
		pg_atomic_fetch_add_u32(&Coordinator->pausing, 1);
	}
	/* those held at an earlier point go on to this one */
	wake_workers(workers | before);
}

/* End this backend's pause, if any, and let its workers go on. */
void
ReadPauseRelease(void)
{
	ReadWait   *w;
	uint32		workers;

	if (!pausing)
		return;
	pausing = false;
	w = ReadWaitSlot();
	if (w == NULL)
		return;
	workers = pg_atomic_exchange_u32(&w->pause_workers, 0);
	pg_atomic_write_u64(&w->pause_at, InvalidXLogRecPtr);
	pg_atomic_fetch_sub_u32(&Coordinator->pausing, 1);
	wake_workers(workers);
}

/*
 * For dataflow worker `worker`: the least point at which a read pauses it,
 * or InvalidXLogRecPtr.  The worker decodes no further than the later of
 * this point and where it is.
 */
XLogRecPtr
ReadPauseLimit(int worker)
{
	XLogRecPtr	limit = InvalidXLogRecPtr;

	if (pg_atomic_read_u32(&Coordinator->pausing) == 0)
		return InvalidXLogRecPtr;
	for (int i = 0; i < MaxBackends; i++)
	{
		ReadWait   *w = &Coordinator->waits[i];
		XLogRecPtr	at;

		if ((pg_atomic_read_u32(&w->pause_workers) & (UINT32_C(1) << worker)) == 0)
			continue;
		at = pg_atomic_read_u64(&w->pause_at);
		if (at != InvalidXLogRecPtr && (limit == InvalidXLogRecPtr || at < limit))
			limit = at;
	}
	return limit;
}
