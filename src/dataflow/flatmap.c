/*-------------------------------------------------------------------------
 *
 * flatmap.c
 *	  Operators that run a plan node with Postgres's executor over each
 *	  input row alone (flat map), or once (constant).
 *
 * flat map: a node whose output for a row depends on that row alone --
 * ProjectSet (set-returning functions in the select list, advancing in
 * lockstep as Postgres runs them), and a NestLoop whose inner side reads
 * the outer row through parameters and no table (LATERAL over functions
 * and VALUES: jsonb_array_elements(t.doc), unnest(t.a, t.b),
 * generate_series(1, t.n), WITH ORDINALITY, ROWS FROM, a LATERAL subquery
 * over them, LEFT JOIN LATERAL ... ON true).  Such a node is linear: a
 * change of weight w to an input row is a change of weight w to each row
 * its expansion gives, so it keeps no state, and a change costs that row's
 * expansion.  The node runs with a feeder (feeder.c) in place of its outer
 * input, given the one row.
 *
 * constant: ValuesScan and a FunctionScan whose arguments read no row
 * (VALUES lists, SELECT * FROM f(1), generate_series(1, 10)).  IMMUTABLE
 * functions of constants (compile.c refuses others) give the same rows
 * forever: the node runs as a flat map of the unit, the one row without
 * columns of the first tick, so its rows come then and never change --
 * unless its filter or target list reads a subquery, whose change runs it
 * again over the unit, as any map over its input (subplan.c).
 *
 * An expansion that raises a data error (jsonb_array_elements of a
 * scalar) gives no row and counts the error with the input row's weight
 * (errors.c), as a map does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "miscadmin.h"

#include "coordinator/dataflow.h"

typedef struct FlatMapState
{
	PlanState  *node;			/* the node, over a feeder if a flat map */
} FlatMapState;

/*
 * Run the node from the start and add each row it returns to op's output
 * with weight diff; after a data error, none.  Runs as the executor runs,
 * in the query context, and ends with a rescan, which frees the node's
 * stores (a FunctionScan materializes its functions' results).
 */
static void
run_node(DataflowOp *op, Dataflow *df, PlanState *node, int64 diff)
{
	MemoryContext context = CurrentMemoryContext;
	int			before = op->delta.nrows;

	MemoryContextSwitchTo(df->estate->es_query_cxt);
	PG_TRY();
	{
		ExecReScan(node);
		for (;;)
		{
			TupleTableSlot *slot = ExecProcNode(node);

			if (TupIsNull(slot))
				break;
			MemoryContextSwitchTo(context);
			ZSetAdd(&op->delta, RowFromSlot(slot), diff);
			MemoryContextSwitchTo(df->estate->es_query_cxt);
			CHECK_FOR_INTERRUPTS();
		}
		ExecReScan(node);
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, diff) == NULL)
			PG_RE_THROW();
		/* the rows of this expansion added before the error go */
		while (op->delta.nrows > before)
			pfree(op->delta.rows[--op->delta.nrows].tuple);
		MemoryContextSwitchTo(df->estate->es_query_cxt);
		ExecReScan(node);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(context);
}

static void
flatmap_step(DataflowOp *op, Dataflow *df)
{
	FlatMapState *fs = op->state;
	ZSet	   *in = DataflowOpInput(op, df, 0);

	for (int i = 0; i < in->nrows; i++)
	{
		ZRow		row = {in->rows[i].tuple, 1};

		FeederSetRows(fs->node, &row, 1);
		run_node(op, df, fs->node, in->rows[i].diff);
	}
	ZSetConsolidate(&op->delta);
}

/*
 * A flat map of plan (ProjectSet, or a NestLoop whose inner side reads
 * parameters only) over input, which stands for its outer input.
 */
DataflowOp *
FlatMapCreate(Dataflow *df, Plan *plan, DataflowOp *input)
{
	DataflowOp *op = DataflowOpCreate(df, "flat map", plan, flatmap_step);
	FlatMapState *fs = palloc0(sizeof(FlatMapState));
	Plan	   *node;

	switch (nodeTag(plan))
	{
		case T_ProjectSet:
			node = (Plan *) makeNode(ProjectSet);
			memcpy(node, plan, sizeof(ProjectSet));
			break;
		case T_NestLoop:
			node = (Plan *) makeNode(NestLoop);
			memcpy(node, plan, sizeof(NestLoop));
			break;
		default:
			elog(ERROR, "coordinator: plan node %d is not a flat map", (int) nodeTag(plan));
	}
	node->lefttree = FeederPlan(input->desc);
	node->initPlan = NIL;
	fs->node = ExecInitNode(node, df->estate, 0);
	df->subplan_owners = lappend(df->subplan_owners, fs->node);
	op->inputs = list_make1(input);
	op->state = fs;
	return op;
}

/* constant: the node's rows for each unit row, with its weight */
static void
constant_step(DataflowOp *op, Dataflow *df)
{
	FlatMapState *fs = op->state;
	ZSet	   *in = DataflowOpInput(op, df, 0);

	for (int i = 0; i < in->nrows; i++)
		run_node(op, df, fs->node, in->rows[i].diff);
	ZSetConsolidate(&op->delta);
}

/* The rows of a ValuesScan or FunctionScan that reads no row. */
DataflowOp *
ConstantCreate(Dataflow *df, Plan *plan)
{
	DataflowOp *op = DataflowOpCreate(df, "constant", plan, constant_step);
	FlatMapState *fs = palloc0(sizeof(FlatMapState));

	fs->node = ExecInitNode(plan, df->estate, 0);
	df->subplan_owners = lappend(df->subplan_owners, fs->node);
	op->inputs = list_make1(UnitCreate(df));
	op->state = fs;
	return op;
}
