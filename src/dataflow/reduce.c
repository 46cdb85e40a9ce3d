/*-------------------------------------------------------------------------
 *
 * reduce.c
 *	  The reduce operator: aggregates, DISTINCT, DISTINCT ON, INTERSECT and
 *	  EXCEPT, LIMIT/OFFSET and window functions, per group.
 *
 * Each of these plan nodes computes its output group by group: Agg per
 * GROUP BY key, Unique per distinct key, SetOp per distinct row, WindowAgg
 * per partition, and Limit over its whole input (one group).  A reduce
 * arranges its input by that key and, in a tick, re-runs the plan node
 * over each group whose rows changed, with Postgres's own executor: the
 * node (with the Sort it reads, for Unique, Limit and WindowAgg) is copied
 * over a feeder (feeder.c) that returns the group's rows.  The change of
 * the output is the group's new output minus the output it last emitted,
 * which the reduce keeps.  So every aggregate Postgres has, FILTER,
 * DISTINCT and ORDER BY inside aggregates, HAVING, WITH TIES and frames
 * behave exactly as in a plain query, and the work of a change is the
 * size of its group, not of the input.
 *
 * A group without grouping columns (a global aggregate, a LIMIT) always
 * exists, so a global aggregate over no rows gives Postgres's answer.
 *
 * A WindowAgg whose window functions read only the rows within a fixed
 * distance of each row (lag, lead, ROWS frames of constant offsets:
 * window.c) recomputes only the rows near the changes of its partition,
 * fed with their neighbours, and keeps its outputs by row.
 *
 * An Agg whose aggregates all have states that take rows out as well as
 * in (count, sum, avg, min, max, their DISTINCT forms: aggregate.c) keeps
 * per-group states instead of the rows, and a change costs one update per
 * aggregate, O(log n) at most.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "coordinator/dataflow.h"

typedef struct ReduceOpState
{
	PlanState  *node;			/* the executor node re-run per group */
	RowKey		key;			/* the group's columns */
	Arrangement *arr;
	AggStates  *linear;			/* aggregates as states: no rows kept */
	RowOrder   *order;			/* groups' rows in the node's order */
	int			radius;			/* >= 0: a window whose rows depend on the
								 * rows within radius only (window.c), or
								 * with prefix on those before them; its
								 * outputs are kept by row (roworder.c) and
								 * output.rows lists the rows near this
								 * tick's changes */
	WindowPrefix *prefix;		/* a window resumed after the rows before a
								 * change (window.c) */
	RowKey		peers;			/* with prefix: its ORDER BY */
	TupleTableSlot *prev;		/* with prefix: the output before a change */
	TupleTableSlot *completed;
	int64		before;			/* with prefix: rows before the change */
	bool		complete;		/* with prefix: complete the outputs */
	bool		first_only;		/* a group gives one row (Unique) */
	ArrGroup   *global;			/* the one group when nkeys == 0 */
	List	   *retired;		/* outputs retracted in tick retired_tick:
								 * their tuples are in its delta */
	uint64		retired_tick;
} ReduceOpState;

/* The group's output from its aggregates' states (rs->linear). */
static void
evaluate_linear(DataflowOp *op, Dataflow *df, ArrGroup *g)
{
	ReduceOpState *rs = op->state;
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		TupleTableSlot *out = AggStatesProject(rs->linear, g);

		if (out != NULL)
		{
			MemoryContextSwitchTo(rs->arr->context);
			g->output.row = RowFromSlot(out);
		}
	}
	PG_CATCH();
	{
		ErrorData  *edata = DataErrorCatch(df, context, 1);

		if (edata == NULL)
			PG_RE_THROW();
		g->error = MemoryContextStrdup(rs->arr->context, edata->message);
		g->error_code = edata->sqlerrcode;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
	if (g->output.row != NULL)
		ZSetAdd(&op->delta, g->output.row, 1);
}

/*
 * Add a row to its group's aggregate states (rs->linear).  A data error in
 * the aggregates' arguments leaves the row out, counted as an error with
 * its weight.
 */
static void
update_linear(ReduceOpState *rs, Dataflow *df, ArrGroup *g, MinimalTuple row,
			  int64 diff)
{
	MemoryContext context = CurrentMemoryContext;

	PG_TRY();
	{
		AggStatesUpdate(rs->linear, g, row, diff);
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, diff) == NULL)
			PG_RE_THROW();
	}
	PG_END_TRY();
}

/* Run the node over the group's rows; its output replaces the group's. */
static void
evaluate(DataflowOp *op, Dataflow *df, ArrGroup *g)
{
	ReduceOpState *rs = op->state;
	MemoryContext context = CurrentMemoryContext;
	ZRow	   *volatile rows = NULL;
	volatile int n = 0;
	List	   *volatile output = NIL;
	ListCell   *lc;

	if (rs->order != NULL)
		RowOrderFeed(rs->order, g);
	else
	{
		rows = palloc(sizeof(ZRow) * Max(g->nrows, 1));
		for (ArrRow *r = g->rows; r != NULL; r = r->next)
		{
			if (r->mult < 0)
				elog(ERROR, "coordinator: negative multiplicity in a reduce");
			rows[n].tuple = ArrRowTuple(r);
			rows[n].diff = r->mult;
			n++;
		}
	}

	/*
	 * Run as the executor runs, in the query context; and finish with a
	 * rescan, which ends the node's sorts and stores, so that nothing it
	 * holds outlives this transaction.
	 */
	MemoryContextSwitchTo(df->estate->es_query_cxt);
	PG_TRY();
	{
		if (rs->order != NULL)
			FeederSetSource(rs->node, RowOrderNext, rs->order);
		else
			FeederSetRows(rs->node, rows, n);
		ExecReScan(rs->node);
		for (;;)
		{
			TupleTableSlot *slot = ExecProcNode(rs->node);

			if (TupIsNull(slot))
				break;
			MemoryContextSwitchTo(rs->arr->context);
			output = lappend(output, RowFromSlot(slot));
			MemoryContextSwitchTo(df->estate->es_query_cxt);
			if (rs->first_only)
				break;
		}
		ExecReScan(rs->node);
	}
	PG_CATCH();
	{
		ErrorData  *edata = DataErrorCatch(df, context, 1);

		if (edata == NULL)
			PG_RE_THROW();
		list_free_deep(output);
		output = NIL;
		g->error = MemoryContextStrdup(rs->arr->context, edata->message);
		g->error_code = edata->sqlerrcode;
		MemoryContextSwitchTo(df->estate->es_query_cxt);
		ExecReScan(rs->node);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);

	g->output.rows = output;
	foreach(lc, g->output.rows)
		ZSetAdd(&op->delta, lfirst(lc), 1);
	if (rows != NULL)
		pfree(rows);
}

/*
 * Retract a local window's outputs (a list in any context of rows in the
 * arrangement's; the rows are freed at the next tick).
 */
static void
retract(DataflowOp *op, ReduceOpState *rs, List *outputs)
{
	MemoryContext old;
	ListCell   *lc;

	if (outputs == NIL)
		return;
	foreach(lc, outputs)
		ZSetAdd(&op->delta, lfirst(lc), -1);
	old = MemoryContextSwitchTo(rs->arr->context);
	rs->retired = lappend(rs->retired, list_copy(outputs));
	MemoryContextSwitchTo(old);
	list_free(outputs);
}

/*
 * Run the window node over the rows from start to end (NULL: the group's
 * last), and keep and emit the outputs of the rows run[0..n-1] (in order,
 * between them; run NULL: of every row), completed after the rows before
 * start if rs->complete.
 */
static void
evaluate_run(DataflowOp *op, Dataflow *df, ArrGroup *g, RowNode *start,
			 RowNode *end, RowNode **run, int n)
{
	ReduceOpState *rs = op->state;
	MemoryContext context = CurrentMemoryContext;
	RowNode    *volatile cur = NULL;
	volatile int64 left = 0;
	volatile int p = 0;

	MemoryContextSwitchTo(df->estate->es_query_cxt);
	PG_TRY();
	{
		RowOrderFeedRange(rs->order, start, end);
		FeederSetSource(rs->node, RowOrderNext, rs->order);
		ExecReScan(rs->node);
		for (;;)
		{
			TupleTableSlot *slot = ExecProcNode(rs->node);

			if (TupIsNull(slot))
				break;
			/* the node returns a row for each row fed, in order */
			while (left == 0)
			{
				if (cur != NULL && p < n && cur == run[p])
					p++;
				cur = cur == NULL ? start : RowOrderStep(cur, true);
				if (cur == NULL)
					elog(ERROR, "coordinator: a window returned more rows than it read");
				left = RowNodeRow(cur)->mult;
			}
			left--;
			if (run == NULL || (p < n && cur == run[p]))
			{
				MinimalTuple row;

				if (rs->complete)
				{
					ExecClearTuple(rs->completed);
					WindowPrefixComplete(rs->prefix, slot, rs->prev, rs->before,
										 rs->completed->tts_values,
										 rs->completed->tts_isnull);
					slot = ExecStoreVirtualTuple(rs->completed);
				}
				MemoryContextSwitchTo(rs->arr->context);
				row = RowFromSlot(slot);
				RowNodeAddOutput(cur, row);
				MemoryContextSwitchTo(df->estate->es_query_cxt);
				ZSetAdd(&op->delta, row, 1);
			}
		}
		ExecReScan(rs->node);
	}
	PG_CATCH();
	{
		ErrorData  *edata = DataErrorCatch(df, context, 1);

		if (edata == NULL)
			PG_RE_THROW();
		/* the group's next change recomputes it whole */
		if (g->error == NULL)
		{
			g->error = MemoryContextStrdup(rs->arr->context, edata->message);
			g->error_code = edata->sqlerrcode;
		}
		else
			DataErrorAdd(df, edata->message, edata->sqlerrcode, -1);
		MemoryContextSwitchTo(df->estate->es_query_cxt);
		ExecReScan(rs->node);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
}

/*
 * A window whose rows depend on the rows within rs->radius only: recompute
 * the rows near this tick's changes (near: images of them), or all of the
 * group's (whole).  Each run of such rows is fed with radius rows more on
 * each side.
 */
static void
evaluate_near(DataflowOp *op, Dataflow *df, ArrGroup *g, List *near, bool whole)
{
	ReduceOpState *rs = op->state;
	RowNode   **nodes;
	int			n = 0;
	int			i;

	if (list_length(near) >= g->nrows)
		whole = true;
	if (whole)
	{
		nodes = palloc(sizeof(RowNode *) * Max(g->nrows, 1));
		for (RowNode *x = RowOrderFirst(rs->order, g); x != NULL; x = RowOrderStep(x, true))
			nodes[n++] = x;
	}
	else
	{
		ListCell   *lc;
		int			m = 0;

		nodes = palloc(sizeof(RowNode *) * Max(list_length(near), 1));
		foreach(lc, near)
		{
			RowNode    *x = RowOrderLocate(rs->order, rs->arr, g, lfirst(lc));

			if (x != NULL)
				nodes[n++] = x;
		}
		qsort_arg(nodes, n, sizeof(RowNode *), RowOrderCompare, rs->order);
		for (i = 0; i < n; i++)
		{
			if (m == 0 || nodes[m - 1] != nodes[i])
				nodes[m++] = nodes[i];
		}
		n = m;
	}
	list_free_deep(near);

	for (i = 0; i < n; i++)
		retract(op, rs, RowNodeTakeOutputs(nodes[i]));

	i = 0;
	while (i < n)
	{
		RowNode    *start = nodes[i];
		RowNode    *end = nodes[i];
		RowNode    *x;
		int			j = i + 1;

		/* a run: the next row to recompute is close enough to share it */
		while (j < n)
		{
			bool		reached = false;

			x = end;
			for (int step = 0; step <= 2 * rs->radius && (x = RowOrderStep(x, true)) != NULL; step++)
			{
				if (x == nodes[j])
				{
					reached = true;
					break;
				}
			}
			if (!reached)
				break;
			end = nodes[j++];
		}
		for (int k = 0; k < rs->radius && (x = RowOrderStep(start, false)) != NULL; k++)
			start = x;
		for (int k = 0; k < rs->radius && (x = RowOrderStep(end, true)) != NULL; k++)
			end = x;
		evaluate_run(op, df, g, start, end, nodes + i, j - i);
		i = j;
	}
	pfree(nodes);
}

/* Are two rows of a group peers in the window's order? */
static bool
peers(ReduceOpState *rs, RowNode *a, RowNode *b)
{
	return RowKeyEqual(&rs->peers, ArrRowTuple(RowNodeRow(a)), ArrRowTuple(RowNodeRow(b)));
}

/*
 * A window resumed after the rows before a change (rs->prefix): re-run the
 * node from the first peer of the first row near this tick's changes (or
 * over the whole group) to the group's end, completing its values with the
 * output of the row before.
 */
static void
evaluate_prefix(DataflowOp *op, Dataflow *df, ArrGroup *g, List *near, bool whole)
{
	ReduceOpState *rs = op->state;
	RowNode    *first = NULL;
	RowNode    *prev;
	RowNode    *x;
	ListCell   *lc;

	if (!whole && list_length(near) < g->nrows)
	{
		foreach(lc, near)
		{
			x = RowOrderLocate(rs->order, rs->arr, g, lfirst(lc));
			if (x != NULL && (first == NULL || RowOrderCompare(&x, &first, rs->order) < 0))
				first = x;
		}
		if (first != NULL)
		{
			while ((prev = RowOrderStep(first, false)) != NULL && peers(rs, prev, first))
				first = prev;
		}
	}
	else
		first = RowOrderFirst(rs->order, g);
	list_free_deep(near);
	RowKeyDone(&rs->peers);
	if (first == NULL)
		return;
	prev = RowOrderStep(first, false);
	if (prev != NULL && RowNodeLastOutput(prev) == NULL)
	{
		/* the row before has no output (an error): the whole group */
		first = RowOrderFirst(rs->order, g);
		prev = NULL;
	}

	for (x = first; x != NULL; x = RowOrderStep(x, true))
		retract(op, rs, RowNodeTakeOutputs(x));
	rs->complete = prev != NULL;
	rs->before = 0;
	if (prev != NULL)
	{
		ExecStoreMinimalTuple(RowNodeLastOutput(prev), rs->prev, false);
		if (WindowPrefixNeedsPosition(rs->prefix))
		{
			int64		n = 0;

			for (x = prev; x != NULL && peers(rs, x, prev); x = RowOrderStep(x, false))
				n += RowNodeRow(x)->mult;
			RowKeyDone(&rs->peers);
			rs->before = WindowPrefixPosition(rs->prefix, rs->prev, n);
		}
	}
	evaluate_run(op, df, g, first, NULL, NULL, 0);
	rs->complete = false;
	ExecClearTuple(rs->prev);
}

static void
reduce_step(DataflowOp *op, Dataflow *df)
{
	ReduceOpState *rs = op->state;
	ZSet	   *in = DataflowOpInput(op, df, 0);
	ArrGroup   *dirty = NULL;
	ListCell   *lc;

	/* a step runs twice in a tick when subplan.c recomputes the reduce */
	if (rs->retired_tick != df->tick)
	{
		foreach(lc, rs->retired)
			list_free_deep(lfirst(lc));
		list_free(rs->retired);
		rs->retired = NIL;
		rs->retired_tick = df->tick;
	}

	if (!df->hydrated && rs->global != NULL)
	{
		rs->global->dirty = true;
		dirty = rs->global;
	}

	if (rs->linear == NULL)
		ArrangementReserve(rs->arr, in->nrows);
	for (int i = 0; i < in->nrows; i++)
	{
		MinimalTuple row = in->rows[i].tuple;
		ArrGroup   *g;

		g = rs->key.nkeys == 0 ? rs->global :
			ArrangementGroup(rs->arr, RowKeyHash(&rs->key, row), row, true);
		if (rs->linear != NULL)
			update_linear(rs, df, g, row, in->rows[i].diff);
		else if (rs->radius >= 0 && df->hydrated)
		{
			List	   *gone;

			RowOrderUpdateNear(rs->order, rs->arr, g, row, in->rows[i].diff,
							   rs->radius, &g->output.rows, &gone);
			retract(op, rs, gone);
		}
		else if (rs->order != NULL)
			RowOrderUpdate(rs->order, rs->arr, g, row, in->rows[i].diff);
		else
			ArrangementUpdate(rs->arr, g, row, in->rows[i].diff);
		if (!g->dirty)
		{
			g->dirty = true;
			g->next_dirty = dirty;
			dirty = g;
		}
	}

	while (dirty != NULL)
	{
		ArrGroup   *g = dirty;
		MemoryContext old;
		List	   *near = NIL;
		bool		had_error = g->error != NULL;

		dirty = g->next_dirty;
		g->dirty = false;
		g->next_dirty = NULL;

		/* retract what the group emitted last (freed at the next tick) */
		old = MemoryContextSwitchTo(rs->arr->context);
		if (rs->radius >= 0)
		{
			/* a local window keeps its outputs by row */
			near = g->output.rows;
			g->output.rows = NIL;
		}
		else if (rs->linear != NULL && g->output.row != NULL)
		{
			ZSetAdd(&op->delta, g->output.row, -1);
			rs->retired = lappend(rs->retired, list_make1(g->output.row));
		}
		else if (rs->linear == NULL && g->output.rows != NIL)
		{
			foreach(lc, g->output.rows)
				ZSetAdd(&op->delta, lfirst(lc), -1);
			rs->retired = lappend(rs->retired, g->output.rows);
		}
		MemoryContextSwitchTo(old);
		g->output.rows = NIL;
		if (g->error != NULL)
		{
			DataErrorAdd(df, g->error, g->error_code, -1);
			pfree(g->error);
			g->error = NULL;
		}

		if (g != rs->global &&
			(rs->linear != NULL ? AggStatesEmpty(g) : g->rows == NULL))
		{
			if (rs->linear != NULL)
				AggStatesFree(rs->linear, g);
			if (rs->order != NULL)
				RowOrderFree(rs->order, g);
			ArrangementRemoveGroup(rs->arr, g);
		}
		else if (rs->linear != NULL)
			evaluate_linear(op, df, g);
		else if (rs->prefix != NULL)
			evaluate_prefix(op, df, g, near, had_error || !df->hydrated);
		else if (rs->radius >= 0)
		{
			/* a hydration computes every row (it noted none near) */
			evaluate_near(op, df, g, near, had_error || !df->hydrated);
		}
		else
			evaluate(op, df, g);
	}
	RowKeyDone(&rs->key);
	ZSetConsolidate(&op->delta);
}

DataflowOp *
ReduceCreate(Dataflow *df, Plan *plan, DataflowOp *input)
{
	DataflowOp   *op = DataflowOpCreate(df, "reduce", plan, reduce_step);
	ReduceOpState *rs = palloc0(sizeof(ReduceOpState));
	RowKey	   *key = &rs->key;
	TupleDesc	desc = input->desc;
	Plan	   *feeder = FeederPlan(input->desc);
	Sort	   *order = NULL;
	Plan	   *node;

	rs->radius = -1;
	switch (nodeTag(plan))
	{
		case T_Agg:
			{
				Agg		   *agg = makeNode(Agg);

				memcpy(agg, plan, sizeof(Agg));
				RowKeyInit(key, desc, agg->numCols, agg->grpColIdx, agg->grpOperators,
							agg->grpCollations);
				agg->aggstrategy = AGG_PLAIN;
				agg->numCols = 0;
				agg->grpColIdx = NULL;
				agg->grpOperators = NULL;
				agg->grpCollations = NULL;
				agg->numGroups = 1;
				agg->plan.lefttree = feeder;
				node = &agg->plan;
				break;
			}
		case T_Unique:
			{
				Unique	   *unique = makeNode(Unique);

				memcpy(unique, plan, sizeof(Unique));
				RowKeyInit(key, desc, unique->numCols, unique->uniqColIdx,
							unique->uniqOperators, unique->uniqCollations);
				/* a group is one distinct key: its first row */
				rs->first_only = true;
				order = FeederOrder(outerPlan(plan));
				unique->plan.lefttree = feeder;
				node = &unique->plan;
				break;
			}
		case T_SetOp:
			{
				SetOp	   *setop = makeNode(SetOp);

				memcpy(setop, plan, sizeof(SetOp));
				RowKeyInit(key, desc, setop->numCols, setop->dupColIdx,
							setop->dupOperators, setop->dupCollations);
				setop->strategy = SETOP_SORTED;
				setop->plan.lefttree = feeder;
				node = &setop->plan;
				break;
			}
		case T_WindowAgg:
			{
				WindowAgg  *window = makeNode(WindowAgg);

				memcpy(window, plan, sizeof(WindowAgg));
				RowKeyInit(key, desc, window->partNumCols, window->partColIdx,
							window->partOperators, window->partCollations);
				/*
				 * A group is one partition, so the node partitions no
				 * further; a top-level node whose run condition fails
				 * (row_number() <= k) then stops reading the group.
				 */
				window->partNumCols = 0;
				order = FeederOrder(outerPlan(plan));
				rs->radius = WindowRadius((WindowAgg *) plan);
				if (rs->radius < 0)
					rs->prefix = WindowPrefixCreate((WindowAgg *) plan);
				if (rs->prefix != NULL)
				{
					/* the rows next to a change, to find the first of them */
					rs->radius = 1;
					RowKeyInit(&rs->peers, desc, window->ordNumCols, window->ordColIdx,
							   window->ordOperators, window->ordCollations);
				}
				window->plan.lefttree = feeder;
				node = &window->plan;
				break;
			}
		case T_Limit:
			{
				Limit	   *limit = makeNode(Limit);

				memcpy(limit, plan, sizeof(Limit));
				RowKeyInit(key, desc, 0, NULL, NULL, NULL);
				order = FeederOrder(outerPlan(plan));
				limit->plan.lefttree = feeder;
				node = &limit->plan;
				break;
			}
		default:
			elog(ERROR, "coordinator: plan node %d is not a reduce", (int) nodeTag(plan));
	}
	node->righttree = NULL;
	node->initPlan = NIL;

	rs->node = ExecInitNode(node, df->estate, 0);
	df->subplan_owners = lappend(df->subplan_owners, rs->node);
	rs->arr = DataflowArrange(df, plan, "reduce groups",
							  key->nkeys > 0 ? RowKeyEqual : NULL, key);
	ArrangementKeepGroupState(rs->arr);
	if (IsA(plan, Agg))
		rs->linear = AggStatesCreate((AggState *) rs->node, key->nkeys, key->keycols,
									  input->desc, rs->arr->context);
	if (rs->linear != NULL)
		rs->arr->name = "reduce aggregate states";
	if (order != NULL)
		rs->order = RowOrderCreate(order, input->desc, rs->arr->context);
	if (rs->prefix != NULL)
	{
		rs->prev = MakeSingleTupleTableSlot(op->desc, &TTSOpsMinimalTuple);
		rs->completed = MakeSingleTupleTableSlot(op->desc, &TTSOpsVirtual);
	}
	if (key->nkeys == 0)
		rs->global = ArrangementGroup(rs->arr, 0, NULL, true);
	op->inputs = list_make1(input);
	op->state = rs;
	return op;
}
