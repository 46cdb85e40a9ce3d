/*-------------------------------------------------------------------------
 *
 * subplan.c
 *	  Subqueries the planner leaves in expressions: scalar subqueries,
 *	  NOT IN, EXISTS and IN under OR or in the select list, ANY/ALL
 *	  comparisons, ARRAY(subquery).
 *
 * The planner turns an uncorrelated subquery it cannot make a join into a
 * SubPlan: an initPlan, run once to set parameters ($0 in EXPLAIN), or a
 * SubPlan evaluated per row (hashed or not: NOT IN, x = ANY(...)).  Here a
 * SubPlan's plan is a dataflow of its own whose result, a collection S, is
 * kept as an arrangement.  Operators whose expressions read the subquery
 * evaluate it with the executor's own SubPlan code, exactly as in a plain
 * query, over a feeder (feeder.c) that returns the rows of S; so the three-
 * valued logic of NOT IN over NULLs, "more than one row returned by a
 * subquery used as an expression", ALL over an empty set and ARRAY's order
 * are Postgres's own.
 *
 * Such an operator's output is a function f(I, S) of its inputs I and of
 * S.  While S does not change, the operator runs incrementally as usual.
 * In a tick where S changes, its change is
 *
 *		f(I + dI, S_new) - f(I, S_old)
 *
 * which the operator computes with its own incremental step, run twice:
 * first over -I with S_old loaded (its state empties, its output retracts
 * f(I, S_old)), then over I + dI with S_new (it emits f(I + dI, S_new)).
 * For that the operator keeps a trace of each input, I.  The work of a
 * change of S is thus the size of the operator's inputs: a subquery whose
 * result changes often costs a recomputation of what reads it.
 *
 * Correlated subqueries the planner cannot turn into joins are refused at
 * CREATE (compile.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "executor/nodeSubplan.h"
#include "nodes/nodeFuncs.h"
#include "utils/memutils.h"

#include "coordinator/dataflow.h"

struct SubplanResult
{
	SubPlan    *subplan;
	DataflowOp *root;			/* the subquery's dataflow */
	PlanState  *feeder;			/* es_subplanstates entry: returns S */
	SubPlanState *init;			/* an initPlan: sets the parameters */
	ExprContext *econtext;		/* to run the initPlan in */
	MemoryContext values;		/* the initPlan's parameter values */
	Arrangement *rows;			/* S, in one group */
	ArrGroup   *group;
	MemoryContext new_context;	/* new_rows: S */
	ZRow	   *new_rows;
	int			nnew;
	MemoryContext old_context;	/* old_rows: S before its last change */
	ZRow	   *old_rows;
	int			nold;
	uint64		version;		/* changes of S so far */
	uint64		loaded;			/* 2 * version + (1: S, 0: S_old) */
	uint64		tick;			/* last refreshed */
	bool		changed;		/* S changed in that tick */
	char	   *error;			/* initPlan: the data error S gives */
	int			error_code;
};

/* Every initPlan of every plan node, by the parameters it sets. */
static void
collect_initplans(Dataflow *df, Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	foreach(lc, plan->initPlan)
	{
		SubPlan    *sp = lfirst_node(SubPlan, lc);
		ListCell   *p;

		if (sp->subLinkType == CTE_SUBLINK)
			continue;
		foreach(p, sp->setParam)
			df->initplans[lfirst_int(p)] = sp;
	}
	switch (nodeTag(plan))
	{
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				collect_initplans(df, lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				collect_initplans(df, lfirst(lc));
			break;
		case T_SubqueryScan:
			collect_initplans(df, ((SubqueryScan *) plan)->subplan);
			break;
		default:
			break;
	}
	collect_initplans(df, outerPlan(plan));
	collect_initplans(df, innerPlan(plan));
}

/* Prepare a dataflow for its plan's subqueries (before building it). */
void
SubplansInit(Dataflow *df)
{
	PlannedStmt *stmt = df->plan;
	int			nparams = list_length(stmt->paramExecTypes);
	ListCell   *lc;

	df->results = palloc0(sizeof(SubplanResult *) * Max(list_length(stmt->subplans), 1));
	df->initplans = palloc0(sizeof(SubPlan *) * Max(nparams, 1));
	df->estate->es_subplanstates = NIL;
	foreach(lc, stmt->subplans)
		df->estate->es_subplanstates = lappend(df->estate->es_subplanstates, NULL);
	df->parent = makeNode(PlanState);
	df->parent->state = df->estate;
	df->parent->plan = stmt->planTree;
	df->subplan_owners = list_make1(df->parent);

	collect_initplans(df, stmt->planTree);
	foreach(lc, stmt->subplans)
		collect_initplans(df, lfirst(lc));
}

/* The result of subplan sp, with its dataflow built on first use. */
static SubplanResult *
subplan_result(Dataflow *df, SubPlan *sp)
{
	SubplanResult *sr = df->results[sp->plan_id - 1];
	Plan	   *plan;

	if (sr != NULL)
		return sr;
	sr = palloc0(sizeof(SubplanResult));
	df->results[sp->plan_id - 1] = sr;
	sr->subplan = sp;
	plan = list_nth(df->plan->subplans, sp->plan_id - 1);
	sr->root = DataflowBuild(df, plan);
	sr->feeder = ExecInitNode(FeederSortedLike(plan, FeederPlan(sr->root->desc)),
							  df->estate, 0);
	list_nth_cell(df->estate->es_subplanstates, sp->plan_id - 1)->ptr_value = sr->feeder;
	sr->rows = DataflowArrange(df, plan, "subquery result", NULL, NULL);
	sr->group = ArrangementGroup(sr->rows, 0, NULL, true);
	sr->new_context = AllocSetContextCreate(df->context, "coordinator subquery rows",
											ALLOCSET_SMALL_SIZES);
	sr->old_context = AllocSetContextCreate(df->context, "coordinator subquery rows",
											ALLOCSET_SMALL_SIZES);
	if (sp->setParam != NIL)
	{
		sr->init = ExecInitSubPlan(sp, df->parent);
		sr->econtext = CreateExprContext(df->estate);
		sr->values = AllocSetContextCreate(df->context, "coordinator subquery values",
										   ALLOCSET_SMALL_SIZES);
	}
	return sr;
}

typedef struct DepsContext
{
	Dataflow   *df;
	List	   *deps;
} DepsContext;

static bool
deps_walker(Node *node, DepsContext *context)
{
	Dataflow   *df = context->df;

	if (node == NULL)
		return false;
	if (IsA(node, SubPlan))
	{
		SubPlan    *sp = (SubPlan *) node;

		if (sp->parParam != NIL || sp->args != NIL)
			elog(ERROR, "coordinator: a correlated subquery cannot be maintained");
		context->deps = list_append_unique_ptr(context->deps, subplan_result(df, sp));
	}
	else if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
	{
		int			id = ((Param *) node)->paramid;

		if (id < list_length(df->plan->paramExecTypes) && df->initplans[id] != NULL)
			context->deps = list_append_unique_ptr(context->deps,
												   subplan_result(df, df->initplans[id]));
	}
	return expression_tree_walker(node, deps_walker, (void *) context);
}

/*
 * The subquery results the expressions of plan node (not of its children)
 * read.  Builds their dataflows, so call it before initializing the
 * node's expressions.
 */
List *
SubplanDeps(Dataflow *df, Plan *plan)
{
	DepsContext context = {df, NIL};

	deps_walker((Node *) plan->targetlist, &context);
	deps_walker((Node *) plan->qual, &context);
	switch (nodeTag(plan))
	{
		case T_Result:
			deps_walker(((Result *) plan)->resconstantqual, &context);
			break;
		case T_NestLoop:
		case T_HashJoin:
		case T_MergeJoin:
			deps_walker((Node *) ((Join *) plan)->joinqual, &context);
			if (IsA(plan, HashJoin))
				deps_walker((Node *) ((HashJoin *) plan)->hashclauses, &context);
			if (IsA(plan, MergeJoin))
				deps_walker((Node *) ((MergeJoin *) plan)->mergeclauses, &context);
			break;
		case T_Limit:
			deps_walker(((Limit *) plan)->limitOffset, &context);
			deps_walker(((Limit *) plan)->limitCount, &context);
			break;
		case T_WindowAgg:
			deps_walker(((WindowAgg *) plan)->startOffset, &context);
			deps_walker(((WindowAgg *) plan)->endOffset, &context);
			break;
		default:
			break;
	}
	return context.deps;
}

/* Make op read the subquery results deps: it keeps traces of its inputs. */
void
SubplanDepend(Dataflow *df, DataflowOp *op, Plan *plan, List *deps)
{
	int			ninputs = list_length(op->inputs);

	op->deps = deps;
	if (deps == NIL)
		return;
	op->traces = palloc0(sizeof(Arrangement *) * Max(ninputs, 1));
	for (int i = 0; i < ninputs; i++)
	{
		op->traces[i] = DataflowArrange(df, plan, "input trace", NULL, NULL);
	}
}

/*
 * Run the initPlan over the rows loaded in the feeder; its parameters are
 * set (NULL after a data error, which is returned).
 */
static ErrorData *
run_initplan(Dataflow *df, SubplanResult *sr)
{
	MemoryContext context = CurrentMemoryContext;
	ErrorData  *volatile edata = NULL;
	ListCell   *lc;

	sr->init->curTuple = NULL;	/* it was in sr->values */
	MemoryContextReset(sr->values);
	sr->econtext->ecxt_per_query_memory = sr->values;
	PG_TRY();
	{
		ExecSetParamPlan(sr->init, sr->econtext);
	}
	PG_CATCH();
	{
		edata = DataErrorCatch(df, context, 0);
		if (edata == NULL)
			PG_RE_THROW();
		foreach(lc, sr->subplan->setParam)
		{
			ParamExecData *prm = &df->estate->es_param_exec_vals[lfirst_int(lc)];

			prm->execPlan = NULL;
			prm->value = (Datum) 0;
			prm->isnull = true;
		}
	}
	PG_END_TRY();
	/* end any sort it ran, whose memory is under sr->values */
	MemoryContextSwitchTo(sr->values);
	ExecReScan(sr->feeder);
	MemoryContextSwitchTo(context);
	return edata;
}

/* Load S (or, if old, S before its change in this tick) into the feeder. */
static void
subplan_load(Dataflow *df, SubplanResult *sr, bool old)
{
	uint64		want;
	MemoryContext context;

	/* S_old is S unless S changed in this tick */
	old = old && sr->changed && sr->tick == df->tick;
	want = 2 * sr->version + (old ? 0 : 1);
	if (sr->loaded == want)
		return;
	sr->loaded = want;
	FeederSetRows(sr->feeder, old ? sr->old_rows : sr->new_rows, old ? sr->nold : sr->nnew);

	/*
	 * A hashed SubPlan must rebuild its table: up to 15.18 it does when its
	 * plan has a changed parameter, from 15.19 on when marked stale.
	 */
	context = MemoryContextSwitchTo(df->estate->es_query_cxt);
	sr->feeder->chgParam = bms_add_member(sr->feeder->chgParam, 0);
	MemoryContextSwitchTo(context);
#ifdef HAVE_SUBPLAN_HASHTABLESTALE
	{
		ListCell   *lc;

		foreach(lc, df->subplan_owners)
		{
			ListCell   *s;

			foreach(s, ((PlanState *) lfirst(lc))->subPlan)
			{
				SubPlanState *sstate = lfirst(s);

				if (sstate->planstate == sr->feeder)
					sstate->hashtablestale = true;
			}
		}
	}
#endif
	if (sr->init != NULL)
	{
		ErrorData  *edata = run_initplan(df, sr);

		if (edata != NULL)
			FreeErrorData(edata);
	}
}

/* The rows of the group, in context; the tuples copied there if copy. */
static ZRow *
group_rows(ArrGroup *g, MemoryContext context, bool copy, int *n)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	ZRow	   *rows = palloc(sizeof(ZRow) * Max(g->nrows, 1));

	*n = 0;
	for (ArrRow *r = g->rows; r != NULL; r = r->next)
	{
		rows[*n].tuple = copy ? heap_copy_minimal_tuple(ArrRowTuple(r)) : ArrRowTuple(r);
		rows[*n].diff = r->mult;
		(*n)++;
	}
	MemoryContextSwitchTo(old);
	return rows;
}

/* Bring S up to this tick: note whether it changed, and its new error. */
static void
subplan_refresh(Dataflow *df, SubplanResult *sr)
{
	ZSet	   *delta;

	if (sr->tick == df->tick)
		return;
	sr->tick = df->tick;
	delta = DataflowOpOutput(sr->root, df);
	sr->changed = delta->nrows > 0 || sr->version == 0;
	if (!sr->changed)
		return;

	MemoryContextReset(sr->old_context);
	sr->old_rows = group_rows(sr->group, sr->old_context, true, &sr->nold);
	for (int i = 0; i < delta->nrows; i++)
		ArrangementUpdate(sr->rows, sr->group, delta->rows[i].tuple, delta->rows[i].diff);
	MemoryContextReset(sr->new_context);
	sr->new_rows = group_rows(sr->group, sr->new_context, false, &sr->nnew);
	sr->version++;

	/*
	 * An initPlan's data error (a scalar subquery with two rows) is part of
	 * the view's result for as long as S gives it.
	 */
	if (sr->init != NULL)
	{
		ErrorData  *edata;

		sr->loaded = 2 * sr->version + 1;
		FeederSetRows(sr->feeder, sr->new_rows, sr->nnew);
		edata = run_initplan(df, sr);
		if (sr->error != NULL)
		{
			DataErrorAdd(df, sr->error, sr->error_code, -1);
			pfree(sr->error);
			sr->error = NULL;
		}
		if (edata != NULL)
		{
			DataErrorAdd(df, edata->message, edata->sqlerrcode, 1);
			sr->error = MemoryContextStrdup(df->context, edata->message);
			sr->error_code = edata->sqlerrcode;
			FreeErrorData(edata);
		}
	}
}

/* The rows of an input trace as a Z-set, with weights times sign. */
static void
trace_zset(Arrangement *trace, int sign, ZSet *z)
{
	ArrGroup   *g = ArrangementGroup(trace, 0, NULL, false);

	ZSetReset(z);
	for (ArrRow *r = g ? g->rows : NULL; r != NULL; r = r->next)
		ZSetAdd(z, ArrRowTuple(r), sign * r->mult);
}

/*
 * A tick of an operator that reads subquery results: incremental while
 * they do not change, recomputed (as the file header explains) when one
 * does.
 */
void
SubplanDependentStep(DataflowOp *op, Dataflow *df)
{
	int			ninputs = list_length(op->inputs);
	ZSet	   *in = palloc0(sizeof(ZSet) * Max(ninputs, 1));
	ZSet	   *full = NULL;
	bool		changed = false;
	ListCell   *lc;

	for (int i = 0; i < ninputs; i++)
		in[i] = *DataflowOpInput(op, df, i);
	foreach(lc, op->deps)
	{
		SubplanResult *sr = lfirst(lc);

		subplan_refresh(df, sr);
		changed |= sr->changed;
	}

	if (changed)
	{
		full = palloc0(sizeof(ZSet) * Max(ninputs, 1));
		foreach(lc, op->deps)
			subplan_load(df, lfirst(lc), true);
		for (int i = 0; i < ninputs; i++)
			trace_zset(op->traces[i], -1, &full[i]);
		op->override = full;
		op->step(op, df);
	}

	foreach(lc, op->deps)
		subplan_load(df, lfirst(lc), false);
	for (int i = 0; i < ninputs; i++)
	{
		ArrGroup   *g = ArrangementGroup(op->traces[i], 0, NULL, true);

		for (int j = 0; j < in[i].nrows; j++)
			ArrangementUpdate(op->traces[i], g, in[i].rows[j].tuple, in[i].rows[j].diff);
		if (changed)
			trace_zset(op->traces[i], 1, &full[i]);
	}
	op->override = changed ? full : in;
	op->step(op, df);
	op->override = NULL;
}
