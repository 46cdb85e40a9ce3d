/*-------------------------------------------------------------------------
 *
 * windowresume.c
 *	  A window's rows resumed after the row before a change: the values
 *	  that follow from the rows before a row, recomputed from each change
 *	  on until the rows are as they were.
 *
 * window.c's WindowPrefix says which windows (row_number, rank,
 * dense_rank, running sums and averages...) and how a fresh value is
 * completed with the output of the row before.  Here the node is re-run
 * from the first row near a change (its first peer where a frame ends at
 * the current row's last peer; with lag, lead or a bounded frame, d rows
 * earlier and fed d more), its values completed, until a row past the
 * change has its old outputs again; then from the next change on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"

#include "coordinator/dataflow.h"
#include "window_internal.h"

/*
 * With prefix: the row node's new outputs are in, its old ones (old) are
 * retracted.  Are the rows after it as they were, up to the next change?
 * Yes once a row past the last one a change before it can move (lag and
 * lead: d rows after it), and not its peer, has its old outputs: its
 * values carry all that the rows after it read of the rows before.
 */
bool
WindowResumeSettled(WindowRows *wr, DataflowOp *op, RowNode *node, List *old,
					bool *past)
{
	bool		stop;

	/* the changes up to node: the run is past none of their rows yet */
	while (wr->passed < wr->nchanges &&
		   RowOrderCompare(&wr->changes[wr->passed], &node, wr->order) <= 0)
	{
		wr->last = WindowRowsStepMany(wr->changes[wr->passed++], WindowPrefixRadius(wr->prefix), true);
		*past = false;
	}
	stop = *past && RowNodeOutputsEqual(node, old) &&
		!(WindowPrefixNeedsPeers(wr->prefix) && WindowRowsPeers(wr, node, wr->last));
	WindowRowsRetract(wr, op, old);
	if (node == wr->last)
		*past = true;
	if (stop)
		wr->stopped = node;
	return stop;
}

/*
 * A window resumed after the rows before a change (wr->prefix): re-run the
 * node from the first row near this tick's first change (from its first
 * peer where ties matter; with lag or lead, d rows earlier, fed d more)
 * until the rows are as they were, completing its values with the output
 * of the row before; then from the next change after that on, and so on.
 * whole: the group's every row, from its first on.
 */
void
WindowResumeEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
					 List *near, bool whole)
{
	int64		radius = WindowPrefixRadius(wr->prefix);
	int			next = 0;		/* the first change not yet run over */

	wr->nchanges = 0;
	if (!whole && list_length(near) < g->nrows)
	{
		wr->changes = WindowRowsLocate(wr, g, near, &wr->nchanges);
		if (wr->nchanges == 0)
		{
			list_free_deep(near);
			pfree(wr->changes);
			return;
		}
	}
	else
	{
		whole = true;
		wr->changes = NULL;
	}
	list_free_deep(near);

	for (;;)
	{
		RowNode    *first = whole ? RowOrderFirst(wr->order, g) : wr->changes[next];
		RowNode    *prev;

		if (first == NULL)
			break;
		wr->keep_from = NULL;
		if (!whole)
		{
			if (WindowPrefixNeedsPeers(wr->prefix))
				first = WindowRowsLastPeer(wr, first, false);
			/* lag and lead: the rows near the change, with rows around them */
			if (radius > 0 && RowOrderStep(first, false) != NULL)
			{
				wr->keep_from = WindowRowsStepMany(first, radius, false);
				first = WindowRowsStepMany(wr->keep_from, radius, false);
				if (WindowPrefixNeedsPeers(wr->prefix))
					first = WindowRowsLastPeer(wr, first, false);
			}
		}
		prev = RowOrderStep(first, false);
		if (prev != NULL && RowNodeLastOutput(prev) == NULL)
		{
			/* the row before has no output (an error): the whole group */
			whole = true;
			continue;
		}
		wr->complete = prev != NULL;
		wr->joined = prev != NULL && WindowRowsPeers(wr, first, prev);
		if (prev != NULL)
			ExecStoreMinimalTuple(RowNodeLastOutput(prev), wr->prev, false);
		RowKeyDone(&wr->peers);
		wr->passed = whole ? wr->nchanges : next;
		wr->last = NULL;
		wr->stopped = NULL;
		WindowRowsRun(wr, op, df, g, first, NULL, NULL, 0);
		ExecClearTuple(wr->prev);
		RowKeyDone(&wr->peers);
		if (whole || wr->stopped == NULL)
			break;
		/* the rows up to where it stopped are done: the next change on */
		for (next = wr->passed; next < wr->nchanges &&
			 RowOrderCompare(&wr->changes[next], &wr->stopped, wr->order) <= 0; next++)
			;
		if (next >= wr->nchanges)
			break;
	}
	wr->complete = false;
	wr->keep_from = NULL;
	wr->last = NULL;
	wr->stopped = NULL;
	if (wr->changes != NULL)
		pfree(wr->changes);
	wr->changes = NULL;
	wr->nchanges = 0;
}
