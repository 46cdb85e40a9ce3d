/*-------------------------------------------------------------------------
 *
 * extremes.c
 *	  The values of a group with their extreme: the state of min, max and
 *	  every aggregate with a sort operator.
 *
 * min needs, when its current value leaves, the next one, without reading
 * the group's rows again.  Keeping the values fully ordered costs log n
 * comparisons per value, which for text under a collation is most of a
 * view's build.  Instead, as Materialize's hierarchical reductions do, the
 * values are spread by hash over buckets, each bucket knows its extreme,
 * and a tournament tree over the buckets knows the extreme of extremes:
 *
 *	- adding a value compares it with its bucket's extreme, and only if it
 *	  wins, climbs the tree while it beats the winners there (one
 *	  comparison per level, and rarely more than a few levels);
 *	- removing the last copy of a value that is its bucket's extreme scans
 *	  that bucket (a few values) and climbs the tree;
 *	- the buckets double when they hold eight values on average, which
 *	  costs half a comparison per value, amortized; a small group has one
 *	  bucket, inside the set, and no tree to speak of.
 *
 * A value is found by its image: its bucket by the hash of its bytes, then
 * by its bytes (the rows the dataflow removes are those it added, byte for
 * byte); values the order calls equal but whose images differ (1.0 and
 * 1.00) are kept apart, and the extreme is one of them, as in Postgres,
 * where which one depends on the rows' order.
 *
 * Values are copied into the set's memory context and freed when their
 * last copy goes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/sortsupport.h"

#include "coordinator/dataflow.h"

#define VALUES_PER_BUCKET 8
#define MAX_BUCKETS (1 << 26)	/* beyond, buckets just fill up */

typedef struct ExtremeValue
{
	Datum		value;
	int64		count;
	uint32		hash;			/* of its image */
} ExtremeValue;

typedef struct Bucket
{
	int			n;
	int			cap;
	int			best;			/* index of its extreme, -1 if empty */
	ExtremeValue *values;
} Bucket;

struct ExtremeOrder
{
	SortSupportData ssup;
	int16		typlen;
	bool		typbyval;
	MemoryContext context;
};

struct ExtremeSet
{
	ExtremeOrder *order;
	int			nbuckets;		/* a power of two */
	int64		nvalues;		/* distinct images */
	Bucket	   *buckets;
	int		   *tree;			/* winner tree: tree[nbuckets + b] is leaf
								 * b; each node the winning bucket below,
								 * -1 if none */
	/* a small group's one bucket and its tree, without allocations */
	Bucket		first;
	int			first_tree[2];
};

/*
 * The order of values of type typid by the btree ordering operator sortop
 * under collation, for sets in context: its first value is the extreme.
 */
ExtremeOrder *
ExtremeOrderCreate(Oid sortop, Oid collation, Oid typid, MemoryContext context)
{
	ExtremeOrder *order = MemoryContextAllocZero(context, sizeof(ExtremeOrder));
	MemoryContext old = MemoryContextSwitchTo(context);

	order->ssup.ssup_cxt = context;
	order->ssup.ssup_collation = collation;
	order->ssup.ssup_nulls_first = false;
	PrepareSortSupportFromOrderingOp(sortop, &order->ssup);
	MemoryContextSwitchTo(old);
	get_typlenbyval(typid, &order->typlen, &order->typbyval);
	order->context = context;
	return order;
}

/* The hash of a value's image. */
static uint32
image_hash(ExtremeOrder *order, Datum value)
{
	if (order->typbyval)
		return hash_bytes((const unsigned char *) &value, sizeof(Datum));
	if (order->typlen == -1)
	{
		struct varlena *v = (struct varlena *) DatumGetPointer(value);

		return hash_bytes((const unsigned char *) VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v));
	}
	return hash_bytes((const unsigned char *) DatumGetPointer(value),
					  datumGetSize(value, false, order->typlen));
}

/* Are two images the same bytes? */
static bool
image_equal(ExtremeOrder *order, Datum a, Datum b)
{
	if (order->typbyval)
		return a == b;
	if (order->typlen == -1)
	{
		struct varlena *va = (struct varlena *) DatumGetPointer(a);
		struct varlena *vb = (struct varlena *) DatumGetPointer(b);

		return VARSIZE_ANY_EXHDR(va) == VARSIZE_ANY_EXHDR(vb) &&
			memcmp(VARDATA_ANY(va), VARDATA_ANY(vb), VARSIZE_ANY_EXHDR(va)) == 0;
	}
	return datumIsEqual(a, b, false, order->typlen);
}

/* Does value a come before value b? */
static inline bool
before(ExtremeOrder *order, Datum a, Datum b)
{
	return ApplySortComparator(a, false, b, false, &order->ssup) < 0;
}

static Datum
bucket_best(ExtremeSet *set, int b)
{
	Bucket	   *bucket = &set->buckets[b];

	return bucket->values[bucket->best].value;
}

/* The winner of two nodes' buckets (-1: none). */
static int
winner(ExtremeSet *set, int x, int y)
{
	if (x < 0)
		return y;
	if (y < 0)
		return x;
	return before(set->order, bucket_best(set, y), bucket_best(set, x)) ? y : x;
}

/*
 * Bucket b's extreme got better (a value came that beats it): b takes over
 * the nodes above it whose winner it now beats, one comparison each, and
 * stops at the first it does not.
 */
static void
climb_better(ExtremeSet *set, int b)
{
	Datum		best = bucket_best(set, b);
	int			node = set->nbuckets + b;

	set->tree[node] = b;
	for (node /= 2; node >= 1; node /= 2)
	{
		int			w = set->tree[node];

		if (w != b && w >= 0 && !before(set->order, best, bucket_best(set, w)))
			break;
		set->tree[node] = b;
	}
}

/* Bucket b's extreme got worse or went: recompute the winners above it. */
static void
climb(ExtremeSet *set, int b)
{
	int			node = set->nbuckets + b;

	set->tree[node] = set->buckets[b].best >= 0 ? b : -1;
	for (node /= 2; node >= 1; node /= 2)
	{
		int			w = winner(set, set->tree[2 * node], set->tree[2 * node + 1]);

		if (set->tree[node] == w && w != b)
			break;				/* nothing above changes */
		set->tree[node] = w;
	}
}

/* Find bucket b's extreme again (its values changed). */
static void
rescan(ExtremeSet *set, int b)
{
	Bucket	   *bucket = &set->buckets[b];

	bucket->best = bucket->n > 0 ? 0 : -1;
	for (int i = 1; i < bucket->n; i++)
	{
		if (before(set->order, bucket->values[i].value, bucket->values[bucket->best].value))
			bucket->best = i;
	}
}

/* Lay out nbuckets empty buckets and their tree. */
static void
set_buckets(ExtremeSet *set, int nbuckets)
{
	set->nbuckets = nbuckets;
	if (nbuckets == 1)
	{
		set->buckets = &set->first;
		set->tree = set->first_tree;
		memset(&set->first, 0, sizeof(Bucket));
	}
	else
	{
		set->buckets = MemoryContextAllocExtended(set->order->context,
												  sizeof(Bucket) * (Size) nbuckets,
												  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
		set->tree = MemoryContextAllocExtended(set->order->context,
											   sizeof(int) * 2 * (Size) nbuckets,
											   MCXT_ALLOC_HUGE);
	}
	for (int b = 0; b < nbuckets; b++)
		set->buckets[b].best = -1;
	for (int i = 0; i < 2 * nbuckets; i++)
		set->tree[i] = -1;
}

/* Free the bucket and tree arrays (not the values). */
static void
free_buckets(ExtremeSet *set, Bucket *buckets, int *tree)
{
	if (buckets != &set->first)
	{
		pfree(buckets);
		pfree(tree);
	}
}

/* Append an entry to bucket b, without looking at its extreme. */
static int
bucket_append(ExtremeSet *set, int b, ExtremeValue *entry)
{
	Bucket	   *bucket = &set->buckets[b];

	if (bucket->n == bucket->cap)
	{
		int			cap = Max(2, bucket->cap * 2);
		ExtremeValue *values = MemoryContextAllocExtended(set->order->context,
														  sizeof(ExtremeValue) * (Size) cap,
														  MCXT_ALLOC_HUGE);

		if (bucket->values != NULL)
		{
			memcpy(values, bucket->values, sizeof(ExtremeValue) * bucket->n);
			pfree(bucket->values);
		}
		bucket->values = values;
		bucket->cap = cap;
	}
	bucket->values[bucket->n] = *entry;
	return bucket->n++;
}

/*
 * Double the buckets.  Bucket b's values go to b and b + nold; the half
 * that gets b's extreme knows its own, the other half is scanned: half a
 * comparison per value, amortized over the inserts that filled them.
 */
static void
grow(ExtremeSet *set)
{
	Bucket		first = set->first;
	Bucket	   *old = set->buckets == &set->first ? &first : set->buckets;
	int		   *old_tree = set->tree;
	int			nold = set->nbuckets;

	set_buckets(set, nold * 2);
	for (int b = 0; b < nold; b++)
	{
		int			best_to = -1;

		for (int i = 0; i < old[b].n; i++)
		{
			int			to = old[b].values[i].hash & (set->nbuckets - 1);
			int			at = bucket_append(set, to, &old[b].values[i]);

			if (i == old[b].best)
			{
				set->buckets[to].best = at;
				best_to = to;
			}
		}
		if (old[b].values != NULL)
			pfree(old[b].values);
		/* the other half */
		if (best_to >= 0)
			rescan(set, best_to == b ? b + nold : b);
	}
	if (old != &first)
		free_buckets(set, old, old_tree);
	for (int b = 0; b < set->nbuckets; b++)
		set->tree[set->nbuckets + b] = set->buckets[b].best >= 0 ? b : -1;
	for (int node = set->nbuckets - 1; node >= 1; node--)
		set->tree[node] = winner(set, set->tree[2 * node], set->tree[2 * node + 1]);
}

/* An empty set of values in order. */
ExtremeSet *
ExtremeSetCreate(ExtremeOrder *order)
{
	ExtremeSet *set = MemoryContextAllocZero(order->context, sizeof(ExtremeSet));

	set->order = order;
	set_buckets(set, 1);
	return set;
}

/*
 * Add diff copies (remove, if negative) of value, never NULL, to set.
 * Removing more copies than the set holds is an ERROR, before anything
 * changed.
 */
void
ExtremeSetAdd(ExtremeSet *set, Datum value, int64 diff)
{
	ExtremeOrder *order = set->order;
	uint32		hash;
	int			b;
	Bucket	   *bucket;
	int			i;

	if (diff == 0)
		return;
	hash = image_hash(order, value);
	b = hash & (set->nbuckets - 1);
	bucket = &set->buckets[b];
	for (i = 0; i < bucket->n; i++)
	{
		if (bucket->values[i].hash == hash &&
			image_equal(order, bucket->values[i].value, value))
			break;
	}

	if (i == bucket->n)
	{
		ExtremeValue entry;
		MemoryContext old;

		if (diff < 0)
			elog(ERROR, "coordinator: removing a value an aggregate does not hold");
		old = MemoryContextSwitchTo(order->context);
		entry.value = datumCopy(value, order->typbyval, order->typlen);
		MemoryContextSwitchTo(old);
		entry.count = diff;
		entry.hash = hash;
		i = bucket_append(set, b, &entry);
		set->nvalues++;
		if (bucket->best < 0 || before(order, value, bucket_best(set, b)))
		{
			bucket->best = i;
			climb_better(set, b);
		}
		if (set->nvalues > (int64) set->nbuckets * VALUES_PER_BUCKET &&
			set->nbuckets < MAX_BUCKETS)
			grow(set);
		return;
	}

	if (bucket->values[i].count + diff < 0)
		elog(ERROR, "coordinator: removing a value an aggregate does not hold");
	bucket->values[i].count += diff;
	if (bucket->values[i].count > 0)
		return;

	/* its last copy went */
	if (!order->typbyval)
		pfree(DatumGetPointer(bucket->values[i].value));
	bucket->values[i] = bucket->values[bucket->n - 1];
	bucket->n--;
	set->nvalues--;
	if (bucket->best == i)
	{
		rescan(set, b);
		climb(set, b);
	}
	else if (bucket->best == bucket->n)
		bucket->best = i;		/* the extreme moved into the hole */
}

/* The extreme of the set in *value; false if the set is empty. */
bool
ExtremeSetFirst(ExtremeSet *set, Datum *value)
{
	int			b = set->tree[1];

	if (b < 0)
		return false;
	*value = bucket_best(set, b);
	return true;
}

/* Free the set and its values. */
void
ExtremeSetFree(ExtremeSet *set)
{
	for (int b = 0; b < set->nbuckets; b++)
	{
		Bucket	   *bucket = &set->buckets[b];

		if (!set->order->typbyval)
		{
			for (int i = 0; i < bucket->n; i++)
				pfree(DatumGetPointer(bucket->values[i].value));
		}
		if (bucket->values != NULL)
			pfree(bucket->values);
	}
	free_buckets(set, set->buckets, set->tree);
	pfree(set);
}
