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
 * The query is rewritten (views expanded), maintained views it reads are
 * expanded into their own queries (so a view over a maintained view is
 * maintained from the same sources, at the same times), and then planned
 * by Postgres's planner with index, bitmap, TID and parallel scans and
 * memoization disabled: the resulting plan of sequential scans, joins,
 * aggregates, sorts and limits is exactly the shape of a dataflow
 * (../dataflow/graph.c maps each node to an operator).  The planner does
 * the work a dataflow compiler would: it expands views, pulls up
 * subqueries, turns EXISTS and IN into semi- and anti-joins and resolves
 * every operator and function; correlated scalar subqueries, which it
 * would leave as SubPlans, are rewritten into joins first (decorrelate.c).
 * The plan is checked node by node here, so that what the dataflow cannot
 * maintain is refused at CREATE; the columns its joins would arrange
 * without reading them are dropped (prune.c); and it is stored with
 * nodeToString (for introspection).  A worker compiles the
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
			 compile_errposition(with_position ? var->location : -1)));
}

/* Refuse the clauses of one (sub)query that cannot be maintained. */
static void
check_clauses(Query *query)
{
	ListCell   *lc;

	if (query->commandType != CMD_SELECT)
		refuse("a statement other than SELECT", -1);
	if (query->hasModifyingCTE)
		refuse("a data-modifying statement in WITH", -1);
	if (query->rowMarks != NIL)
		refuse("FOR UPDATE/FOR SHARE", -1);
	if (query->hasRecursive)
		refuse("WITH RECURSIVE",
			   ((CommonTableExpr *) linitial(query->cteList))->location);
	foreach(lc, query->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);

		if (rte->rtekind == RTE_RELATION && rte->tablesample != NULL)
			refuse("TABLESAMPLE", -1);
		if (rte->rtekind == RTE_TABLEFUNC)
			refuse("XMLTABLE", -1);
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
			refuse("a materialized view without WITH (incremental) in FROM", -1);
			break;
		case RELKIND_PARTITIONED_TABLE:
			/* the planner scans its partitions, checked with the plan */
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
	if (inh && rel->rd_rel->relkind == RELKIND_RELATION && has_subclass(relid))
		refuse("a table with inheritance children", -1);
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
		refuse("a query rewritten by rules into several queries", -1);
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
		if (rte->relkind == RELKIND_MATVIEW && CatalogHasView(rte->relid))
		{
			ExecCheckRTPerms(list_make1(rte), true);
			rte->subquery = maintained_view_query(rte->relid);
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

static void check_plan(PlannedStmt *stmt, Plan *plan, List **scans);
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
			refuse("a correlated subquery that cannot be rewritten as a join (correlate it by equalities ANDed in its WHERE, without GROUP BY, HAVING, DISTINCT or LIMIT)", -1);
		if (sp->subLinkType == MULTIEXPR_SUBLINK || sp->subLinkType == CTE_SUBLINK)
			refuse("this subquery", -1);
		check_plan(context->stmt, list_nth(context->stmt->subplans, sp->plan_id - 1),
				   context->scans);
	}
	else if (IsA(node, AlternativeSubPlan))
		refuse("this subquery", -1);
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
		refuse("a subquery inside LATERAL", -1);

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
				refuse("GROUPING SETS inside LATERAL", -1);
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
			refuse("a LATERAL subquery over a table unless it is correlated by equalities in its WHERE, without aggregates, GROUP BY or DISTINCT, and with a constant LIMIT", -1);
			break;
		default:
			refuse("this LATERAL subquery (its plan needs a node that cannot be maintained)", -1);
			break;
	}
	if (contains_exec_param((Node *) plan->targetlist, params) ||
		contains_exec_param((Node *) plan->qual, params) ||
		contains_exec_param(node_expressions(plan), params))
		refuse("LATERAL that reads a subquery", -1);
	foreach(lc, children)
		check_lateral(stmt, lfirst(lc), params);
	check_lateral(stmt, outerPlan(plan), params);
	check_lateral(stmt, innerPlan(plan), params);
}

/*
 * Check that every node of the plan has an operator.  Collects the
 * range-table indexes of the tables the plan scans into *scans.
 */
static void
check_plan(PlannedStmt *stmt, Plan *plan, List **scans)
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
			check_plan(stmt, ((SubqueryScan *) plan)->subplan, scans);
			break;
		case T_CteScan:
			check_plan(stmt, list_nth(stmt->subplans, ((CteScan *) plan)->ctePlanId - 1),
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
				refuse("GROUPING SETS, ROLLUP and CUBE", -1);
			if (((Agg *) plan)->aggsplit != AGGSPLIT_SIMPLE)
				refuse("partial aggregation", -1);
			break;
		case T_Append:
			foreach(lc, ((Append *) plan)->appendplans)
				check_plan(stmt, lfirst(lc), scans);
			break;
		case T_MergeAppend:
			foreach(lc, ((MergeAppend *) plan)->mergeplans)
				check_plan(stmt, lfirst(lc), scans);
			break;
		case T_NestLoop:
			if (((NestLoop *) plan)->nestParams != NIL)
			{
				/* LATERAL: a flat map of the outer side (flatmap.c) */
				check_expressions(stmt, (Node *) ((Join *) plan)->joinqual, scans);
				check_lateral(stmt, innerPlan(plan), nest_params((NestLoop *) plan, NULL));
				check_plan(stmt, outerPlan(plan), scans);
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
				refuse("a function in FROM whose arguments read a subquery", -1);
			check_expressions(stmt, (Node *) ((FunctionScan *) plan)->functions, scans);
			break;
		case T_ValuesScan:
			if (contains_exec_param((Node *) ((ValuesScan *) plan)->values_lists, NULL))
				refuse("VALUES that read a subquery", -1);
			check_expressions(stmt, (Node *) ((ValuesScan *) plan)->values_lists, scans);
			break;
		case T_ProjectSet:
			break;
		case T_RecursiveUnion:
		case T_WorkTableScan:
			refuse("WITH RECURSIVE", -1);
			break;
		default:
			refuse("this query (its plan needs a node that cannot be maintained)", -1);
			break;
	}
	check_plan(stmt, outerPlan(plan), scans);
	check_plan(stmt, innerPlan(plan), scans);
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
 * The tables of a plan: view->sources, those it scans (a partitioned
 * table's partitions, not the table), and view->tables, those the query
 * names (a partitioned table, not its partitions, which come and go; also
 * one with no partition to scan).  The planner adds a partitioned table's
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
		view->sources = list_append_unique_oid(view->sources,
											   rt_fetch(lfirst_int(lc), plan->rtable)->relid);
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		Index		root = ++rti;

		if (rte->rtekind != RTE_RELATION)
			continue;
		if (rte->relkind == RELKIND_PARTITIONED_TABLE && parent[rti] == 0)
			view->tables = list_append_unique_oid(view->tables, rte->relid);
		else if (list_member_int(scans, rti))
		{
			while (parent[root] != 0)
				root = parent[root];
			view->tables = list_append_unique_oid(view->tables,
												  rt_fetch(root, plan->rtable)->relid);
		}
	}
	pfree(parent);
}

/*
 * Compile an analyzed (not yet rewritten) SELECT.  source_text is the
 * statement the query's parse locations point into.  Returns a plan in
 * CurrentMemoryContext; ERRORs if the query cannot be maintained or, with
 * check_rights, the current user may not read its tables.
 */
CompiledView *
CompileView(Query *query, const char *source_text, bool check_rights)
{
	CompiledView *view = palloc0(sizeof(CompiledView));
	List	   *rewritten;
	List	   *scans = NIL;
	Query	   *q;

	compile_source_text = source_text;

	/* refusals with positions, on the query as written */
	check_clauses(query);
	check_system_columns(query, true);
	check_immutable(query);

	rewritten = QueryRewrite(copyObject(query));
	if (list_length(rewritten) != 1)
		refuse("a query rewritten by rules into several queries", -1);
	q = linitial_node(Query, rewritten);
	prepare_query(q);
	CompileRowSecurity(q);
	check_system_columns(q, false);
	check_immutable(q);

	view->plan = plan_view(q, source_text);
	check_plan(view->plan, view->plan->planTree, &scans);
	tables_of_plan(view, scans);
	CompilePruneColumns(view->plan);

	/* the creator must be able to read what the view shows */
	if (check_rights)
		ExecCheckRTPerms(view->plan->rtable, true);

	compile_source_text = NULL;
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
