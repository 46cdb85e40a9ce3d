/*-------------------------------------------------------------------------
 *
 * valueset.c
 *	  A multiset of values in a btree order: the state of the DISTINCT
 *	  inside an aggregate, per group.
 *
 * Values are kept in a red-black tree ordered by a btree ordering operator
 * (with its collation), one tree node per class of values the operator
 * calls equal.  A class usually holds one image, but not always: 1.0 and
 * 1.00 are one numeric class, so are 'a' and 'A' under a case-insensitive
 * collation.  A node keeps its class's images with their counts, the first
 * of them being the class's representative, the image the DISTINCT hands
 * on.  Adding or removing a value costs O(log n) comparisons
 * for n classes, whatever the number of rows.
 *
 * A class appearing or disappearing, or its representative changing because
 * that image's last copy went, is reported to the caller, which adds and
 * removes representatives to the aggregate it wraps.
 *
 * Values are copied into the set's memory context and freed when their
 * last copy goes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/rbtree.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/sortsupport.h"

#include "coordinator/dataflow.h"

/* further images of a class, beyond its representative */
typedef struct ValueImage
{
	struct ValueImage *next;
	Datum		value;
	int64		count;
} ValueImage;

typedef struct ValueNode
{
	RBTNode		rbt;
	Datum		abbrev;			/* its abbreviated key, if the order has them */
	Datum		value;			/* the representative image */
	int64		count;			/* its copies */
	ValueImage *more;			/* other images of the class */
} ValueNode;

struct ValueOrder
{
	SortSupportData ssup;
	bool		abbreviated;	/* nodes carry abbreviated keys */
	int16		typlen;
	bool		typbyval;
	MemoryContext context;
};

struct ValueSet
{
	ValueOrder *order;
	RBTree	   *tree;
};

/*
 * Compare two nodes' classes: by their abbreviated keys where the type has
 * them (a text's is a prefix of its strxfrm, so that most comparisons
 * avoid the collation's), then in full.
 */
static int
node_compare(const RBTNode *a, const RBTNode *b, void *arg)
{
	ValueOrder *order = arg;
	const ValueNode *na = (const ValueNode *) a;
	const ValueNode *nb = (const ValueNode *) b;

	if (order->abbreviated)
	{
		int			c = ApplySortComparator(na->abbrev, false, nb->abbrev, false,
											&order->ssup);

		if (c != 0)
			return c;
		return ApplySortAbbrevFullComparator(na->value, false, nb->value, false,
											 &order->ssup);
	}
	return ApplySortComparator(na->value, false, nb->value, false, &order->ssup);
}

static RBTNode *
node_alloc(void *arg)
{
	ValueOrder *order = arg;

	return MemoryContextAlloc(order->context, sizeof(ValueNode));
}

static void
node_free(RBTNode *node, void *arg)
{
	pfree(node);
}

/*
 * The order of values of type typid by the btree ordering operator sortop
 * under collation, for sets in context.
 */
ValueOrder *
ValueOrderCreate(Oid sortop, Oid collation, Oid typid, MemoryContext context)
{
	ValueOrder *order = MemoryContextAllocZero(context, sizeof(ValueOrder));
	MemoryContext old = MemoryContextSwitchTo(context);

	order->ssup.ssup_cxt = context;
	order->ssup.ssup_collation = collation;
	order->ssup.ssup_nulls_first = false;
	order->ssup.abbreviate = true;
	PrepareSortSupportFromOrderingOp(sortop, &order->ssup);
	order->abbreviated = order->ssup.abbrev_converter != NULL;
	MemoryContextSwitchTo(old);
	get_typlenbyval(typid, &order->typlen, &order->typbyval);
	order->context = context;
	return order;
}

/* An empty set of values in order. */
ValueSet *
ValueSetCreate(ValueOrder *order)
{
	MemoryContext old = MemoryContextSwitchTo(order->context);
	ValueSet   *set = palloc0(sizeof(ValueSet));

	set->order = order;
	set->tree = rbt_create(sizeof(ValueNode), node_compare, NULL,
						   node_alloc, node_free, order);
	MemoryContextSwitchTo(old);
	return set;
}

/* A copy of value in the set's memory. */
static Datum
copy_value(ValueOrder *order, Datum value)
{
	MemoryContext old = MemoryContextSwitchTo(order->context);
	Datum		copy = datumCopy(value, order->typbyval, order->typlen);

	MemoryContextSwitchTo(old);
	return copy;
}

static void
free_value(ValueOrder *order, Datum value)
{
	if (!order->typbyval)
		pfree(DatumGetPointer(value));
}

/*
 * Add diff copies (remove, if negative) of value, never NULL, to set.
 * Returns what happened to the representative of value's class: *gone is
 * set to the representative that stopped being one (the class went, or
 * its representative's last copy), *came to the one that started (a new
 * class, or the next image of the class); each flagged in *changed bits
 * VALUESET_GONE and VALUESET_CAME.  A Datum returned in *gone is the
 * caller's, to give back with ValueSetRelease once used; one in *came
 * stays valid while its class does.  Removing more copies than the set
 * holds is an ERROR, before anything changed.
 */
int
ValueSetAdd(ValueSet *set, Datum value, int64 diff, Datum *gone, Datum *came)
{
	ValueOrder *order = set->order;
	ValueNode	probe;
	ValueNode  *node;
	int			changed;

	if (diff == 0)
		return 0;
	probe.value = value;
	if (order->abbreviated)
		probe.abbrev = order->ssup.abbrev_converter(value, &order->ssup);
	node = (ValueNode *) rbt_find(set->tree, &probe.rbt);
	if (node == NULL)
	{
		bool		isnew;

		if (diff < 0)
			elog(ERROR, "coordinator: removing a value an aggregate does not hold");
		probe.value = copy_value(order, value);
		probe.count = diff;
		probe.more = NULL;
		node = (ValueNode *) rbt_insert(set->tree, &probe.rbt, &isnew);
		Assert(isnew);
		*came = node->value;
		return VALUESET_CAME;
	}

	if (datumIsEqual(node->value, value, order->typbyval, order->typlen))
	{
		if (node->count + diff < 0)
			elog(ERROR, "coordinator: removing a value an aggregate does not hold");
		node->count += diff;
	}
	else
	{
		ValueImage **link;
		ValueImage *image;

		for (link = &node->more; (image = *link) != NULL; link = &image->next)
		{
			if (datumIsEqual(image->value, value, order->typbyval, order->typlen))
				break;
		}
		if (image == NULL)
		{
			if (diff < 0)
				elog(ERROR, "coordinator: removing a value an aggregate does not hold");
			image = MemoryContextAlloc(order->context, sizeof(ValueImage));
			image->value = copy_value(order, value);
			image->count = 0;
			image->next = node->more;
			node->more = image;
		}
		if (image->count + diff < 0)
			elog(ERROR, "coordinator: removing a value an aggregate does not hold");
		image->count += diff;
		if (image->count == 0)
		{
			*link = image->next;
			free_value(order, image->value);
			pfree(image);
		}
		return 0;
	}

	if (node->count > 0)
		return 0;

	/* the representative's last copy went */
	*gone = node->value;
	changed = VALUESET_GONE;
	if (node->more != NULL)
	{
		ValueImage *next = node->more;

		node->value = next->value;
		node->count = next->count;
		node->more = next->next;
		pfree(next);
		*came = node->value;
		changed |= VALUESET_CAME;
	}
	else
	{
		rbt_delete(set->tree, &node->rbt);
	}
	return changed;
}

/* Give back a value ValueSetAdd returned in *gone. */
void
ValueSetRelease(ValueSet *set, Datum value)
{
	free_value(set->order, value);
}

/* Free the set and its values. */
void
ValueSetFree(ValueSet *set)
{
	ValueOrder *order = set->order;
	RBTreeIterator iter;
	ValueNode  *node;
	List	   *nodes = NIL;
	ListCell   *lc;

	rbt_begin_iterate(set->tree, LeftRightWalk, &iter);
	while ((node = (ValueNode *) rbt_iterate(&iter)) != NULL)
		nodes = lappend(nodes, node);
	foreach(lc, nodes)
	{
		ValueNode  *n = lfirst(lc);

		free_value(order, n->value);
		while (n->more != NULL)
		{
			ValueImage *image = n->more;

			n->more = image->next;
			free_value(order, image->value);
			pfree(image);
		}
		pfree(n);
	}
	list_free(nodes);
	pfree(set->tree);
	pfree(set);
}
