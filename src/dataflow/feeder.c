/*-------------------------------------------------------------------------
 *
 * feeder.c
 *	  A custom scan that returns the rows it is given: the input of the
 *	  executor nodes a reduce re-runs over one group.
 *
 * A reduce (reduce.c) evaluates a plan node such as Agg or Limit with
 * Postgres's own executor, over the rows of one group at a time.  The
 * feeder stands where the node's input was: FeederSetRows hands it the
 * group's rows (each repeated by its multiplicity) and a rescan of the
 * node reads them again from the start.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"

#include "coordinator/dataflow.h"

typedef struct FeederState
{
	CustomScanState css;
	ZRow	   *rows;
	int			nrows;
	int			pos;
	int64		repeat;			/* copies of rows[pos] returned so far */
} FeederState;

static Node *feeder_create(CustomScan *cscan);
static void feeder_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *feeder_next(CustomScanState *node);
static void feeder_end(CustomScanState *node);
static void feeder_rescan(CustomScanState *node);

static const CustomScanMethods feeder_scan_methods = {
	.CustomName = "coordinator feeder",
	.CreateCustomScanState = feeder_create,
};

static const CustomExecMethods feeder_exec_methods = {
	.CustomName = "coordinator feeder",
	.BeginCustomScan = feeder_begin,
	.ExecCustomScan = feeder_next,
	.EndCustomScan = feeder_end,
	.ReScanCustomScan = feeder_rescan,
};

static Node *
feeder_create(CustomScan *cscan)
{
	FeederState *fs = palloc0(sizeof(FeederState));

	NodeSetTag(fs, T_CustomScanState);
	fs->css.methods = &feeder_exec_methods;
	return (Node *) fs;
}

static void
feeder_begin(CustomScanState *node, EState *estate, int eflags)
{
}

static TupleTableSlot *
feeder_next(CustomScanState *node)
{
	FeederState *fs = (FeederState *) node;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	while (fs->pos < fs->nrows && fs->repeat >= fs->rows[fs->pos].diff)
	{
		fs->pos++;
		fs->repeat = 0;
	}
	if (fs->pos >= fs->nrows)
		return ExecClearTuple(slot);
	fs->repeat++;
	ExecForceStoreMinimalTuple(fs->rows[fs->pos].tuple, slot, false);
	return slot;
}

static void
feeder_end(CustomScanState *node)
{
}

static void
feeder_rescan(CustomScanState *node)
{
	FeederState *fs = (FeederState *) node;

	fs->pos = 0;
	fs->repeat = 0;
}

/* A feeder returning rows of desc. */
Plan *
FeederPlan(TupleDesc desc)
{
	CustomScan *cscan = makeNode(CustomScan);
	List	   *tlist = NIL;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		tlist = lappend(tlist,
						makeTargetEntry((Expr *) makeVar(INDEX_VAR, i + 1, att->atttypid,
														 att->atttypmod, att->attcollation, 0),
										i + 1, NULL, false));
	}
	cscan->scan.plan.targetlist = tlist;
	cscan->custom_scan_tlist = tlist;
	cscan->methods = &feeder_scan_methods;
	return &cscan->scan.plan;
}

/*
 * The feeder under a copy of the Sort that orders plan's output (plan
 * itself, or under a Unique, Limit or Material that keeps its order), or
 * the feeder alone when nothing orders it.  Where the plan's order
 * matters (a reduce re-running Unique, Limit or WindowAgg, an
 * ARRAY(subquery)), the executor sorts the rows fed.
 */
Plan *
FeederSortedLike(Plan *plan, Plan *feeder)
{
	Sort	   *sort;

	if (IsA(plan, Sort))
	{
		sort = makeNode(Sort);
		memcpy(sort, plan, sizeof(Sort));
	}
	else if (IsA(plan, IncrementalSort))
	{
		sort = makeNode(Sort);
		memcpy(sort, &((IncrementalSort *) plan)->sort, sizeof(Sort));
		NodeSetTag(sort, T_Sort);
	}
	else if (IsA(plan, Unique) || IsA(plan, Limit) || IsA(plan, Material))
		return FeederSortedLike(outerPlan(plan), feeder);
	else
		return feeder;
	sort->plan.lefttree = feeder;
	sort->plan.righttree = NULL;
	sort->plan.initPlan = NIL;
	return &sort->plan;
}

/* Give the feeder under the executor node top (an outer chain) its rows. */
void
FeederSetRows(PlanState *top, ZRow *rows, int nrows)
{
	PlanState  *ps = top;
	FeederState *fs;

	while (!IsA(ps, CustomScanState))
		ps = outerPlanState(ps);
	fs = (FeederState *) ps;
	fs->rows = rows;
	fs->nrows = nrows;
	fs->pos = 0;
	fs->repeat = 0;
}
