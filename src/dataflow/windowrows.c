/*-------------------------------------------------------------------------
 *
 * windowrows.c
 *	  A window's rows recomputed by row: the rows of a partition a change
 *	  can move, found in the partition's order, fed to the reduce's node
 *	  with the rows they read, and their outputs kept by row.
 *
 * window.c and windowspan.c say which windows qualify and how.  Here a
 * reduce's WindowAgg of any such kind keeps its outputs on the rows' nodes
 * of roworder.c's tree, so that recomputing some rows retracts exactly
 * their old outputs; which rows it recomputes depends on the kind:
 *
 *	- rows near a change (here, evaluate_near): the rows within d of the
 *	  changed rows, or whose RANGE or GROUPS frames hold them, in runs, each
 *	  fed with the rows it reads; a data error there (a row read only as
 *	  context) recomputes the group whole, whose error is the query's;
 *	- rows from a change on (windowresume.c);
 *	- values of the whole partition (windowwide.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "utils/memutils.h"

#include "coordinator/dataflow.h"
#include "window_internal.h"

/*
 * A window's rows recomputed by row, if its functions allow (WindowRadius,
 * WindowPrefixCreate, WindowWideHead); NULL if its partitions are re-run
 * whole.  input and
 * output describe the node's rows; node, arr and order are its reduce's.
 */
WindowRows *
WindowRowsCreate(WindowAgg *plan, TupleDesc input, TupleDesc output,
				 PlanState *node, Arrangement *arr, RowOrder *order)
{
	WindowRows *wr;
	int			radius = WindowRadius(plan);
	WindowPrefix *prefix = radius < 0 ? WindowPrefixCreate(plan) : NULL;
	int			head = radius < 0 && prefix == NULL ? WindowWideHead(plan) : -1;

	if (radius < 0 && prefix == NULL && head < 0)
		return NULL;
	wr = palloc0(sizeof(WindowRows));
	wr->scratch = AllocSetContextCreate(arr->context, "window rows", ALLOCSET_SMALL_SIZES);
	wr->node = node;
	wr->arr = arr;
	wr->order = order;
	wr->radius = radius;
	wr->distance = radius;
	wr->span = radius >= 0 ? WindowSpanCreate(plan, input) : NULL;
	wr->prefix = prefix;
	wr->head = head;
	/* partition-wide values: the changed rows alone are noted */
	if (head >= 0)
		wr->radius = wr->distance = 0;
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
MinimalTuple
WindowRowsEmitted(WindowRows *wr, MinimalTuple row)
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

/* Add a window's output row to op's change, with weight diff. */
void
WindowRowsEmit(WindowRows *wr, DataflowOp *op, MinimalTuple row, int64 diff)
{
	MemoryContext old = MemoryContextSwitchTo(wr->caller);

	ZSetAdd(&op->delta, WindowRowsEmitted(wr, row), diff);
	MemoryContextSwitchTo(old);
}

/*
 * Retract a window's outputs (a list in any context of rows in the
 * arrangement's; the rows are freed at the next tick).
 */
void
WindowRowsRetract(WindowRows *wr, DataflowOp *op, List *outputs)
{
	MemoryContext old;
	ListCell   *lc;

	if (outputs == NIL)
		return;
	foreach(lc, outputs)
		WindowRowsEmit(wr, op, lfirst(lc), -1);
	old = MemoryContextSwitchTo(wr->arr->context);
	*wr->retired = lappend(*wr->retired, list_copy(outputs));
	MemoryContextSwitchTo(old);
	list_free(outputs);
}

/* Are two rows of a group peers in the window's order? */
bool
WindowRowsPeers(WindowRows *wr, RowNode *a, RowNode *b)
{
	return RowKeyEqual(&wr->peers, ArrRowTuple(RowNodeRow(a)), ArrRowTuple(RowNodeRow(b)));
}

/* The last of node's peers going forward, or the first going back. */
RowNode *
WindowRowsLastPeer(WindowRows *wr, RowNode *node, bool forward)
{
	RowNode    *x;

	while ((x = RowOrderStep(node, forward)) != NULL && WindowRowsPeers(wr, x, node))
		node = x;
	return node;
}

/* The node k rows after (forward) or before node, or the group's end. */
RowNode *
WindowRowsStepMany(RowNode *node, int64 k, bool forward)
{
	RowNode    *x;

	for (int64 i = 0; i < k && (x = RowOrderStep(node, forward)) != NULL; i++)
		node = x;
	return node;
}

/*
 * The nodes of the rows of near (images of rows of group g, some gone),
 * in order, each once: *n of them.
 */
RowNode **
WindowRowsLocate(WindowRows *wr, ArrGroup *g, List *near, int *n)
{
	RowNode   **nodes = palloc(sizeof(RowNode *) * Max(list_length(near), 1));
	ListCell   *lc;
	int			m = 0;

	*n = 0;
	foreach(lc, near)
	{
		RowNode    *x = RowOrderLocate(wr->order, wr->arr, g, lfirst(lc));

		if (x != NULL)
			nodes[(*n)++] = x;
	}
	qsort_arg(nodes, *n, sizeof(RowNode *), RowOrderCompare, wr->order);
	for (int i = 0; i < *n; i++)
	{
		if (m == 0 || nodes[m - 1] != nodes[i])
			nodes[m++] = nodes[i];
	}
	*n = m;
	return nodes;
}

/*
 * Without prefix: the farthest row from node, forward or back, that
 * node's values read (reads) or whose values read node's row.
 */
static RowNode *
reach(WindowRows *wr, RowNode *node, bool forward, bool reads)
{
	RowNode    *far = WindowRowsStepMany(node, wr->distance, forward);
	RowNode    *x;
	RowNode    *y;
	int64		groups;

	if (wr->span == NULL)
		return far;
	x = WindowRowsLastPeer(wr, node, forward);
	groups = WindowSpanGroups(wr->span, forward, reads);
	if (groups >= 0)
	{
		for (; groups > 0 && (y = RowOrderStep(x, forward)) != NULL; groups--)
			x = WindowRowsLastPeer(wr, y, forward);
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
 * In PG_CATCH, with the context current at PG_TRY: if the error is a data
 * error, make it group g's (its next change recomputes it whole), or note
 * it in wr->failed if tentative, and say so; else the caller re-throws.
 */
bool
WindowRowsGroupError(WindowRows *wr, Dataflow *df, ArrGroup *g,
					 MemoryContext context)
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
void
WindowRowsRun(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
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
					/* comparisons may detoast: in the scratch context */
					MemoryContextSwitchTo(wr->scratch);
					stop = WindowResumeSettled(wr, op, cur, old, (bool *) &past);
					MemoryContextSwitchTo(df->estate->es_query_cxt);
					MemoryContextReset(wr->scratch);
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
					MemoryContextSwitchTo(wr->scratch);
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
				if (wr->complete)
				{
					ExecClearTuple(wr->completed);
					MemoryContextReset(wr->scratch);
				}
				WindowRowsEmit(wr, op, row, 1);
			}
		}
		if (run == NULL && !stop && keeping)
			WindowRowsRetract(wr, op, old);
		ExecReScan(wr->node);
	}
	PG_CATCH();
	{
		/* the outputs the row had stay in the view: retracted with it */
		if (run == NULL && old != NIL)
		{
			MemoryContext c = MemoryContextSwitchTo(context);

			WindowRowsRetract(wr, op, old);
			MemoryContextSwitchTo(c);
		}
		if (!WindowRowsGroupError(wr, df, g, context))
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
		nodes = WindowRowsLocate(wr, g, near, &n);
		if (wr->span != NULL)
			nodes = widen(wr, nodes, &n);
	}
	list_free_deep(near);

	for (i = 0; i < n; i++)
		WindowRowsRetract(wr, op, RowNodeTakeOutputs(nodes[i]));

	if (whole && n > 0)
		WindowRowsRun(wr, op, df, g, nodes[0], nodes[n - 1], nodes, n);
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
		WindowRowsRun(wr, op, df, g, reach(wr, nodes[i], false, true),
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
void
WindowRowsNearOrWhole(WindowRows *wr, DataflowOp *op, Dataflow *df, ArrGroup *g,
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
			if (!WindowRowsGroupError(wr, df, g, context))
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
			if (!WindowRowsGroupError(wr, df, g, context))
				PG_RE_THROW();
		}
		PG_END_TRY();
	}
	if (wr->span != NULL)
		RowKeyDone(&wr->peers);
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
	wr->caller = CurrentMemoryContext;
	RowOrderUpdateNear(wr->order, wr->arr, g, row, diff, wr->radius,
					   &g->output.rows, &gone);
	WindowRowsRetract(wr, op, gone);
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
	wr->caller = CurrentMemoryContext;
	if (wr->prefix != NULL)
		WindowResumeEvaluate(wr, op, df, g, near, whole);
	else if (wr->head >= 0)
		WindowWideEvaluate(wr, op, df, g, near, whole);
	else
		WindowRowsNearOrWhole(wr, op, df, g, near, whole);
}
