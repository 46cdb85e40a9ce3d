/*-------------------------------------------------------------------------
 *
 * worker_internal.h
 *	  What the files of a dataflow worker share: its views and its state.
 *
 * A dataflow worker is one process (worker.c runs its life); its views,
 * their hydration, its ticks, what it publishes to readers and the
 * compaction of history are in views.c, hydrate.c, tick.c, publish.c and
 * compaction.c; sender.c sends their changes to subscribers.  Nothing
 * outside src/dataflow includes this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_WORKER_INTERNAL_H
#define COORDINATOR_WORKER_INTERNAL_H

#include "replication/logical.h"
#include "utils/rel.h"

#include "coordinator/capture.h"
#include "coordinator/dataflow.h"

/* One maintained view of the worker. */
typedef struct DataflowView
{
	Oid			relid;
	MemoryContext context;		/* everything of the view's below */
	char	   *plan;			/* catalog form */
	Dataflow   *df;
	AttrNumber *columns;		/* root output column of each view column */
	Sink	   *sink;
	bool		failed;			/* stays failed until the worker restarts */
	bool		rights_checked; /* its owner's rights were checked ... */
	char	   *denied;			/* ... and this is why they fall short */
	uint32		row_security;	/* the policies it was built with */
	bool		dropped;
	bool		sharing;		/* its joins read shared arrangements */
	bool		changed;		/* written in the current tick */
	bool		touched;		/* the current tick changes what it reads */
	bool		temporal;		/* it, or a view it reads, has temporal filters */

	/*
	 * Maintained views of this worker that it reads as inputs: their
	 * changes of a tick, applied first (a view's depth is one more than
	 * its inputs'), feed its scans of them.
	 */
	List	   *inputs;			/* DataflowView * */
	int			depth;
	bool		read_by_views;	/* some view's input: keeps its changes */
	List	   *out;			/* its change this tick, ViewChange *, in
								 * WorkerBatch.context */
	XLogRecPtr	out_first;		/* ... made by the commits from out_first */
	XLogRecPtr	out_last;		/* to out_last */

	double		apply_ms;		/* what applying a tick to it took, smoothed */
	uint64		sized_tick;		/* dataflow tick whose sizes are published */
	TransactionId written_xid;	/* the last transaction that wrote its heap */
	TimestampTz history_wall;	/* wall time of its latest change in history */
	TimestampTz oldest_wall;	/* ... and of its oldest (0: none kept) */

	/*
	 * A view created while the worker runs is hydrated at a cut (cut.c) and
	 * catches up: the changes its snapshot saw are skipped, and it becomes
	 * readable once decoding passes the cut's time.
	 */
	bool		catching_up;
	XLogRecPtr	cut;
	SeenXids	seen;
} DataflowView;

/* A row of a view's change in a tick, for the views that read it. */
typedef struct ViewChange
{
	HeapTuple	tuple;			/* a row of the view's heap */
	int64		weight;
} ViewChange;

/* What writing one view in one transaction needs. */
typedef struct ViewWrite
{
	Relation	view_rel;
	RowDelta   *delta;
	TupleTableSlot *root;		/* a row of the dataflow's output */
	TupleTableSlot *row;		/* the same row as a row of the view */
} ViewWrite;

/* worker.c: the process */
extern int	WorkerIndex;
extern List *WorkerViews;		/* of DataflowView, in WorkerContext */
extern MemoryContext WorkerContext;
extern CaptureBatch WorkerBatch;
extern void WorkerRecordExit(const char *reason, bool slot_invalidated);
extern void WorkerSetActivity(const char *activity);

/* views.c: the worker's views, and writing them */
extern void WorkerViewFail(DataflowView *view, const char *message);
extern List *WorkerAssignedViews(void);
extern bool WorkerHasView(Oid relid);
extern List *WorkerAddViews(List *relids);
extern void WorkerLoadViews(void);
extern bool WorkerViewReads(DataflowView *view, Oid relid);
extern List *WorkerInputsFor(DataflowView *view);
extern void WorkerLinkInputs(DataflowView *view);
extern void WorkerUnlinkInputs(List *gone);
extern void WorkerRunForView(DataflowView *view,
							 void (*fn) (DataflowView *, void *), void *arg);
extern bool ViewWriteBegin(DataflowView *view, ViewWrite *w, bool hydrate);
extern void ViewWriteDelta(DataflowView *view, ViewWrite *w, ZSet *z);
extern void ViewWriteEnd(DataflowView *view, ViewWrite *w,
						 XLogRecPtr first_commit, XLogRecPtr ts);
extern List *WorkerLockSources(List *views, bool check_rewrites);

/* hydrate.c: building views, at the start and while running */
extern XLogRecPtr WorkerHydrate(void);
extern void WorkerReconcile(void);

/* tick.c: applying decoded changes */
extern void WorkerTick(LogicalDecodingContext *ctx, XLogRecPtr end);
extern TimestampTz WorkerNextDue(void);
extern bool WorkerHasTemporal(void);

/* publish.c: what readers see */
extern void WorkerCheckRights(void);
extern void WorkerRecordContents(DataflowView *view, XLogRecPtr since,
								 bool hydrated);
extern void WorkerRecordAllContents(XLogRecPtr since, bool hydrated);
extern void WorkerPublish(XLogRecPtr upper, bool hydrated);
extern void WorkerPublishEarly(List *views, XLogRecPtr upper);
extern void WorkerShareArrangements(XLogRecPtr upper);

/* sender.c: the worker's side of SUBSCRIBE */
extern void SendersService(int worker, List *views);
extern bool SendersAttached(void);
extern void SendersCollect(Oid relid, RowDelta *delta);
extern void SendersCommitted(TransactionId xid, XLogRecPtr ts);
extern void SendersProgress(XLogRecPtr upper);
extern bool SendersHaveTransients(void);
extern List *SendersTransientSources(void);
extern void SendersApplyTransients(List *changes, XLogRecPtr upper);
extern void SendersCheckRights(void);

/* compaction.c: history past its retention */
extern void WorkerCompactViews(void);

#endif							/* COORDINATOR_WORKER_INTERNAL_H */
