/*-------------------------------------------------------------------------
 *
 * window_internal.h
 *	  What the files of a window recomputed by row share: its state, and
 *	  the steps of recomputing some of its rows.
 *
 * windowrows.c keeps a window's outputs by row and recomputes the rows
 * near a change; windowresume.c resumes the rows from a change on after
 * the row before; windowwide.c recomputes the values of a whole
 * partition.  window.c, windowspan.c and windowprefix.c say which windows
 * are which.
 * Nothing outside src/dataflow includes this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_WINDOW_INTERNAL_H
#define COORDINATOR_WINDOW_INTERNAL_H

#include "coordinator/dataflow.h"

/*
 * The rows of a window recomputed by row: its reduce's node, rows and
 * their order, and how a change's rows are found and completed.
 */
struct WindowRows
{
	PlanState  *node;			/* the reduce's executor node */
	Arrangement *arr;			/* the reduce's rows */
	RowOrder   *order;			/* in the node's order */
	int			radius;			/* the rows within it of a change are noted */
	int			distance;		/* without prefix: a row reads the rows
								 * within it (lag, lead, ROWS frames) */
	WindowSpan *span;			/* and those its RANGE or GROUPS frame holds */
	WindowPrefix *prefix;		/* NULL: the rows depend on those near them
								 * only; else on those before them */
	int			head;			/* >= 0: the rows' values are the same,
								 * read from the first head rows and the
								 * last (WindowWideHead) */
	RowKey		peers;			/* with span or prefix: the window's ORDER BY */
	TupleTableSlot *prev;		/* with prefix: the output before a change */
	TupleTableSlot *completed;
	bool		joined;			/* with prefix: the first row re-run is a
								 * peer of the row before */
	int			hidden;			/* with prefix: hidden columns, kept with a
								 * row's outputs but not emitted */
	TupleDesc	emitted;		/* the node's rows without them */
	TupleTableSlot *kept;		/* the node's rows with them */
	bool		complete;		/* with prefix: complete the outputs */
	RowNode   **changes;		/* with prefix: the rows near the changes,
								 * in order */
	int			nchanges;
	int			passed;			/* how many of them a run has passed */
	RowNode    *last;			/* the last row a passed one can move (NULL:
								 * none passed) */
	RowNode    *stopped;		/* where a run found the rest as it was */
	RowNode    *keep_from;		/* with prefix: the first row whose outputs
								 * are kept (those before are context) */
	List	  **retired;		/* the reduce's retracted rows, during a call */
	MemoryContext caller;		/* current at a call: op's change is
								 * allocated there */
	MemoryContext scratch;		/* a row's completion and comparisons */
	bool		tentative;		/* a data error is not the group's: */
	bool		failed;			/* one came, recompute the group whole */
};

/* window.c: what the plan of a window says, shared with windowprefix.c */
extern int64 WindowOffsetDistance(Node *node);
extern int64 WindowFrameOffset(Node *node);
extern bool WindowSafeAggregate(WindowFunc *wf, bool floats);
extern int64 WindowRowsFrameRadius(WindowAgg *plan);

/* windowrows.c */
extern MinimalTuple WindowRowsEmitted(WindowRows *wr, MinimalTuple row);
extern void WindowRowsEmit(WindowRows *wr, DataflowOp *op, MinimalTuple row, int64 diff);
extern void WindowRowsRetract(WindowRows *wr, DataflowOp *op, List *outputs);
extern bool WindowRowsPeers(WindowRows *wr, RowNode *a, RowNode *b);
extern RowNode *WindowRowsLastPeer(WindowRows *wr, RowNode *node, bool forward);
extern RowNode *WindowRowsStepMany(RowNode *node, int64 k, bool forward);
extern RowNode **WindowRowsLocate(WindowRows *wr, ArrGroup *g, List *near, int *n);
extern bool WindowRowsGroupError(WindowRows *wr, Dataflow *df, ArrGroup *g,
								 MemoryContext context);
extern void WindowRowsRun(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
						  RowNode *start, RowNode *end, RowNode **run, int n);
extern void WindowRowsNearOrWhole(WindowRows *wr, DataflowOp *op, Dataflow *df,
								  ArrGroup *g, List *near, bool whole);

/* windowresume.c */
extern bool WindowResumeSettled(WindowRows *wr, DataflowOp *op, RowNode *node,
								List *old, bool *past);
extern void WindowResumeEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df,
								 ArrGroup *g, List *near, bool whole);

/* windowwide.c */
extern void WindowWideEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df,
							   ArrGroup *g, List *near, bool whole);

#endif							/* COORDINATOR_WINDOW_INTERNAL_H */
