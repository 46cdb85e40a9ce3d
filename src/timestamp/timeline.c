/*-------------------------------------------------------------------------
 *
 * timeline.c
 *	  Timestamps: the oracle, and the timeline that maps them to wall time.
 *
 * A timestamp is a WAL position: a committed transaction's timestamp is
 * the end of its commit record (its committer's XactLastCommitEnd), so
 * timestamps are totally ordered, follow commit order, and never go back,
 * across restarts of the coordinator and of the server (the WAL only grows).
 *
 * The oracle's read timestamp is the end of the latest commit: every
 * backend records its commit's end in shared memory before the client
 * hears of the commit (a transaction callback), so every transaction
 * acknowledged to a client ends at or before it.  Commits of the
 * coordinator's own processes (the workers' view writes) are left out:
 * views never read them.  WAL written without a commit (pruning, standby
 * snapshots, checkpoints) does not move the oracle, so an idle system
 * answers strict reads at once.
 *
 * The timeline relates WAL positions to wall-clock time, to show a
 * timestamp as a time and to measure lag in time.  It is a ring of samples
 * (time t, lsn L) meaning "at time t the WAL ended at or before L", taken
 * whenever a process reads the flush position for us: each oracle read and
 * each loop of a dataflow worker (at least once a second, so an idle
 * system's samples keep advancing).  The wall time of a timestamp T is the
 * time of the latest sample at or before T: the latest moment at which T
 * covered every write.  Samples with equal positions collapse into one, so
 * an idle system does not use up the ring.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "replication/message.h"
#include "replication/origin.h"
#include "utils/datetime.h"
#include "utils/timestamp.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

/* Record that at time "time" the WAL ended at or before lsn. */
void
TimelineRecord(XLogRecPtr lsn, TimestampTz time)
{
	TimelineSample *last;

	if (Coordinator == NULL || lsn == InvalidXLogRecPtr)
		return;
	SpinLockAcquire(&Coordinator->timeline_lock);
	last = Coordinator->timeline_count == 0 ? NULL :
		&Coordinator->timeline[(Coordinator->timeline_next + TIMELINE_SAMPLES - 1) %
							   TIMELINE_SAMPLES];
	if (last != NULL && lsn <= last->lsn)
	{
		/* same position later: extend; an older position: out of order */
		if (lsn == last->lsn && time > last->time)
			last->time = time;
	}
	else
	{
		TimelineSample *s = &Coordinator->timeline[Coordinator->timeline_next];

		s->lsn = lsn;
		s->time = (last != NULL && time < last->time) ? last->time : time;
		Coordinator->timeline_next = (Coordinator->timeline_next + 1) % TIMELINE_SAMPLES;
		if (Coordinator->timeline_count < TIMELINE_SAMPLES)
			Coordinator->timeline_count++;
	}
	SpinLockRelease(&Coordinator->timeline_lock);
}

/*
 * The wall time of timestamp ts: the time of the latest sample at or
 * before it.  Returns 0 when the timeline does not reach back that far.
 */
TimestampTz
TimelineWallTime(XLogRecPtr ts)
{
	TimestampTz result = 0;
	int			lo;
	int			hi;
	int			first;

	if (Coordinator == NULL || ts == InvalidXLogRecPtr)
		return 0;
	SpinLockAcquire(&Coordinator->timeline_lock);
	first = (Coordinator->timeline_next + TIMELINE_SAMPLES -
			 Coordinator->timeline_count) % TIMELINE_SAMPLES;
	/* the samples are sorted by position: find the last one <= ts */
	lo = 0;
	hi = Coordinator->timeline_count;
	while (lo < hi)
	{
		int			mid = (lo + hi) / 2;

		if (Coordinator->timeline[(first + mid) % TIMELINE_SAMPLES].lsn <= ts)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo > 0)
		result = Coordinator->timeline[(first + lo - 1) % TIMELINE_SAMPLES].time;
	SpinLockRelease(&Coordinator->timeline_lock);
	return result;
}

/* A transaction committed, ending at commit_end: advance the oracle. */
void
OracleApplyWrite(XLogRecPtr commit_end)
{
	uint64		current = pg_atomic_read_u64(&Coordinator->last_commit_end);

	while (current < commit_end &&
		   !pg_atomic_compare_exchange_u64(&Coordinator->last_commit_end,
										   &current, commit_end))
		;
}

/* The end of the latest commit (the flush position before the first). */
XLogRecPtr
OracleLatestWrite(void)
{
	XLogRecPtr	ts = pg_atomic_read_u64(&Coordinator->last_commit_end);

	return ts != InvalidXLogRecPtr ? ts : GetFlushRecPtr(NULL);
}

/*
 * The oracle's read timestamp: the end of the latest commit (the flush
 * position until the first commit after a server start), this session's
 * last commit, or this session's last read timestamp, whichever is
 * latest: reads never go back in time.  It is flushed, so the workers can
 * decode up to it.
 */
XLogRecPtr
OracleReadTimestamp(void)
{
	XLogRecPtr	flushed = GetFlushRecPtr(NULL);
	XLogRecPtr	ts = OracleLatestWrite();

	TimelineRecord(flushed, GetCurrentTimestamp());
	ts = Max(ts, XactLastCommitEnd);
	ts = Max(ts, SessionLastReadTimestamp);
	if (ts > flushed)
		XLogFlush(ts);
	return ts;
}

/*
 * Write the wall time to the WAL for the dataflow workers (a clock message,
 * see capture's plugin) and flush it: a worker that decodes past its end
 * has its views' time at or after it.  Without the writer's replication
 * origin, so that every worker decodes it, the writer's too.  Returns the
 * message's end.
 */
XLogRecPtr
TimelineWriteClock(void)
{
	TimestampTz now = GetCurrentTimestamp();
	RepOriginId origin = replorigin_session_origin;
	XLogRecPtr	end;

	replorigin_session_origin = InvalidRepOriginId;
	PG_TRY();
	{
		end = LogLogicalMessage(COORDINATOR_CLOCK_PREFIX, (const char *) &now,
								sizeof(now), false);
	}
	PG_FINALLY();
	{
		replorigin_session_origin = origin;
	}
	PG_END_TRY();
	XLogFlush(end);
	return end;
}

/* A wall-clock time as Materialize shows it: UTC, to the millisecond. */
char *
WallTimeString(TimestampTz time)
{
	struct pg_tm tm;
	fsec_t		fsec;

	if (time == 0 || timestamp2tm(time, NULL, &tm, &fsec, NULL, NULL) != 0)
		return pstrdup("unknown time");
	return psprintf("%04d-%02d-%02d %02d:%02d:%02d.%03d",
					tm.tm_year, tm.tm_mon, tm.tm_mday,
					tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (fsec / 1000));
}

/* "T (wall time, LSN)": a timestamp with its wall time and WAL position. */
char *
TimestampString(XLogRecPtr ts)
{
	return psprintf(UINT64_FORMAT " (%s, %X/%X)", (uint64) ts,
					WallTimeString(TimelineWallTime(ts)), LSN_FORMAT_ARGS(ts));
}
