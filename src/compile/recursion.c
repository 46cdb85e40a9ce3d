/*-------------------------------------------------------------------------
 *
 * recursion.c
 *	  WITH RECURSIVE: the recursive term's plan, checked for what its
 *	  operator (../dataflow/recursion.c) iterates within a tick.
 *
 * The recursive term reads the work table (the rows of the last round)
 * once, in FROM (Postgres refuses it elsewhere).  Every node between that
 * scan and the term's root is stepped once per round, so it must be linear
 * in the work table's rows: a map, a union, a flat map, or a join whose
 * other side is computed once per tick.  Aggregates, DISTINCT, windows,
 * LIMIT and subqueries in expressions there are refused.
 *
 * Under UNION (a set) a row that loses a derivation is deleted, then
 * rederived if it still has one; that needs every other input of those
 * nodes to move the term's output one way only: an inner or semi-join's
 * other side adds rows as it grows, an anti-join's removes them.  An outer
 * join's other side does both (a match replaces a NULL-extended row), so
 * it is refused under UNION; under UNION ALL (a bag, counted) any join is.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/nodeFuncs.h"

#include "coordinator/compile.h"

typedef struct RecursionCheck
{
	PlannedStmt *stmt;
	int			wtParam;		/* of the work table the term reads */
	bool		distinct;		/* UNION */
} RecursionCheck;

static bool reads_work_table(RecursionCheck *rc, Plan *plan);

/* A subquery or the clock in an expression of a node that is iterated. */
static bool
iterated_expression_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
		CompileRefuse("a subquery in an expression of WITH RECURSIVE's recursive term that reads the recursive query's rows", -1);
	if (TemporalIsClock(node))
		CompileRefuse("now() in WITH RECURSIVE's recursive term", -1);
	return expression_tree_walker(node, iterated_expression_walker, context);
}

static void
check_iterated_expressions(Plan *plan)
{
	(void) iterated_expression_walker((Node *) plan->targetlist, NULL);
	(void) iterated_expression_walker((Node *) plan->qual, NULL);
	if (IsA(plan, Result))
		(void) iterated_expression_walker(((Result *) plan)->resconstantqual, NULL);
	if (IsA(plan, NestLoop) || IsA(plan, HashJoin) || IsA(plan, MergeJoin))
		(void) iterated_expression_walker((Node *) ((Join *) plan)->joinqual, NULL);
	if (plan->initPlan != NIL)
		CompileRefuse("a subquery in an expression of WITH RECURSIVE's recursive term that reads the recursive query's rows", -1);
}

/* A join, one of whose sides reads the work table. */
static void
check_join(RecursionCheck *rc, Join *join, bool outer_reads, bool inner_reads)
{
	JoinType	type = join->jointype;

	if (outer_reads && inner_reads)
		CompileRefuse("a recursive query read twice in its recursive term", -1);
	switch (type)
	{
		case JOIN_INNER:
			return;
		case JOIN_SEMI:
		case JOIN_ANTI:
			if (outer_reads)
				return;
			break;
		case JOIN_LEFT:
		case JOIN_RIGHT:
			if (outer_reads != (type == JOIN_LEFT))
				break;
			if (rc->distinct)
				CompileRefuse("an outer join in the recursive term of WITH RECURSIVE ... UNION (use UNION ALL, or an inner join)", -1);
			return;
		default:
			break;
	}
	CompileRefuse("this join in WITH RECURSIVE's recursive term", -1);
}

/*
 * Does plan read the work table?  A node that does is checked to be one
 * the recursion's operator can iterate.
 */
static bool
reads_work_table(RecursionCheck *rc, Plan *plan)
{
	bool		reads = false;
	ListCell   *lc;

	if (plan == NULL)
		return false;
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_WorkTableScan:
			reads = ((WorkTableScan *) plan)->wtParam == rc->wtParam;
			break;
		case T_SubqueryScan:
			reads = reads_work_table(rc, ((SubqueryScan *) plan)->subplan);
			break;
		case T_CteScan:
			if (reads_work_table(rc, list_nth(rc->stmt->subplans,
											  ((CteScan *) plan)->ctePlanId - 1)))
				CompileRefuse("a WITH query inside WITH RECURSIVE's recursive term that reads the recursive query", -1);
			return false;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				reads |= reads_work_table(rc, lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				reads |= reads_work_table(rc, lfirst(lc));
			break;
		case T_NestLoop:
		case T_HashJoin:
		case T_MergeJoin:
			{
				bool		outer = reads_work_table(rc, outerPlan(plan));
				bool		inner = reads_work_table(rc, innerPlan(plan));

				/* LATERAL over functions: a flat map of its outer side */
				if (IsA(plan, NestLoop) && ((NestLoop *) plan)->nestParams != NIL)
				{
					if (inner)
						CompileRefuse("this join in WITH RECURSIVE's recursive term", -1);
				}
				else if (outer || inner)
					check_join(rc, (Join *) plan, outer, inner);
				reads = outer || inner;
				break;
			}
		default:
			reads = reads_work_table(rc, outerPlan(plan)) |
				reads_work_table(rc, innerPlan(plan));
			break;
	}
	if (!reads)
		return false;

	switch (nodeTag(plan))
	{
		case T_WorkTableScan:
		case T_Result:
		case T_SubqueryScan:
		case T_Append:
		case T_MergeAppend:
		case T_Sort:
		case T_IncrementalSort:
		case T_Material:
		case T_Hash:
		case T_ProjectSet:
		case T_NestLoop:
		case T_HashJoin:
		case T_MergeJoin:
			break;
		case T_Agg:
			CompileRefuse("an aggregate or GROUP BY in WITH RECURSIVE's recursive term", -1);
			break;
		case T_Unique:
		case T_SetOp:
			CompileRefuse("DISTINCT, INTERSECT or EXCEPT in WITH RECURSIVE's recursive term", -1);
			break;
		case T_WindowAgg:
			CompileRefuse("a window function in WITH RECURSIVE's recursive term", -1);
			break;
		case T_Limit:
			CompileRefuse("LIMIT in WITH RECURSIVE's recursive term", -1);
			break;
		default:
			CompileRefuse("this recursive term (its plan needs a node that cannot be iterated)", -1);
			break;
	}
	check_iterated_expressions(plan);
	return true;
}

/* Check the recursive term of a RecursiveUnion (the rest is checked as usual). */
void
CompileCheckRecursion(PlannedStmt *stmt, RecursiveUnion *ru)
{
	RecursionCheck rc;

	rc.stmt = stmt;
	rc.wtParam = ru->wtParam;
	rc.distinct = ru->numCols > 0;
	if (!reads_work_table(&rc, innerPlan(ru)))
		elog(ERROR, "coordinator: a recursive term that does not read its work table");
}
