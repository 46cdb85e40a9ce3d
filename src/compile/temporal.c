/*-------------------------------------------------------------------------
 *
 * temporal.c
 *	  Temporal filters: now() in a maintained view's WHERE means the view's
 *	  own time.
 *
 * A condition `row-expression op clock-term`, ANDed in a WHERE, where op
 * is <, <=, > or >= and the clock term is now() (CURRENT_TIMESTAMP,
 * transaction_timestamp()), CURRENT_DATE or LOCALTIMESTAMP, optionally
 * plus or minus a constant, holds for a row over an interval of times:
 * from a time on (the clock term grows past the row's value) or until a
 * time (it reaches it).  The view holds the rows whose interval contains
 * its time; the dataflow schedules their insertion and retraction at the
 * bounds (../dataflow/temporal.c), as Materialize does for mz_now().
 * BETWEEN is two such conditions.
 *
 * Here: recognizing such a condition (in the query, where it may stand,
 * and in the plan, where the planner put it), the only places where the
 * clock may appear, and the clock replaced by a parameter, so that the
 * dataflow can evaluate a condition at any time.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/namespace.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "optimizer/optimizer.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "coordinator/compile.h"

#define TEMPORAL_FORM "row-expression op now() [+|- constant], ANDed in WHERE, with op one of <, <=, >, >= (BETWEEN is two of them); now() may be written CURRENT_TIMESTAMP, transaction_timestamp(), CURRENT_DATE or LOCALTIMESTAMP"

/* Is node the clock: now() and its spellings, CURRENT_DATE, LOCALTIMESTAMP? */
static bool
is_clock(Node *node)
{
	if (node == NULL)
		return false;
	if (IsA(node, FuncExpr))
	{
		Oid			funcid = ((FuncExpr *) node)->funcid;

		return funcid == F_NOW || funcid == F_TRANSACTION_TIMESTAMP;
	}
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunctionOp op = ((SQLValueFunction *) node)->op;

		return op == SVFOP_CURRENT_TIMESTAMP || op == SVFOP_CURRENT_DATE ||
			op == SVFOP_LOCALTIMESTAMP;
	}
	return false;
}

/* Any spelling of the wall clock, including those a view cannot use. */
static bool
is_any_clock(Node *node)
{
	if (node == NULL)
		return false;
	if (is_clock(node))
		return true;
	if (IsA(node, FuncExpr))
	{
		Oid			funcid = ((FuncExpr *) node)->funcid;

		return funcid == F_STATEMENT_TIMESTAMP || funcid == F_CLOCK_TIMESTAMP ||
			funcid == F_TIMEOFDAY;
	}
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunctionOp op = ((SQLValueFunction *) node)->op;

		return op == SVFOP_CURRENT_TIME || op == SVFOP_CURRENT_TIME_N ||
			op == SVFOP_CURRENT_TIMESTAMP_N || op == SVFOP_LOCALTIME ||
			op == SVFOP_LOCALTIME_N || op == SVFOP_LOCALTIMESTAMP_N;
	}
	return false;
}

static bool
contains_clock_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (is_any_clock(node))
		return true;
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, contains_clock_walker, context, 0);
	return expression_tree_walker(node, contains_clock_walker, context);
}

bool
TemporalContainsClock(Node *node)
{
	return contains_clock_walker(node, NULL);
}

/* Is opno a built-in operator named name? */
static bool
builtin_operator(Oid opno, const char *name)
{
	HeapTuple	tuple = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	bool		result = false;

	if (HeapTupleIsValid(tuple))
	{
		Form_pg_operator form = (Form_pg_operator) GETSTRUCT(tuple);

		result = form->oprnamespace == PG_CATALOG_NAMESPACE &&
			strcmp(NameStr(form->oprname), name) == 0;
		ReleaseSysCache(tuple);
	}
	return result;
}

/* A constant: no column, parameter, subquery or clock, nothing volatile. */
static bool
is_constant(Node *node)
{
	return !contain_var_clause(node) && !contain_volatile_functions(node) &&
		!contain_subplans(node) && !TemporalContainsClock(node) &&
		!IsA(node, Param);
}

/*
 * A clock term: a value that grows with the clock (never shrinks): the
 * clock; a clock term plus or minus a constant (or a constant plus one);
 * the clock cast to date or timestamp.
 */
static bool
is_clock_term(Node *node)
{
	if (node == NULL)
		return false;
	if (IsA(node, RelabelType))
		return is_clock_term((Node *) ((RelabelType *) node)->arg);
	if (is_clock(node))
		return true;
	if (IsA(node, FuncExpr))
	{
		FuncExpr   *func = (FuncExpr *) node;

		return (func->funcid == F_DATE_TIMESTAMPTZ || func->funcid == F_TIMESTAMP_TIMESTAMPTZ ||
				func->funcid == F_TIMESTAMPTZ_DATE || func->funcid == F_TIMESTAMPTZ_TIMESTAMP) &&
			list_length(func->args) == 1 && is_clock_term(linitial(func->args));
	}
	if (IsA(node, OpExpr) && list_length(((OpExpr *) node)->args) == 2)
	{
		OpExpr	   *op = (OpExpr *) node;
		Node	   *left = linitial(op->args);
		Node	   *right = lsecond(op->args);

		if (builtin_operator(op->opno, "+"))
			return (is_clock_term(left) && is_constant(right)) ||
				(is_constant(left) && is_clock_term(right));
		if (builtin_operator(op->opno, "-"))
			return is_clock_term(left) && is_constant(right);
	}
	return false;
}

/*
 * Is clause a temporal condition?  If so, fill *t: the row side, the clock
 * side, and whether the condition holds until its bound (row side > or >=
 * the clock term) rather than from it.
 */
bool
TemporalMatch(Node *clause, TemporalCondition *t)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;
	List	   *interpretations;
	int			strategy;
	bool		clock_right;

	if (clause == NULL || !IsA(clause, OpExpr) || list_length(((OpExpr *) clause)->args) != 2)
		return false;
	op = (OpExpr *) clause;
	left = linitial(op->args);
	right = lsecond(op->args);
	if (is_clock_term(right) && !TemporalContainsClock(left))
		clock_right = true;
	else if (is_clock_term(left) && !TemporalContainsClock(right))
		clock_right = false;
	else
		return false;
	/* the other side is the row's: a constant would filter no row */
	if (!contain_var_clause(clock_right ? left : right))
		return false;

	interpretations = get_op_btree_interpretation(op->opno);
	if (interpretations == NIL)
		return false;
	strategy = ((OpBtreeInterpretation *) linitial(interpretations))->strategy;
	if (strategy == BTEqualStrategyNumber || strategy == ROWCOMPARE_NE)
		return false;

	t->clause = (Expr *) clause;
	t->row_side = (Expr *) (clock_right ? left : right);
	t->clock_side = (Expr *) (clock_right ? right : left);
	/* row op clock: > and >= hold while the clock is small */
	if (clock_right)
		t->until = strategy == BTGreaterStrategyNumber ||
			strategy == BTGreaterEqualStrategyNumber;
	else
		t->until = strategy == BTLessStrategyNumber ||
			strategy == BTLessEqualStrategyNumber;
	return true;
}

/* The conditions ANDed in a qual (a List, or an AND expression). */
static List *
conjuncts(Node *qual)
{
	if (qual == NULL)
		return NIL;
	if (IsA(qual, List))
	{
		List	   *result = NIL;
		ListCell   *lc;

		foreach(lc, (List *) qual)
			result = list_concat(result, conjuncts(lfirst(lc)));
		return result;
	}
	if (is_andclause(qual))
		return conjuncts((Node *) ((BoolExpr *) qual)->args);
	return list_make1(qual);
}

static bool
collect_walker(Node *node, List **found)
{
	if (node == NULL)
		return false;
	if (IsA(node, Query))
	{
		Query	   *query = (Query *) node;
		ListCell   *lc;
		TemporalCondition t;

		if (query->jointree != NULL)
			foreach(lc, conjuncts(query->jointree->quals))
				if (TemporalMatch(lfirst(lc), &t))
					*found = lappend(*found, lfirst(lc));
		return query_tree_walker(query, collect_walker, found, 0);
	}
	return expression_tree_walker(node, collect_walker, found);
}

/* The temporal conditions of a query's WHERE clauses, at every level. */
List *
TemporalConditionsOf(Query *query)
{
	List	   *found = NIL;

	(void) collect_walker((Node *) query, &found);
	return found;
}

/*
 * A STABLE function a temporal condition's row side may call: the casts
 * between date, timestamp and timestamptz, and timestamptz plus or minus
 * an interval, which depend on the server's TimeZone only.
 */
bool
TemporalStableAllowed(Oid funcid)
{
	return funcid == F_TIMESTAMPTZ_DATE || funcid == F_TIMESTAMPTZ_TIMESTAMP ||
		funcid == F_DATE_TIMESTAMPTZ || funcid == F_TIMESTAMP_TIMESTAMPTZ ||
		funcid == F_TIMESTAMPTZ_PL_INTERVAL || funcid == F_TIMESTAMPTZ_MI_INTERVAL ||
		funcid == F_INTERVAL_PL_TIMESTAMPTZ;
}

/* A clock a temporal filter may read: now() and the others it names. */
bool
TemporalIsClock(Node *node)
{
	return is_clock(node);
}

static const char *
clock_name(Node *node)
{
	if (node != NULL && IsA(node, SQLValueFunction))
	{
		switch (((SQLValueFunction *) node)->op)
		{
			case SVFOP_CURRENT_DATE:
				return "CURRENT_DATE";
			case SVFOP_LOCALTIMESTAMP:
				return "LOCALTIMESTAMP";
			default:
				return "CURRENT_TIMESTAMP";
		}
	}
	if (node != NULL && IsA(node, FuncExpr) &&
		((FuncExpr *) node)->funcid == F_TRANSACTION_TIMESTAMP)
		return "transaction_timestamp()";
	return "now()";
}

/* The error for a clock (NULL: in a plan) anywhere else. */
void
TemporalRefuse(Node *clock)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("maintained views support %s only in temporal filters", clock_name(clock)),
			 errdetail("A temporal filter is a condition of the form " TEMPORAL_FORM "."),
			 errhint("A materialized view without WITH (incremental) supports any use of it, refreshed by REFRESH MATERIALIZED VIEW."),
			 clock != NULL ? CompileErrposition(exprLocation(clock)) : 0));
}

/*
 * In a plan: the clock appears only in temporal conditions of the quals of
 * nodes that filter row by row (scans, Result, subquery and CTE scans).
 */
void
TemporalCheckPlanNode(Plan *plan, Node *other_expressions)
{
	bool		filters = IsA(plan, SeqScan) || IsA(plan, Result) ||
		IsA(plan, SubqueryScan) || IsA(plan, CteScan);
	ListCell   *lc;

	if (TemporalContainsClock((Node *) plan->targetlist) ||
		TemporalContainsClock(other_expressions))
		TemporalRefuse(NULL);
	foreach(lc, conjuncts((Node *) plan->qual))
	{
		TemporalCondition t;

		if (!TemporalContainsClock(lfirst(lc)))
			continue;
		if (!filters || !TemporalMatch(lfirst(lc), &t))
			TemporalRefuse(NULL);
	}
}

typedef struct ReplaceContext
{
	Param	   *tau;
} ReplaceContext;

static Node *
replace_mutator(Node *node, ReplaceContext *context)
{
	if (node == NULL)
		return NULL;
	if (is_clock(node))
	{
		Oid			funcid = InvalidOid;
		Oid			type = InvalidOid;

		if (IsA(node, SQLValueFunction) &&
			((SQLValueFunction *) node)->op == SVFOP_CURRENT_DATE)
			funcid = F_DATE_TIMESTAMPTZ, type = DATEOID;
		else if (IsA(node, SQLValueFunction) &&
				 ((SQLValueFunction *) node)->op == SVFOP_LOCALTIMESTAMP)
			funcid = F_TIMESTAMP_TIMESTAMPTZ, type = TIMESTAMPOID;
		if (!OidIsValid(funcid))
			return (Node *) copyObject(context->tau);
		return (Node *) makeFuncExpr(funcid, type,
									 list_make1(copyObject(context->tau)),
									 InvalidOid, InvalidOid, COERCE_EXPLICIT_CAST);
	}
	return expression_tree_mutator(node, replace_mutator, (void *) context);
}

/*
 * expr with the clock replaced by an external parameter paramid of type
 * timestamptz (CURRENT_DATE by its date, LOCALTIMESTAMP by its timestamp).
 */
Expr *
TemporalReplaceClock(Expr *expr, int paramid)
{
	ReplaceContext context;
	Param	   *tau = makeNode(Param);

	tau->paramkind = PARAM_EXTERN;
	tau->paramid = paramid;
	tau->paramtype = TIMESTAMPTZOID;
	tau->paramtypmod = -1;
	tau->paramcollid = InvalidOid;
	tau->location = -1;
	context.tau = tau;
	return (Expr *) replace_mutator((Node *) expr, &context);
}
