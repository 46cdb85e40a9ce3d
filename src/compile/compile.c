/*-------------------------------------------------------------------------
 *
 * compile.c
 *	  Compile the analyzed query of a maintained view into a dataflow plan.
 *
 * Runs in the user's backend at CREATE time, so that every refusal reaches
 * the user with ERRCODE_FEATURE_NOT_SUPPORTED, the construct's name and,
 * where the parser recorded one, its position.  Nothing is created before
 * compilation succeeds.
 *
 * This version maintains SELECT <expressions> FROM <table> WHERE <condition>
 * over one ordinary table.  Expressions are planned here (constants folded,
 * operator functions resolved) and stored with nodeToString, so the worker
 * evaluates exactly what was resolved at CREATE, whatever its search_path.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "coordinator/compile.h"

static const char *compile_source_text = NULL;

/* errposition() for a parse location in the statement being compiled. */
static int
compile_errposition(int location)
{
	if (compile_source_text == NULL || location < 0)
		return 0;
	return errposition(pg_mbstrlen_with_len(compile_source_text, location) + 1);
}

static void
refuse(const char *construct, int location)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("maintained views do not support %s", construct),
			 errhint("A materialized view without WITH (incremental) supports it, refreshed by REFRESH MATERIALIZED VIEW."),
			 compile_errposition(location)));
}

typedef struct MutableContext
{
	Oid			funcid;
	int			location;
	const char *what;
} MutableContext;

static bool
mutable_checker(Oid funcid, void *context)
{
	if (func_volatile(funcid) != PROVOLATILE_IMMUTABLE)
	{
		((MutableContext *) context)->funcid = funcid;
		return true;
	}
	return false;
}

static bool
find_mutable_walker(Node *node, MutableContext *ctx)
{
	if (node == NULL)
		return false;
	if (check_functions_in_node(node, mutable_checker, ctx))
	{
		ctx->location = exprLocation(node);
		return true;
	}
	if (IsA(node, SQLValueFunction) || IsA(node, NextValueExpr) ||
		IsA(node, Param))
	{
		ctx->what = IsA(node, Param) ? "parameters" :
			IsA(node, NextValueExpr) ? "sequence functions" :
			"CURRENT_DATE, CURRENT_USER and similar value functions";
		ctx->location = exprLocation(node);
		return true;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, find_mutable_walker, ctx, 0);
	return expression_tree_walker(node, find_mutable_walker, ctx);
}

/* Refuse functions that are not IMMUTABLE: their result changes over time. */
static void
check_immutable(Query *query)
{
	MutableContext ctx = {InvalidOid, -1, NULL};

	if (!query_tree_walker(query, find_mutable_walker, &ctx, 0))
		return;

	if (OidIsValid(ctx.funcid))
	{
		char		vol = func_volatile(ctx.funcid);

		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("maintained views do not support function %s",
						format_procedure(ctx.funcid)),
				 errdetail("Only IMMUTABLE functions can be maintained incrementally; %s is %s.",
						   format_procedure(ctx.funcid),
						   vol == PROVOLATILE_STABLE ? "STABLE" : "VOLATILE"),
				 compile_errposition(ctx.location)));
	}
	refuse(ctx.what, ctx.location);
}

/* Refuse every clause this version cannot maintain. */
static void
check_clauses(Query *query)
{
	if (query->commandType != CMD_SELECT)
		refuse("a statement other than SELECT", -1);
	if (query->hasModifyingCTE)
		refuse("a data-modifying statement in WITH", -1);
	if (query->rowMarks != NIL)
		refuse("FOR UPDATE/FOR SHARE", -1);
	if (query->cteList != NIL)
		refuse(query->hasRecursive ? "WITH RECURSIVE" : "WITH",
			   ((CommonTableExpr *) linitial(query->cteList))->location);
	if (query->setOperations != NULL)
		refuse("UNION, INTERSECT and EXCEPT", -1);
	if (query->hasAggs)
		refuse("aggregate functions", -1);
	if (query->groupingSets != NIL)
		refuse("GROUPING SETS", -1);
	if (query->groupClause != NIL)
		refuse("GROUP BY", -1);
	if (query->havingQual != NULL)
		refuse("HAVING", -1);
	if (query->hasWindowFuncs)
		refuse("window functions", -1);
	if (query->distinctClause != NIL)
		refuse(query->hasDistinctOn ? "DISTINCT ON" : "DISTINCT", -1);
	if (query->sortClause != NIL)
		refuse("ORDER BY", -1);
	if (query->limitCount != NULL)
		refuse("LIMIT", exprLocation(query->limitCount));
	if (query->limitOffset != NULL)
		refuse("OFFSET", exprLocation(query->limitOffset));
	if (query->hasSubLinks)
		refuse("subqueries", -1);
	if (query->hasTargetSRFs)
		refuse("set-returning functions in the select list", -1);
}

/* The one table the view reads: refuse anything logical decoding misses. */
static Oid
check_source(Query *query)
{
	RangeTblEntry *rte;
	Relation	rel;
	Oid			relid;
	ListCell   *lc;
	int			nrels = 0;

	foreach(lc, query->rtable)
	{
		rte = lfirst_node(RangeTblEntry, lc);
		switch (rte->rtekind)
		{
			case RTE_RELATION:
				nrels++;
				break;
			case RTE_SUBQUERY:
				refuse("a subquery in FROM", -1);
				break;
			case RTE_JOIN:
				refuse("JOIN", -1);
				break;
			case RTE_FUNCTION:
				refuse("a function in FROM", -1);
				break;
			case RTE_VALUES:
				refuse("VALUES", -1);
				break;
			case RTE_TABLEFUNC:
				refuse("XMLTABLE", -1);
				break;
			default:
				refuse("this kind of FROM item", -1);
				break;
		}
	}
	if (nrels == 0)
		refuse("a query without a table in FROM", -1);
	if (nrels > 1 || list_length(query->jointree->fromlist) != 1)
		refuse("a query over more than one table", -1);

	rte = linitial_node(RangeTblEntry, query->rtable);
	if (rte->tablesample != NULL)
		refuse("TABLESAMPLE", -1);

	relid = rte->relid;
	rel = table_open(relid, AccessShareLock);
	switch (rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
			break;
		case RELKIND_VIEW:
			refuse("a view in FROM", -1);
			break;
		case RELKIND_MATVIEW:
			refuse("a materialized view in FROM", -1);
			break;
		case RELKIND_PARTITIONED_TABLE:
			refuse("a partitioned table", -1);
			break;
		case RELKIND_FOREIGN_TABLE:
			refuse("a foreign table", -1);
			break;
		default:
			refuse("this kind of relation", -1);
			break;
	}
	if (IsCatalogRelation(rel))
		refuse("a system catalog", -1);
	if (rel->rd_rel->relpersistence != RELPERSISTENCE_PERMANENT)
		refuse("an unlogged or temporary table", -1);
	if (rel->rd_rel->relrowsecurity)
		refuse("a table with row-level security", -1);
	if (rte->inh && has_subclass(relid))
		refuse("a table with inheritance children", -1);
	table_close(rel, NoLock);

	return relid;
}

/*
 * Compile an analyzed (not yet rewritten) SELECT.  source_text is the
 * statement the query's parse locations point into.  Returns a plan in
 * CurrentMemoryContext; ERRORs if the query cannot be maintained or the
 * current user may not read its tables.
 */
CompiledView *
CompileView(Query *query, const char *source_text)
{
	CompiledView *view = palloc0(sizeof(CompiledView));
	List	   *rewritten;
	Query	   *q;
	ListCell   *lc;
	Node	   *quals;
	int			resno = 0;

	compile_source_text = source_text;

	check_clauses(query);
	check_source(query);
	check_immutable(query);

	rewritten = QueryRewrite(copyObject(query));
	if (list_length(rewritten) != 1)
		refuse("a query rewritten by rules into several queries", -1);
	q = linitial_node(Query, rewritten);
	check_clauses(q);
	view->source = check_source(q);

	/* the creator must be able to read what the view shows */
	ExecCheckRTPerms(q->rtable, true);

	foreach(lc, q->targetList)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);

		if (tle->resjunk)
			continue;
		view->targetlist = lappend(view->targetlist,
								   makeTargetEntry(expression_planner(tle->expr),
												   ++resno, tle->resname, false));
	}

	quals = q->jointree->quals;
	if (quals != NULL)
		view->quals = make_ands_implicit(expression_planner((Expr *) quals));

	compile_source_text = NULL;
	return view;
}

/* The catalog form of a plan: a List (source OID list, targetlist, quals). */
char *
CompiledViewToString(CompiledView *view)
{
	List	   *plan = list_make3(list_make1_oid(view->source),
								  view->targetlist,
								  view->quals);

	return nodeToString(plan);
}

CompiledView *
CompiledViewFromString(const char *text)
{
	List	   *plan = (List *) stringToNode(text);
	CompiledView *view = palloc0(sizeof(CompiledView));

	if (!IsA(plan, List) || list_length(plan) != 3)
		elog(ERROR, "invalid coordinator plan");
	view->source = linitial_oid((List *) linitial(plan));
	view->targetlist = (List *) lsecond(plan);
	view->quals = (List *) lthird(plan);
	return view;
}
