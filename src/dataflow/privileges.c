/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  A maintained view is maintained with its owner's rights.
 *
 * As REFRESH MATERIALIZED VIEW does, the worker evaluates a view's
 * expressions as the view's owner, in a security-restricted operation
 * (DataflowBecomeOwner), so a function in the view runs with the owner's
 * rights, never the superuser's.
 *
 * CREATE checks that the creator may read what the query reads
 * (compile.c) and refuses sources with row-level security.  Rights change
 * afterwards: REVOKE, ALTER ... OWNER TO, a role losing a membership,
 * ALTER TABLE ... ENABLE ROW LEVEL SECURITY.  Each of these invalidates a
 * syscache entry (pg_class, pg_auth_members, pg_authid), which marks the
 * rights stale here; before it next publishes its views, the worker checks
 * them again (DataflowCheckRights): the relations the view's query names,
 * as its rule stores it, must pass the executor's permission check as the
 * view's owner, and no table the dataflow reads may have row-level
 * security that applies to the owner.  While that fails, the view is still maintained but every read
 * of it fails with 42501, as a REFRESH would; once the right is back,
 * reads see the current contents, with nothing to rebuild.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "coordinator/compile.h"
#include "coordinator/dataflow.h"

static bool rights_stale = true;
static bool callbacks_registered = false;

static void
rights_invalidated(Datum arg, int cacheid, uint32 hashvalue)
{
	rights_stale = true;
}

/*
 * Have rights changed since the last check (or has there been none)?
 * The first call registers the invalidation callbacks.
 */
bool
DataflowRightsStale(void)
{
	if (!callbacks_registered)
	{
		CacheRegisterSyscacheCallback(RELOID, rights_invalidated, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, rights_invalidated, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHOID, rights_invalidated, (Datum) 0);
		callbacks_registered = true;
	}
	return rights_stale;
}

/* Called when a check of every view begins: later changes mark it stale. */
void
DataflowRightsChecked(void)
{
	rights_stale = false;
}

/* The owner of relation relid, or InvalidOid if it is gone. */
Oid
DataflowViewOwner(Oid relid)
{
	HeapTuple	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	Oid			owner;

	if (!HeapTupleIsValid(tup))
		return InvalidOid;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/*
 * Become the owner of view relid until DataflowRestoreUser, in a
 * security-restricted operation, as REFRESH MATERIALIZED VIEW runs the
 * query.  An error in between restores the user with the subtransaction.
 */
void
DataflowBecomeOwner(Oid relid, DataflowSavedUser *saved)
{
	Oid			owner = DataflowViewOwner(relid);

	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	if (OidIsValid(owner))
		SetUserIdAndSecContext(owner, saved->sec_context |
							   SECURITY_LOCAL_USERID_CHANGE |
							   SECURITY_RESTRICTED_OPERATION);
}

void
DataflowRestoreUser(DataflowSavedUser *saved)
{
	SetUserIdAndSecContext(saved->userid, saved->sec_context);
}

static bool
relation_rtes_walker(Node *node, List **rtes)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		if (((RangeTblEntry *) node)->rtekind == RTE_RELATION)
			*rtes = lappend(*rtes, node);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, relation_rtes_walker, rtes,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, relation_rtes_walker, rtes);
}

/* What a relation is called in "permission denied for ...". */
static const char *
relkind_word(char relkind)
{
	switch (relkind)
	{
		case RELKIND_VIEW:
			return "view";
		case RELKIND_MATVIEW:
			return "materialized view";
		default:
			return "table";
	}
}

/*
 * May the owner of view relid still read what it reads?  Returns NULL if
 * so (or if the view is gone), else the message a read of the view raises,
 * with SQLSTATE 42501.  The check takes no lock (a DROP locks the tables,
 * then the views; a check that locked a view and then its tables would
 * deadlock with it): it reads the view's relcache entry, as the latest
 * invalidations left it (the caller accepts them first).  sources are the
 * tables the dataflow reads.  In a transaction.
 */
char *
DataflowCheckRights(Oid relid, List *sources)
{
	Relation	rel;
	Oid			owner;
	Query	   *query;
	List	   *rtes = NIL;
	ListCell   *lc;
	DataflowSavedUser saved;
	char	   *denied = NULL;

	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return NULL;
	owner = rel->rd_rel->relowner;
	query = CompileStoredQuery(rel);
	RelationClose(rel);
	if (query == NULL)
		return NULL;

	/*
	 * The relations the query names, with checkAsUser = the owner (set by
	 * the relcache): a plain view is checked as a read of it checks it, its
	 * own tables being its owner's business.
	 */
	(void) relation_rtes_walker((Node *) query, &rtes);
	DataflowBecomeOwner(relid, &saved);
	foreach(lc, rtes)
	{
		RangeTblEntry *rte = lfirst(lc);

		if (!ExecCheckRTPerms(list_make1(rte), false))
		{
			denied = psprintf("permission denied for %s %s",
							  relkind_word(get_rel_relkind(rte->relid)),
							  get_rel_name(rte->relid));
			break;
		}
	}
	foreach(lc, sources)
	{
		if (denied == NULL &&
			check_enable_rls(lfirst_oid(lc), owner, true) == RLS_ENABLED)
			denied = psprintf("row-level security of table %s applies to the owner of maintained view %s",
							  get_rel_name(lfirst_oid(lc)), get_rel_name(relid));
	}
	DataflowRestoreUser(&saved);
	return denied;
}
