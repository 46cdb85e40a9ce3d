/*-------------------------------------------------------------------------
 *
 * rowsecurity.c
 *	  Row-level security in a maintained view: the policies as its owner
 *	  sees the tables.
 *
 * A maintained view is computed as REFRESH MATERIALIZED VIEW computes it:
 * as its owner reads the tables, so the policies that apply to the owner
 * apply (none for a superuser, a role with BYPASSRLS, or the table's owner
 * unless FORCE ROW LEVEL SECURITY).  Postgres's rewriter adds them to the
 * query as each range-table entry's securityQuals, for the entry's
 * checkAsUser (the view's owner, in the rule the relcache gives, or the
 * owner of a plain view the query reads) or the current user (the
 * creator, at CREATE), and the planner turns them into quals.  A policy
 * may name the current user with CURRENT_USER (or CURRENT_ROLE, USER):
 * during the owner's REFRESH that is the owner, also inside a plain view
 * of another role; here it is fixed, so the function is replaced by the
 * owner's name, which keeps the expressions IMMUTABLE and a view's
 * arrangements its own.  A maintained view the query reads is inlined
 * with its own owner's name (compile.c), as its contents are its owner's.  Any other function in a policy must be IMMUTABLE
 * like the rest of the query (compile.c).
 *
 * When the policies, ROW LEVEL SECURITY of a table, or the owner change,
 * the dataflow worker builds the view again (dataflow/privileges.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_collation.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"

#include "coordinator/compile.h"

/* CURRENT_USER and its synonyms become the name in context. */
static Node *
reader_mutator(Node *node, void *context)
{
	if (node == NULL)
		return NULL;
	if (IsA(node, SQLValueFunction))
	{
		SQLValueFunction *svf = (SQLValueFunction *) node;

		if (svf->op == SVFOP_CURRENT_USER || svf->op == SVFOP_CURRENT_ROLE ||
			svf->op == SVFOP_USER)
			return (Node *) makeConst(NAMEOID, -1, C_COLLATION_OID, NAMEDATALEN,
									  DirectFunctionCall1(namein, CStringGetDatum((char *) context)),
									  false, false);
	}
	return expression_tree_mutator(node, reader_mutator, context);
}

static bool
policies_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION && rte->securityQuals != NIL)
			rte->securityQuals = (List *) reader_mutator((Node *) rte->securityQuals, context);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, policies_walker, context,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, policies_walker, context);
}

/*
 * In the rewritten query (and its subqueries), CURRENT_USER in the
 * policies that apply becomes the name of role reader, in place.
 */
void
CompileRowSecurity(Query *query, Oid reader)
{
	(void) query_tree_walker(query, policies_walker, GetUserNameFromId(reader, false),
							 QTW_EXAMINE_RTES_BEFORE);
}
