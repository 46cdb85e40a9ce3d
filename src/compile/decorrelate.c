/*-------------------------------------------------------------------------
 *
 * decorrelate.c
 *	  Correlated scalar subqueries become joins, before planning.
 *
 * Postgres's planner turns correlated EXISTS and IN into semi- and
 * anti-joins, but keeps a correlated scalar subquery as a SubPlan that it
 * re-runs for every outer row.  A dataflow cannot re-run a query per row,
 * so such a subquery is rewritten here, on the query tree, into a join
 * with the subquery grouped by its correlation, which the dataflow
 * maintains like any join and aggregate:
 *
 *	 SELECT a, (SELECT max(y) FROM u WHERE u.k = t.k AND u.z > 0) FROM t
 *
 * becomes
 *
 *	 SELECT a, CASE WHEN s.present THEN s.value
 *					ELSE (SELECT max(y) FROM u WHERE false AND u.z > 0) END
 *	 FROM t LEFT JOIN (SELECT u.k, max(y) AS value, true AS present
 *						FROM u WHERE u.z > 0 GROUP BY u.k) s ON t.k = s.k
 *
 * The grouped subquery has at most one row per key and the key is joined
 * with the equality it is grouped by, so every outer row meets at most
 * one row of it and the join keeps the outer query's rows as they were.
 * An outer row whose key has no rows in the subquery (or is NULL: the
 * equality is strict) gets what the subquery gives over no rows: for an
 * aggregate, its value over an empty input, computed by the same
 * subquery with its correlation replaced by false (uncorrelated, so an
 * initPlan run once).  A subquery without aggregates returns its one
 * row's value: the grouped subquery gives a row of its key
 * (coordinator.single_value()) and how many rows the key has, and the
 * outer row reads them with coordinator.subquery_value(value, rows),
 * which raises Postgres's "more than one row returned by a subquery used
 * as an expression" (21000) for a key with two rows.  As in Postgres, the
 * error belongs to the outer rows that read such a key, and only they
 * raise it: a data error of the view (errors.c), counted with their
 * weight, which comes and goes with them and with the key's rows.
 *
 * Rewritten: scalar subqueries in the select list, WHERE and HAVING of a
 * query, whose correlation is a conjunction of equalities in their WHERE
 * between an expression of the subquery and an expression of the outer
 * query, with the type's own equality; the subquery is a plain SELECT
 * (aggregates allowed; no GROUP BY, HAVING, DISTINCT, LIMIT or window
 * functions).  Anything else is left as it is, and the plan check refuses
 * the SubPlan the planner makes of it.
 *
 * LATERAL subqueries over tables correlated the same way: lateral.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_func.h"
#include "parser/parse_oper.h"
#include "rewrite/rewriteManip.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/typcache.h"

#include "coordinator/compile.h"
#include "decorrelate_internal.h"

typedef struct DecorrelateContext
{
	Query	   *query;			/* the outer query */
	List	   *joins;			/* JoinExprs to add, innermost first */
} DecorrelateContext;

/* Is every Var and aggregate in node one of the outer query (level 1)? */
static bool
only_outer_walker(Node *node, int *levelsup)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varlevelsup != *levelsup;
	if (IsA(node, Aggref) || IsA(node, GroupingFunc) || IsA(node, SubLink))
		return true;
	return expression_tree_walker(node, only_outer_walker, levelsup);
}

/* Does a query refer to a query level above it (a Var or an aggregate)? */
bool
DecorrelateRefersOutside(Node *node, void *context)
{
	int			depth = context == NULL ? 0 : *(int *) context;

	if (node == NULL)
		return false;
	if (IsA(node, Var))
		return ((Var *) node)->varlevelsup > depth;
	if (IsA(node, Aggref))
		return ((Aggref *) node)->agglevelsup > depth ||
			expression_tree_walker(node, DecorrelateRefersOutside, context);
	if (IsA(node, GroupingFunc))
		return ((GroupingFunc *) node)->agglevelsup > depth;
	if (IsA(node, Query))
	{
		int			inner = depth + 1;

		if (context == NULL)
			inner = 0;			/* the query itself */
		return query_tree_walker((Query *) node, DecorrelateRefersOutside, &inner, 0);
	}
	return expression_tree_walker(node, DecorrelateRefersOutside, context);
}

static bool
only_outer(Node *node)
{
	int			levelsup = 1;

	return contain_vars_of_level(node, 1) && !only_outer_walker(node, &levelsup);
}

/*
 * An equality between an expression of the subquery and one of the outer
 * query, with the type's own equality (so that GROUP BY groups by it);
 * records it in corr.
 */
static bool
correlation_equality(Node *clause, Correlation *corr)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;
	Node	   *inner;
	Node	   *outer;
	TypeCacheEntry *type;

	if (!IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return false;
	op = (OpExpr *) clause;
	left = linitial(op->args);
	right = lsecond(op->args);
	if (only_outer(right) && !contain_vars_of_level(left, 1))
	{
		inner = left;
		outer = right;
	}
	else if (only_outer(left) && !contain_vars_of_level(right, 1))
	{
		inner = right;
		outer = left;
	}
	else
		return false;
	if (checkExprHasSubLink(inner) || contain_aggs_of_level(inner, 0) ||
		contain_windowfuncs(inner) || exprType(inner) != exprType(outer))
		return false;
	type = lookup_type_cache(exprType(inner), TYPECACHE_EQ_OPR);
	if (type->eq_opr != op->opno || !op_strict(op->opno) ||
		(OidIsValid(exprCollation(inner)) && exprCollation(inner) != op->inputcollid))
		return false;

	corr->inner = lappend(corr->inner, inner);
	corr->outer = lappend(corr->outer, outer);
	corr->equalities = lappend(corr->equalities, copyObject(op));
	return true;
}

/*
 * Split the subquery's WHERE into correlation equalities and the rest;
 * false if the subquery is correlated in any other way.
 */
bool
DecorrelateSplit(Query *sub, Correlation *corr)
{
	ListCell   *lc;

	memset(corr, 0, sizeof(Correlation));
	foreach(lc, make_ands_implicit((Expr *) sub->jointree->quals))
	{
		Node	   *clause = lfirst(lc);

		if (!contain_vars_of_level(clause, 1))
			corr->rest = lappend(corr->rest, clause);
		else if (!correlation_equality(clause, corr))
			return false;
	}
	return corr->equalities != NIL;
}

/*
 * The correlation's equalities as join conditions of the outer query: the
 * subquery's side becomes column first_key + i of range-table entry
 * rtindex (the subquery, which now returns its keys), the outer side
 * moves down to the outer query's level.
 */
List *
DecorrelateJoinQuals(Correlation *corr, Index rtindex, AttrNumber first_key)
{
	List	   *quals = NIL;
	int			i = 0;
	ListCell   *lc;

	foreach(lc, corr->equalities)
	{
		OpExpr	   *eq = lfirst(lc);
		Node	   *inner = list_nth(corr->inner, i);
		Node	   *outer = copyObject(list_nth(corr->outer, i));
		Var		   *key;

		key = makeVar(rtindex, first_key + i, exprType(inner), exprTypmod(inner),
					  exprCollation(inner), 0);
		i++;
		IncrementVarSublevelsUp(outer, -1, 1);
		if (equal(linitial(eq->args), inner))
			eq->args = list_make2(key, outer);
		else
			eq->args = list_make2(outer, key);
		quals = lappend(quals, eq);
	}
	return quals;
}

/* A subquery of the shape this file rewrites (see the header). */
static bool
simple_subquery(Query *sub)
{
	int			ncolumns = 0;
	ListCell   *lc;

	if (sub->commandType != CMD_SELECT || sub->setOperations != NULL ||
		sub->jointree == NULL || sub->jointree->fromlist == NIL ||
		sub->groupClause != NIL || sub->groupingSets != NIL ||
		sub->havingQual != NULL || sub->distinctClause != NIL ||
		sub->limitCount != NULL || sub->limitOffset != NULL ||
		sub->hasWindowFuncs || sub->hasTargetSRFs || sub->rowMarks != NIL)
		return false;
	foreach(lc, sub->targetList)
	{
		if (!lfirst_node(TargetEntry, lc)->resjunk)
			ncolumns++;
	}
	return ncolumns == 1;
}

static TargetEntry *
value_entry(Query *sub)
{
	ListCell   *lc;

	foreach(lc, sub->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (!tle->resjunk)
			return tle;
	}
	elog(ERROR, "coordinator: a scalar subquery without a column");
	return NULL;
}

/* count(*), the number of rows of a group */
static Expr *
count_rows(void)
{
	Aggref	   *agg = makeNode(Aggref);

	agg->aggfnoid = F_COUNT_;
	agg->aggtype = INT8OID;
	agg->aggstar = true;
	agg->aggkind = AGGKIND_NORMAL;
	agg->aggsplit = AGGSPLIT_SIMPLE;
	agg->location = -1;
	return (Expr *) agg;
}

/*
 * coordinator.subquery_value(value, rows): what an outer row reads of a
 * subquery without aggregates, from its key's row in the grouped subquery.
 */
static Expr *
subquery_value(Var *value, Var *rows)
{
	Oid			argtypes[2] = {ANYELEMENTOID, INT8OID};
	Oid			fn = LookupFuncName(list_make2(makeString("coordinator"),
											   makeString("subquery_value")),
									2, argtypes, false);

	return (Expr *) makeFuncExpr(fn, value->vartype, list_make2(value, rows),
								 value->varcollid, value->varcollid,
								 COERCE_EXPLICIT_CALL);
}

/* coordinator.single_value(expr), an Aggref over the subquery's value */
static Expr *
single_value(Expr *value)
{
	Oid			argtype = ANYELEMENTOID;
	Oid			fn = LookupFuncName(list_make2(makeString("coordinator"),
											   makeString("single_value")),
									1, &argtype, false);
	Aggref	   *agg = makeNode(Aggref);

	agg->aggfnoid = fn;
	agg->aggtype = exprType((Node *) value);
	agg->aggcollid = exprCollation((Node *) value);
	agg->inputcollid = exprCollation((Node *) value);
	agg->aggargtypes = list_make1_oid(exprType((Node *) value));
	agg->args = list_make1(makeTargetEntry(value, 1, NULL, false));
	agg->aggkind = AGGKIND_NORMAL;
	agg->aggsplit = AGGSPLIT_SIMPLE;
	agg->location = -1;
	return (Expr *) agg;
}

/*
 * The subquery grouped by its correlation: the keys, then the value, then
 * a column that is true for every row; without aggregates, then the
 * number of rows of the key.
 */
static Query *
grouped_subquery(Query *sub, Correlation *corr, List **colnames)
{
	Query	   *g = copyObject(sub);
	TargetEntry *value = value_entry(g);
	List	   *tlist = NIL;
	Index		ref = 0;
	ListCell   *lc;

	g->jointree->quals = (Node *) make_ands_explicit(corr->rest);
	g->sortClause = NIL;
	g->groupClause = NIL;
	foreach(lc, corr->inner)
	{
		Expr	   *key = copyObject(lfirst(lc));
		SortGroupClause *grp = makeNode(SortGroupClause);
		char	   *name = psprintf("key%u", ++ref);
		TargetEntry *entry;
		Oid			sortop;

		get_sort_group_operators(exprType((Node *) key), false, true, false,
								 &sortop, &grp->eqop, NULL, &grp->hashable);
		grp->sortop = sortop;
		grp->tleSortGroupRef = ref;
		grp->nulls_first = false;
		g->groupClause = lappend(g->groupClause, grp);
		entry = makeTargetEntry(key, ref, name, false);
		entry->ressortgroupref = ref;
		tlist = lappend(tlist, entry);
		*colnames = lappend(*colnames, makeString(name));
	}
	tlist = lappend(tlist,
					makeTargetEntry(g->hasAggs ? value->expr : single_value(value->expr),
									ref + 1, "value", false));
	tlist = lappend(tlist,
					makeTargetEntry((Expr *) makeBoolConst(true, false),
									ref + 2, "present", false));
	*colnames = lappend(*colnames, makeString("value"));
	*colnames = lappend(*colnames, makeString("present"));
	if (!g->hasAggs)
	{
		tlist = lappend(tlist, makeTargetEntry(count_rows(), ref + 3, "rows", false));
		*colnames = lappend(*colnames, makeString("rows"));
	}
	g->targetList = tlist;
	g->hasAggs = true;
	return g;
}

/* The subquery over no rows: its correlation replaced by false. */
static SubLink *
empty_subquery(SubLink *sublink, Correlation *corr)
{
	SubLink    *empty = copyObject(sublink);
	Query	   *sub = (Query *) empty->subselect;

	sub->jointree->quals =
		(Node *) make_ands_explicit(lappend(list_copy(corr->rest),
											makeBoolConst(false, false)));
	return empty;
}

/*
 * Rewrite one scalar subquery of ctx->query, or return NULL to leave it.
 * The grouped subquery joins the outer query's FROM (the JoinExpr is made
 * by the caller, around the whole FROM); returns what replaces the
 * SubLink.
 */
static Node *
decorrelate_sublink(SubLink *sublink, DecorrelateContext *ctx)
{
	Query	   *query = ctx->query;
	Query	   *sub = (Query *) sublink->subselect;
	Correlation corr;
	Query	   *grouped;
	RangeTblEntry *rte;
	JoinExpr   *join;
	List	   *colnames = NIL;
	List	   *quals;
	TargetEntry *value;
	Var		   *v;
	CaseExpr   *c;
	CaseWhen   *when;
	Index		rtindex;
	int			nkeys;

	if (sublink->subLinkType != EXPR_SUBLINK || !simple_subquery(sub) ||
		!DecorrelateSplit(sub, &corr))
		return NULL;
	grouped = grouped_subquery(sub, &corr, &colnames);
	/* no other reference to the outer query, nor to queries above it */
	if (DecorrelateRefersOutside((Node *) grouped, NULL))
		return NULL;

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = grouped;
	rte->eref = makeAlias("coordinator_subquery", colnames);
	rte->inFromCl = true;
	query->rtable = lappend(query->rtable, rte);
	rtindex = list_length(query->rtable);

	nkeys = list_length(corr.equalities);
	quals = DecorrelateJoinQuals(&corr, rtindex, 1);

	join = makeNode(JoinExpr);
	join->jointype = JOIN_LEFT;
	join->rarg = (Node *) makeNode(RangeTblRef);
	((RangeTblRef *) join->rarg)->rtindex = rtindex;
	join->quals = (Node *) make_ands_explicit(quals);
	join->rtindex = 0;			/* no RTE: nothing refers to the join */
	ctx->joins = lappend(ctx->joins, join);

	/* no row: NULL, as the LEFT JOIN gives it */
	value = value_entry(sub);
	v = makeVar(rtindex, nkeys + 1, exprType((Node *) value->expr),
				exprTypmod((Node *) value->expr),
				exprCollation((Node *) value->expr), 0);
	if (!sub->hasAggs)
		return (Node *) subquery_value(v, makeVar(rtindex, nkeys + 3, INT8OID,
												  -1, InvalidOid, 0));

	/* with aggregates, no row is the subquery's value over no rows */
	when = makeNode(CaseWhen);
	when->expr = (Expr *) makeVar(rtindex, nkeys + 2, BOOLOID, -1, InvalidOid, 0);
	when->result = (Expr *) v;
	when->location = -1;
	c = makeNode(CaseExpr);
	c->casetype = v->vartype;
	c->casecollid = v->varcollid;
	c->args = list_make1(when);
	c->defresult = (Expr *) empty_subquery(sublink, &corr);
	c->location = sublink->location;
	return (Node *) c;
}

static Node *
decorrelate_mutator(Node *node, DecorrelateContext *ctx)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, Query))
		return node;			/* a subquery's own level: already done */
	if (IsA(node, SubLink))
	{
		Node	   *replaced = decorrelate_sublink((SubLink *) node, ctx);

		if (replaced != NULL)
			return replaced;
	}
	return expression_tree_mutator(node, decorrelate_mutator, (void *) ctx);
}

/*
 * Rewrite the correlated scalar subqueries of query's select list, WHERE
 * and HAVING into joins.  Its subqueries must have been prepared (and
 * their own subqueries rewritten) already.
 */
void
CompileDecorrelate(Query *query)
{
	DecorrelateContext ctx = {query, NIL};
	Node	   *from;
	ListCell   *lc;

	if (!query->hasSubLinks || query->setOperations != NULL ||
		query->jointree == NULL || query->jointree->fromlist == NIL)
		return;

	query->targetList = (List *)
		decorrelate_mutator((Node *) query->targetList, &ctx);
	query->havingQual = decorrelate_mutator(query->havingQual, &ctx);
	query->jointree->quals = decorrelate_mutator(query->jointree->quals, &ctx);
	if (ctx.joins == NIL)
		return;

	/* FROM becomes (FROM) LEFT JOIN s1 ON ... LEFT JOIN s2 ON ... */
	from = (Node *) makeFromExpr(query->jointree->fromlist, NULL);
	foreach(lc, ctx.joins)
	{
		JoinExpr   *join = lfirst(lc);

		join->larg = from;
		from = (Node *) join;
	}
	query->jointree = makeFromExpr(list_make1(from), query->jointree->quals);
}

/*
 * coordinator.single_value(anyelement): the value of a group's first row
 * (of its only row, where the value is read: subquery_value below raises
 * the error of a group of two rows).
 */
typedef struct SingleValueState
{
	bool		seen;
	bool		isnull;
	Datum		value;
} SingleValueState;

PG_FUNCTION_INFO_V1(coordinator_single_value_transfn);
Datum
coordinator_single_value_transfn(PG_FUNCTION_ARGS)
{
	MemoryContext aggcontext;
	SingleValueState *state;

	if (!AggCheckCallContext(fcinfo, &aggcontext))
		elog(ERROR, "coordinator_single_value_transfn called in non-aggregate context");
	if (!PG_ARGISNULL(0))
		PG_RETURN_POINTER(PG_GETARG_POINTER(0));

	state = MemoryContextAllocZero(aggcontext, sizeof(SingleValueState));
	state->seen = true;
	state->isnull = PG_ARGISNULL(1);
	if (!state->isnull)
	{
		Oid			type = get_fn_expr_argtype(fcinfo->flinfo, 1);
		int16		typlen;
		bool		typbyval;
		MemoryContext old;

		get_typlenbyval(type, &typlen, &typbyval);
		old = MemoryContextSwitchTo(aggcontext);
		state->value = datumCopy(PG_GETARG_DATUM(1), typbyval, typlen);
		MemoryContextSwitchTo(old);
	}
	PG_RETURN_POINTER(state);
}

PG_FUNCTION_INFO_V1(coordinator_single_value_finalfn);
Datum
coordinator_single_value_finalfn(PG_FUNCTION_ARGS)
{
	SingleValueState *state;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	state = (SingleValueState *) PG_GETARG_POINTER(0);
	if (state->isnull)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(state->value);
}

/*
 * coordinator.subquery_value(value anyelement, rows bigint): value, read
 * by an outer row from its key's row of a grouped subquery with that many
 * rows; more than one row is Postgres's error for a scalar subquery.  Not
 * strict: NULL rows (no row for the key) gives NULL.
 */
PG_FUNCTION_INFO_V1(coordinator_subquery_value);
Datum
coordinator_subquery_value(PG_FUNCTION_ARGS)
{
	if (!PG_ARGISNULL(1) && PG_GETARG_INT64(1) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("more than one row returned by a subquery used as an expression")));
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	PG_RETURN_DATUM(PG_GETARG_DATUM(0));
}
