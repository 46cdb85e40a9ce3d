/*-------------------------------------------------------------------------
 *
 * explain_dataflow.c
 *	  coordinator.explain_dataflow(view): the operators of a maintained
 *	  view's dataflow, as an indented tree, with the sizes of their
 *	  arrangements.
 *
 * The tree is built from the plan the dataflow worker builds the view's
 * dataflow from: the view's stored query compiled for the tables as they
 * are now (compile.c), mapped node by node as graph.c maps it.  Scans,
 * maps, unions, joins (with the equalities their arrangements are keyed
 * by) and reduces (with their kind and what their state holds) show their
 * expressions as EXPLAIN VERBOSE would; order and buffering nodes, which
 * a dataflow does not need, are left out.  Each arrangement shows the
 * rows, bytes and keys its worker last published in shared memory (the
 * same figures as coordinator.arrangements), matched by plan node id.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"
#include "utils/ruleutils.h"

#include "coordinator/catalog.h"
#include "coordinator/compile.h"
#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"

PG_FUNCTION_INFO_V1(coordinator_explain_dataflow);

typedef struct ExplainDataflow
{
	PlannedStmt *stmt;
	List	   *deparse;		/* deparse context of the plan tree */
	List	   *lines;			/* the output, one char * per line */
	ArrangementStat *stats;		/* copy of the view's published ones */
	int			nstats;
	Bitmapset  *ctes_shown;		/* CTE plans already shown */
} ExplainDataflow;

static void explain_node(ExplainDataflow *ed, Plan *plan, List *ancestors, int depth);
static void add_line(ExplainDataflow *ed, int depth, const char *fmt,...) pg_attribute_printf(3, 4);

/* Add a line at depth (two spaces per level). */
static void
add_line(ExplainDataflow *ed, int depth, const char *fmt,...)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoSpaces(&buf, depth * 2);
	for (;;)
	{
		va_list		args;
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(&buf, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(&buf, needed);
	}
	ed->lines = lappend(ed->lines, buf.data);
}

/* An expression of plan's, as EXPLAIN VERBOSE shows it. */
static char *
deparse(ExplainDataflow *ed, Plan *plan, List *ancestors, Node *expr)
{
	List	   *context = set_deparse_context_plan(ed->deparse, plan, ancestors);

	return deparse_expression(expr, context, true, false);
}

/* A list of expressions, comma separated. */
static char *
deparse_list(ExplainDataflow *ed, Plan *plan, List *ancestors, List *exprs)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	foreach(lc, exprs)
	{
		Node	   *e = lfirst(lc);

		if (IsA(e, TargetEntry))
			e = (Node *) ((TargetEntry *) e)->expr;
		appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
						 deparse(ed, plan, ancestors, e));
	}
	return buf.data;
}

/* A filter line, if the node has a qual. */
static void
show_qual(ExplainDataflow *ed, Plan *plan, List *ancestors, List *qual,
		  const char *label, int depth)
{
	if (qual == NIL)
		return;
	add_line(ed, depth, "%s: %s", label,
			 deparse(ed, plan, ancestors, (Node *) make_ands_explicit(qual)));
}

/* The arrangements of the operator of plan, with their published sizes. */
static void
show_arrangements(ExplainDataflow *ed, Plan *plan, int depth)
{
	for (int i = 0; i < ed->nstats; i++)
	{
		ArrangementStat *a = &ed->stats[i];

		if (a->operator_id != plan->plan_node_id)
			continue;
		add_line(ed, depth, "Arrangement: %s%s: rows=" INT64_FORMAT " bytes=" INT64_FORMAT " keys=" INT64_FORMAT,
				 a->name,
				 a->shared_by > 1 ? psprintf(" (shared by %d joins)", a->shared_by) : "",
				 a->records, a->bytes, a->keys);
	}
}

/* Which sides of a join the Vars of expr come from: 1 outer, 2 inner. */
static bool
sides_walker(Node *node, int *sides)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		if (((Var *) node)->varno == OUTER_VAR)
			*sides |= 1;
		else if (((Var *) node)->varno == INNER_VAR)
			*sides |= 2;
		return false;
	}
	return expression_tree_walker(node, sides_walker, sides);
}

static int
expr_sides(Node *expr)
{
	int			sides = 0;

	(void) sides_walker(expr, &sides);
	return sides;
}

/*
 * The equalities a join arranges both sides by (join.c): its hash or
 * merge clauses, and every equality in its join condition between an
 * expression of each side whose operator can hash.
 */
static List *
join_keys(Join *join)
{
	List	   *keys = NIL;
	ListCell   *lc;

	if (IsA(join, HashJoin))
		keys = list_copy(((HashJoin *) join)->hashclauses);
	else if (IsA(join, MergeJoin))
		keys = list_copy(((MergeJoin *) join)->mergeclauses);
	foreach(lc, join->joinqual)
	{
		OpExpr	   *op = lfirst(lc);
		Oid			lhash;
		Oid			rhash;
		int			left;
		int			right;

		if (!IsA(op, OpExpr) || list_length(op->args) != 2 ||
			!get_op_hash_functions(op->opno, &lhash, &rhash) ||
			contain_volatile_functions((Node *) op))
			continue;
		left = expr_sides(linitial(op->args));
		right = expr_sides(lsecond(op->args));
		if ((left == 1 && right == 2) || (left == 2 && right == 1))
			keys = lappend(keys, op);
	}
	return keys;
}

static const char *
join_type_name(JoinType type)
{
	switch (type)
	{
		case JOIN_INNER:
			return "inner";
		case JOIN_LEFT:
			return "left";
		case JOIN_FULL:
			return "full";
		case JOIN_RIGHT:
			return "right";
		case JOIN_SEMI:
			return "semi";
		case JOIN_ANTI:
			return "anti";
		default:
			return "other";
	}
}

/* The Postgres node a reduce re-runs per group, and what it computes. */
static void
explain_reduce(ExplainDataflow *ed, Plan *plan, List *ancestors, int depth)
{
	const char *kind = "";
	int			ncols = 0;
	AttrNumber *cols = NULL;

	switch (nodeTag(plan))
	{
		case T_Agg:
			{
				Agg		   *agg = (Agg *) plan;

				kind = agg->numCols == 0 ? "aggregate, one group" : "aggregate";
				ncols = agg->numCols;
				cols = agg->grpColIdx;
				break;
			}
		case T_Unique:
			kind = "distinct";
			ncols = ((Unique *) plan)->numCols;
			cols = ((Unique *) plan)->uniqColIdx;
			break;
		case T_SetOp:
			kind = ((SetOp *) plan)->cmd == SETOPCMD_INTERSECT ? "intersect" :
				((SetOp *) plan)->cmd == SETOPCMD_INTERSECT_ALL ? "intersect all" :
				((SetOp *) plan)->cmd == SETOPCMD_EXCEPT ? "except" : "except all";
			ncols = ((SetOp *) plan)->numCols;
			cols = ((SetOp *) plan)->dupColIdx;
			break;
		case T_WindowAgg:
			kind = "window";
			ncols = ((WindowAgg *) plan)->partNumCols;
			cols = ((WindowAgg *) plan)->partColIdx;
			break;
		case T_Limit:
			kind = "limit, one group";
			break;
		default:
			break;
	}
	add_line(ed, depth, "-> Reduce (%s) [node %d]", kind, plan->plan_node_id);
	if (ncols > 0)
	{
		List	   *keys = NIL;
		Plan	   *input = outerPlan(plan);
		List	   *inner_ancestors = lcons(plan, list_copy(ancestors));

		for (int i = 0; i < ncols; i++)
			keys = lappend(keys, get_tle_by_resno(input->targetlist, cols[i])->expr);
		add_line(ed, depth + 2, "Group Key: %s",
				 deparse_list(ed, input, inner_ancestors, keys));
	}
	add_line(ed, depth + 2, "Output: %s",
			 deparse_list(ed, plan, ancestors, plan->targetlist));
	show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
	if (IsA(plan, WindowAgg))
	{
		int			radius = WindowRadius((WindowAgg *) plan);
		WindowPrefix *prefix;
		Sort	   *reverse;

		if (radius >= 0 && WindowSpanFrame((WindowAgg *) plan))
			add_line(ed, depth + 2, "Per change: the rows whose %s frames hold it%s, fed with the rows theirs hold",
					 (((WindowAgg *) plan)->frameOptions & FRAMEOPTION_GROUPS) ? "GROUPS" : "RANGE",
					 radius > 0 ? psprintf(" or within %d of it", radius) : "");
		else if (radius >= 0)
			add_line(ed, depth + 2, "Per change: the rows within %d of it, fed with %d more on each side",
					 radius, radius);
		else if ((prefix = WindowPrefixCreate((WindowAgg *) plan)) != NULL)
			add_line(ed, depth + 2, "Per change: the rows from %s on, resumed after the row before%s",
					 WindowPrefixNeedsPeers(prefix) ? "its first peer" : "it",
					 WindowPrefixRadius(prefix) > 0 ?
					 psprintf(", fed with %d more on each side", (int) WindowPrefixRadius(prefix)) : "");
		else if (WindowMirror((WindowAgg *) plan, &reverse) != NULL)
			add_line(ed, depth + 2, "Per change: the rows from it back, over the rows in reverse, resumed after the row after");
		else if (WindowWideHead((WindowAgg *) plan) >= 0)
			add_line(ed, depth + 2, "Per change: its own rows; the partition's if its first %d rows or its last changed",
					 Max(WindowWideHead((WindowAgg *) plan), 1));
		else
			add_line(ed, depth + 2, "Per change: its partition, re-run");
	}
	if (IsA(plan, Limit))
	{
		Limit	   *limit = (Limit *) plan;

		if (limit->limitCount != NULL)
			add_line(ed, depth + 2, "Limit: %s",
					 deparse(ed, plan, ancestors, limit->limitCount));
		if (limit->limitOffset != NULL)
			add_line(ed, depth + 2, "Offset: %s",
					 deparse(ed, plan, ancestors, limit->limitOffset));
	}
	show_arrangements(ed, plan, depth + 2);
}

/* The inputs of plan, one level deeper. */
static void
explain_input(ExplainDataflow *ed, Plan *plan, Plan *input, List *ancestors, int depth)
{
	explain_node(ed, input, lcons(plan, list_copy(ancestors)), depth);
}

/* One plan node's operator and, below it, its inputs (graph.c's mapping). */
static void
explain_node(ExplainDataflow *ed, Plan *plan, List *ancestors, int depth)
{
	check_stack_depth();
	switch (nodeTag(plan))
	{
		case T_SeqScan:
			{
				RangeTblEntry *rte = rt_fetch(((Scan *) plan)->scanrelid, ed->stmt->rtable);

				add_line(ed, depth, "-> Scan on %s%s [node %d]",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rte->relid)),
													get_rel_name(rte->relid)),
						 rte->relkind == RELKIND_MATVIEW ?
						 " (a maintained view: its changes, from its dataflow)" : "",
						 plan->plan_node_id);
				add_line(ed, depth + 2, "Output: %s",
						 deparse_list(ed, plan, ancestors, plan->targetlist));
				show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
				break;
			}
		case T_Result:
		case T_SubqueryScan:
		case T_CteScan:
			add_line(ed, depth, "-> Map [node %d]", plan->plan_node_id);
			add_line(ed, depth + 2, "Output: %s",
					 deparse_list(ed, plan, ancestors, plan->targetlist));
			show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
			if (IsA(plan, Result))
			{
				show_qual(ed, plan, ancestors, (List *) ((Result *) plan)->resconstantqual,
						  "One-Time Filter", depth + 2);
				if (outerPlan(plan) == NULL)
					add_line(ed, depth + 2, "-> Constant (one row)");
				else
					explain_input(ed, plan, outerPlan(plan), ancestors, depth + 2);
			}
			else if (IsA(plan, SubqueryScan))
				explain_input(ed, plan, ((SubqueryScan *) plan)->subplan, ancestors, depth + 2);
			else
			{
				int			id = ((CteScan *) plan)->ctePlanId;

				if (bms_is_member(id, ed->ctes_shown))
					add_line(ed, depth + 2, "-> CTE %d (one operator, shown above)", id);
				else
				{
					ed->ctes_shown = bms_add_member(ed->ctes_shown, id);
					add_line(ed, depth + 2, "-> CTE %d", id);
					explain_node(ed, list_nth(ed->stmt->subplans, id - 1), NIL, depth + 4);
				}
			}
			break;
		case T_Sort:
		case T_IncrementalSort:
		case T_Material:
		case T_Hash:
			/* order and buffering: not part of a collection */
			explain_node(ed, outerPlan(plan), lcons(plan, list_copy(ancestors)), depth);
			break;
		case T_Append:
		case T_MergeAppend:
			{
				List	   *children = IsA(plan, Append) ?
					((Append *) plan)->appendplans :
					((MergeAppend *) plan)->mergeplans;
				ListCell   *lc;

				add_line(ed, depth, "-> Union [node %d]", plan->plan_node_id);
				foreach(lc, children)
					explain_input(ed, plan, lfirst(lc), ancestors, depth + 2);
				break;
			}
		case T_ProjectSet:
			add_line(ed, depth, "-> Flat Map (set-returning functions, per input row) [node %d]",
					 plan->plan_node_id);
			add_line(ed, depth + 2, "Output: %s",
					 deparse_list(ed, plan, ancestors, plan->targetlist));
			explain_input(ed, plan, outerPlan(plan), ancestors, depth + 2);
			break;
		case T_ValuesScan:
		case T_FunctionScan:
			add_line(ed, depth, "-> Constant (%s, rows computed once) [node %d]",
					 IsA(plan, ValuesScan) ? "VALUES" : "functions", plan->plan_node_id);
			add_line(ed, depth + 2, "Output: %s",
					 deparse_list(ed, plan, ancestors, plan->targetlist));
			show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
			break;
		case T_NestLoop:
			if (((NestLoop *) plan)->nestParams != NIL)
			{
				/* LATERAL over functions: the inner side runs per outer row */
				add_line(ed, depth, "-> Flat Map (LATERAL %s, per input row) [node %d]",
						 join_type_name(((Join *) plan)->jointype), plan->plan_node_id);
				show_qual(ed, plan, ancestors, ((Join *) plan)->joinqual, "Join Filter", depth + 2);
				show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
				add_line(ed, depth + 2, "Output: %s",
						 deparse_list(ed, plan, ancestors, plan->targetlist));
				explain_input(ed, plan, outerPlan(plan), ancestors, depth + 2);
				break;
			}
			/* FALLTHROUGH */
		case T_HashJoin:
		case T_MergeJoin:
			{
				Join	   *join = (Join *) plan;
				List	   *keys = join_keys(join);

				add_line(ed, depth, "-> Join (%s) [node %d]",
						 join_type_name(join->jointype), plan->plan_node_id);
				add_line(ed, depth + 2, "Keys: %s", keys == NIL ? "none (one key for all rows)" :
						 deparse(ed, plan, ancestors, (Node *) make_ands_explicit(keys)));
				show_qual(ed, plan, ancestors, join->joinqual, "Join Filter", depth + 2);
				show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
				add_line(ed, depth + 2, "Output: %s",
						 deparse_list(ed, plan, ancestors, plan->targetlist));
				show_arrangements(ed, plan, depth + 2);
				explain_input(ed, plan, outerPlan(plan), ancestors, depth + 2);
				explain_input(ed, plan, innerPlan(plan), ancestors, depth + 2);
				break;
			}
		case T_Agg:
		case T_Unique:
		case T_SetOp:
		case T_Limit:
		case T_WindowAgg:
			explain_reduce(ed, plan, ancestors, depth);
			explain_input(ed, plan, outerPlan(plan), ancestors, depth + 2);
			break;
		case T_RecursiveUnion:
			add_line(ed, depth, "-> Recursion (%s: %s, rounds within a tick) [node %d]",
					 ((RecursiveUnion *) plan)->numCols > 0 ? "UNION" : "UNION ALL",
					 ((RecursiveUnion *) plan)->numCols > 0 ?
					 "deleted and rederived" : "changes fed round after round",
					 plan->plan_node_id);
			show_arrangements(ed, plan, depth + 2);
			add_line(ed, depth + 2, "Non-recursive term:");
			explain_input(ed, plan, outerPlan(plan), ancestors, depth + 4);
			add_line(ed, depth + 2, "Recursive term:");
			explain_input(ed, plan, innerPlan(plan), ancestors, depth + 4);
			break;
		case T_WorkTableScan:
			add_line(ed, depth, "-> Rows of the last round [node %d]", plan->plan_node_id);
			add_line(ed, depth + 2, "Output: %s",
					 deparse_list(ed, plan, ancestors, plan->targetlist));
			show_qual(ed, plan, ancestors, plan->qual, "Filter", depth + 2);
			break;
		default:
			add_line(ed, depth, "-> unsupported plan node %d", (int) nodeTag(plan));
			break;
	}
}

/*
 * coordinator.explain_dataflow(view regclass) RETURNS SETOF text
 *
 * Needs SELECT on the view (42501).  An OID of no relation is 42P01, a
 * relation that is not a maintained view 42809; NULL gives no rows
 * (STRICT).
 */
Datum
coordinator_explain_dataflow(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	char	   *name = get_rel_name(relid);
	ExplainDataflow ed;
	Relation	rel;
	Query	   *query;
	ListCell   *lc;
	int			nsubplans;
	Bitmapset  *rels_used = NULL;

	TupleDesc	desc;
	MemoryContext old;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		(rsinfo->allowedModes & SFRM_Materialize) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (name == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, get_relkind_objtype(get_rel_relkind(relid)), name);
	if (!CatalogHasView(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a maintained view", name),
				 errhint("Only a materialized view created WITH (incremental) has a dataflow.")));

	memset(&ed, 0, sizeof(ed));
	rel = relation_open(relid, AccessShareLock);
	query = CompileStoredQuery(rel);
	relation_close(rel, NoLock);
	if (query == NULL)
		elog(ERROR, "could not find the query of materialized view %u", relid);
	/* as its worker compiles it: the views beside it are its inputs */
	ed.stmt = CompileView(query, NULL, false, CoordinatorViewsBeside(relid))->plan;
	rels_used = bms_add_range(NULL, 1, list_length(ed.stmt->rtable));
	ed.deparse = deparse_context_for_plan_tree(ed.stmt,
											   select_rtable_names_for_explain(ed.stmt->rtable,
																			   rels_used));

	/* the sizes the worker published last */
	ed.stats = palloc(sizeof(ArrangementStat) * ARRANGEMENTS_PER_VIEW);
	if (Coordinator != NULL)
	{
		LWLockAcquire(Coordinator->lock, LW_SHARED);
		for (int i = 0; i < Coordinator->max_views; i++)
		{
			ArrangementStat *stats = Coordinator->arrangements + i * ARRANGEMENTS_PER_VIEW;

			if (Coordinator->views[i].state == VIEW_FREE ||
				Coordinator->views[i].relid != relid)
				continue;
			for (int k = 0; k < ARRANGEMENTS_PER_VIEW; k++)
				if (stats[k].relid == relid)
					ed.stats[ed.nstats++] = stats[k];
		}
		LWLockRelease(Coordinator->lock);
	}

	add_line(&ed, 0, "Sink: %s (the view's heap table, reconciled with the result)",
			 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name));
	explain_node(&ed, ed.stmt->planTree, NIL, 1);

	/* subqueries left in expressions are dataflows of their own */
	nsubplans = list_length(ed.stmt->subplans);
	for (int id = 1; id <= nsubplans; id++)
	{
		if (bms_is_member(id, ed.ctes_shown))
			continue;
		add_line(&ed, 0, "SubPlan %d (a dataflow of its own, read by the expressions that use it)", id);
		explain_node(&ed, list_nth(ed.stmt->subplans, id - 1), NIL, 1);
	}

	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	desc = CreateTemplateTupleDesc(1);
	TupleDescInitEntry(desc, (AttrNumber) 1, "explain_dataflow", TEXTOID, -1, 0);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setDesc = desc;
	rsinfo->setResult = tuplestore_begin_heap(false, false, work_mem);
	MemoryContextSwitchTo(old);
	foreach(lc, ed.lines)
	{
		Datum		value = CStringGetTextDatum(lfirst(lc));
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
	}
	PG_RETURN_VOID();
}
