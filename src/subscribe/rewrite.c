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
 * Called in FROM without a column definition list, either function fails
 * in parse analysis, before any hook of ours runs, with Postgres's "a
 * column definition list is required for functions returning record",
 * which says nothing of how to call them.  An emit_log_hook recognizes
 * that error by its untranslated message and by the function name at its
 * position, and replaces it with one that says how.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parse_relation.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"

#include "coordinator/coordinator.h"
#include "coordinator/subscribe.h"

static post_parse_analyze_hook_type prev_post_parse_analyze = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

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

/*
 * Read the identifier at *p (quoted or not, folded to lower case as the
 * parser folds it) into buf; advance *p past it.  Returns false if there
 * is none.
 */
static bool
read_identifier(const char **p, char *buf, int size)
{
	const char *s = *p;
	int			n = 0;

	if (*s == '"')
	{
		for (s++; *s != '\0' && !(*s == '"' && s[1] != '"'); s++)
		{
			if (*s == '"')
				s++;
			if (n < size - 1)
				buf[n++] = *s;
		}
		if (*s != '"')
			return false;
		s++;
	}
	else
	{
		for (; *s != '\0' && (isalnum((unsigned char) *s) || *s == '_' || *s == '$'); s++)
			if (n < size - 1)
				buf[n++] = (char) tolower((unsigned char) *s);
	}
	buf[n] = '\0';
	*p = s;
	return n > 0;
}

/*
 * Which of our functions does the call at byte pos (1-based) of query
 * name: "subscribe", "subscribe_fetch", or NULL.  Qualified with schema
 * coordinator, or unqualified while coordinator is in search_path.
 */
static const char *
called_function(const char *query, int pos)
{
	const char *p;
	char		first[NAMEDATALEN];
	char		second[NAMEDATALEN];
	const char *name = first;

	if (query == NULL || pos < 1 || pos > (int) strlen(query))
		return NULL;
	p = query + pos - 1;
	if (!read_identifier(&p, first, sizeof(first)))
		return NULL;
	while (isspace((unsigned char) *p))
		p++;
	if (*p == '.')
	{
		p++;
		while (isspace((unsigned char) *p))
			p++;
		if (strcmp(first, COORDINATOR_NAME) != 0 ||
			!read_identifier(&p, second, sizeof(second)))
			return NULL;
		name = second;
	}
	else if (namespace_search_path == NULL ||
			 strstr(namespace_search_path, COORDINATOR_NAME) == NULL)
		return NULL;
	if (strcmp(name, "subscribe") == 0)
		return "subscribe";
	if (strcmp(name, "subscribe_fetch") == 0)
		return "subscribe_fetch";
	return NULL;
}

/*
 * Replace the error of coordinator.subscribe or subscribe_fetch called in
 * FROM without a column definition list by one that says how to call
 * them.  Runs in the error's memory context; does no catalog access.
 */
static void
coordinator_emit_log(ErrorData *edata)
{
	const char *fn;

	if (edata->elevel == ERROR &&
		edata->sqlerrcode == ERRCODE_SYNTAX_ERROR &&
		edata->message_id != NULL &&
		strcmp(edata->message_id,
			   "a column definition list is required for functions returning \"record\"") == 0 &&
		(fn = edata->internalpos > 0 ?
		 called_function(edata->internalquery, edata->internalpos) :
		 called_function(debug_query_string, edata->cursorpos)) != NULL)
	{
		bool		fetch = strcmp(fn, "subscribe_fetch") == 0;

		edata->sqlerrcode = ERRCODE_FEATURE_NOT_SUPPORTED;
		edata->message = psprintf("coordinator.%s must be called alone in a select list, not in FROM", fn);
		edata->detail = pstrdup("Its columns depend on what is subscribed to; alone in a select list it returns them typed.");
		edata->hint = fetch ?
			pstrdup("Write SELECT coordinator.subscribe_fetch(id), or SELECT coordinator.subscribe_fetch(id, 100, '5s').") :
			pstrdup("Write SELECT coordinator.subscribe('v'), e.g. DECLARE c CURSOR FOR SELECT coordinator.subscribe('v'); FETCH 10 c; or, with up_to, SELECT * FROM coordinator.subscribe('v', up_to => ts) AS s(mz_timestamp bigint, mz_diff bigint, ...).");
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

void
CoordinatorInstallSubscribeHook(void)
{
	prev_post_parse_analyze = post_parse_analyze_hook;
	post_parse_analyze_hook = coordinator_post_parse_analyze;
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = coordinator_emit_log;
}
