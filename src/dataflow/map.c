/*-------------------------------------------------------------------------
 *
 * map.c
 *	  The stateless operators: scan, map (filter and project), unit and
 *	  union.
 *
 * Linear operators need no state: a change of weight w to an input row is
 * a change of weight w to its output row, if the row passes the filter.
 * A scan is a map over the decoded changes of its table (the plan's
 * SeqScan, with the quals and target list the planner pushed into it); a
 * map is a plan node that filters or projects its child's rows (Result,
 * SubqueryScan, CteScan).  A Result without input maps a unit: one row
 * without columns.  Expressions are evaluated by Postgres's
 * executor, so every type, operator and IMMUTABLE function works as in a
 * plain query.  An expression that raises a data error produces no row
 * and counts the error instead (errors.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "executor/executor.h"
#include "utils/rel.h"

#include "coordinator/dataflow.h"

typedef struct MapOpState
{
	ExprContext *econtext;
	ExprState  *qual;			/* NULL: no filter */
	ExprState  *constqual;		/* Result's one-time filter */
	TemporalFilter *temporal;	/* NULL: no temporal conditions */
	ProjectionInfo *projection;
	TupleTableSlot *input;
	TupleTableSlot *output;
} MapOpState;

static MapOpState *
map_state(Dataflow *df, Plan *plan, DataflowOp *op, TupleDesc input_desc,
		  const TupleTableSlotOps *input_ops)
{
	MapOpState   *ms = palloc0(sizeof(MapOpState));

	ms->econtext = CreateExprContext(df->estate);
	ms->input = MakeSingleTupleTableSlot(input_desc, input_ops);
	if (plan == NULL)
		return ms;				/* a raw scan */
	{
		List	   *qual = plan->qual;

		ms->temporal = TemporalFilterCreate(df, &qual, df->parent);
		if (ms->temporal != NULL)
			TemporalFilterBind(ms->temporal, ms->econtext);
		ms->qual = ExecInitQual(qual, df->parent);
	}
	if (IsA(plan, Result) && ((Result *) plan)->resconstantqual != NULL)
		ms->constqual = ExecInitQual((List *) ((Result *) plan)->resconstantqual,
									 df->parent);
	ms->output = MakeSingleTupleTableSlot(op->desc, &TTSOpsVirtual);
	ms->projection = ExecBuildProjectionInfo(plan->targetlist, ms->econtext,
											 ms->output, df->parent, input_desc);
	return ms;
}

/*
 * Filter and project the row in ms->input (NULL: no input row) with
 * weight diff into op's output.
 */
static void
map_row(DataflowOp *op, Dataflow *df, MapOpState *ms, int64 diff)
{
	MemoryContext context = CurrentMemoryContext;
	ExprContext *econtext = ms->econtext;

	ResetExprContext(econtext);
	econtext->ecxt_scantuple = ms->input;
	econtext->ecxt_outertuple = ms->input;
	PG_TRY();
	{
		TimestampTz lo;
		TimestampTz hi;

		if ((ms->constqual == NULL || ExecQual(ms->constqual, econtext)) &&
			(ms->qual == NULL || ExecQual(ms->qual, econtext)) &&
			(ms->temporal == NULL || TemporalInterval(ms->temporal, econtext, &lo, &hi)))
		{
			TupleTableSlot *out = ExecProject(ms->projection);

			MemoryContextSwitchTo(context);
			if (ms->temporal != NULL)
				TemporalRoute(ms->temporal, &op->delta, RowFromSlot(out), diff, lo, hi);
			else
				ZSetAdd(&op->delta, RowFromSlot(out), diff);
		}
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, diff) == NULL)
			PG_RE_THROW();
	}
	PG_END_TRY();
}

/* scan: the table's changes were pushed during the tick */
static void
scan_step(DataflowOp *op, Dataflow *df)
{
	MapOpState *ms = op->state;

	/* rows whose time to enter or leave has come */
	if (ms->temporal != NULL)
		TemporalFire(ms->temporal, &op->delta);
	/*
	 * Only insertions (hydration, an insert-only tick): nothing can cancel,
	 * and the operators downstream take duplicates as they come; keep the
	 * scan's order, which is the order of the rows in memory.
	 */
	for (int i = 0; i < op->delta.nrows; i++)
	{
		if (op->delta.rows[i].diff < 0)
		{
			ZSetConsolidate(&op->delta);
			return;
		}
	}
}

/*
 * A scan of relid.  A raw scan passes the table's rows on as they are (to
 * a map that reads a subquery, which must see them in its own step).
 */
DataflowOp *
ScanCreate(Dataflow *df, Scan *plan, Oid relid, bool raw)
{
	DataflowOp *op = DataflowOpCreate(df, "scan", &plan->plan, scan_step);
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = CreateTupleDescCopyConstr(RelationGetDescr(rel));

	table_close(rel, AccessShareLock);
	op->source = relid;
	if (raw)
		op->desc = desc;
	op->state = map_state(df, raw ? NULL : &plan->plan, op, desc, &TTSOpsHeapTuple);
	return op;
}

/* A decoded (or, when hydrating, scanned) row of the scan's table. */
void
ScanPush(DataflowOp *op, Dataflow *df, HeapTuple tuple, int64 diff)
{
	MapOpState *ms = op->state;

	ExecStoreHeapTuple(tuple, ms->input, false);
	if (ms->projection == NULL)
		ZSetAdd(&op->delta, RowFromSlot(ms->input), diff);
	else
		map_row(op, df, ms, diff);
	ExecClearTuple(ms->input);
}

static void
map_step(DataflowOp *op, Dataflow *df)
{
	MapOpState   *ms = op->state;
	ZSet	   *in = DataflowOpInput(op, df, 0);

	for (int i = 0; i < in->nrows; i++)
	{
		ExecStoreMinimalTuple(in->rows[i].tuple, ms->input, false);
		map_row(op, df, ms, in->rows[i].diff);
	}
	ExecClearTuple(ms->input);
	if (ms->temporal != NULL)
		TemporalFire(ms->temporal, &op->delta);
	ZSetConsolidate(&op->delta);
}

DataflowOp *
MapCreate(Dataflow *df, Plan *plan, DataflowOp *input)
{
	DataflowOp   *op = DataflowOpCreate(df, "map", plan, map_step);

	op->inputs = list_make1(input);
	op->state = map_state(df, plan, op, input->desc, &TTSOpsMinimalTuple);
	return op;
}

/*
 * unit: one row without columns, from the first tick on; the input of a
 * Result without input (SELECT without FROM, in a UNION or a subquery).
 */
static void
unit_step(DataflowOp *op, Dataflow *df)
{
	if (!df->hydrated)
		ZSetAdd(&op->delta, heap_form_minimal_tuple(op->desc, NULL, NULL), 1);
}

DataflowOp *
UnitCreate(Dataflow *df)
{
	DataflowOp *op = palloc0(sizeof(DataflowOp));

	op->name = "unit";
	op->desc = CreateTemplateTupleDesc(0);
	op->step = unit_step;
	return op;
}

/* union: Append, MergeAppend (UNION ALL, partitions) */
static void
union_step(DataflowOp *op, Dataflow *df)
{
	for (int n = 0; n < list_length(op->inputs); n++)
	{
		ZSet	   *in = DataflowOpInput(op, df, n);

		for (int i = 0; i < in->nrows; i++)
			ZSetAdd(&op->delta, in->rows[i].tuple, in->rows[i].diff);
	}
	ZSetConsolidate(&op->delta);
}

DataflowOp *
UnionCreate(Dataflow *df, Plan *plan, List *inputs)
{
	DataflowOp   *op = DataflowOpCreate(df, "union", plan, union_step);

	op->inputs = inputs;
	return op;
}
