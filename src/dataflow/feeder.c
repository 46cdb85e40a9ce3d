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
#include "miscadmin.h"
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
	FeederNext	next;			/* if set, the source of the rows */
	void	   *next_arg;
	bool		restart;		/* the next call of next starts over */
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

	if (fs->next != NULL)
	{
		MinimalTuple tuple = fs->next(fs->next_arg, fs->restart);

		fs->restart = false;
		if (tuple == NULL)
			return ExecClearTuple(slot);
		ExecForceStoreMinimalTuple(tuple, slot, false);
		return slot;
	}
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
	fs->restart = true;
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
 * The Sort that would order rows in the order of plan's output, with its
 * keys as columns of that output; NULL if the output has no order.
 *
 * A node reads its input in the order the planner gave it, which is not
 * always a Sort right below it: the planner leaves a Sort out where its
 * input already comes ordered, from a Sort further down, through nodes that
 * keep their input's order: a WindowAgg reading another WindowAgg's output,
 * a Result or a sorted Agg over a Sort, the outer side of a merge or nested
 * loop join.  The order is followed down to the Sort (or MergeAppend) that
 * makes it, and its keys mapped back up through each projection; keys a
 * projection drops end the order there (the columns that still order the
 * output are a prefix of the Sort's keys).
 */
Sort *
FeederOrder(Plan *plan)
{
	Sort	   *sort;
	Plan	   *child;
	Index		varno = OUTER_VAR;
	int			n = 0;

	if (plan == NULL)
		return NULL;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_Sort:
			sort = makeNode(Sort);
			memcpy(sort, plan, sizeof(Sort));
			return sort;
		case T_IncrementalSort:
			sort = makeNode(Sort);
			memcpy(sort, &((IncrementalSort *) plan)->sort, sizeof(Sort));
			NodeSetTag(sort, T_Sort);
			return sort;
		case T_MergeAppend:
			{
				MergeAppend *merge = (MergeAppend *) plan;

				sort = makeNode(Sort);
				sort->numCols = merge->numCols;
				sort->sortColIdx = merge->sortColIdx;
				sort->sortOperators = merge->sortOperators;
				sort->collations = merge->collations;
				sort->nullsFirst = merge->nullsFirst;
				return sort;
			}
		case T_Unique:
		case T_Limit:
		case T_Material:
			/* no projection: the same columns in the same order */
			return FeederOrder(outerPlan(plan));
		case T_WindowAgg:
		case T_Result:
		case T_ProjectSet:
			child = outerPlan(plan);
			break;
		case T_Agg:
			if (((Agg *) plan)->aggstrategy != AGG_SORTED)
				return NULL;
			child = outerPlan(plan);
			break;
		case T_SubqueryScan:
			child = ((SubqueryScan *) plan)->subplan;
			varno = ((SubqueryScan *) plan)->scan.scanrelid;
			break;
		case T_NestLoop:
		case T_MergeJoin:
			/* the outer side's order, unless unmatched inner rows follow */
			if (((Join *) plan)->jointype == JOIN_RIGHT ||
				((Join *) plan)->jointype == JOIN_FULL)
				return NULL;
			child = outerPlan(plan);
			break;
		default:
			return NULL;
	}

	/* a projecting node: its output columns that are the keys */
	sort = FeederOrder(child);
	if (sort == NULL)
		return NULL;
	{
		AttrNumber *cols = palloc(sizeof(AttrNumber) * Max(sort->numCols, 1));

		for (; n < sort->numCols; n++)
		{
			ListCell   *lc;

			cols[n] = InvalidAttrNumber;
			foreach(lc, plan->targetlist)
			{
				TargetEntry *tle = lfirst_node(TargetEntry, lc);
				Var		   *var = (Var *) tle->expr;

				if (IsA(var, Var) && var->varno == varno &&
					var->varattno == sort->sortColIdx[n])
				{
					cols[n] = tle->resno;
					break;
				}
			}
			if (cols[n] == InvalidAttrNumber)
				break;
		}
		if (n == 0)
			return NULL;
		sort->numCols = n;
		sort->sortColIdx = cols;
	}
	return sort;
}

/*
 * The feeder under a Sort that orders the rows fed as plan's output is
 * ordered (output_order), or the feeder alone when nothing orders it.
 * Where the plan's order matters (a reduce re-running Unique, Limit or
 * WindowAgg, an ARRAY(subquery)), the executor sorts the rows fed.
 */
Plan *
FeederSortedLike(Plan *plan, Plan *feeder)
{
	Sort	   *sort = FeederOrder(plan);
	List	   *tlist = NIL;
	ListCell   *lc;

	if (sort == NULL)
		return feeder;
	/* the Sort returns the feeder's columns as they are */
	foreach(lc, feeder->targetlist)
	{
		TargetEntry *tle = copyObject(lfirst_node(TargetEntry, lc));

		((Var *) tle->expr)->varno = OUTER_VAR;
		tlist = lappend(tlist, tle);
	}
	sort->plan.targetlist = tlist;
	sort->plan.qual = NIL;
	sort->plan.lefttree = feeder;
	sort->plan.righttree = NULL;
	sort->plan.initPlan = NIL;
	return &sort->plan;
}

/* The feeder under the executor node top (an outer chain). */
static FeederState *
feeder_under(PlanState *top)
{
	PlanState  *ps = top;

	while (!IsA(ps, CustomScanState))
		ps = outerPlanState(ps);
	return (FeederState *) ps;
}

/* Give the feeder under the executor node top its rows. */
void
FeederSetRows(PlanState *top, ZRow *rows, int nrows)
{
	FeederState *fs = feeder_under(top);

	fs->rows = rows;
	fs->nrows = nrows;
	fs->pos = 0;
	fs->repeat = 0;
	fs->next = NULL;
}

/*
 * Make next, with arg, the source of the rows of the feeder under top:
 * it returns them one at a time, and NULL after the last; restart says
 * to start over from the first.
 */
void
FeederSetSource(PlanState *top, FeederNext next, void *arg)
{
	FeederState *fs = feeder_under(top);

	fs->rows = NULL;
	fs->nrows = 0;
	fs->next = next;
	fs->next_arg = arg;
	fs->restart = true;
}
