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
 * A WindowAgg whose window functions read only the rows near each row
 * (lag, lead, ROWS frames of constant offsets), or only the rows before it
 * (row_number, rank, running sums), recomputes only the rows a change can
 * move, and keeps its outputs by row (window.c, windowrows.c).
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
	WindowRows *window;			/* a window recomputed by row, not by
								 * partition (windowrows.c): its outputs are
								 * kept by row, and output.rows lists the
								 * rows near this tick's changes */
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
		else if (rs->window != NULL && df->hydrated)
			WindowRowsUpdate(rs->window, op, g, row, in->rows[i].diff, &rs->retired);
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
		if (rs->window != NULL)
		{
			/* such a window keeps its outputs by row */
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
		else if (rs->window != NULL)
		{
			/* a hydration computes every row (it noted none near) */
			WindowRowsEvaluate(rs->window, op, df, g, near,
							   had_error || !df->hydrated, &rs->retired);
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
	Plan	   *analyzed = plan;	/* a window's: as run (mirrored) */

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
				WindowAgg  *mirror = WindowMirror((WindowAgg *) plan, &order);

				/* a frame to the partition's end: run over the rows in reverse */
				if (mirror != NULL)
					analyzed = &mirror->plan;
				else
					order = FeederOrder(outerPlan(plan));
				memcpy(window, analyzed, sizeof(WindowAgg));
				RowKeyInit(key, desc, window->partNumCols, window->partColIdx,
							window->partOperators, window->partCollations);
				/*
				 * A group is one partition, so the node partitions no
				 * further; a top-level node whose run condition fails
				 * (row_number() <= k) then stops reading the group.
				 */
				window->partNumCols = 0;
				/* with the hidden columns a resumed window keeps */
				window->plan.targetlist = WindowPrefixTargetList((WindowAgg *) analyzed);
				/* a frame none of its functions reads: one not read ahead */
				if (WindowFrameless(window))
				{
					window->frameOptions = FRAMEOPTION_NONDEFAULT | FRAMEOPTION_ROWS |
						FRAMEOPTION_BETWEEN | FRAMEOPTION_START_UNBOUNDED_PRECEDING |
						FRAMEOPTION_END_CURRENT_ROW;
					window->startOffset = window->endOffset = NULL;
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
	/* a mirrored window: its rows in the exact reverse of their order */
	if (analyzed != plan)
		RowOrderReverseTies(rs->order);
	if (IsA(plan, WindowAgg))
		rs->window = WindowRowsCreate((WindowAgg *) analyzed, desc, op->desc,
									  rs->node, rs->arr, rs->order);
	if (key->nkeys == 0)
		rs->global = ArrangementGroup(rs->arr, 0, NULL, true);
	op->inputs = list_make1(input);
	op->state = rs;
	return op;
}
