/*-------------------------------------------------------------------------
 *
 * roworder.c
 *	  A reduce group's rows kept in the order its node reads them: top-k,
 *	  DISTINCT ON and window functions without a sort per change.
 *
 * Unique (DISTINCT ON), Limit (ORDER BY ... LIMIT) and WindowAgg read
 * their input sorted.  A reduce that re-ran them over a group sorted the
 * group's rows on every change, and fed all of them.  Here each group's
 * arranged rows are also indexed by a red-black tree in the node's order
 * (the keys of the Sort the planner put below it, with their collations
 * and NULL placement), ties broken by the rows' bytes so that the order is
 * total.  A change costs O(log n) to keep the tree, and the node is fed
 * from the tree lazily (feeder.c): a Limit reads offset + count rows, a
 * Unique the group's first row, a WindowAgg whose run condition fails
 * (row_number() <= k) stops there; so the work of a change is what the
 * node reads, not the group's size.
 *
 * The tree points at the arrangement's rows (arrangement.c), which stay
 * the only copy; a row leaves the tree before the arrangement frees it.
 *
 * A window whose rows depend only on the rows near them (window.c) walks
 * the tree from a row to its neighbours (RowOrderStep), is fed a range of
 * it (RowOrderFeedRange), and keeps each row's outputs on its node
 * (RowOrderUpdateNear hands back those of a row that leaves).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "executor/tuptable.h"
#include "lib/rbtree.h"
#include "utils/sortsupport.h"

#include "coordinator/dataflow.h"

struct RowNode
{
	RBTNode		rbt;
	ArrRow	   *row;
	/* its first key, so that most comparisons deform no tuple */
	Datum		first;			/* points into row's tuple if by reference */
	Datum		abbrev;			/* abbreviated, if the key has that */
	bool		first_null;
	/* a window's rows computed from it, one per copy (RowOrderUpdateNear) */
	MinimalTuple output;		/* the first copy's */
	List	   *more_outputs;	/* the other copies' */
};

/*
 * The tree's leaves are rbtree.c's sentinel, whose children are itself;
 * no node's child is the node.
 */
#define IS_SENTINEL(n)	((n)->left == (n))

struct RowOrder
{
	int			nkeys;
	SortSupport keys;
	bool		abbreviated;	/* the first key has abbreviated keys */
	bool		reverse_ties;	/* rows equal by the keys in reverse image
								 * order (RowOrderReverseTies) */
	TupleTableSlot *slot_a;
	TupleTableSlot *slot_b;
	MemoryContext context;		/* the trees */
	/* feeding a group: */
	RBTreeIterator iter;
	RBTree	   *feeding;
	RowNode    *range_first;	/* feeding a range of it, not all of it */
	RowNode    *range_last;
	RowNode    *range_next;
	ArrRow	   *current;
	int64		copies;			/* of current, returned so far */
};

/* Compare two rows' bytes, beyond the header (and the hash kept there). */
static int
image_compare(MinimalTuple a, MinimalTuple b)
{
	Size		skip = offsetof(MinimalTupleData, t_infomask2);

	if (a->t_len != b->t_len)
		return a->t_len < b->t_len ? -1 : 1;
	return memcmp((char *) a + skip, (char *) b + skip, a->t_len - skip);
}

static int
node_compare(const RBTNode *a, const RBTNode *b, void *arg)
{
	RowOrder   *ro = arg;
	const RowNode *na = (const RowNode *) a;
	const RowNode *nb = (const RowNode *) b;
	MinimalTuple ta = ArrRowTuple(na->row);
	MinimalTuple tb = ArrRowTuple(nb->row);
	int			c;

	if (ro->nkeys > 0)
	{
		if (ro->abbreviated)
		{
			c = ApplySortComparator(na->abbrev, na->first_null, nb->abbrev,
									nb->first_null, &ro->keys[0]);
			if (c == 0)
				c = ApplySortAbbrevFullComparator(na->first, na->first_null,
												  nb->first, nb->first_null,
												  &ro->keys[0]);
		}
		else
			c = ApplySortComparator(na->first, na->first_null, nb->first,
									nb->first_null, &ro->keys[0]);
		if (c != 0)
			return c;
	}
	ExecStoreMinimalTuple(ta, ro->slot_a, false);
	ExecStoreMinimalTuple(tb, ro->slot_b, false);
	for (int i = 1; i < ro->nkeys; i++)
	{
		SortSupport key = &ro->keys[i];
		bool		na;
		bool		nb;
		Datum		va = slot_getattr(ro->slot_a, key->ssup_attno, &na);
		Datum		vb = slot_getattr(ro->slot_b, key->ssup_attno, &nb);
		c = ApplySortComparator(va, na, vb, nb, key);
		if (c != 0)
			return c;
	}
	return ro->reverse_ties ? image_compare(tb, ta) : image_compare(ta, tb);
}

static RBTNode *
node_alloc(void *arg)
{
	RowOrder   *ro = arg;

	return MemoryContextAlloc(ro->context, sizeof(RowNode));
}

static void
node_free(RBTNode *node, void *arg)
{
	pfree(node);
}

/*
 * The order of sort, over rows of desc; trees in context (the
 * arrangement's).
 */
RowOrder *
RowOrderCreate(Sort *sort, TupleDesc desc, MemoryContext context)
{
	MemoryContext old = MemoryContextSwitchTo(context);
	RowOrder   *ro = palloc0(sizeof(RowOrder));

	ro->nkeys = sort->numCols;
	ro->keys = palloc0(sizeof(SortSupportData) * Max(ro->nkeys, 1));
	for (int i = 0; i < ro->nkeys; i++)
	{
		SortSupport key = &ro->keys[i];

		key->ssup_cxt = context;
		key->ssup_collation = sort->collations[i];
		key->ssup_nulls_first = sort->nullsFirst[i];
		key->ssup_attno = sort->sortColIdx[i];
		key->abbreviate = (i == 0);
		PrepareSortSupportFromOrderingOp(sort->sortOperators[i], key);
	}
	ro->abbreviated = ro->nkeys > 0 && ro->keys[0].abbrev_converter != NULL;
	ro->slot_a = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	ro->slot_b = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	ro->context = context;
	MemoryContextSwitchTo(old);
	return ro;
}

/*
 * Order the rows that the keys find equal in reverse: with the keys
 * reversed too, the order is the exact reverse of the one without.  Call
 * before any row is added.
 */
void
RowOrderReverseTies(RowOrder *ro)
{
	ro->reverse_ties = true;
}

/* Point probe at arranged row r, with its first key. */
static void
set_probe(RowOrder *ro, RowNode *probe, ArrRow *r)
{
	probe->row = r;
	probe->output = NULL;
	probe->more_outputs = NIL;
	probe->first = (Datum) 0;
	probe->first_null = true;
	probe->abbrev = (Datum) 0;
	if (ro->nkeys == 0)
		return;
	ExecStoreMinimalTuple(ArrRowTuple(r), ro->slot_a, false);
	probe->first = slot_getattr(ro->slot_a, ro->keys[0].ssup_attno, &probe->first_null);
	if (ro->abbreviated && !probe->first_null)
		probe->abbrev = ro->keys[0].abbrev_converter(probe->first, &ro->keys[0]);
	ExecClearTuple(ro->slot_a);
}

/* The tree of group g, created empty on first use. */
static RBTree *
group_tree(RowOrder *ro, ArrGroup *g)
{
	if (g->extra == NULL)
	{
		MemoryContext old = MemoryContextSwitchTo(ro->context);

		g->extra = rbt_create(sizeof(RowNode), node_compare, NULL,
							  node_alloc, node_free, ro);
		MemoryContextSwitchTo(old);
	}
	return g->extra;
}

/*
 * Add diff to the multiplicity of row in group g of arrangement a, and
 * keep g's tree: a row enters it when it comes and leaves it before it
 * goes.
 */
void
RowOrderUpdate(RowOrder *ro, Arrangement *a, ArrGroup *g, MinimalTuple row,
			   int64 diff)
{
	RBTree	   *tree = group_tree(ro, g);
	ArrRow	   *r = ArrangementFind(a, row);
	RowNode		probe;

	if (r != NULL && r->mult + diff == 0)
	{
		RBTNode    *node;

		set_probe(ro, &probe, r);
		node = rbt_find(tree, &probe.rbt);
		if (node == NULL)
			elog(ERROR, "coordinator: an ordered group lost a row");
		rbt_delete(tree, node);
	}
	r = ArrangementUpdate(a, g, row, diff);
	if (r != NULL && r->mult == diff)
	{
		bool		isnew;

		set_probe(ro, &probe, r);
		rbt_insert(tree, &probe.rbt, &isnew);
		if (!isnew)
			elog(ERROR, "coordinator: an ordered group has a row twice");
	}
}

/* Forget group g's tree (its rows are gone). */
void
RowOrderFree(RowOrder *ro, ArrGroup *g)
{
	if (g->extra != NULL)
	{
		if (rbt_leftmost(g->extra) != NULL)
			elog(ERROR, "coordinator: an ordered group kept rows");
		pfree(g->extra);
		g->extra = NULL;
	}
}

/*
 * The feeder's source (FeederNext) for group g: its rows in order, each
 * as many times as its multiplicity.
 */
MinimalTuple
RowOrderNext(void *arg, bool restart)
{
	RowOrder   *ro = arg;

	if (restart)
	{
		if (ro->range_first != NULL)
			ro->range_next = ro->range_first;
		else
			rbt_begin_iterate(ro->feeding, LeftRightWalk, &ro->iter);
		ro->current = NULL;
	}
	while (ro->current == NULL || ro->copies >= ro->current->mult)
	{
		RowNode    *node;

		if (ro->range_first != NULL)
		{
			node = ro->range_next;
			ro->range_next = node == NULL || node == ro->range_last ? NULL :
				RowOrderStep(node, true);
		}
		else
			node = (RowNode *) rbt_iterate(&ro->iter);

		if (node == NULL)
		{
			ro->current = NULL;
			return NULL;
		}
		ro->current = node->row;
		ro->copies = 0;
	}
	ro->copies++;
	return ArrRowTuple(ro->current);
}

/* Make group g the one RowOrderNext returns. */
void
RowOrderFeed(RowOrder *ro, ArrGroup *g)
{
	ro->feeding = group_tree(ro, g);
	ro->range_first = NULL;
	rbt_begin_iterate(ro->feeding, LeftRightWalk, &ro->iter);
	ro->current = NULL;
}

/* Make the rows from first to last (in order) those RowOrderNext returns. */
void
RowOrderFeedRange(RowOrder *ro, RowNode *first, RowNode *last)
{
	ro->range_first = first;
	ro->range_last = last;
	ro->range_next = first;
	ro->current = NULL;
}

/* The node after (forward) or before node in its group's order, or NULL. */
RowNode *
RowOrderStep(RowNode *node, bool forward)
{
	RBTNode    *n = &node->rbt;
	RBTNode    *child = forward ? n->right : n->left;

	if (!IS_SENTINEL(child))
	{
		n = child;
		for (;;)
		{
			child = forward ? n->left : n->right;
			if (IS_SENTINEL(child))
				return (RowNode *) n;
			n = child;
		}
	}
	while (n->parent != NULL && n == (forward ? n->parent->right : n->parent->left))
		n = n->parent;
	return (RowNode *) n->parent;
}

/* The first node of group g, or NULL. */
RowNode *
RowOrderFirst(RowOrder *ro, ArrGroup *g)
{
	return (RowNode *) rbt_leftmost(group_tree(ro, g));
}

/* The last node of group g, or NULL: right from the root, O(log n). */
RowNode *
RowOrderLast(RowOrder *ro, ArrGroup *g)
{
	RBTNode    *n = rbt_leftmost(group_tree(ro, g));

	if (n == NULL)
		return NULL;
	while (n->parent != NULL)
		n = n->parent;
	while (!IS_SENTINEL(n->right))
		n = n->right;
	return (RowNode *) n;
}

/* The node of row (an image of a row of group g in arrangement a), or NULL. */
RowNode *
RowOrderLocate(RowOrder *ro, Arrangement *a, ArrGroup *g, MinimalTuple row)
{
	ArrRow	   *r = ArrangementFind(a, row);
	RowNode		probe;

	if (r == NULL)
		return NULL;
	set_probe(ro, &probe, r);
	return (RowNode *) rbt_find(group_tree(ro, g), &probe.rbt);
}

ArrRow *
RowNodeRow(RowNode *node)
{
	return node->row;
}

/*
 * The window rows computed from node's row, taken from it: a list in the
 * current memory context, of the rows (in the arrangement's).
 */
List *
RowNodeTakeOutputs(RowNode *node)
{
	List	   *outputs = NIL;

	if (node->output != NULL)
		outputs = lcons(node->output, node->more_outputs);
	node->output = NULL;
	node->more_outputs = NIL;
	return outputs;
}

/* The window row computed from the last copy of node's row, or NULL. */
MinimalTuple
RowNodeLastOutput(RowNode *node)
{
	return node->more_outputs != NIL ? llast(node->more_outputs) : node->output;
}

/* Are the window rows kept for node's row those of rows, in order? */
bool
RowNodeOutputsEqual(RowNode *node, List *rows)
{
	ListCell   *lc;
	int			i = 0;

	if (list_length(rows) != (node->output != NULL ? 1 + list_length(node->more_outputs) : 0))
		return false;
	foreach(lc, rows)
	{
		MinimalTuple mine = i == 0 ? node->output : list_nth(node->more_outputs, i - 1);

		if (!RowImageEqual(mine, lfirst(lc)))
			return false;
		i++;
	}
	return true;
}

/* Keep a window row computed from node's row (lists in the current context). */
void
RowNodeAddOutput(RowNode *node, MinimalTuple row)
{
	if (node->output == NULL)
		node->output = row;
	else
		node->more_outputs = lappend(node->more_outputs, row);
}

/* Order two nodes of one group: for qsort_arg, with the RowOrder. */
int
RowOrderCompare(const void *a, const void *b, void *arg)
{
	return node_compare(&(*(RowNode *const *) a)->rbt,
						&(*(RowNode *const *) b)->rbt, arg);
}

/* Add copies of the rows of node and of radius nodes each side to *near. */
static void
note_near(RowNode *node, int radius, List **near)
{
	RowNode    *n;
	int			i;

	*near = lappend(*near, heap_copy_minimal_tuple(ArrRowTuple(node->row)));
	for (n = node, i = 0; i < radius && (n = RowOrderStep(n, false)) != NULL; i++)
		*near = lappend(*near, heap_copy_minimal_tuple(ArrRowTuple(n->row)));
	for (n = node, i = 0; i < radius && (n = RowOrderStep(n, true)) != NULL; i++)
		*near = lappend(*near, heap_copy_minimal_tuple(ArrRowTuple(n->row)));
}

/*
 * RowOrderUpdate for a window whose rows depend on the rows within radius
 * of them only: also adds to *near (in the current memory context) the
 * rows whose window values the change may move -- within radius of the
 * row before a row leaves, after it comes -- and sets *gone to the outputs
 * of a row that left (the caller retracts them; the list is in the
 * current memory context).
 */
void
RowOrderUpdateNear(RowOrder *ro, Arrangement *a, ArrGroup *g, MinimalTuple row,
				   int64 diff, int radius, List **near, List **gone)
{
	RBTree	   *tree = group_tree(ro, g);
	ArrRow	   *r = ArrangementFind(a, row);
	RowNode		probe;
	RBTNode    *node;

	*gone = NIL;
	if (r != NULL)
	{
		set_probe(ro, &probe, r);
		node = rbt_find(tree, &probe.rbt);
		if (node == NULL)
			elog(ERROR, "coordinator: an ordered group lost a row");
		note_near((RowNode *) node, radius, near);
		if (r->mult + diff == 0)
		{
			*gone = RowNodeTakeOutputs((RowNode *) node);
			rbt_delete(tree, node);
		}
	}
	r = ArrangementUpdate(a, g, row, diff);
	if (r != NULL && r->mult == diff)
	{
		bool		isnew;

		set_probe(ro, &probe, r);
		node = rbt_insert(tree, &probe.rbt, &isnew);
		if (!isnew)
			elog(ERROR, "coordinator: an ordered group has a row twice");
		note_near((RowNode *) node, radius, near);
	}
}
