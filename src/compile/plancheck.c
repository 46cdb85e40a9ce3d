/*-------------------------------------------------------------------------
 *
 * plancheck.c
 *	  The plan of a view, checked node by node: every node must have a
 *	  dataflow operator (../dataflow/graph.c maps each to one).
 *
 * Nodes are refused with ERRCODE_FEATURE_NOT_SUPPORTED naming the
 * construct (the plan has no positions); subqueries left in expressions
 * are checked like the query's plan, and must be uncorrelated; a LATERAL
 * NestLoop's inner side may read the outer row, functions and VALUES but
 * no table (its rows are a function of the outer row: dataflow/flatmap.c).
 * The check collects the range-table indexes of the tables the plan scans.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/lsyscache.h"

#include "coordinator/compile.h"

static void check_lateral(PlannedStmt *stmt, Plan *plan, Bitmapset *params);

typedef struct CheckContext
{
	PlannedStmt *stmt;
	List	  **scans;
} CheckContext;

/*
 * Subqueries left in expressions are maintained when uncorrelated
 * (subplan.c); their plans are checked like the query's.
 */
static bool
check_expressions_walker(Node *node, CheckContext *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan))
	{
		SubPlan    *sp = (SubPlan *) node;

		if (sp->parParam != NIL || sp->args != NIL)
			CompileRefuse("a correlated subquery that cannot be rewritten as a join (correlate it by equalities ANDed in its WHERE, without GROUP BY, HAVING, DISTINCT or LIMIT)", -1);
		if (sp->subLinkType == MULTIEXPR_SUBLINK || sp->subLinkType == CTE_SUBLINK)
			CompileRefuse("this subquery", -1);
		CompileCheckPlan(context->stmt, list_nth(context->stmt->subplans, sp->plan_id - 1),
				   context->scans);
	}
	else if (IsA(node, AlternativeSubPlan))
		CompileRefuse("this subquery", -1);
	return expression_tree_walker(node, check_expressions_walker, (void *) context);
}

static void
check_expressions(PlannedStmt *stmt, Node *exprs, List **scans)
{
	CheckContext context = {stmt, scans};

	(void) check_expressions_walker(exprs, &context);
}

/*
 * A partition the planner scans for its partitioned table: its changes must
 * be in the WAL like the table's own (the partitioned table was checked as
 * the query names it).
 */
static void
check_partition(Oid relid)
{
	if (!get_rel_relispartition(relid))
		return;
	if (get_rel_persistence(relid) != RELPERSISTENCE_PERMANENT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("maintained views do not support an unlogged partition"),
				 errdetail("Partition \"%s\" is unlogged: its changes are not in the WAL.",
						   get_rel_name(relid)),
				 errhint("Run ALTER TABLE ... SET LOGGED on it, or create a materialized view without WITH (incremental).")));
}

/* Does node read a PARAM_EXEC parameter that is not in allowed? */
static bool
exec_param_walker(Node *node, Bitmapset *allowed)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXEC)
		return !bms_is_member(((Param *) node)->paramid, allowed);
	return expression_tree_walker(node, exec_param_walker, (void *) allowed);
}

static bool
contains_exec_param(Node *node, Bitmapset *allowed)
{
	return exec_param_walker(node, allowed);
}

/* The expressions of a plan node other than its target list and qual. */
static Node *
node_expressions(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_FunctionScan:
			return (Node *) ((FunctionScan *) plan)->functions;
		case T_ValuesScan:
			return (Node *) ((ValuesScan *) plan)->values_lists;
		case T_Result:
			return ((Result *) plan)->resconstantqual;
		case T_Limit:
			return (Node *) list_make2(((Limit *) plan)->limitCount,
									   ((Limit *) plan)->limitOffset);
		case T_NestLoop:
			return (Node *) ((Join *) plan)->joinqual;
		case T_HashJoin:
			return (Node *) list_make2(((Join *) plan)->joinqual,
									   ((HashJoin *) plan)->hashclauses);
		case T_MergeJoin:
			return (Node *) list_make2(((Join *) plan)->joinqual,
									   ((MergeJoin *) plan)->mergeclauses);
		case T_WindowAgg:
			return (Node *) list_make2(((WindowAgg *) plan)->startOffset,
									   ((WindowAgg *) plan)->endOffset);
		default:
			return NULL;
	}
}

/* The parameters a NestLoop passes to its inner side, added to params. */
static Bitmapset *
nest_params(NestLoop *nl, Bitmapset *params)
{
	ListCell   *lc;

	foreach(lc, nl->nestParams)
		params = bms_add_member(bms_copy(params),
								lfirst_node(NestLoopParam, lc)->paramno);
	return params;
}

/* No subquery in an expression of a LATERAL inner side. */
static bool
find_subplan_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
		return true;
	return expression_tree_walker(node, find_subplan_walker, context);
}

/*
 * The inner side of a LATERAL NestLoop, run by the executor for each outer
 * row: it may read the outer row (params) and functions, VALUES and their
 * subqueries, but no table, no subquery in an expression and no other
 * parameter, so that its rows are a function of the outer row alone.
 */
static void
check_lateral(PlannedStmt *stmt, Plan *plan, Bitmapset *params)
{
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return;
	check_stack_depth();
	if (find_subplan_walker((Node *) plan->targetlist, NULL) ||
		find_subplan_walker((Node *) plan->qual, NULL) ||
		find_subplan_walker(node_expressions(plan), NULL) ||
		plan->initPlan != NIL)
		CompileRefuse("a subquery inside LATERAL", -1);

	switch (nodeTag(plan))
	{
		case T_FunctionScan:
		case T_ValuesScan:
		case T_Result:
		case T_ProjectSet:
		case T_Sort:
		case T_IncrementalSort:
		case T_Material:
		case T_Hash:
		case T_Unique:
		case T_Limit:
		case T_WindowAgg:
		case T_HashJoin:
		case T_MergeJoin:
			break;
		case T_Agg:
			if (((Agg *) plan)->groupingSets != NIL)
				CompileRefuse("GROUPING SETS inside LATERAL", -1);
			break;
		case T_SubqueryScan:
			children = list_make1(((SubqueryScan *) plan)->subplan);
			break;
		case T_Append:
			children = ((Append *) plan)->appendplans;
			break;
		case T_NestLoop:
			params = nest_params((NestLoop *) plan, params);
			break;
		case T_SeqScan:
		case T_CteScan:
			CompileRefuse("a LATERAL subquery over a table unless it is correlated by equalities in its WHERE, without aggregates, GROUP BY or DISTINCT, and with a constant LIMIT", -1);
			break;
		default:
			CompileRefuse("this LATERAL subquery (its plan needs a node that cannot be maintained)", -1);
			break;
	}
	if (contains_exec_param((Node *) plan->targetlist, params) ||
		contains_exec_param((Node *) plan->qual, params) ||
		contains_exec_param(node_expressions(plan), params))
		CompileRefuse("LATERAL that reads a subquery", -1);
	foreach(lc, children)
		check_lateral(stmt, lfirst(lc), params);
	check_lateral(stmt, outerPlan(plan), params);
	check_lateral(stmt, innerPlan(plan), params);
}

/*
 * Check that every node of the plan has an operator.  Collects the
 * range-table indexes of the tables the plan scans into *scans.
 */
void
CompileCheckPlan(PlannedStmt *stmt, Plan *plan, List **scans)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();

	foreach(lc, plan->initPlan)
	{
		SubPlan    *sp = lfirst_node(SubPlan, lc);

		if (sp->subLinkType != CTE_SUBLINK)
			check_expressions(stmt, (Node *) sp, scans);
	}
	check_expressions(stmt, (Node *) plan->targetlist, scans);
	check_expressions(stmt, (Node *) plan->qual, scans);
	/* the clock only in temporal filters of nodes that filter rows */
	TemporalCheckPlanNode(plan, node_expressions(plan));

	switch (nodeTag(plan))
	{
		case T_SeqScan:
			{
				Index		scanrelid = ((Scan *) plan)->scanrelid;

				check_partition(rt_fetch(scanrelid, stmt->rtable)->relid);
				*scans = list_append_unique_int(*scans, (int) scanrelid);
				break;
			}
		case T_Result:
			check_expressions(stmt, ((Result *) plan)->resconstantqual, scans);
			break;
		case T_SubqueryScan:
			CompileCheckPlan(stmt, ((SubqueryScan *) plan)->subplan, scans);
			break;
		case T_CteScan:
			CompileCheckPlan(stmt, list_nth(stmt->subplans, ((CteScan *) plan)->ctePlanId - 1),
					   scans);
			break;
		case T_Sort:
		case T_IncrementalSort:
		case T_Material:
		case T_Hash:
		case T_Unique:
		case T_SetOp:
			break;
		case T_WindowAgg:
			check_expressions(stmt, ((WindowAgg *) plan)->startOffset, scans);
			check_expressions(stmt, ((WindowAgg *) plan)->endOffset, scans);
			break;
		case T_Limit:
			check_expressions(stmt, ((Limit *) plan)->limitCount, scans);
			check_expressions(stmt, ((Limit *) plan)->limitOffset, scans);
			break;
		case T_Agg:
			if (((Agg *) plan)->aggstrategy == AGG_MIXED ||
				((Agg *) plan)->groupingSets != NIL)
				CompileRefuse("GROUPING SETS, ROLLUP and CUBE", -1);
			if (((Agg *) plan)->aggsplit != AGGSPLIT_SIMPLE)
				CompileRefuse("partial aggregation", -1);
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				CompileCheckPlan(stmt, lfirst(lc), scans);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				CompileCheckPlan(stmt, lfirst(lc), scans);
			break;
		case T_NestLoop:
			if (((NestLoop *) plan)->nestParams != NIL)
			{
				/* LATERAL: a flat map of the outer side (flatmap.c) */
				check_expressions(stmt, (Node *) ((Join *) plan)->joinqual, scans);
				check_lateral(stmt, innerPlan(plan), nest_params((NestLoop *) plan, NULL));
				CompileCheckPlan(stmt, outerPlan(plan), scans);
				return;
			}
			/* FALLTHROUGH */
		case T_HashJoin:
		case T_MergeJoin:
			check_expressions(stmt, (Node *) ((Join *) plan)->joinqual, scans);
			if (IsA(plan, HashJoin))
				check_expressions(stmt, (Node *) ((HashJoin *) plan)->hashclauses, scans);
			if (IsA(plan, MergeJoin))
				check_expressions(stmt, (Node *) ((MergeJoin *) plan)->mergeclauses, scans);
			break;
		case T_FunctionScan:
			/* a constant (flatmap.c): reads no parameter */
			if (contains_exec_param((Node *) ((FunctionScan *) plan)->functions, NULL))
				CompileRefuse("a function in FROM whose arguments read a subquery", -1);
			check_expressions(stmt, (Node *) ((FunctionScan *) plan)->functions, scans);
			break;
		case T_ValuesScan:
			if (contains_exec_param((Node *) ((ValuesScan *) plan)->values_lists, NULL))
				CompileRefuse("VALUES that read a subquery", -1);
			check_expressions(stmt, (Node *) ((ValuesScan *) plan)->values_lists, scans);
			break;
		case T_ProjectSet:
			break;
		case T_RecursiveUnion:
			CompileCheckRecursion(stmt, (RecursiveUnion *) plan);
			break;
		case T_WorkTableScan:
			/* the rows of the last round (dataflow/recursion.c) */
			break;
		default:
			CompileRefuse("this query (its plan needs a node that cannot be maintained)", -1);
			break;
	}
	CompileCheckPlan(stmt, outerPlan(plan), scans);
	CompileCheckPlan(stmt, innerPlan(plan), scans);
}
