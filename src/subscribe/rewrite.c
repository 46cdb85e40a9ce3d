/*-------------------------------------------------------------------------
 *
 * rewrite.c
 *	  Give the rows of a subscription their column types.
 *
 * coordinator.subscribe() and coordinator.subscribe_fetch() return
 * "record": their columns depend on what is subscribed to.  A function
 * returning record needs a column definition list in FROM (where it would
 * also be read to the end before the first row), and is a single
 * composite column in the select list.  So when a query is analyzed whose
 * select list is exactly one call of either function, with constant
 * arguments, this hook rewrites
 *
 *		SELECT coordinator.subscribe('v')
 * into
 *		SELECT (s).mz_timestamp, (s).mz_diff, (s).a, ...
 *		  FROM (SELECT coordinator.subscribe('v') AS s) AS subscription
 *
 * with the columns of v.  The subquery is never pulled up (its select list
 * returns a set), so the function is called once per row and its rows
 * stream: in a cursor, each FETCH reads only what it returns.  The same
 * applies to the query of DECLARE ... CURSOR and CREATE TABLE ... AS.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_relation.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "coordinator/coordinator.h"
#include "coordinator/subscribe.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;

typedef enum SubscribeCall
{
	CALL_NONE,
	CALL_SUBSCRIBE,				/* subscribe(target, snapshot, progress, as_of,
								 * up_to, upsert_key) */
	CALL_FETCH					/* subscribe_fetch(id, max_rows, timeout) */
} SubscribeCall;

static SubscribeCall
which_call(FuncExpr *func)
{
	char	   *name;
	Oid			nsp;

	if (func->funcresulttype != RECORDOID || !func->funcretset)
		return CALL_NONE;
	nsp = get_func_namespace(func->funcid);
	if (nsp != get_namespace_oid(COORDINATOR_NAME, true))
		return CALL_NONE;
	name = get_func_name(func->funcid);
	if (strcmp(name, "subscribe") == 0)
		return CALL_SUBSCRIBE;
	if (strcmp(name, "subscribe_fetch") == 0)
		return CALL_FETCH;
	return CALL_NONE;
}

/*
 * The constant value of argument number position (0-based) named name, or
 * NULL if absent (the default applies).  *constant is false if it is there
 * but not a constant.
 */
static Const *
argument(FuncExpr *func, int position, const char *name, bool *constant)
{
	ListCell   *lc;
	int			i = 0;

	*constant = true;
	foreach(lc, func->args)
	{
		Node	   *arg = lfirst(lc);
		bool		match;

		if (IsA(arg, NamedArgExpr))
		{
			match = strcmp(((NamedArgExpr *) arg)->name, name) == 0;
			arg = (Node *) ((NamedArgExpr *) arg)->arg;
		}
		else
			match = i == position;
		i++;
		if (!match)
			continue;
		arg = eval_const_expressions(NULL, arg);
		if (!IsA(arg, Const))
		{
			*constant = false;
			return NULL;
		}
		return (Const *) arg;
	}
	return NULL;
}

/* The output columns of the call, or NULL if they cannot be known here. */
static TupleDesc
call_shape(FuncExpr *func, SubscribeCall call)
{
	bool		constant;
	Const	   *c;

	if (call == CALL_FETCH)
	{
		c = argument(func, 0, "id", &constant);
		if (c == NULL || c->constisnull)
			return NULL;
		return SubscriptionShapeOf(DatumGetInt64(c->constvalue));
	}
	else
	{
		char	   *target;
		bool		progress = false;
		List	   *keys = NIL;

		c = argument(func, 0, "target", &constant);
		if (c == NULL || c->constisnull)
			return NULL;
		target = TextDatumGetCString(c->constvalue);
		c = argument(func, 2, "progress", &constant);
		if (!constant)
			return NULL;
		if (c != NULL && !c->constisnull)
			progress = DatumGetBool(c->constvalue);
		c = argument(func, 5, "upsert_key", &constant);
		if (!constant)
			return NULL;
		if (c != NULL && !c->constisnull)
			keys = SubscriptionKeyList(DatumGetArrayTypeP(c->constvalue));
		return SubscriptionShape(target, progress, keys);
	}
}

/* Rewrite query in place if it is one subscription call; see above. */
static void
rewrite_query(Query *query)
{
	TargetEntry *tle;
	FuncExpr   *func;
	SubscribeCall call;
	TupleDesc	shape;
	Query	   *inner;
	RangeTblEntry *rte;
	RangeTblRef *ref;
	List	   *tlist = NIL;

	if (query == NULL || query->commandType != CMD_SELECT ||
		query->utilityStmt != NULL ||
		list_length(query->targetList) != 1 || query->rtable != NIL ||
		query->jointree->quals != NULL || query->sortClause != NIL ||
		query->groupClause != NIL || query->hasAggs || query->setOperations != NULL ||
		query->limitCount != NULL || query->limitOffset != NULL)
		return;
	tle = linitial_node(TargetEntry, query->targetList);
	if (!IsA(tle->expr, FuncExpr))
		return;
	func = (FuncExpr *) tle->expr;
	call = which_call(func);
	if (call == CALL_NONE)
		return;
	shape = call_shape(func, call);
	if (shape == NULL)
		return;

	inner = copyObject(query);
	linitial_node(TargetEntry, inner->targetList)->resname = pstrdup("s");

	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_SUBQUERY;
	rte->subquery = inner;
	rte->alias = NULL;
	rte->eref = makeAlias("subscription", list_make1(makeString("s")));
	rte->inFromCl = true;

	for (int i = 0; i < shape->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(shape, i);
		FieldSelect *fs = makeNode(FieldSelect);

		fs->arg = (Expr *) makeVar(1, 1, RECORDOID, -1, InvalidOid, 0);
		fs->fieldnum = i + 1;
		fs->resulttype = att->atttypid;
		fs->resulttypmod = att->atttypmod;
		fs->resultcollid = att->attcollation;
		tlist = lappend(tlist, makeTargetEntry((Expr *) fs, i + 1,
											   pstrdup(NameStr(att->attname)), false));
	}

	ref = makeNode(RangeTblRef);
	ref->rtindex = 1;
	query->rtable = list_make1(rte);
	query->jointree = makeFromExpr(list_make1(ref), NULL);
	query->targetList = tlist;
	query->hasTargetSRFs = false;
}

static void
coordinator_post_parse_analyze(ParseState *pstate, Query *query,
							   JumbleState *jstate)
{
	if (prev_post_parse_analyze)
		prev_post_parse_analyze(pstate, query, jstate);

	if (query->commandType == CMD_UTILITY && query->utilityStmt != NULL)
	{
		Node	   *stmt = query->utilityStmt;

		if (IsA(stmt, DeclareCursorStmt) &&
			IsA(((DeclareCursorStmt *) stmt)->query, Query))
			rewrite_query((Query *) ((DeclareCursorStmt *) stmt)->query);
		else if (IsA(stmt, CreateTableAsStmt) &&
				 IsA(((CreateTableAsStmt *) stmt)->query, Query))
			rewrite_query((Query *) ((CreateTableAsStmt *) stmt)->query);
		return;
	}
	rewrite_query(query);
}

void
CoordinatorInstallSubscribeHook(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = coordinator_post_parse_analyze;
}
