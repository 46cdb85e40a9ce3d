/*-------------------------------------------------------------------------
 *
 * graph.c
 *	  Build a view's dataflow from its plan, and run it one tick at a time.
 *
 * The plan is the one Postgres's planner made for the view's query at
 * CREATE (compile.c): joins already ordered, subqueries pulled up, EXISTS
 * and IN turned into semi- and anti-joins, views expanded.  Each plan node
 * becomes an operator that computes the change of the node's output from
 * the changes of its inputs:
 *
 *	SeqScan							scan (map.c), fed with decoded rows, or
 *									with the changes of a maintained view
 *									(an input) its worker computed first
 *	Result, SubqueryScan, CteScan	map (over a one-row unit without input)
 *	Append, MergeAppend				union
 *	RecursiveUnion, WorkTableScan	recursion (recursion.c), iterating the
 *									operators of its recursive term
 *	NestLoop, HashJoin, MergeJoin	join (join.c), every join type
 *	Agg, Unique, SetOp, Limit,		reduce (reduce.c): the node itself,
 *	WindowAgg						re-run on each changed group
 *	Sort, IncrementalSort, Hash,	nothing: order is not part of a
 *	Material						collection (reduce reads it from the plan)
 *
 * Expressions in the plan refer to their inputs by position, exactly as
 * the executor's do, so operators evaluate them with the executor's own
 * expression machinery.  A CTE read twice is one operator read twice.
 * Subqueries left in expressions (initPlans and SubPlans) are dataflows
 * of their own, read by the operators whose expressions use them
 * (subplan.c).
 *
 * A tick: DataflowBeginTick, DataflowPush for every changed source row,
 * DataflowRun for the view's change.  An operator computes its output once
 * per tick, on first request; all tick data lives in the memory context
 * current at DataflowRun, and state in the dataflow's own context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"

/* Source rows fed between two updates of the hydration progress. */
#define PROGRESS_ROWS_BATCH 1024

DataflowOp *
DataflowOpCreate(Dataflow *df, const char *name, Plan *plan, DataflowOpStep step)
{
	DataflowOp   *op = palloc0(sizeof(DataflowOp));

	op->name = name;
	op->desc = ExecTypeFromTL(plan->targetlist);
	op->step = step;
	return op;
}

/* The output of op in this tick, computed on first request. */
ZSet *
DataflowOpOutput(DataflowOp *op, Dataflow *df)
{
	if (op->tick != df->tick)
	{
		op->tick = df->tick;
		if (op->source == InvalidOid)
			ZSetReset(&op->delta);
		if (op->deps != NIL)
			SubplanDependentStep(op, df);
		else
			op->step(op, df);
	}
	return &op->delta;
}

/*
 * The output of op's n-th input in this tick; while subplan.c recomputes
 * op, the inputs it gives.
 */
ZSet *
DataflowOpInput(DataflowOp *op, Dataflow *df, int n)
{
	if (op->override != NULL)
		return &op->override[n];
	return DataflowOpOutput(list_nth(op->inputs, n), df);
}

/* The operator of a CTE's plan, built once however often it is read. */
static DataflowOp *
build_subplan(Dataflow *df, int plan_id)
{
	DataflowOp   *op;

	while (list_length(df->subplans) < plan_id)
		df->subplans = lappend(df->subplans, NULL);
	op = list_nth(df->subplans, plan_id - 1);
	if (op == NULL)
	{
		op = DataflowBuild(df, list_nth(df->plan->subplans, plan_id - 1));
		list_nth_cell(df->subplans, plan_id - 1)->ptr_value = op;
	}
	return op;
}

static DataflowOp *
build_node(Dataflow *df, Plan *plan, List *deps)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
			{
				Scan	   *scan = (Scan *) plan;
				RangeTblEntry *rte = rt_fetch(scan->scanrelid, df->plan->rtable);
				Oid			relid = rte->relid;
				DataflowOp *op = ScanCreate(df, scan, relid, deps != NIL);

				df->scans = lappend(df->scans, op);
				df->sources = list_append_unique_oid(df->sources, relid);
				if (rte->relkind == RELKIND_MATVIEW)
					df->inputs = list_append_unique_oid(df->inputs, relid);
				/* a scan reading a subquery: its rows, then a map */
				if (deps != NIL)
					op = MapCreate(df, plan, op);
				return op;
			}
		case T_Result:
			return MapCreate(df, plan, outerPlan(plan) == NULL ? UnitCreate(df) :
							 DataflowBuild(df, outerPlan(plan)));
		case T_SubqueryScan:
			return MapCreate(df, plan, DataflowBuild(df, ((SubqueryScan *) plan)->subplan));
		case T_CteScan:
			return MapCreate(df, plan,
							 build_subplan(df, ((CteScan *) plan)->ctePlanId));
		case T_Sort:
		case T_IncrementalSort:
		case T_Material:
		case T_Hash:
			return DataflowBuild(df, outerPlan(plan));
		case T_Append:
		case T_MergeAppend:
			{
				List	   *children = IsA(plan, Append) ?
					((Append *) plan)->appendplans :
					((MergeAppend *) plan)->mergeplans;
				List	   *inputs = NIL;
				ListCell   *lc;

				foreach(lc, children)
					inputs = lappend(inputs, DataflowBuild(df, lfirst(lc)));
				return UnionCreate(df, plan, inputs);
			}
		case T_NestLoop:
			/* LATERAL over functions: the inner side runs per outer row */
			if (((NestLoop *) plan)->nestParams != NIL)
				return FlatMapCreate(df, plan, DataflowBuild(df, outerPlan(plan)));
			/* FALLTHROUGH */
		case T_HashJoin:
		case T_MergeJoin:
			{
				DataflowOp *outer = DataflowBuild(df, outerPlan(plan));
				DataflowOp *inner = DataflowBuild(df, innerPlan(plan));

				return JoinCreate(df, (Join *) plan, outer, inner);
			}
		case T_ProjectSet:
			return FlatMapCreate(df, plan, DataflowBuild(df, outerPlan(plan)));
		case T_ValuesScan:
		case T_FunctionScan:
			return ConstantCreate(df, plan);
		case T_RecursiveUnion:
			return RecursionCreate(df, (RecursiveUnion *) plan);
		case T_WorkTableScan:
			return RecursionWorkTable(df, (WorkTableScan *) plan);
		case T_Agg:
		case T_Unique:
		case T_SetOp:
		case T_Limit:
		case T_WindowAgg:
			return ReduceCreate(df, plan, DataflowBuild(df, outerPlan(plan)));
		default:
			elog(ERROR, "coordinator: plan node %d cannot be maintained",
				 (int) nodeTag(plan));
	}
	return NULL;				/* keep compiler quiet */
}

/*
 * The operator of a plan node.  The subqueries its expressions read are
 * built first, so that the executor finds them when the operator sets up
 * its expressions.
 */
DataflowOp *
DataflowBuild(Dataflow *df, Plan *plan)
{
	List	   *deps;
	DataflowOp *op;

	check_stack_depth();
	deps = SubplanDeps(df, plan);
	op = build_node(df, plan, deps);
	if (deps != NIL && op->deps == NIL)
		SubplanDepend(df, op, plan, deps);
	return op;
}

/*
 * Build the dataflow of a view in a new memory context under parent.
 * Needs a transaction: scans read their table's descriptor.
 */
Dataflow *
DataflowCreate(Oid view, PlannedStmt *plan, MemoryContext parent)
{
	MemoryContext context = AllocSetContextCreate(parent, "coordinator dataflow",
												  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(context);
	Dataflow   *df = palloc0(sizeof(Dataflow));
	int			nparams = list_length(plan->paramExecTypes);

	df->view = view;
	df->plan = plan;
	df->context = context;
	df->estate = CreateExecutorState();
	if (nparams > 0)
		df->estate->es_param_exec_vals = palloc0(sizeof(ParamExecData) * nparams);
	SubplansInit(df);
	df->root = DataflowBuild(df, plan->planTree);
	MemoryContextSwitchTo(old);
	return df;
}

void
DataflowBeginTick(Dataflow *df)
{
	ListCell   *lc;

	df->tick++;
	foreach(lc, df->scans)
		ZSetReset(&((DataflowOp *) lfirst(lc))->delta);
}

/* A change of a source row: to every scan of its table. */
void
DataflowPush(Dataflow *df, Oid relid, HeapTuple tuple, int64 diff)
{
	ListCell   *lc;

	foreach(lc, df->scans)
	{
		DataflowOp   *op = lfirst(lc);

		if (op->source == relid)
			ScanPush(op, df, tuple, diff);
	}
}

/*
 * The rows held in the dataflow's arrangements, and the memory the whole
 * dataflow holds (arrangements, shared ones in full, operator state,
 * executor nodes).
 */
void
DataflowSize(Dataflow *df, int64 *rows, int64 *bytes)
{
	ListCell   *lc;

	/* temporal filters' scheduled changes are in df->context */
	*rows = TemporalScheduled(df);
	*bytes = MemoryContextMemAllocated(df->context, true);
	foreach(lc, df->arrangements)
	{
		Arrangement *a = lfirst(lc);

		*rows += a->nrows;
		/* a shared arrangement's memory is not the dataflow's */
		if (a->shared != NULL)
			*bytes += MemoryContextMemAllocated(a->context, true);
	}
}

/*
 * The dataflow's contents are those of the worker's other views, as of the
 * end of the last tick: its joins read the arrangements they can share
 * (shared.c).
 */
void
DataflowShare(Dataflow *df)
{
	ListCell   *lc;

	foreach(lc, df->joins)
		JoinShare(lfirst(lc), df);
}

/* The dataflow is going, or failed: let go of what it shares. */
void
DataflowUnshare(Dataflow *df)
{
	ListCell   *lc;

	foreach(lc, df->joins)
		JoinUnshare(lfirst(lc), df);
}

/*
 * A new arrangement of the operator of plan, counted in the dataflow's
 * size and shown in coordinator.arrangements under name.
 */
Arrangement *
DataflowArrange(Dataflow *df, Plan *plan, const char *name,
				ArrKeyEqual key_equal, void *key_arg)
{
	Arrangement *a = ArrangementCreate(df->context, name, key_equal, key_arg);

	a->name = name;
	a->node = plan != NULL ? plan->plan_node_id : -1;
	df->arrangements = lappend(df->arrangements, a);
	return a;
}

/* The change of the view in this tick, consolidated. */
ZSet *
DataflowRun(Dataflow *df)
{
	ZSet	   *out;
	int64		rows;
	int64		bytes;

	if (!df->hydrated)
		ProgressHydrationPhase(df->view, HYDRATION_COMPUTING);
	out = DataflowOpOutput(df->root, df);
	if (!df->hydrated)
	{
		DataflowSize(df, &rows, &bytes);
		ProgressRowsArranged(df->view, rows);
		ProgressHydrationPhase(df->view, HYDRATION_WRITING);
	}
	df->hydrated = true;
	return out;
}

/*
 * The root output column of each column of the result (the plan's
 * non-junk target entries), in the dataflow's memory; *ncolumns is set to
 * their number.
 */
AttrNumber *
DataflowResultColumns(Dataflow *df, int *ncolumns)
{
	List	   *tlist = df->plan->planTree->targetlist;
	AttrNumber *columns = MemoryContextAlloc(df->context,
											 sizeof(AttrNumber) * Max(list_length(tlist), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, tlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk)
			columns[n++] = tle->resno;
	}
	*ncolumns = n;
	return columns;
}

/*
 * Feed every row of the dataflow's sources, as the active snapshot sees
 * them, as insertions of this tick; a maintained view read as an input as
 * its worker wrote it, in this transaction too (its own hydration may
 * precede).  Returns false, feeding nothing more, if a source has been
 * dropped.
 */
bool
DataflowFeedSources(Dataflow *df)
{
	ListCell   *lc;
	int64		fed = 0;

	ProgressHydrationPhase(df->view, HYDRATION_SCANNING);
	foreach(lc, df->sources)
	{
		Relation	rel = try_relation_open(lfirst_oid(lc), AccessShareLock);
		TableScanDesc scan;
		TupleTableSlot *slot;

		if (rel == NULL)
			return false;
		slot = table_slot_create(rel, NULL);
		if (list_member_oid(df->inputs, RelationGetRelid(rel)))
		{
			CommandCounterIncrement();
			PushCopiedSnapshot(GetActiveSnapshot());
			UpdateActiveSnapshotCommandId();
		}
		scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
		while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
		{
			bool		shouldfree;
			HeapTuple	tuple = ExecFetchSlotHeapTuple(slot, false, &shouldfree);

			DataflowPush(df, RelationGetRelid(rel), tuple, 1);
			if (shouldfree)
				heap_freetuple(tuple);
			/* coordinator.progress_hydration, every few rows */
			if (++fed == PROGRESS_ROWS_BATCH)
			{
				ProgressRowsScanned(df->view, fed);
				fed = 0;
			}
			CHECK_FOR_INTERRUPTS();
		}
		ProgressRowsScanned(df->view, fed);
		fed = 0;
		table_endscan(scan);
		if (list_member_oid(df->inputs, RelationGetRelid(rel)))
			PopActiveSnapshot();
		ExecDropSingleTupleTableSlot(slot);
		table_close(rel, AccessShareLock);
	}
	return true;
}

/*
 * Add the rows of z, projected on columns (root output columns, one per
 * column of row's descriptor), to delta.  root holds the dataflow's output
 * rows on the way.
 */
void
DataflowProject(ZSet *z, AttrNumber *columns, TupleTableSlot *root,
				TupleTableSlot *row, RowDelta *delta)
{
	int			natts = row->tts_tupleDescriptor->natts;

	for (int i = 0; i < z->nrows; i++)
	{
		ExecStoreMinimalTuple(z->rows[i].tuple, root, false);
		slot_getallattrs(root);
		ExecClearTuple(row);
		for (int c = 0; c < natts; c++)
		{
			row->tts_values[c] = root->tts_values[columns[c] - 1];
			row->tts_isnull[c] = root->tts_isnull[columns[c] - 1];
		}
		ExecStoreVirtualTuple(row);
		RowDeltaAdd(delta, row, z->rows[i].diff);
	}
	ExecClearTuple(root);
}
