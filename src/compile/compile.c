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
 * The query is rewritten (views expanded); a maintained view it reads is
 * either an input (scanned: its worker feeds the scan that view's changes,
 * so a stack of views costs each layer once) or, where the caller says
 * not, expanded into its own query (maintained from the same sources, at
 * the same times); then the query is planned by Postgres's planner with
 * index, bitmap, TID and parallel scans and memoization disabled: the
 * resulting plan of sequential scans, joins,
 * aggregates, sorts and limits is exactly the shape of a dataflow
 * (../dataflow/graph.c maps each node to an operator).  The planner does
 * the work a dataflow compiler would: it expands views, pulls up
 * subqueries, turns EXISTS and IN into semi- and anti-joins and resolves
 * every operator and function; correlated scalar subqueries, which it
 * would leave as SubPlans, are rewritten into joins first (decorrelate.c).
 * The plan is checked node by node (plancheck.c), so that what the
 * dataflow cannot maintain is refused at CREATE; the columns its joins
 * would arrange without reading them are dropped (prune.c); and it is
 * stored with nodeToString (for introspection).  A worker compiles the
 * view again when it builds the dataflow, from the query the view's rule
 * stores: resolved at CREATE (OIDs, whatever search_path says later) and
 * kept valid by Postgres's dependencies, but planned for the tables' columns
 * as they are now (a dropped or retyped column the view does not use).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/heap.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "catalog/pg_proc.h"
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "rewrite/rewriteHandler.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "rewrite/rewriteManip.h"
#include "tcop/tcopprot.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"

#include "coordinator/catalog.h"
#include "coordinator/compile.h"

static const char *compile_source_text = NULL;
static List *compile_inputs = NIL;	/* maintained views read as inputs */

/* errposition() for a parse location in the statement being compiled. */
int
CompileErrposition(int location)
{
	if (compile_source_text == NULL || location < 0)
		return 0;
	return errposition(pg_mbstrlen_with_len(compile_source_text, location) + 1);
}

void
CompileRefuse(const char *construct, int location)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("maintained views do not support %s", construct),
			 errhint("A materialized view without WITH (incremental) supports it, refreshed by REFRESH MATERIALIZED VIEW."),
			 CompileErrposition(location)));
}

typedef struct MutableContext
{
	Oid			funcid;
	int			location;
	const char *what;
	List	   *temporal;		/* temporal conditions (temporal.c) */
	bool		in_temporal;	/* walking the row side of one */
} MutableContext;

static bool
mutable_checker(Oid funcid, void *context)
{
	MutableContext *ctx = context;

	if (func_volatile(funcid) != PROVOLATILE_IMMUTABLE &&
		!(ctx->in_temporal && TemporalStableAllowed(funcid)))
	{
		((MutableContext *) context)->funcid = funcid;
		return true;
	}
	return false;
}

/*
 * json_to_record(set) and jsonb_to_record(set) in FROM are STABLE only
 * because the input functions of the columns they make may read settings
 * (DateStyle, TimeZone...): making columns whose input functions (their
 * elements', for arrays) are IMMUTABLE, they are immutable too.
 */
static bool
record_function_immutable(RangeTblFunction *rtfunc)
{
	FuncExpr   *func = (FuncExpr *) rtfunc->funcexpr;
	ListCell   *lc;

	if (func == NULL || !IsA(func, FuncExpr) ||
		(func->funcid != F_JSON_TO_RECORD && func->funcid != F_JSON_TO_RECORDSET &&
		 func->funcid != F_JSONB_TO_RECORD && func->funcid != F_JSONB_TO_RECORDSET) ||
		rtfunc->funccoltypes == NIL)
		return false;
	foreach(lc, rtfunc->funccoltypes)
	{
		Oid			type = lfirst_oid(lc);
		Oid			element = get_element_type(type);
		Oid			input;
		Oid			ioparam;

		getTypeInputInfo(OidIsValid(element) ? element : type, &input, &ioparam);
		if (func_volatile(input) != PROVOLATILE_IMMUTABLE)
			return false;
	}
	return true;
}

static bool
find_mutable_walker(Node *node, MutableContext *ctx)
{
	if (node == NULL)
		return false;
	if (list_member_ptr(ctx->temporal, node))
	{
		/* a temporal condition: the clock side is a clock term */
		TemporalCondition t;
		bool		in_temporal = ctx->in_temporal;
		bool		found;

		(void) TemporalMatch(node, &t);
		ctx->in_temporal = true;
		found = find_mutable_walker((Node *) t.row_side, ctx);
		ctx->in_temporal = in_temporal;
		return found;
	}
	if (TemporalIsClock(node))
		TemporalRefuse(node);
	/* now() - interval outside a temporal filter: report the clock */
	if (((IsA(node, OpExpr) && TemporalStableAllowed(((OpExpr *) node)->opfuncid)) ||
		 (IsA(node, FuncExpr) && TemporalStableAllowed(((FuncExpr *) node)->funcid))) &&
		TemporalContainsClock(node) && !ctx->in_temporal)
		return expression_tree_walker(node, find_mutable_walker, ctx);
	if (IsA(node, RangeTblFunction) &&
		record_function_immutable((RangeTblFunction *) node))
		return expression_tree_walker((Node *) ((FuncExpr *) ((RangeTblFunction *) node)->funcexpr)->args,
									  find_mutable_walker, ctx);
	if (check_functions_in_node(node, mutable_checker, ctx))
	{
		ctx->location = exprLocation(node);
		return true;
	}
	if (IsA(node, SQLValueFunction) || IsA(node, NextValueExpr) ||
		(IsA(node, Param) && ((Param *) node)->paramkind == PARAM_EXTERN))
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
	MutableContext ctx = {InvalidOid, -1, NULL, NIL, false};

	ctx.temporal = TemporalConditionsOf(query);
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
				 CompileErrposition(ctx.location)));
	}
	CompileRefuse(ctx.what, ctx.location);
}

/*
 * System columns are not part of the change stream: a decoded row has no
 * ctid, xmin, xmax, cmin or cmax of its own, and a view's rows would keep
 * the values of the transaction that hydrated it.  tableoid is refused
 * with them: the view names its tables, so it would be a constant.
 */
static bool
find_system_column_walker(Node *node, Var **found)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var) && ((Var *) node)->varattno < 0)
	{
		*found = (Var *) node;
		return true;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, find_system_column_walker,
								 found, 0);
	return expression_tree_walker(node, find_system_column_walker, found);
}

/*
 * Refuse a system column anywhere in query or its subqueries; with its
 * position if with_position (the query as written, not a view's expansion).
 */
static void
check_system_columns(Query *query, bool with_position)
{
	Var		   *var = NULL;

	if (!query_tree_walker(query, find_system_column_walker, &var, 0))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("maintained views do not support system column \"%s\"",
					NameStr(SystemAttributeDefinition(var->varattno)->attname)),
			 errdetail("System columns are not part of the changes a maintained view is computed from."),
			 errhint("A materialized view without WITH (incremental) supports it, refreshed by REFRESH MATERIALIZED VIEW."),
			 CompileErrposition(with_position ? var->location : -1)));
}

/* Refuse the clauses of one (sub)query that cannot be maintained. */
static void
check_clauses(Query *query)
{
	ListCell   *lc;

	if (query->commandType != CMD_SELECT)
		CompileRefuse("a statement other than SELECT", -1);
	if (query->hasModifyingCTE)
		CompileRefuse("a data-modifying statement in WITH", -1);
	if (query->rowMarks != NIL)
		CompileRefuse("FOR UPDATE/FOR SHARE", -1);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->tablesample != NULL)
			CompileRefuse("TABLESAMPLE", -1);
		if (rte->rtekind == RTE_TABLEFUNC)
			CompileRefuse("XMLTABLE", -1);
	}
}

/* A table the view reads: refuse anything logical decoding misses. */
static void
check_source(Oid relid, bool inh)
{
	Relation	rel = table_open(relid, AccessShareLock);

	switch (rel->rd_rel->relkind)
	{
		case RELKIND_RELATION:
			break;
		case RELKIND_MATVIEW:
			CompileRefuse("a materialized view without WITH (incremental) in FROM", -1);
			break;
		case RELKIND_PARTITIONED_TABLE:
			/* the planner scans its partitions, checked with the plan */
			break;
		case RELKIND_FOREIGN_TABLE:
			CompileRefuse("a foreign table", -1);
			break;
		default:
			CompileRefuse("this kind of relation", -1);
			break;
	}
	if (IsCatalogRelation(rel))
		CompileRefuse("a system catalog", -1);
	if (rel->rd_rel->relpersistence != RELPERSISTENCE_PERMANENT)
		CompileRefuse("an unlogged or temporary table", -1);
	if (inh && rel->rd_rel->relkind == RELKIND_RELATION && has_subclass(relid))
		CompileRefuse("a table with inheritance children", -1);
	table_close(rel, NoLock);
}

static bool prepare_walker(Node *node, void *context);

/*
 * The query of materialized view rel as its rule stores it (analyzed, not
 * rewritten), copied; NULL if it has none.
 */
Query *
CompileStoredQuery(Relation rel)
{
	Query	   *query = NULL;

	for (int i = 0; rel->rd_rules != NULL && i < rel->rd_rules->numLocks; i++)
	{
		RewriteRule *rule = rel->rd_rules->rules[i];

		if (rule->event == CMD_SELECT && list_length(rule->actions) == 1)
			query = copyObject(linitial_node(Query, rule->actions));
	}
	return query;
}


/* The query of a maintained view, rewritten, as a subquery to inline. */
static Query *
maintained_view_query(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	Query	   *query = CompileStoredQuery(rel);
	List	   *rewritten;

	table_close(rel, NoLock);
	if (query == NULL)
		elog(ERROR, "could not find the query of materialized view %u", relid);
	AcquireRewriteLocks(query, true, false);
	rewritten = QueryRewrite(query);
	if (list_length(rewritten) != 1)
		CompileRefuse("a query rewritten by rules into several queries", -1);
	return linitial_node(Query, rewritten);
}

/* The view reads with its owner's rights, as a view does: no checks inside. */
static bool
clear_permissions_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		((RangeTblEntry *) node)->requiredPerms = 0;
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, clear_permissions_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, clear_permissions_walker, context);
}

/*
 * Check one rewritten (sub)query and its tables, inline the maintained
 * views it reads, then do the same for its subqueries.
 */
static void
prepare_query(Query *query)
{
	int			rtindex = 0;
	ListCell   *lc;

	check_stack_depth();
	CompileExpandGroupingSets(query);
	check_clauses(query);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		rtindex++;
		if (rte->rtekind != RTE_RELATION ||
			!rangeTableEntry_used((Node *) query, rtindex, 0))
			continue;
		if (rte->relkind == RELKIND_MATVIEW && list_member_oid(compile_inputs, rte->relid))
			continue;
		if (rte->relkind == RELKIND_MATVIEW && CatalogHasView(rte->relid))
		{
			ExecCheckRTPerms(list_make1(rte), true);
			rte->subquery = maintained_view_query(rte->relid);
			/* its rows are those its own owner sees */
			CompileRowSecurity(rte->subquery, CatalogRelationOwner(rte->relid));
			clear_permissions_walker((Node *) rte->subquery, NULL);
			rte->rtekind = RTE_SUBQUERY;
			rte->relid = InvalidOid;
			rte->relkind = 0;
			rte->inh = false;
			rte->requiredPerms = 0;
			continue;
		}
		check_source(rte->relid, rte->inh);
	}
	query_tree_walker(query, prepare_walker, NULL, 0);
	CompileDecorrelateLateral(query);
	CompileDecorrelate(query);
}

static bool
prepare_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		prepare_query((Query *) node);
		return false;
	}
	return expression_tree_walker(node, prepare_walker, context);
}

/* Planner settings that keep plans in the shapes the dataflow maintains. */
static const char *const plan_settings[][2] = {
	{"enable_indexscan", "off"},
	{"enable_indexonlyscan", "off"},
	{"enable_bitmapscan", "off"},
	{"enable_tidscan", "off"},
	{"enable_memoize", "off"},
	{"enable_partitionwise_aggregate", "off"},
	{"max_parallel_workers_per_gather", "0"},
	{"jit", "off"},
};

static PlannedStmt *
plan_view(Query *query, const char *source_text)
{
	int			nestlevel = NewGUCNestLevel();
	PlannedStmt *plan;

	for (int i = 0; i < lengthof(plan_settings); i++)
		(void) set_config_option(plan_settings[i][0], plan_settings[i][1],
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	plan = pg_plan_query(query, source_text, 0, NULL);
	AtEOXact_GUC(true, nestlevel);
	return plan;
}

/*
 * Is range-table entry rti a child the planner added for a table (a
 * partition of a partitioned table)?  A UNION ALL's branches are children
 * of a subquery, not of a table.
 */
static bool
relation_parent(PlannedStmt *plan, Index *parent, Index rti)
{
	return parent[rti] != 0 &&
		rt_fetch(parent[rti], plan->rtable)->rtekind == RTE_RELATION;
}

/*
 * The tables of a plan: view->sources, those it scans (a partitioned
 * table's partitions, not the table), view->inputs, the maintained views it
 * scans, and view->tables, those the query names, inputs included (a
 * partitioned table, not its partitions, which come and go; also one with
 * no partition to scan).  The planner adds a partitioned table's
 * partitions to the range table as its appendRelations' children.
 */
static void
tables_of_plan(CompiledView *view, List *scans)
{
	PlannedStmt *plan = view->plan;
	int			nrtes = list_length(plan->rtable);
	Index	   *parent = palloc0((nrtes + 1) * sizeof(Index));
	ListCell   *lc;
	int			rti = 0;

	foreach(lc, plan->appendRelations)
	{
		AppendRelInfo *info = lfirst_node(AppendRelInfo, lc);

		parent[info->child_relid] = info->parent_relid;
	}
	foreach(lc, scans)
	{
		RangeTblEntry *rte = rt_fetch(lfirst_int(lc), plan->rtable);

		if (rte->relkind == RELKIND_MATVIEW)
			view->inputs = list_append_unique_oid(view->inputs, rte->relid);
		else
			view->sources = list_append_unique_oid(view->sources, rte->relid);
	}
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Index		root = ++rti;

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind == RELKIND_PARTITIONED_TABLE && !relation_parent(plan, parent, rti))
			view->tables = list_append_unique_oid(view->tables, rte->relid);
		else if (list_member_int(scans, rti))
		{
			while (relation_parent(plan, parent, root))
				root = parent[root];
			view->tables = list_append_unique_oid(view->tables,
												  rt_fetch(root, plan->rtable)->relid);
		}
	}
	pfree(parent);
}

/*
 * Compile an analyzed (not yet rewritten) SELECT.  source_text is the
 * statement the query's parse locations point into.  The maintained views
 * in inputs that the query reads are scanned as inputs; the others it
 * reads are expanded into their queries.  Returns a plan in
 * CurrentMemoryContext; ERRORs if the query cannot be maintained or, with
 * check_rights, the current user may not read its tables.
 */
CompiledView *
CompileView(Query *query, const char *source_text, bool check_rights,
			List *inputs)
{
	CompiledView *view = palloc0(sizeof(CompiledView));
	List	   *rewritten;
	List	   *scans = NIL;
	Query	   *q;

	compile_source_text = source_text;
	compile_inputs = inputs;

	/* refusals with positions, on the query as written */
	check_clauses(query);
	check_system_columns(query, true);
	check_immutable(query);

	rewritten = QueryRewrite(copyObject(query));
	if (list_length(rewritten) != 1)
		CompileRefuse("a query rewritten by rules into several queries", -1);
	q = linitial_node(Query, rewritten);
	prepare_query(q);
	/* the reader: the view's owner, who runs this (privileges.c), or its creator */
	CompileRowSecurity(q, GetUserId());
	check_system_columns(q, false);
	check_immutable(q);

	view->plan = plan_view(q, source_text);
	CompileCheckPlan(view->plan, view->plan->planTree, &scans);
	tables_of_plan(view, scans);
	CompilePruneColumns(view->plan);

	/* the creator must be able to read what the view shows */
	if (check_rights)
		ExecCheckRTPerms(view->plan->rtable, true);

	compile_source_text = NULL;
	compile_inputs = NIL;
	return view;
}

/* The catalog form of a plan: nodeToString of the PlannedStmt. */
char *
CompiledViewToString(CompiledView *view)
{
	return nodeToString(view->plan);
}

/* The plan from its catalog form. */
PlannedStmt *
CompiledPlanFromString(const char *text)
{
	PlannedStmt *plan = (PlannedStmt *) stringToNode(text);

	if (!IsA(plan, PlannedStmt))
		elog(ERROR, "invalid coordinator plan");
	return plan;
}
