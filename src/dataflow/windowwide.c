/*-------------------------------------------------------------------------
 *
 * windowwide.c
 *	  A window whose values are the same for every row of a partition
 *	  (first_value, last_value, nth_value over the whole partition): the
 *	  changed rows recomputed, and the partition only when the rows the
 *	  values read changed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"

#include "coordinator/dataflow.h"
#include "window_internal.h"

/*
 * Partition-wide values (wr->head): feed the node the rows they read (the
 * first wr->head rows and the last), the rows near this tick's changes,
 * and one row that did not change; keep the changed rows' outputs.  If the
 * unchanged row's values moved, so did every row's: recompute the group
 * whole (as with whole).
 */
void
WindowWideEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
				   List *near, bool whole)
{
	MemoryContext context = CurrentMemoryContext;
	RowNode   **changed;
	RowNode   **feed;
	ZRow	   *rows;
	RowNode    *volatile ref = NULL;
	RowNode    *x;
	int			n;
	int			nfeed = 0;
	int			m = 0;
	int64		copies = 0;
	List	   *volatile fresh = NIL;	/* the unchanged row's outputs */
	volatile bool moved = false;

	if (whole || list_length(near) >= g->nrows)
	{
		WindowRowsNearOrWhole(wr, op, df, g, near, true);
		return;
	}
	/* none, if the rows that changed all left: the values may still move */
	changed = WindowRowsLocate(wr, g, near, &n);
	list_free_deep(near);
	if (RowOrderFirst(wr->order, g) == NULL)
	{
		pfree(changed);
		return;
	}
	/* a row that did not change: the first one not among the changed */
	for (x = RowOrderFirst(wr->order, g); x != NULL && ref == NULL; x = RowOrderStep(x, true))
	{
		while (m < n && RowOrderCompare(&changed[m], &x, wr->order) < 0)
			m++;
		if (m >= n || changed[m] != x)
			ref = x;
	}
	if (ref == NULL)
	{
		pfree(changed);
		WindowRowsNearOrWhole(wr, op, df, g, NIL, true);
		return;
	}
	feed = palloc(sizeof(RowNode *) * (n + wr->head + 2));
	for (x = RowOrderFirst(wr->order, g); x != NULL && copies < wr->head; x = RowOrderStep(x, true))
	{
		feed[nfeed++] = x;
		copies += RowNodeRow(x)->mult;
	}
	feed[nfeed++] = RowOrderLast(wr->order, g);
	feed[nfeed++] = ref;
	memcpy(feed + nfeed, changed, sizeof(RowNode *) * n);
	nfeed += n;
	qsort_arg(feed, nfeed, sizeof(RowNode *), RowOrderCompare, wr->order);
	rows = palloc(sizeof(ZRow) * nfeed);
	m = 0;
	for (int i = 0; i < nfeed; i++)
	{
		if (m > 0 && feed[m - 1] == feed[i])
			continue;
		feed[m] = feed[i];
		rows[m].tuple = ArrRowTuple(RowNodeRow(feed[i]));
		rows[m].diff = RowNodeRow(feed[i])->mult;
		m++;
	}
	nfeed = m;
	for (int i = 0; i < n; i++)
		WindowRowsRetract(wr, op, RowNodeTakeOutputs(changed[i]));

	/* an error is the whole group's to say, recomputed */
	wr->tentative = true;
	MemoryContextSwitchTo(df->estate->es_query_cxt);
	PG_TRY();
	{
		int			f = 0;
		int64		left = rows[0].diff;
		int			c = 0;

		FeederSetRows(wr->node, rows, nfeed);
		ExecReScan(wr->node);
		for (;;)
		{
			TupleTableSlot *slot = ExecProcNode(wr->node);
			MinimalTuple row;

			if (TupIsNull(slot))
				break;
			/* the node returns a row for each row fed, in order */
			while (left == 0)
			{
				if (++f >= nfeed)
					elog(ERROR, "coordinator: a window returned more rows than it read");
				left = rows[f].diff;
			}
			left--;
			while (c < n && RowOrderCompare(&changed[c], &feed[f], wr->order) < 0)
				c++;
			if (feed[f] == ref)
			{
				MemoryContextSwitchTo(context);
				fresh = lappend(fresh, RowFromSlot(slot));
			}
			else if (c < n && changed[c] == feed[f])
			{
				MemoryContextSwitchTo(wr->arr->context);
				row = RowFromSlot(slot);
				RowNodeAddOutput(feed[f], row);
				WindowRowsEmit(wr, op, row, 1);
			}
			MemoryContextSwitchTo(df->estate->es_query_cxt);
		}
		ExecReScan(wr->node);
		moved = !RowNodeOutputsEqual(ref, fresh);
	}
	PG_CATCH();
	{
		bool		data = WindowRowsGroupError(wr, df, g, context);

		wr->tentative = false;
		if (!data)
			PG_RE_THROW();
		moved = true;
		MemoryContextSwitchTo(df->estate->es_query_cxt);
		ExecReScan(wr->node);
	}
	PG_END_TRY();
	wr->tentative = false;
	MemoryContextSwitchTo(context);
	list_free_deep(fresh);
	pfree(rows);
	pfree(feed);
	pfree(changed);
	if (moved)
		WindowRowsNearOrWhole(wr, op, df, g, NIL, true);
}
