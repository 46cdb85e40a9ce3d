/*-------------------------------------------------------------------------
 *
 * lateral.c
 *	  LATERAL subqueries over tables become joins, before planning.
 *
 * A LATERAL subquery over tables, correlated with its outer query by
 * equalities ANDed in its WHERE (as decorrelate.c requires of a scalar
 * subquery), becomes a join: the subquery without its correlation,
 * its keys added as columns, joined on the equalities.  One with ORDER BY
 * ... LIMIT (top-k per outer row) numbers its rows per key with
 * row_number() in that order and keeps those within the limit, so it is
 * the top-k per key that the dataflow maintains:
 *
 *	 SELECT t.id, x.v FROM t,
 *	   LATERAL (SELECT v FROM u WHERE u.k = t.k ORDER BY v DESC LIMIT 3) x
 *
 * becomes
 *
 *	 SELECT t.id, x.v FROM t JOIN
 *	   (SELECT v, key1 FROM (SELECT v, u.k AS key1, row_number() OVER
 *		  (PARTITION BY u.k ORDER BY v DESC) AS rn FROM u) n
 *		WHERE rn <= 3) x ON x.key1 = t.k
 *
 * (LEFT JOIN LATERAL ... ON c keeps its outer rows: ON c AND the keys).
 *
 * Other LATERAL subqueries are left as they are: the planner makes a
 * parameterized NestLoop of them, which the plan check accepts only when
 * its inner side reads no table (dataflow/flatmap.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/prep.h"
#include "parser/parse_coerce.h"
#include "parser/parse_oper.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "utils/fmgroids.h"

#include "coordinator/compile.h"
#include "decorrelate_internal.h"

/* A Var of column attno of range-table entry rtindex, typed as expr. */
static Var *
var_like(Index rtindex, AttrNumber attno, Node *expr)
{
	return makeVar(rtindex, attno, exprType(expr), exprTypmod(expr),
				   exprCollation(expr), 0);
}

/* left op right, pg_catalog's operator for int8 operands */
static Expr *
int8_operator(const char *op, Oid result, Expr *left, Expr *right)
{
	Oid			opno = OpernameGetOprid(list_make2(makeString("pg_catalog"),
												   makeString(pstrdup(op))),
										INT8OID, INT8OID);

	if (!OidIsValid(opno))
		elog(ERROR, "coordinator: no operator %s for bigint", op);
	return make_opclause(opno, result, false, left, right, InvalidOid, InvalidOid);
}

/* an int8 expression of expr, an argument of LIMIT or OFFSET */
static Expr *
as_int8(Node *expr)
{
	return (Expr *) coerce_to_target_type(NULL, expr, exprType(expr), INT8OID, -1,
										  COERCION_ASSIGNMENT, COERCE_IMPLICIT_CAST, -1);
}

/* A constant LIMIT or OFFSET argument, NULL for none (LIMIT ALL, NULL). */
static bool
limit_constant(Node *limit, Node **value)
{
	*value = NULL;
	if (limit == NULL)
		return true;
	limit = eval_const_expressions(NULL, limit);
	if (!IsA(limit, Const))
		return false;
	if (!((Const *) limit)->constisnull)
	{
		/* a negative one is Postgres's error at run time: leave it to the plan */
		if (DatumGetInt64(((Const *) limit)->constvalue) < 0)
			return false;
		*value = limit;
	}
	return true;
}

/*
 * The LATERAL subquery sub without its correlation: its columns, then the
 * keys (named into *colnames); with LIMIT, only the rows within it per key.
 * NULL if it still refers to the outer query, or its LIMIT or OFFSET is not
 * a constant.
 */
static Query *
keyed_subquery(Query *sub, Correlation *corr, List **colnames)
{
	Query	   *g = copyObject(sub);
	List	   *columns = NIL;
	List	   *junk = NIL;
	List	   *partition = NIL;
	Index		maxref = 0;
	AttrNumber	resno = 0;
	int			nkeys = 0;
	ListCell   *lc;
	WindowClause *wc;
	WindowFunc *rn;
	Query	   *o;
	RangeTblEntry *rte;
	RangeTblRef *ref;
	List	   *quals = NIL;
	Var		   *rnvar;
	Node	   *count;
	Node	   *offset;

	g->jointree->quals = (Node *) make_ands_explicit(corr->rest);
	if (DecorrelateRefersOutside((Node *) g, NULL) ||
		!limit_constant(g->limitCount, &count) ||
		!limit_constant(g->limitOffset, &offset))
		return NULL;
	foreach(lc, g->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		maxref = Max(maxref, tle->ressortgroupref);
		if (tle->resjunk)
			junk = lappend(junk, tle);
		else
			columns = lappend(columns, tle);
	}
	resno = list_length(columns);
	foreach(lc, corr->inner)
	{
		TargetEntry *entry;
		SortGroupClause *grp = makeNode(SortGroupClause);
		char	   *name = psprintf("key%d", ++nkeys);

		entry = makeTargetEntry(copyObject(lfirst(lc)), ++resno, name, false);
		entry->ressortgroupref = ++maxref;
		/* the window sorts by the keys: a type without an order stays LATERAL */
		get_sort_group_operators(exprType(lfirst(lc)), false, true, false,
								 &grp->sortop, &grp->eqop, NULL, &grp->hashable);
		if (!OidIsValid(grp->sortop))
			return NULL;
		grp->tleSortGroupRef = maxref;
		grp->nulls_first = false;
		partition = lappend(partition, grp);
		columns = lappend(columns, entry);
		*colnames = lappend(*colnames, makeString(name));
	}
	if (count == NULL && offset == NULL)
	{
		/* no LIMIT: the ORDER BY orders nothing */
		g->sortClause = NIL;
		g->targetList = columns;
		return g;
	}

	/* the rows of each key numbered in the ORDER BY's order */
	wc = makeNode(WindowClause);
	wc->partitionClause = partition;
	wc->orderClause = g->sortClause;
	wc->frameOptions = FRAMEOPTION_DEFAULTS;
	wc->winref = 1;
	rn = makeNode(WindowFunc);
	rn->winfnoid = F_ROW_NUMBER;
	rn->wintype = INT8OID;
	rn->winref = 1;
	rn->location = -1;
	columns = lappend(columns, makeTargetEntry((Expr *) rn, ++resno, "rn", false));
	foreach(lc, junk)
		lfirst_node(TargetEntry, lc)->resno = ++resno;
	g->targetList = list_concat(columns, junk);
	g->windowClause = list_make1(wc);
	g->hasWindowFuncs = true;
	g->sortClause = NIL;
	g->limitCount = NULL;
	g->limitOffset = NULL;

	/* ... of which those within OFFSET and LIMIT */
	o = makeNode(Query);
	o->commandType = CMD_SELECT;
	o->querySource = QSRC_ORIGINAL;
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = g;
	rte->inFromCl = true;
	rte->eref = makeAlias("numbered", NIL);
	resno = 0;
	foreach(lc, g->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			break;
		rte->eref->colnames = lappend(rte->eref->colnames,
									  makeString(pstrdup(tle->resname ? tle->resname : "?column?")));
		if (IsA(tle->expr, WindowFunc))
			continue;
		o->targetList = lappend(o->targetList,
								makeTargetEntry((Expr *) var_like(1, tle->resno, (Node *) tle->expr),
												++resno, tle->resname, false));
	}
	o->rtable = list_make1(rte);
	ref = makeNode(RangeTblRef);
	ref->rtindex = 1;
	rnvar = makeVar(1, list_length(rte->eref->colnames), INT8OID, -1, InvalidOid, 0);
	if (offset != NULL)
		quals = lappend(quals, int8_operator(">", BOOLOID, (Expr *) rnvar, as_int8(offset)));
	if (count != NULL)
		quals = lappend(quals,
						int8_operator("<=", BOOLOID, (Expr *) copyObject(rnvar),
									  offset == NULL ? as_int8(count) :
									  int8_operator("+", INT8OID, as_int8(offset), as_int8(count))));
	o->jointree = makeFromExpr(list_make1(ref), (Node *) make_ands_explicit(quals));
	return o;
}

/* The JoinExpr whose right side is range-table entry rtindex, or NULL. */
static JoinExpr *
join_of(Node *node, Index rtindex)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, FromExpr))
	{
		ListCell   *lc;

		foreach(lc, ((FromExpr *) node)->fromlist)
		{
			JoinExpr   *found = join_of(lfirst(lc), rtindex);

			if (found != NULL)
				return found;
		}
		return NULL;
	}
	if (IsA(node, JoinExpr))
	{
		JoinExpr   *join = (JoinExpr *) node;

		if (IsA(join->rarg, RangeTblRef) &&
			((RangeTblRef *) join->rarg)->rtindex == rtindex)
			return join;
		if (IsA(join->larg, RangeTblRef) &&
			((RangeTblRef *) join->larg)->rtindex == rtindex)
			return join;
		{
			JoinExpr   *found = join_of(join->larg, rtindex);

			return found != NULL ? found : join_of(join->rarg, rtindex);
		}
	}
	return NULL;
}

/* Is range-table entry rtindex an item of the FROM list itself? */
static bool
in_fromlist(FromExpr *from, Index rtindex)
{
	ListCell   *lc;

	foreach(lc, from->fromlist)
	{
		if (IsA(lfirst(lc), RangeTblRef) &&
			((RangeTblRef *) lfirst(lc))->rtindex == rtindex)
			return true;
	}
	return false;
}

typedef struct WholeRowContext
{
	Index		rtindex;
	int			sublevels_up;
} WholeRowContext;

/* Is there a whole-row Var of the entry (x, row_to_json(x), x IS NULL)? */
static bool
whole_row_walker(Node *node, WholeRowContext *ctx)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varno == ctx->rtindex &&
			((Var *) node)->varlevelsup == ctx->sublevels_up &&
			((Var *) node)->varattno == InvalidAttrNumber;
	if (IsA(node, Query))
	{
		bool		found;

		ctx->sublevels_up++;
		found = query_tree_walker((Query *) node, whole_row_walker, ctx, 0);
		ctx->sublevels_up--;
		return found;
	}
	return expression_tree_walker(node, whole_row_walker, ctx);
}

/*
 * Do the outer sides of the correlation read only tables of the join's
 * left side (else its ON clause could not hold the equalities)?
 */
static bool
correlation_in_scope(JoinExpr *join, Correlation *corr)
{
	Relids		left = get_relids_in_jointree(join->larg, false);
	ListCell   *lc;

	foreach(lc, corr->outer)
	{
		Node	   *outer = copyObject(lfirst(lc));

		IncrementVarSublevelsUp(outer, -1, 1);
		if (!bms_is_subset(pull_varnos(NULL, outer), left))
			return false;
	}
	return true;
}

/* Rewrite LATERAL subquery rtindex of query into a join, if it can be. */
static void
decorrelate_lateral(Query *query, Index rtindex)
{
	RangeTblEntry *rte = rt_fetch(rtindex, query->rtable);
	Query	   *sub = rte->subquery;
	Correlation corr;
	Query	   *keyed;
	JoinExpr   *join = NULL;
	List	   *colnames = NIL;
	List	   *quals;
	int			ncolumns = 0;
	ListCell   *lc;

	if (sub->commandType != CMD_SELECT || sub->setOperations != NULL ||
		sub->jointree == NULL || sub->jointree->fromlist == NIL ||
		sub->groupClause != NIL || sub->groupingSets != NIL || sub->hasAggs ||
		sub->havingQual != NULL || sub->distinctClause != NIL ||
		sub->hasWindowFuncs || sub->hasTargetSRFs || sub->rowMarks != NIL ||
		sub->limitOption != LIMIT_OPTION_COUNT ||
		!DecorrelateSplit(sub, &corr))
		return;
	/* where the subquery joins: a FROM item, or an inner or left join's right side */
	if (!in_fromlist(query->jointree, rtindex))
	{
		join = join_of((Node *) query->jointree, rtindex);
		if (join == NULL || !IsA(join->rarg, RangeTblRef) ||
			((RangeTblRef *) join->rarg)->rtindex != rtindex ||
			(join->jointype != JOIN_INNER && join->jointype != JOIN_LEFT) ||
			!correlation_in_scope(join, &corr))
			return;
	}
	/* its key columns would show in a whole-row reference */
	{
		WholeRowContext ctx = {rtindex, 0};

		if (query_tree_walker(query, whole_row_walker, &ctx, 0))
			return;
	}
	keyed = keyed_subquery(sub, &corr, &colnames);
	if (keyed == NULL)
		return;

	foreach(lc, sub->targetList)
	{
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			ncolumns++;
	}
	quals = DecorrelateJoinQuals(&corr, rtindex, ncolumns + 1);
	rte->subquery = keyed;
	rte->lateral = false;
	rte->eref->colnames = list_concat(rte->eref->colnames, colnames);
	if (join != NULL)
		join->quals = (Node *) make_ands_explicit(lappend(make_ands_implicit((Expr *) join->quals),
														  make_ands_explicit(quals)));
	else
		query->jointree->quals =
			(Node *) make_ands_explicit(lappend(make_ands_implicit((Expr *) query->jointree->quals),
												make_ands_explicit(quals)));
}

/*
 * Rewrite query's LATERAL subqueries correlated by equalities into joins
 * (see the header).  Its subqueries must have been prepared already.
 */
void
CompileDecorrelateLateral(Query *query)
{
	Index		rtindex = 0;
	ListCell   *lc;

	if (query->jointree == NULL)
		return;
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rtindex++;
		if (rte->rtekind == RTE_SUBQUERY && rte->lateral)
			decorrelate_lateral(query, rtindex);
	}
}
