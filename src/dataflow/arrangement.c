/*-------------------------------------------------------------------------
 *
 * arrangement.c
 *	  Arrangements: the state of stateful operators, rows indexed by key.
 *
 * An arrangement holds a consolidated collection (each distinct row once,
 * with its multiplicity), grouped by key: a join finds the rows that can
 * match a key, a reduce finds the rows of a group.  Two hash tables index
 * it: key hash -> groups, and row hash -> rows, so that applying a change
 * to one row costs O(1) whatever the size of its group.
 *
 * Groups are told apart by an equality test on the key columns when the
 * owner provides one (a reduce: groups follow the type's equality, as in
 * GROUP BY); without one, rows with the same key hash form one group and
 * the owner tests candidate matches itself (a join evaluates its clauses).
 * Either way a row's group is a function of the row, so a row is found by
 * its image alone.
 *
 * The layout is compact, because an arrangement can hold every row of a
 * large table (issue 8's aim: at most twice the heap).  A row is one
 * allocation: its links and multiplicity, then its MinimalTuple inline (and,
 * where the owner counts matches, the count after it); its hash lives in
 * the tuple's padding, which no comparison reads.  Rows, groups and key
 * rows are carved from large blocks, without chunk headers or rounding to
 * powers of two, and freed to one free list per size.  Both tables are
 * chained, with bucket arrays that double as they fill.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "coordinator/dataflow.h"

#define FIRST_BLOCK		(8 * 1024)
#define MAX_BLOCK		(1024 * 1024)
#define FIRST_BUCKETS	64

/*
 * The row hash of an arranged row, in its MinimalTuple's padding: the
 * bytes between t_len and t_infomask2, which RowImageEqual and
 * RowImageHash do not read and the executor ignores.
 */
#define TUPLE_HASH(t) \
	(*(uint32 *) ((char *) (t) + offsetof(MinimalTupleData, mt_padding)))
StaticAssertDecl(offsetof(MinimalTupleData, mt_padding) % sizeof(uint32) == 0 &&
				 offsetof(MinimalTupleData, mt_padding) + sizeof(uint32) <=
				 MINIMAL_TUPLE_DATA_OFFSET,
				 "the row hash must fit in a MinimalTuple's padding");
StaticAssertDecl(sizeof(ArrRow) == MAXALIGN(sizeof(ArrRow)),
				 "an arranged row's tuple must be aligned");

/* Bytes of an arranged row whose tuple is len bytes long. */
static inline Size
row_size(Arrangement *a, uint32 len)
{
	return sizeof(ArrRow) + MAXALIGN(len) + (a->matches ? sizeof(int64) : 0);
}

/* size bytes, MAXALIGNed, from a free list or the current block. */
static void *
arr_alloc(Arrangement *a, Size size)
{
	void	   *p;

	size = MAXALIGN(size);
	if (size > ARR_SMALL_LIMIT)
		return MemoryContextAlloc(a->context, size);
	p = a->free[size / MAXIMUM_ALIGNOF];
	if (p != NULL)
	{
		a->free[size / MAXIMUM_ALIGNOF] = *(void **) p;
		return p;
	}
	if (a->block_left < size)
	{
		/* the rest of the block goes to the free list of its size */
		if (a->block_left > 0)
		{
			*(void **) a->block = a->free[a->block_left / MAXIMUM_ALIGNOF];
			a->free[a->block_left / MAXIMUM_ALIGNOF] = a->block;
		}
		a->block = MemoryContextAlloc(a->context, a->next_block);
		a->block_left = a->next_block;
		a->next_block = Min(a->next_block * 2, MAX_BLOCK);
	}
	p = a->block;
	a->block += size;
	a->block_left -= size;
	return p;
}

static void
arr_free(Arrangement *a, void *p, Size size)
{
	size = MAXALIGN(size);
	if (size > ARR_SMALL_LIMIT)
	{
		pfree(p);
		return;
	}
	*(void **) p = a->free[size / MAXIMUM_ALIGNOF];
	a->free[size / MAXIMUM_ALIGNOF] = p;
}

static void **
new_buckets(Arrangement *a, Size n)
{
	return MemoryContextAllocExtended(a->context, n * sizeof(void *),
									  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/*
 * Give a chained table whose entries link to the next one at link_offset
 * nbuckets buckets (a power of two); hash gives an entry's hash.
 */
static void
table_resize(Arrangement *a, ArrTable *t, Size link_offset, uint32 (*hash) (void *),
			 Size nbuckets)
{
	void	  **buckets = new_buckets(a, nbuckets);

	for (Size i = 0; i <= t->mask; i++)
	{
		void	   *e = t->buckets[i];

		while (e != NULL)
		{
			void	  **link = (void **) ((char *) e + link_offset);
			void	   *next = *link;
			Size		b = hash(e) & (nbuckets - 1);

			*link = buckets[b];
			buckets[b] = e;
			e = next;
		}
	}
	pfree(t->buckets);
	t->buckets = buckets;
	t->mask = nbuckets - 1;
}

/* Double a table (see table_resize). */
static void
table_grow(Arrangement *a, ArrTable *t, Size link_offset, uint32 (*hash) (void *))
{
	table_resize(a, t, link_offset, hash, ((Size) t->mask + 1) * 2);
}

static uint32
row_hash(void *e)
{
	return TUPLE_HASH(ArrRowTuple((ArrRow *) e));
}

static uint32
group_hash(void *e)
{
	return ((ArrGroup *) e)->keyhash;
}

Arrangement *
ArrangementCreate(MemoryContext parent, const char *name,
				  ArrKeyEqual key_equal, void *key_arg)
{
	MemoryContext context = AllocSetContextCreate(parent, "coordinator arrangement",
												  ALLOCSET_DEFAULT_SIZES);
	Arrangement *a = MemoryContextAllocZero(context, sizeof(Arrangement));

	MemoryContextSetIdentifier(context, name);
	a->context = context;
	a->next_block = FIRST_BLOCK;
	a->groups.buckets = new_buckets(a, FIRST_BUCKETS);
	a->groups.mask = FIRST_BUCKETS - 1;
	a->rows.buckets = new_buckets(a, FIRST_BUCKETS);
	a->rows.mask = FIRST_BUCKETS - 1;
	a->key_equal = key_equal;
	a->key_arg = key_arg;
	a->group_size = offsetof(ArrGroup, dirty);
	return a;
}

/*
 * Groups carry a reduce's state (the fields of ArrGroup from dirty on).
 * Only before the first group.
 */
void
ArrangementKeepGroupState(Arrangement *a)
{
	Assert(a->ngroups == 0);
	a->group_size = sizeof(ArrGroup);
}

/*
 * An empty arrangement about to take up to nrows rows at once (a
 * hydration adds a whole table): size its row table for them now, one
 * allocation instead of a rehash per doubling.  Does nothing to an
 * arrangement that holds rows: a change that retracts as many rows as it
 * adds must not double the table.
 */
void
ArrangementReserve(Arrangement *a, Size nrows)
{
	Size		nbuckets = (Size) a->rows.mask + 1;

	if (a->nrows > 0 || nrows <= nbuckets)
		return;
	while (nbuckets < nrows)
		nbuckets *= 2;
	table_resize(a, &a->rows, offsetof(ArrRow, hnext), row_hash, nbuckets);
}

/*
 * Each row keeps a count of its own (ArrRowMatches), zero when the row
 * comes.  Only before the first row.
 */
void
ArrangementKeepMatches(Arrangement *a)
{
	Assert(a->nrows == 0);
	a->matches = true;
}

/*
 * The group of row, whose key hashes to keyhash; created empty if it does
 * not exist and create is true, else NULL.
 */
ArrGroup *
ArrangementGroup(Arrangement *a, uint32 keyhash, MinimalTuple row, bool create)
{
	ArrGroup  **bucket;
	ArrGroup   *g;

	if (create && a->ngroups > a->groups.mask)
		table_grow(a, &a->groups, offsetof(ArrGroup, hnext), group_hash);
	bucket = (ArrGroup **) &a->groups.buckets[keyhash & a->groups.mask];
	for (g = *bucket; g != NULL; g = g->hnext)
	{
		if (g->keyhash == keyhash &&
			(a->key_equal == NULL || a->key_equal(a->key_arg, g->keyrow, row)))
			return g;
	}
	if (!create)
		return NULL;
	g = arr_alloc(a, a->group_size);
	memset(g, 0, a->group_size);
	g->keyhash = keyhash;
	if (a->key_equal != NULL)
	{
		/* the group's key, kept while the group exists even if empty */
		g->keyrow = arr_alloc(a, row->t_len);
		memcpy(g->keyrow, row, row->t_len);
	}
	g->hnext = *bucket;
	*bucket = g;
	a->ngroups++;
	return g;
}

/* The entry of row, or NULL if the arrangement does not hold it. */
ArrRow *
ArrangementFind(Arrangement *a, MinimalTuple row)
{
	uint32		rowhash = RowImageHash(row);
	ArrRow	   *r;

	for (r = a->rows.buckets[rowhash & a->rows.mask]; r != NULL; r = r->hnext)
	{
		MinimalTuple t = ArrRowTuple(r);

		if (TUPLE_HASH(t) == rowhash && RowImageEqual(t, row))
			return r;
	}
	return NULL;
}

/*
 * Add diff to the multiplicity of row in group.  Returns the row's entry,
 * or NULL if its multiplicity is zero (the entry is then freed).  The row
 * is copied into the arrangement when first seen.
 */
ArrRow *
ArrangementUpdate(Arrangement *a, ArrGroup *group, MinimalTuple row, int64 diff)
{
	uint32		rowhash = RowImageHash(row);
	ArrRow	  **link;
	ArrRow	   *r;

	if (a->nrows > a->rows.mask)
		table_grow(a, &a->rows, offsetof(ArrRow, hnext), row_hash);
	for (link = (ArrRow **) &a->rows.buckets[rowhash & a->rows.mask];
		 (r = *link) != NULL; link = &r->hnext)
	{
		MinimalTuple t = ArrRowTuple(r);

		if (TUPLE_HASH(t) == rowhash && RowImageEqual(t, row))
			break;
	}

	if (r == NULL)
	{
		MinimalTuple t;

		if (diff == 0)
			return NULL;
		r = arr_alloc(a, row_size(a, row->t_len));
		t = ArrRowTuple(r);
		memcpy(t, row, row->t_len);
		TUPLE_HASH(t) = rowhash;
		r->mult = 0;
		if (a->matches)
			*ArrRowMatches(r) = 0;
		r->hnext = NULL;
		*link = r;
		r->prev = NULL;
		r->next = group->rows;
		if (group->rows != NULL)
			group->rows->prev = r;
		group->rows = r;
		group->nrows++;
		a->nrows++;
		a->tuple_bytes += row->t_len;
	}

	r->mult += diff;
	if (r->mult != 0)
		return r;

	/* unlink from the row table */
	*link = r->hnext;
	/* and from its group */
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		group->rows = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	group->nrows--;
	a->nrows--;
	a->tuple_bytes -= ArrRowTuple(r)->t_len;
	arr_free(a, r, row_size(a, ArrRowTuple(r)->t_len));
	return NULL;
}

/* Forget an empty group. */
void
ArrangementRemoveGroup(Arrangement *a, ArrGroup *group)
{
	ArrGroup  **link;

	Assert(group->rows == NULL);
	for (link = (ArrGroup **) &a->groups.buckets[group->keyhash & a->groups.mask];
		 *link != NULL; link = &(*link)->hnext)
	{
		if (*link == group)
		{
			*link = group->hnext;
			a->ngroups--;
			break;
		}
	}
	if (a->group_size == sizeof(ArrGroup))
	{
		Assert(group->output.rows == NIL);
		if (group->error != NULL)
			pfree(group->error);
	}
	if (group->keyrow != NULL)
		arr_free(a, group->keyrow, group->keyrow->t_len);
	arr_free(a, group, a->group_size);
}
