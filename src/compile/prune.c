/*-------------------------------------------------------------------------
 *
 * prune.c
 *	  Drop the columns a join or an aggregate arranges but never reads.
 *
 * The planner gives a scan under a join or an aggregate its table's
 * physical target list (every column) whenever the node above does not ask
 * for a particular one: projecting costs a little, and the executor only
 * keeps the row for a moment.  A dataflow join keeps every row of both
 * inputs in its arrangements for as long as the view exists, and so does
 * an aggregate whose aggregates cannot be inverted (min, max, string_agg:
 * a group keeps its rows), so a column no operator reads costs memory per
 * row forever.  For each scan under a join or an Agg (through the Hash,
 * Sort or Material nodes the dataflow passes over), the target entries
 * that the node does not read become NULL constants of the same type: the
 * row keeps its shape (positions and types, which the node's expressions
 * refer to), and its MinimalTuple keeps only a null bit for them.  Rows
 * that differed only there become one arranged row with a multiplicity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "nodes/bitmapset.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "parser/parsetree.h"

#include "coordinator/compile.h"

typedef struct Refs
{
	int			varno;			/* OUTER_VAR or INNER_VAR */
	Bitmapset  *columns;		/* attnos read */
	bool		all;			/* a whole-row reference */
} Refs;

static bool
refs_walker(Node *node, Refs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		if (var->varno == refs->varno)
		{
			if (var->varattno > 0)
				refs->columns = bms_add_member(refs->columns, var->varattno);
			else
				refs->all = true;
		}
		return false;
	}
	return expression_tree_walker(node, refs_walker, refs);
}

static void
add_refs(Refs *refs, Node *node)
{
	(void) refs_walker(node, refs);
}

/*
 * The columns of the node under a pass-over node (Hash, Sort, Material)
 * that it reads to produce the columns of its own output that its parent
 * reads (above), to hash or to sort.
 */
static Refs
refs_below(Plan *plan, Refs above)
{
	Refs		refs = {OUTER_VAR, NULL, above.all};
	ListCell   *lc;

	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (above.all || bms_is_member(tle->resno, above.columns))
			add_refs(&refs, (Node *) tle->expr);
	}
	add_refs(&refs, (Node *) plan->qual);
	if (IsA(plan, Hash))
		add_refs(&refs, (Node *) ((Hash *) plan)->hashkeys);
	else if (IsA(plan, Sort))
	{
		Sort	   *sort = (Sort *) plan;

		for (int i = 0; i < sort->numCols; i++)
		{
			TargetEntry *tle = get_tle_by_resno(plan->targetlist, sort->sortColIdx[i]);

			if (tle != NULL)
				add_refs(&refs, (Node *) tle->expr);
		}
	}
	return refs;
}

static bool
is_scan(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
			return true;
		default:
			return false;
	}
}

/* Under one side of a join, or an Agg, which reads refs of it. */
static void
prune_side(Plan *plan, Refs refs)
{
	ListCell   *lc;

	while (plan != NULL && !refs.all &&
		   (IsA(plan, Hash) || IsA(plan, Sort) || IsA(plan, Material)))
	{
		refs = refs_below(plan, refs);
		plan = outerPlan(plan);
	}
	if (plan == NULL || refs.all || !is_scan(plan))
		return;
	foreach(lc, plan->targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		Node	   *expr = (Node *) tle->expr;

		if (bms_is_member(tle->resno, refs.columns) || IsA(expr, Const))
			continue;
		tle->expr = (Expr *) makeNullConst(exprType(expr), exprTypmod(expr),
										   exprCollation(expr));
	}
}

static void
prune_join(Join *join)
{
	Refs		sides[2] = {{OUTER_VAR, NULL, false}, {INNER_VAR, NULL, false}};

	for (int i = 0; i < 2; i++)
	{
		Refs	   *refs = &sides[i];
		ListCell   *lc;

		add_refs(refs, (Node *) join->plan.targetlist);
		add_refs(refs, (Node *) join->plan.qual);
		add_refs(refs, (Node *) join->joinqual);
		switch (nodeTag(join))
		{
			case T_HashJoin:
				add_refs(refs, (Node *) ((HashJoin *) join)->hashclauses);
				add_refs(refs, (Node *) ((HashJoin *) join)->hashkeys);
				break;
			case T_MergeJoin:
				add_refs(refs, (Node *) ((MergeJoin *) join)->mergeclauses);
				break;
			case T_NestLoop:
				foreach(lc, ((NestLoop *) join)->nestParams)
					add_refs(refs, (Node *) lfirst_node(NestLoopParam, lc)->paramval);
				break;
			default:
				return;
		}
	}
	prune_side(outerPlan(join), sides[0]);
	prune_side(innerPlan(join), sides[1]);
}

/*
 * Under an Agg, which reads its input in its expressions (the aggregates'
 * arguments, filters and orderings among them) and its grouping columns.
 * Grouping sets are left alone.
 */
static void
prune_agg(Agg *agg)
{
	Refs		refs = {OUTER_VAR, NULL, false};

	if (agg->groupingSets != NIL || agg->chain != NIL)
		return;
	add_refs(&refs, (Node *) agg->plan.targetlist);
	add_refs(&refs, (Node *) agg->plan.qual);
	for (int i = 0; i < agg->numCols; i++)
		refs.columns = bms_add_member(refs.columns, agg->grpColIdx[i]);
	prune_side(outerPlan(agg), refs);
}

static void
prune_plan(Plan *plan)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	check_stack_depth();
	if (IsA(plan, HashJoin) || IsA(plan, MergeJoin) || IsA(plan, NestLoop))
		prune_join((Join *) plan);
	else if (IsA(plan, Agg))
		prune_agg((Agg *) plan);
	prune_plan(outerPlan(plan));
	prune_plan(innerPlan(plan));
	switch (nodeTag(plan))
	{
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				prune_plan(lfirst(lc));
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				prune_plan(lfirst(lc));
			break;
		case T_SubqueryScan:
			prune_plan(((SubqueryScan *) plan)->subplan);
			break;
		default:
			break;
	}
}

/* Prune under every join and Agg of a planned view, its subplans' included. */
void
CompilePruneColumns(PlannedStmt *stmt)
{
	ListCell   *lc;

	prune_plan(stmt->planTree);
	foreach(lc, stmt->subplans)
		prune_plan(lfirst(lc));
}
