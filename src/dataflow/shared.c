/*-------------------------------------------------------------------------
 *
 * shared.c
 *	  Shared arrangements: one arrangement of a source by a key for every
 *	  view of the worker that needs it.
 *
 * A join's input that is a scan of a table (its filter and columns) is
 * arranged by the join's key.  Views that join the same table on the same
 * key, with the same filter and columns, need the same arrangement: the
 * worker keeps one, and each of those joins reads it.  Only arrangements
 * without match counts are shared (an outer join's preserved side keeps,
 * per row, the weight of its matches in that one join).
 *
 * What an arrangement holds is its signature (SharedSignature): the table,
 * the scan's filter and output expressions, the key expressions, their
 * hash functions and collations, with the range-table numbers that differ
 * from plan to plan normalized away.  Equal signatures (equal()) hold equal
 * rows under equal keys.
 *
 * A view shares once its contents are those of the worker's other views
 * (publish.c).  At the worker's start every view hydrates at one snapshot,
 * in one tick: each shares before it hydrates, so the first to hydrate
 * fills an arrangement and the others find it already holding that tick's
 * change, the whole table.  A view created while the worker runs hydrates
 * at a cut of its own, with arrangements of its own, and shares once it
 * has caught up.  Its own arrangement then becomes the shared one, or is
 * freed for the equal one already shared.
 *
 * In a tick every consumer sees the same change of the source.  The first
 * consumer to run applies it (SharedArrangementBeginUpdate); later ones
 * find the arrangement already updated in this tick and skip the update,
 * computing their join's change from the new state instead of the old
 * (join.c), or from nothing when it was empty before the tick.  An error
 * while applying the change would leave the arrangement half-updated for
 * everyone: the worker then restarts and hydrates again
 * (SharedArrangementsTorn).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/nodeFuncs.h"
#include "utils/memutils.h"

#include "coordinator/dataflow.h"

struct SharedArrangement
{
	List	   *signature;
	Arrangement *arrangement;
	int			consumers;		/* joins that read it */
	uint64		updated_tick;	/* the last tick that applied its change */
	bool		empty_before;	/* ... and it was empty before that change */
	bool		updating;		/* applying a change now */
};

static MemoryContext shared_context = NULL;
static List *shared_arrangements = NIL;
static uint64 shared_tick = 0;

/* Range-table numbers to 0, so that equal scans of two plans are equal. */
static bool
normalize_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param))
		*(bool *) context = true;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		var->varno = 0;
		var->varnosyn = 0;
		var->varattnosyn = 0;
	}
	return expression_tree_walker(node, normalize_walker, context);
}

/*
 * The signature of the arrangement of a scan of relid (scan's qual and
 * target list) by keys (expressions over the scan's rows), hashed with
 * hashfns under collations; NIL if it cannot be shared: an expression
 * reads a parameter, whose meaning is the plan's own.
 */
List *
SharedSignature(Oid relid, Scan *scan, List *keys, List *hashfns,
				List *collations)
{
	List	   *exprs = NIL;
	bool		has_param = false;
	ListCell   *lc;

	foreach(lc, scan->plan.targetlist)
		exprs = lappend(exprs, copyObject(lfirst_node(TargetEntry, lc)->expr));
	exprs = list_make3(exprs, copyObject(scan->plan.qual), copyObject(keys));
	(void) normalize_walker((Node *) exprs, &has_param);
	if (has_param)
		return NIL;
	return list_make3(makeInteger((int) relid), exprs,
					  list_concat_copy(hashfns, collations));
}

/* The shared arrangement with this signature, or NULL. */
SharedArrangement *
SharedArrangementFind(List *signature)
{
	ListCell   *lc;

	foreach(lc, shared_arrangements)
	{
		SharedArrangement *sa = lfirst(lc);

		if (equal(sa->signature, signature))
			return sa;
	}
	return NULL;
}

/*
 * Share a, an arrangement whose rows are those of signature as of the end
 * of the last tick.  Returns the arrangement to read instead: an equal one
 * already shared (the caller frees a), or a itself, which the registry
 * then owns.
 */
Arrangement *
SharedArrangementAttach(List *signature, Arrangement *a)
{
	SharedArrangement *sa = SharedArrangementFind(signature);
	MemoryContext old;

	if (sa != NULL)
	{
		sa->consumers++;
		return sa->arrangement;
	}
	if (shared_context == NULL)
		shared_context = AllocSetContextCreate(TopMemoryContext,
											   "coordinator shared arrangements",
											   ALLOCSET_SMALL_SIZES);
	/* outlives the view that built it, with what describes it */
	MemoryContextSetParent(a->context, shared_context);
	old = MemoryContextSwitchTo(a->context);
	sa = palloc0(sizeof(SharedArrangement));
	sa->signature = copyObject(signature);
	sa->arrangement = a;
	sa->consumers = 1;
	MemoryContextSwitchTo(shared_context);
	shared_arrangements = lappend(shared_arrangements, sa);
	MemoryContextSwitchTo(old);
	a->shared = sa;
	return a;
}

/* A join no longer reads sa; the last one frees it. */
void
SharedArrangementRelease(SharedArrangement *sa)
{
	if (--sa->consumers > 0)
		return;
	shared_arrangements = list_delete_ptr(shared_arrangements, sa);
	/* the arrangement, sa and its signature */
	MemoryContextDelete(sa->arrangement->context);
}

/* How many joins read sa. */
int
SharedArrangementConsumers(SharedArrangement *sa)
{
	return sa->consumers;
}

/* A new tick: no shared arrangement has its change applied yet. */
void
SharedArrangementsNextTick(void)
{
	shared_tick++;
}

/* Does sa hold this tick's change already? */
bool
SharedArrangementUpdated(SharedArrangement *sa)
{
	return sa->updated_tick == shared_tick;
}

/* Was sa empty before this tick's change (which it holds)? */
bool
SharedArrangementWasEmpty(SharedArrangement *sa)
{
	return SharedArrangementUpdated(sa) && sa->empty_before;
}

/* Apply this tick's change to sa: it is torn until the end. */
void
SharedArrangementBeginUpdate(SharedArrangement *sa)
{
	Assert(!SharedArrangementUpdated(sa));
	sa->updated_tick = shared_tick;
	sa->empty_before = sa->arrangement->nrows == 0;
	sa->updating = true;
}

void
SharedArrangementEndUpdate(SharedArrangement *sa)
{
	sa->updating = false;
}

/* Did an error stop a change half-applied to a shared arrangement? */
bool
SharedArrangementsTorn(void)
{
	ListCell   *lc;

	foreach(lc, shared_arrangements)
	{
		if (((SharedArrangement *) lfirst(lc))->updating)
			return true;
	}
	return false;
}
