/*-------------------------------------------------------------------------
 *
 * privileges.c
 *	  Code a role wrote runs with that role's rights.
 *
 * As REFRESH MATERIALIZED VIEW does, the worker evaluates a view's
 * expressions as the view's owner, in a security-restricted operation
 * (DataflowBecomeOwner), so a function in the view runs with the owner's
 * rights, never the superuser's.  A query subscription's transient
 * dataflow runs the same way as the role that subscribed (its rights are
 * checked as a view owner's are: DataflowCheckUserRights), and the
 * webhook listener plans and runs a source's CHECK and INSERT as the
 * table's owner (DataflowBecomeUser).  Settings the code changes end with
 * the call.
 *
 * CREATE checks that the creator may read what the query reads
 * (compile.c), and the view is computed with the row-level security
 * policies that apply to its owner (compile/rowsecurity.c).  Rights change
 * afterwards: REVOKE, ALTER ... OWNER TO, a role losing a membership,
 * ALTER TABLE ... ENABLE ROW LEVEL SECURITY, CREATE or ALTER POLICY.  Each
 * of these invalidates a syscache entry (pg_class, pg_auth_members,
 * pg_authid) or a relation's cache entry, which marks the rights stale
 * here; before it next publishes its views, the worker checks them again
 * (DataflowCheckRights): the relations the view's query names, as its rule
 * stores it, must pass the executor's permission check as the view's
 * owner.  While that fails, the view is still maintained but every read of
 * it fails with 42501, as a REFRESH would; once the right is back, reads
 * see the current contents, with nothing to rebuild.  The policies that
 * apply to the owner are checked too (DataflowRowSecurity): when they
 * differ from those the dataflow was built with, the worker builds its
 * views again.  A query subscription reads no table with row-level
 * security that applies to its subscriber (DataflowCheckUserRights).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/relation.h"
#include "access/table.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "rewrite/rowsecurity.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"

static bool rights_stale = true;
static bool callbacks_registered = false;

static void
rights_invalidated(Datum arg, int cacheid, uint32 hashvalue)
{
	rights_stale = true;
}

/* The tables whose policies the views were built with (DataflowRowSecurity). */
static List *policy_tables = NIL;

/* a table's cache entry: its policies may have changed */
static void
relation_invalidated(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || list_member_oid(policy_tables, relid))
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
		CacheRegisterRelcacheCallback(relation_invalidated, (Datum) 0);
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
 * query (see DataflowBecomeUser).
 */
void
DataflowBecomeOwner(Oid relid, DataflowSavedUser *saved)
{
	DataflowBecomeUser(DataflowViewOwner(relid), saved);
}

/*
 * Become userid until DataflowRestoreUser, in a security-restricted
 * operation: code that userid wrote (a view's functions, a subscription's
 * query, a webhook source's CHECK, defaults and triggers) runs with
 * userid's rights, never those of the process that runs it.
 *
 * As REFRESH MATERIALIZED VIEW does, settings that the code changes
 * (set_config) end with the call, so they reach neither the next owner's
 * code nor the process; and Postgres refuses to queue a deferred trigger
 * in a security-restricted operation, where it would fire at commit with
 * the process's rights.  An invalid userid (a relation gone) keeps the
 * current user but still restricts.  An error in between restores all of
 * it with the (sub)transaction.  In a transaction.
 */
void
DataflowBecomeUser(Oid userid, DataflowSavedUser *saved)
{
	GetUserIdAndSecContext(&saved->userid, &saved->sec_context);
	SetUserIdAndSecContext(OidIsValid(userid) ? userid : saved->userid,
						   saved->sec_context |
						   SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	saved->nestlevel = NewGUCNestLevel();
}

/* Be who we were before DataflowBecomeUser, with its settings. */
void
DataflowRestoreUser(DataflowSavedUser *saved)
{
	AtEOXact_GUC(false, saved->nestlevel);
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
 * The message of the first relation in rtes that the current user may not
 * read as the executor checks it, or NULL.  A relation dropped meanwhile is
 * skipped: what reads it ends for that reason.
 */
static char *
rtes_denied(List *rtes)
{
	ListCell   *lc;

	foreach(lc, rtes)
	{
		RangeTblEntry *rte = lfirst(lc);
		char		relkind = get_rel_relkind(rte->relid);

		if (relkind == '\0')
			continue;
		if (!ExecCheckRTPerms(list_make1(rte), false))
			return psprintf("permission denied for %s %s",
							relkind_word(relkind), get_rel_name(rte->relid));
	}
	return NULL;
}

/*
 * May the owner of view relid still read what it reads?  Returns NULL if
 * so (or if the view is gone), else the message a read of the view raises,
 * with SQLSTATE 42501.  The check takes no lock (a DROP locks the tables,
 * then the views; a check that locked a view and then its tables would
 * deadlock with it): it reads the view's relcache entry, as the latest
 * invalidations left it (the caller accepts them first).  In a
 * transaction.
 */
char *
DataflowCheckRights(Oid relid)
{
	Relation	rel;
	Query	   *query;
	List	   *rtes = NIL;
	DataflowSavedUser saved;
	char	   *denied = NULL;

	rel = RelationIdGetRelation(relid);
	if (rel == NULL)
		return NULL;
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
	denied = rtes_denied(rtes);
	DataflowRestoreUser(&saved);
	return denied;
}

/*
 * What row-level security does to the tables of plan as view relid's owner
 * reads them: a hash of the owner, its name (which policies' CURRENT_USER
 * became, compile/rowsecurity.c), and for each table, as its reader sees it
 * (the owner, or the owner of the plain view it is read through), whether
 * row-level security applies and, where it does, each policy: its
 * command, kind, expressions and whether it applies to the reader.  The
 * dataflow was built with the policies that applied then; a different
 * hash later means the view must be built again.  Takes no lock, as
 * DataflowCheckRights.  In a transaction.
 */
uint32
DataflowRowSecurity(Oid relid, PlannedStmt *plan)
{
	Oid			owner = DataflowViewOwner(relid);
	char	   *name = GetUserNameFromId(owner, true);
	uint32		hash = hash_uint32(owner);
	ListCell   *lc;

	if (name != NULL)
		hash = hash_combine(hash, hash_bytes((unsigned char *) name, strlen(name)));
	foreach(lc, plan->rtable)
	{
		RangeTblEntry *rte = lfirst_node(RangeTblEntry, lc);
		int			rls;
		Relation	rel;
		ListCell   *lp;
		Oid			reader;

		if (rte->rtekind != RTE_RELATION)
			continue;
		/* a table read through a plain view: its policies as the view's owner's */
		reader = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : owner;
		hash = hash_combine(hash, hash_uint32(reader));
		if (!list_member_oid(policy_tables, rte->relid))
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			policy_tables = lappend_oid(policy_tables, rte->relid);
			MemoryContextSwitchTo(old);
		}
		rls = check_enable_rls(rte->relid, reader, true);
		hash = hash_combine(hash, hash_uint32(rte->relid));
		hash = hash_combine(hash, hash_uint32((uint32) rls));
		if (rls != RLS_ENABLED || (rel = RelationIdGetRelation(rte->relid)) == NULL)
			continue;
		foreach(lp, rel->rd_rsdesc != NULL ? rel->rd_rsdesc->policies : NIL)
		{
			RowSecurityPolicy *policy = lfirst(lp);
			Datum	   *roles;
			int			nroles;
			bool		applies = false;
			char	   *qual = nodeToString(policy->qual);

			deconstruct_array(policy->roles, OIDOID, sizeof(Oid), true,
							  TYPALIGN_INT, &roles, NULL, &nroles);
			for (int i = 0; i < nroles && !applies; i++)
				applies = DatumGetObjectId(roles[i]) == ACL_ID_PUBLIC ||
					has_privs_of_role(reader, DatumGetObjectId(roles[i]));
			hash = hash_combine(hash, hash_bytes((unsigned char *) policy->policy_name,
												 strlen(policy->policy_name)));
			hash = hash_combine(hash, hash_uint32((uint32) policy->polcmd));
			hash = hash_combine(hash, hash_uint32(policy->permissive));
			hash = hash_combine(hash, hash_uint32(applies));
			hash = hash_combine(hash, hash_bytes((unsigned char *) qual, strlen(qual)));
		}
		RelationClose(rel);
	}
	return hash;
}

/*
 * May userid still read what a subscription's query reads?  rtes are the
 * relations the query names, as the subscriber analyzed it (checked as
 * the executor checks a query of userid's); sources are the tables its
 * dataflow reads, none of which may have row-level security that applies
 * to userid.  Returns NULL if so, else the message that ends the
 * subscription with SQLSTATE 42501.  Takes no lock, as DataflowCheckRights.
 * In a transaction.
 */
char *
DataflowCheckUserRights(Oid userid, List *rtes, List *sources)
{
	DataflowSavedUser saved;
	ListCell   *lc;
	char	   *denied = NULL;

	DataflowBecomeUser(userid, &saved);
	denied = rtes_denied(rtes);
	/* the tables scanned and those named (a partitioned table's policies are its own) */
	sources = list_copy(sources);
	foreach(lc, rtes)
		sources = lappend_oid(sources, lfirst_node(RangeTblEntry, lc)->relid);
	foreach(lc, sources)
	{
		if (denied == NULL &&
			check_enable_rls(lfirst_oid(lc), userid, true) == RLS_ENABLED)
			denied = psprintf("row-level security of table %s applies to the subscriber",
							  get_rel_name(lfirst_oid(lc)));
	}
	DataflowRestoreUser(&saved);
	return denied;
}

/*
 * The relations a query names (RTE_RELATION entries, in subqueries,
 * sublinks and CTEs too), copied into CurrentMemoryContext.
 */
List *
DataflowNamedRelations(Query *query)
{
	List	   *rtes = NIL;

	(void) relation_rtes_walker((Node *) query, &rtes);
	return copyObject(rtes);
}
