/*-------------------------------------------------------------------------
 *
 * windowrows.c
 *	  A window's rows recomputed by row: the rows of a partition a change
 *	  can move, found in the partition's order, fed to the reduce's node
 *	  with the rows they read, and their outputs kept by row.
 *
 * window.c says which windows qualify and how: those whose rows read only
 * the rows within d of them (WindowRadius), and those whose rows follow
 * from the rows before them (WindowPrefix).  Here a reduce's WindowAgg of
 * either kind keeps its outputs on the rows' nodes of roworder.c's tree,
 * so that recomputing some rows retracts exactly their old outputs:
 *
 *	- rows near a change (evaluate_near): the rows within d of the changed
 *	  rows, in runs, each fed with d more rows on each side;
 *	- rows from a change on (evaluate_prefix): the node re-run from the
 *	  first change (its first peer where ties matter, d rows earlier with
 *	  lag or lead), completed with the output of the row before, until a
 *	  row past the last change has its old outputs again (settled).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "utils/memutils.h"

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
	bool		tentative;		/* a data error is not the group's: */
	bool		failed;			/* one came, recompute the group whole */
};

/*
 * A window's rows recomputed by row, if its functions allow (WindowRadius,
 * WindowPrefixCreate); NULL if its partitions are re-run whole.  input and
 * output describe the node's rows; node, arr and order are its reduce's.
 */
WindowRows *
WindowRowsCreate(WindowAgg *plan, TupleDesc input, TupleDesc output,
				 PlanState *node, Arrangement *arr, RowOrder *order)
{
	WindowRows *wr;
	int			radius = WindowRadius(plan);
	WindowPrefix *prefix = radius < 0 ? WindowPrefixCreate(plan) : NULL;

	if (radius < 0 && prefix == NULL)
		return NULL;
	wr = palloc0(sizeof(WindowRows));
	wr->node = node;
	wr->arr = arr;
	wr->order = order;
	wr->radius = radius;
	wr->distance = radius;
	wr->span = radius >= 0 ? WindowSpanCreate(plan, input) : NULL;
	wr->prefix = prefix;
	if (wr->span != NULL || prefix != NULL)
		RowKeyInit(&wr->peers, input, plan->ordNumCols, plan->ordColIdx,
				   plan->ordOperators, plan->ordCollations);
	/* a span widens the rows next to a change (those of a row that left) */
	if (wr->span != NULL)
		wr->radius = Max(radius, 1);
	if (prefix != NULL)
	{
		TupleDesc	kept = ExecGetResultType(node);

		/* the rows next to a change, to find the first of them */
		wr->radius = 1;
		wr->prev = MakeSingleTupleTableSlot(kept, &TTSOpsMinimalTuple);
		wr->completed = MakeSingleTupleTableSlot(kept, &TTSOpsVirtual);
		wr->hidden = WindowPrefixHidden(prefix);
		wr->emitted = output;
		wr->kept = MakeSingleTupleTableSlot(kept, &TTSOpsMinimalTuple);
	}
	return wr;
}

/*
 * The row emitted for a window's output row: the row itself, or without
 * its hidden columns (in the arrangement's context, freed at the next
 * tick).
 */
static MinimalTuple
emitted(WindowRows *wr, MinimalTuple row)
{
	MemoryContext old;
	MinimalTuple out;

	if (wr->hidden == 0)
		return row;
	ExecStoreMinimalTuple(row, wr->kept, false);
	slot_getallattrs(wr->kept);
	old = MemoryContextSwitchTo(wr->arr->context);
	out = heap_form_minimal_tuple(wr->emitted, wr->kept->tts_values, wr->kept->tts_isnull);
	*wr->retired = lappend(*wr->retired, list_make1(out));
	MemoryContextSwitchTo(old);
	ExecClearTuple(wr->kept);
	return out;
}

/*
 * Retract a window's outputs (a list in any context of rows in the
 * arrangement's; the rows are freed at the next tick).
 */
static void
retract(WindowRows *wr, DataflowOp *op, List *outputs)
{
	MemoryContext old;
	ListCell   *lc;

	if (outputs == NIL)
		return;
	foreach(lc, outputs)
		ZSetAdd(&op->delta, emitted(wr, lfirst(lc)), -1);
	old = MemoryContextSwitchTo(wr->arr->context);
	*wr->retired = lappend(*wr->retired, list_copy(outputs));
	MemoryContextSwitchTo(old);
	list_free(outputs);
}

/* Are two rows of a group peers in the window's order? */
static bool
peers(WindowRows *wr, RowNode *a, RowNode *b)
{
	return RowKeyEqual(&wr->peers, ArrRowTuple(RowNodeRow(a)), ArrRowTuple(RowNodeRow(b)));
}

/* The last of node's peers going forward, or the first going back. */
static RowNode *
last_peer(WindowRows *wr, RowNode *node, bool forward)
{
	RowNode    *x;

	while ((x = RowOrderStep(node, forward)) != NULL && peers(wr, x, node))
		node = x;
	return node;
}

/* The node k rows after (forward) or before node, or the group's end. */
static RowNode *
step_many(RowNode *node, int64 k, bool forward)
{
	RowNode    *x;

	for (int64 i = 0; i < k && (x = RowOrderStep(node, forward)) != NULL; i++)
		node = x;
	return node;
}

/*
 * Without prefix: the farthest row from node, forward or back, that
 * node's values read (reads) or whose values read node's row.
 */
static RowNode *
reach(WindowRows *wr, RowNode *node, bool forward, bool reads)
{
	RowNode    *far = step_many(node, wr->distance, forward);
	RowNode    *x;
	RowNode    *y;
	int64		groups;

	if (wr->span == NULL)
		return far;
	x = last_peer(wr, node, forward);
	groups = WindowSpanGroups(wr->span, forward, reads);
	if (groups >= 0)
	{
		for (; groups > 0 && (y = RowOrderStep(x, forward)) != NULL; groups--)
			x = last_peer(wr, y, forward);
	}
	else
	{
		while ((y = RowOrderStep(x, forward)) != NULL &&
			   WindowSpanWithin(wr->span, ArrRowTuple(RowNodeRow(y)),
								ArrRowTuple(RowNodeRow(node)), forward, reads))
			x = y;
	}
	if (RowOrderCompare(&x, &far, wr->order) * (forward ? 1 : -1) < 0)
		x = far;
	return x;
}

/*
 * With a span: the rows whose values read the rows of nodes[0..n-1]
 * (sorted, distinct), in order, each once; the count in *n.
 */
static RowNode **
widen(WindowRows *wr, RowNode **nodes, int *n)
{
	int			size = Max(*n * 4, 16);
	int			m = 0;
	RowNode   **all = palloc(sizeof(RowNode *) * size);

	for (int i = 0; i < *n; i++)
	{
		RowNode    *x = reach(wr, nodes[i], false, false);
		RowNode    *last = reach(wr, nodes[i], true, false);

		/* the rows up to the last one taken are in already */
		if (m > 0 && RowOrderCompare(&x, &all[m - 1], wr->order) <= 0)
		{
			if (RowOrderCompare(&last, &all[m - 1], wr->order) <= 0)
				continue;
			x = RowOrderStep(all[m - 1], true);
		}
		for (;;)
		{
			if (m == size)
			{
				if ((Size) size * 2 * sizeof(RowNode *) > MaxAllocSize)
					elog(ERROR, "coordinator: a window change moves too many rows");
				size *= 2;
				all = repalloc(all, sizeof(RowNode *) * size);
			}
			all[m++] = x;
			if (x == last)
				break;
			x = RowOrderStep(x, true);
		}
	}
	pfree(nodes);
	*n = m;
	return all;
}

/*
 * With prefix: the row node's new outputs are in, its old ones (old) are
 * retracted.  Are the rows after it as they were, up to the next change?
 * Yes once a row past the last one a change before it can move (lag and
 * lead: d rows after it), and not its peer, has its old outputs: its
 * values carry all that the rows after it read of the rows before.
 */
static bool
settled(WindowRows *wr, DataflowOp *op, RowNode *node, List *old, bool *past)
{
	bool		stop;

	/* the changes up to node: the run is past none of their rows yet */
	while (wr->passed < wr->nchanges &&
		   RowOrderCompare(&wr->changes[wr->passed], &node, wr->order) <= 0)
	{
		wr->last = step_many(wr->changes[wr->passed++], WindowPrefixRadius(wr->prefix), true);
		*past = false;
	}
	stop = *past && RowNodeOutputsEqual(node, old) &&
		!(WindowPrefixNeedsPeers(wr->prefix) && peers(wr, node, wr->last));
	retract(wr, op, old);
	if (node == wr->last)
		*past = true;
	if (stop)
		wr->stopped = node;
	return stop;
}

/*
 * In PG_CATCH, with the context current at PG_TRY: if the error is a data
 * error, make it group g's (its next change recomputes it whole), or note
 * it in wr->failed if tentative, and say so; else the caller re-throws.
 */
static bool
group_error(WindowRows *wr, Dataflow *df, ArrGroup *g, MemoryContext context)
{
	ErrorData  *edata = DataErrorCatch(df, context, wr->tentative ? 0 : 1);

	if (edata == NULL)
		return false;
	if (wr->tentative)
		wr->failed = true;
	else if (g->error == NULL)
	{
		g->error = MemoryContextStrdup(wr->arr->context, edata->message);
		g->error_code = edata->sqlerrcode;
	}
	else
		DataErrorAdd(df, edata->message, edata->sqlerrcode, -1);
	FreeErrorData(edata);
	return true;
}

/*
 * Run the window node over the rows from start to end (NULL: the group's
 * last), and keep and emit the outputs of the rows run[0..n-1] (in order,
 * between them), completed after the rows before start if wr->complete.
 * run NULL: of every row, whose old outputs are retracted as it comes,
 * until the group is settled.
 */
static void
evaluate_run(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
			 RowNode *start, RowNode *end, RowNode **run, int n)
{
	MemoryContext context = CurrentMemoryContext;
	RowNode    *volatile cur = NULL;
	volatile int64 left = 0;
	volatile int p = 0;
	List	   *volatile old = NIL;	/* run NULL: cur's outputs before */
	volatile bool past = false;
	volatile bool stop = false;
	volatile bool keeping = wr->keep_from == NULL;	/* run NULL: cur's kept */

	MemoryContextSwitchTo(df->estate->es_query_cxt);
	PG_TRY();
	{
		RowOrderFeedRange(wr->order, start, end);
		FeederSetSource(wr->node, RowOrderNext, wr->order);
		ExecReScan(wr->node);
		for (;;)
		{
			TupleTableSlot *slot = ExecProcNode(wr->node);

			if (TupIsNull(slot))
				break;
			/* the node returns a row for each row fed, in order */
			while (left == 0)
			{
				if (cur != NULL && run != NULL && p < n && cur == run[p])
					p++;
				if (cur != NULL && run == NULL && keeping)
				{
					stop = settled(wr, op, cur, old, (bool *) &past);
					old = NIL;
					if (stop)
						break;
				}
				cur = cur == NULL ? start : RowOrderStep(cur, true);
				if (cur == NULL)
					elog(ERROR, "coordinator: a window returned more rows than it read");
				left = RowNodeRow(cur)->mult;
				if (cur == wr->keep_from)
					keeping = true;
				if (run == NULL && keeping)
					old = RowNodeTakeOutputs(cur);
			}
			if (stop)
				break;
			left--;
			if (run == NULL ? keeping : (p < n && cur == run[p]))
			{
				MinimalTuple row;

				if (wr->complete)
				{
					ExecClearTuple(wr->completed);
					WindowPrefixComplete(wr->prefix, slot, wr->prev, wr->joined,
										 wr->completed->tts_values,
										 wr->completed->tts_isnull);
					slot = ExecStoreVirtualTuple(wr->completed);
				}
				MemoryContextSwitchTo(wr->arr->context);
				row = RowFromSlot(slot);
				RowNodeAddOutput(cur, row);
				MemoryContextSwitchTo(df->estate->es_query_cxt);
				ZSetAdd(&op->delta, emitted(wr, row), 1);
			}
		}
		if (run == NULL && !stop && keeping)
			retract(wr, op, old);
		ExecReScan(wr->node);
	}
	PG_CATCH();
	{
		/* the outputs the row had stay in the view: retracted with it */
		if (run == NULL && old != NIL)
		{
			MemoryContext c = MemoryContextSwitchTo(context);

			retract(wr, op, old);
			MemoryContextSwitchTo(c);
		}
		if (!group_error(wr, df, g, context))
			PG_RE_THROW();
		MemoryContextSwitchTo(df->estate->es_query_cxt);
		ExecReScan(wr->node);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
}

/*
 * A window whose rows depend on the rows near them only: recompute the
 * rows near this tick's changes (near: images of them; with a span, also
 * the rows whose frames hold them), or all of the group's (whole).  Each
 * run of such rows is fed with the rows they read on each side.
 */
static void
evaluate_near(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
			  List *near, bool whole)
{
	RowNode   **nodes;
	int			n = 0;
	int			i;

	if (list_length(near) >= g->nrows)
		whole = true;
	if (whole)
	{
		nodes = palloc(sizeof(RowNode *) * Max(g->nrows, 1));
		for (RowNode *x = RowOrderFirst(wr->order, g); x != NULL; x = RowOrderStep(x, true))
			nodes[n++] = x;
	}
	else
	{
		ListCell   *lc;
		int			m = 0;

		nodes = palloc(sizeof(RowNode *) * Max(list_length(near), 1));
		foreach(lc, near)
		{
			RowNode    *x = RowOrderLocate(wr->order, wr->arr, g, lfirst(lc));

			if (x != NULL)
				nodes[n++] = x;
		}
		qsort_arg(nodes, n, sizeof(RowNode *), RowOrderCompare, wr->order);
		for (i = 0; i < n; i++)
		{
			if (m == 0 || nodes[m - 1] != nodes[i])
				nodes[m++] = nodes[i];
		}
		n = m;
		if (wr->span != NULL)
			nodes = widen(wr, nodes, &n);
	}
	list_free_deep(near);

	for (i = 0; i < n; i++)
		retract(wr, op, RowNodeTakeOutputs(nodes[i]));

	if (whole && n > 0)
		evaluate_run(wr, op, df, g, nodes[0], nodes[n - 1], nodes, n);
	i = whole ? n : 0;
	while (i < n && !wr->failed)
	{
		int			j = i + 1;

		/*
		 * A run: the next row to recompute is the next row, or the rows it
		 * reads meet those the run reads.
		 */
		while (j < n)
		{
			if (RowOrderStep(nodes[j - 1], true) != nodes[j])
			{
				RowNode    *next = RowOrderStep(reach(wr, nodes[j - 1], true, true), true);
				RowNode    *from = reach(wr, nodes[j], false, true);

				if (next != NULL && RowOrderCompare(&from, &next, wr->order) > 0)
					break;
			}
			j++;
		}
		evaluate_run(wr, op, df, g, reach(wr, nodes[i], false, true),
					 reach(wr, nodes[j - 1], true, true), nodes + i, j - i);
		i = j;
	}
	pfree(nodes);
}

/*
 * evaluate_near, or the whole group's rows if that fails with a data
 * error: its rows read as context only may fail where the query's do not
 * (a float sum of a part of a frame overflows), and so may in_range
 * functions over rows the query does not compare (a timestamp a day
 * after a row's, for a frame of the day before).  A whole group's error is
 * the query's.
 */
static void
evaluate_near_or_whole(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
					   List *near, bool whole)
{
	MemoryContext context = CurrentMemoryContext;

	if (!whole)
	{
		wr->tentative = true;
		wr->failed = false;
		PG_TRY();
		{
			evaluate_near(wr, op, df, g, near, false);
		}
		PG_CATCH();
		{
			if (!group_error(wr, df, g, context))
			{
				wr->tentative = false;
				PG_RE_THROW();
			}
		}
		PG_END_TRY();
		wr->tentative = false;
		whole = wr->failed;
		near = NIL;
	}
	if (whole)
	{
		PG_TRY();
		{
			evaluate_near(wr, op, df, g, NIL, true);
		}
		PG_CATCH();
		{
			if (!group_error(wr, df, g, context))
				PG_RE_THROW();
		}
		PG_END_TRY();
	}
	if (wr->span != NULL)
		RowKeyDone(&wr->peers);
}

/*
 * A window resumed after the rows before a change (wr->prefix): re-run the
 * node from the first row near this tick's first change (from its first
 * peer where ties matter; with lag or lead, d rows earlier, fed d more)
 * until the rows are as they were, completing its values with the output
 * of the row before; then from the next change after that on, and so on.
 * whole: the group's every row, from its first on.
 */
static void
evaluate_prefix(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
				List *near, bool whole)
{
	int64		radius = WindowPrefixRadius(wr->prefix);
	int			next = 0;		/* the first change not yet run over */
	ListCell   *lc;

	wr->nchanges = 0;
	if (!whole && list_length(near) < g->nrows)
	{
		int			n = 0;

		wr->changes = palloc(sizeof(RowNode *) * Max(list_length(near), 1));
		foreach(lc, near)
		{
			RowNode    *x = RowOrderLocate(wr->order, wr->arr, g, lfirst(lc));

			if (x != NULL)
				wr->changes[n++] = x;
		}
		qsort_arg(wr->changes, n, sizeof(RowNode *), RowOrderCompare, wr->order);
		for (int i = 0; i < n; i++)
		{
			if (wr->nchanges == 0 || wr->changes[wr->nchanges - 1] != wr->changes[i])
				wr->changes[wr->nchanges++] = wr->changes[i];
		}
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
				first = last_peer(wr, first, false);
			/* lag and lead: the rows near the change, with rows around them */
			if (radius > 0 && RowOrderStep(first, false) != NULL)
			{
				wr->keep_from = step_many(first, radius, false);
				first = step_many(wr->keep_from, radius, false);
				if (WindowPrefixNeedsPeers(wr->prefix))
					first = last_peer(wr, first, false);
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
		wr->joined = prev != NULL && peers(wr, first, prev);
		if (prev != NULL)
			ExecStoreMinimalTuple(RowNodeLastOutput(prev), wr->prev, false);
		RowKeyDone(&wr->peers);
		wr->passed = whole ? wr->nchanges : next;
		wr->last = NULL;
		wr->stopped = NULL;
		evaluate_run(wr, op, df, g, first, NULL, NULL, 0);
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


/*
 * A change of a row of group g: kept in order, the rows it may move noted
 * in g->output.rows, the outputs of a row that left retracted (into op's
 * change; retired lists the rows to free at the next tick).
 */
void
WindowRowsUpdate(WindowRows *wr, DataflowOp *op, ArrGroup *g, MinimalTuple row,
				 int64 diff, List **retired)
{
	List	   *gone;

	wr->retired = retired;
	RowOrderUpdateNear(wr->order, wr->arr, g, row, diff, wr->radius,
					   &g->output.rows, &gone);
	retract(wr, op, gone);
}

/*
 * Recompute the rows of group g that this tick's changes moved (near: the
 * rows noted), or all of them (whole): their old outputs retracted, the
 * new kept and emitted into op's change.
 */
void
WindowRowsEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
				   List *near, bool whole, List **retired)
{
	wr->retired = retired;
	if (wr->prefix != NULL)
		evaluate_prefix(wr, op, df, g, near, whole);
	else
		evaluate_near_or_whole(wr, op, df, g, near, whole);
}
