/*-------------------------------------------------------------------------
 *
 * groupingsets.c
 *	  GROUPING SETS, ROLLUP and CUBE as a UNION ALL of plain GROUP BYs.
 *
 * A query grouped by several sets is, by definition, the union of the
 * same query grouped by each set alone, where a grouping expression that
 * is not in the set reads as NULL outside the aggregates' arguments and
 * GROUPING(...) is the constant bit mask of the arguments not in the set.
 * Rewritten so, before planning, each set is an ordinary aggregate that
 * the dataflow maintains as usual (its groups' states, at the cost of the
 * groups a change touches), and the planner never makes the grouping-sets
 * Agg node, whose phases and chains have no operator of their own.
 *
 *	 SELECT a, b, sum(x), GROUPING(a, b) FROM t GROUP BY ROLLUP (a, b)
 *	 =>  SELECT a, b, sum(x), 0 FROM t GROUP BY a, b
 *		 UNION ALL SELECT a, NULL, sum(x), 1 FROM t GROUP BY a
 *		 UNION ALL SELECT NULL, NULL, sum(x), 3 FROM t HAVING true
 *
 * (the empty set with no aggregate keeps its one row with HAVING true).
 * ORDER BY moves to the union (it matters below the top level, in
 * ARRAY(SELECT ...) say); it must name output columns.  DISTINCT, LIMIT,
 * OFFSET, window functions and subqueries in the select list or HAVING
 * (which could read a grouping column from inside) at the same level are
 * refused.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_agg.h"
#include "rewrite/rewriteManip.h"

#include "coordinator/compile.h"

/* What the expressions of one set's query become. */
typedef struct SetContext
{
	List	   *kept;			/* grouping expressions in the set */
	List	   *nulled;			/* grouping expressions not in it */
	List	   *set;			/* its sortgrouprefs */
} SetContext;

static Node *
set_mutator(Node *node, SetContext *ctx)
{
	ListCell   *lc;

	if (node == NULL)
		return NULL;
	/* aggregates read the rows, not the grouped values */
	if (IsA(node, Aggref))
		return (Node *) copyObject(node);
	if (IsA(node, GroupingFunc))
	{
		GroupingFunc *gf = (GroupingFunc *) node;
		int32		mask = 0;

		if (gf->agglevelsup != 0)
			return (Node *) copyObject(node);
		foreach(lc, gf->refs)
			mask = (mask << 1) | (list_member_int(ctx->set, lfirst_int(lc)) ? 0 : 1);
		return (Node *) makeConst(INT4OID, -1, InvalidOid, sizeof(int32),
								  Int32GetDatum(mask), false, true);
	}
	foreach(lc, ctx->kept)
	{
		if (equal(node, lfirst(lc)))
			return (Node *) copyObject(node);
	}
	foreach(lc, ctx->nulled)
	{
		if (equal(node, lfirst(lc)))
			return (Node *) makeNullConst(exprType(node), exprTypmod(node),
										  exprCollation(node));
	}
	return expression_tree_mutator(node, set_mutator, (void *) ctx);
}

/* The query of one grouping set (a list of sortgrouprefs). */
static Query *
set_query(Query *query, List *set)
{
	Query	   *q = copyObject(query);
	SetContext	ctx = {NIL, NIL, set};
	List	   *group = NIL;
	ListCell   *lc;

	foreach(lc, query->groupClause)
	{
		SortGroupClause *gc = lfirst_node(SortGroupClause, lc);
		Node	   *expr = (Node *) get_sortgroupclause_expr(gc, query->targetList);

		if (list_member_int(set, (int) gc->tleSortGroupRef))
		{
			ctx.kept = lappend(ctx.kept, expr);
			group = lappend(group, copyObject(gc));
		}
		else
			ctx.nulled = lappend(ctx.nulled, expr);
	}
	q->groupingSets = NIL;
	q->groupDistinct = false;
	q->groupClause = group;
	q->sortClause = NIL;
	q->targetList = (List *) set_mutator((Node *) q->targetList, &ctx);
	q->havingQual = set_mutator(q->havingQual, &ctx);
	/* the empty set is one group, also over no rows */
	if (group == NIL && !q->hasAggs && q->havingQual == NULL)
		q->havingQual = (Node *) makeBoolConst(true, false);
	/* one level deeper, under the union */
	IncrementVarSublevelsUp((Node *) q, 1, 1);
	return q;
}

static void
refuse_with(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("maintained views do not support GROUPING SETS, ROLLUP or CUBE with %s at the same query level", what),
			 errhint("Group by the grouping sets in a subquery, and use its rows in the outer query.")));
}

/*
 * If query groups by grouping sets, make it the UNION ALL of a query per
 * set, in place.
 */
void
CompileExpandGroupingSets(Query *query)
{
	List	   *sets;
	Query	   *u;
	Node	   *tree = NULL;
	List	   *types = NIL;
	List	   *typmods = NIL;
	List	   *collations = NIL;
	List	   *names = NIL;
	List	   *tlist = NIL;
	ListCell   *lc;
	int			rti = 0;

	if (query->groupingSets == NIL)
		return;
	if (query->distinctClause != NIL)
		refuse_with("DISTINCT");
	if (query->limitCount != NULL || query->limitOffset != NULL)
		refuse_with("LIMIT or OFFSET");
	if (query->hasWindowFuncs)
		refuse_with("window functions");
	if (checkExprHasSubLink((Node *) query->targetList) ||
		checkExprHasSubLink(query->havingQual))
		refuse_with("a subquery in the select list or HAVING");
	foreach(lc, query->sortClause)
	{
		TargetEntry *tle = get_sortgroupclause_tle(lfirst_node(SortGroupClause, lc),
												   query->targetList);

		if (tle->resjunk)
			refuse_with("ORDER BY an expression that is not an output column");
	}
	sets = expand_grouping_sets(query->groupingSets, query->groupDistinct, 4096);
	if (sets == NIL)
		ereport(ERROR,
				(errcode(ERRCODE_STATEMENT_TOO_COMPLEX),
				 errmsg("too many grouping sets present (maximum 4096)")));

	foreach(lc, query->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		types = lappend_oid(types, exprType((Node *) tle->expr));
		typmods = lappend_int(typmods, exprTypmod((Node *) tle->expr));
		collations = lappend_oid(collations, exprCollation((Node *) tle->expr));
		names = lappend(names, makeString(pstrdup(tle->resname ? tle->resname : "?column?")));
		tlist = lappend(tlist,
						makeTargetEntry((Expr *) makeVar(1, tle->resno,
														 exprType((Node *) tle->expr),
														 exprTypmod((Node *) tle->expr),
														 exprCollation((Node *) tle->expr), 0),
										tle->resno, tle->resname ? pstrdup(tle->resname) : NULL,
										false));
		/* ORDER BY goes to the union: the same references */
		if (tle->ressortgroupref != 0 &&
			get_sortgroupref_clause_noerr(tle->ressortgroupref, query->sortClause) != NULL)
			((TargetEntry *) llast(tlist))->ressortgroupref = tle->ressortgroupref;
	}

	u = makeNode(Query);
	u->commandType = CMD_SELECT;
	u->querySource = query->querySource;
	u->canSetTag = query->canSetTag;
	u->stmt_location = query->stmt_location;
	u->stmt_len = query->stmt_len;
	u->jointree = makeFromExpr(NIL, NULL);
	u->targetList = tlist;
	u->sortClause = copyObject(query->sortClause);
	foreach(lc, sets)
	{
		RangeTblEntry *rte = makeNode(RangeTblEntry);
		RangeTblRef *ref = makeNode(RangeTblRef);

		rte->rtekind = RTE_SUBQUERY;
		rte->subquery = set_query(query, (List *) lfirst(lc));
		rte->alias = makeAlias("grouping_set", NIL);
		rte->eref = makeAlias("grouping_set", copyObject(names));
		rte->inh = false;
		rte->inFromCl = false;
		u->rtable = lappend(u->rtable, rte);
		ref->rtindex = ++rti;
		if (tree == NULL)
			tree = (Node *) ref;
		else
		{
			SetOperationStmt *op = makeNode(SetOperationStmt);

			op->op = SETOP_UNION;
			op->all = true;
			op->larg = tree;
			op->rarg = (Node *) ref;
			op->colTypes = types;
			op->colTypmods = typmods;
			op->colCollations = collations;
			tree = (Node *) op;
		}
	}
	if (IsA(tree, RangeTblRef))
	{
		/* one set: a subquery of it */
		((RangeTblEntry *) linitial(u->rtable))->inFromCl = true;
		u->jointree = makeFromExpr(list_make1(tree), NULL);
		u->setOperations = NULL;
	}
	else
		u->setOperations = tree;
	memcpy(query, u, sizeof(Query));
}
