/*-------------------------------------------------------------------------
 *
 * timestamp.h
 *	  Timestamps, frontiers and the choice of a read's timestamp.
 *
 * A timestamp is a WAL position (timeline.c).  Each maintained view, as a
 * collection, has a read frontier "since" and a write frontier "upper": a
 * read at time t is valid iff since <= t < upper.  Its contents are the
 * query's result at every such t: since is when they last changed, upper
 * one past the last WAL position the view reflects.  The contents are
 * valid from the view's latest change on; the view's retained history
 * (history.c) reaches back further, to its read frontier history_since.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_TIMESTAMP_H
#define COORDINATOR_TIMESTAMP_H

#include "access/xlogdefs.h"
#include "access/htup.h"
#include "access/tupdesc.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/snapshot.h"
#include "utils/timestamp.h"

/* timeline.c */
extern void TimelineRecord(XLogRecPtr lsn, TimestampTz time);
extern TimestampTz TimelineWallTime(XLogRecPtr ts);
extern void OracleApplyWrite(XLogRecPtr commit_end);
extern XLogRecPtr OracleLatestWrite(void);
extern XLogRecPtr OracleReadTimestamp(void);
extern char *WallTimeString(TimestampTz time);
extern char *TimestampString(XLogRecPtr ts);

/*
 * The latest timestamp this session read at, and the timestamp of its last
 * read of maintained views (selection.c).
 */
extern XLogRecPtr SessionLastReadTimestamp;
extern XLogRecPtr LastReadTimestamp;

/* One input of a read: a maintained view. */
typedef struct TimestampInput
{
	Oid			relid;
	int			worker;
	int			state;			/* ViewState; VIEW_FREE: not registered */
	XLogRecPtr	since;			/* its contents' since; 0: unknown */
	XLogRecPtr	history_since;	/* read frontier: AS OF reads reach back
								 * to it through the history */
	XLogRecPtr	upper;			/* write frontier (exclusive); 0: none */
	bool		old_snapshot;	/* upper is 0 because the snapshot predates
								 * every contents the directory knows */
} TimestampInput;

/* How a read's timestamp was (or would be) chosen: EXPLAIN TIMESTAMP. */
typedef struct TimestampDetermination
{
	bool		strict;
	XLogRecPtr	oracle;			/* strict: the oracle read timestamp */
	XLogRecPtr	since;			/* greatest since of the inputs */
	XLogRecPtr	upper;			/* least upper of the inputs */
	XLogRecPtr	chosen;			/* the query timestamp */
	bool		respond_immediately;
	TimestampTz wall;			/* session wall time */
	long		waited_ms;		/* reads: how long the read waited */
	/* on a compute server, with coordinator.read_after (primary.c) */
	XLogRecPtr	primary_token;	/* the primary's timestamp, or 0 */
	XLogRecPtr	primary_applied;	/* applied by the subscription */
	char	   *subscription;
	int			ninputs;
	TimestampInput *inputs;
} TimestampDetermination;

/* selection.c */
extern TimestampDetermination *TimestampInputs(List *relids, Snapshot snapshot);
extern void TimestampDetermine(TimestampDetermination *det, bool strict,
							   XLogRecPtr oracle);
extern XLogRecPtr TimestampCommonTime(TimestampDetermination *det,
									  XLogRecPtr target);
extern uint32 TimestampInputWorkers(TimestampDetermination *det);

extern XLogRecPtr TimelineWriteClock(void);

/* pause.c: a read's pause of the workers of its views */
extern void ReadPauseSet(XLogRecPtr at, uint32 workers);
extern void ReadPauseRelease(void);
extern XLogRecPtr ReadPauseLimit(int worker);

/* primary.c: reads on a compute server after a primary's timestamp */
extern char *coordinator_read_after;
extern bool PrimaryCheckReadAfter(char **newval, void **extra, GucSource source);
extern XLogRecPtr PrimaryReadAfter(void);
extern bool PrimaryWaitApplied(XLogRecPtr token);
extern void PrimaryDescribe(TimestampDetermination *det);
extern bool TimestampStaleInput(TimestampDetermination *det, XLogRecPtr target,
								Oid *relid);

/* history.c */
typedef struct HistoryWrite HistoryWrite;
typedef void (*HistoryRowFn) (void *arg, XLogRecPtr first_commit,
							  XLogRecPtr ts, TimestampTz wall, int64 diff,
							  MinimalTuple row);
extern HistoryWrite *HistoryAppendBegin(Oid relid, XLogRecPtr first_commit,
										XLogRecPtr ts, TimestampTz wall,
										TupleDesc row_desc);
extern void HistoryAppendRow(void *arg, MinimalTuple row, int64 weight);
extern void HistoryAppendEnd(HistoryWrite *w);
extern bool HistoryCompact(Oid relid, XLogRecPtr hold, TimestampTz cutoff,
						   XLogRecPtr *since, TimestampTz *since_wall,
						   TimestampTz *oldest_wall);
extern void HistoryForget(Oid relid);
extern void HistoryNoValidTimestamp(const char *input, const char *since,
									const char *as_of);
extern void HistoryCheckKnown(Oid relid, XLogRecPtr first_commit,
							  XLogRecPtr ts, XLogRecPtr as_of);
extern void HistoryScan(Oid relid, XLogRecPtr after, Snapshot snapshot,
						HistoryRowFn fn, void *arg);

/* holds.c */
extern bool ReadHoldAcquire(Oid relid, XLogRecPtr ts, int kind,
							XLogRecPtr *since);
extern void ReadHoldsRelease(void);
extern XLogRecPtr ReadHoldsMinimum(Oid relid);

/* wait.c: waiting for views to reflect a timestamp, and who waits */
extern void CoordinatorWaitForViews(List *relids, XLogRecPtr target);
extern void CoordinatorRefuseDuringRecovery(const char *what);
extern struct ReadWait *ReadWaitSlot(void);
extern void ReadWaitBegin(Oid relid, XLogRecPtr target);
extern void ReadWaitEnd(void);

/* transaction.c */
extern void TimestampXactCallback(XactEvent event, void *arg);

/* explain.c */
extern char *TimestampExplainText(TimestampDetermination *det);
extern Jsonb *TimestampExplainJsonb(TimestampDetermination *det);

#endif							/* COORDINATOR_TIMESTAMP_H */
