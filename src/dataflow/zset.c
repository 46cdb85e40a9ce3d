/*-------------------------------------------------------------------------
 *
 * zset.c
 *	  Z-sets: bags of rows with signed weights, the currency of the dataflow.
 *
 * Every operator emits its change in a tick as a Z-set; consolidation sums
 * the weights of equal rows and drops rows whose weight is zero.  Rows are
 * MinimalTuples in a canonical form: every varlena detoasted and
 * decompressed before the tuple is formed, so the same values always give
 * the same bytes and row identity is byte equality.  That is the identity
 * a retraction needs: it must cancel exactly the row it retracts.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/htup_details.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"

#include "coordinator/dataflow.h"

void
ZSetAdd(ZSet *z, MinimalTuple tuple, int64 diff)
{
	if (diff == 0)
		return;
	if (z->nrows == z->maxrows)
	{
		z->maxrows = z->maxrows == 0 ? 64 : z->maxrows * 2;
		z->rows = z->rows == NULL ?
			palloc(sizeof(ZRow) * z->maxrows) :
			repalloc_huge(z->rows, sizeof(ZRow) * z->maxrows);
	}
	z->rows[z->nrows].tuple = tuple;
	z->rows[z->nrows].diff = diff;
	z->nrows++;
}

void
ZSetReset(ZSet *z)
{
	z->nrows = 0;
	z->maxrows = 0;
	z->rows = NULL;
}

/*
 * Must value, of a varlena column, be detoasted before it is copied into
 * a row?  Only if it points elsewhere (TOAST, an expanded object) or is
 * compressed: a short inline value is copied as it is, and one with a
 * 4-byte header is packed (heap_fill_tuple), so a value has one image.
 */
#define NEEDS_DETOAST(value) \
	(VARATT_IS_EXTERNAL(DatumGetPointer(value)) || \
	 VARATT_IS_COMPRESSED(DatumGetPointer(value)))

/*
 * A copy of the slot's row in canonical form, in CurrentMemoryContext.
 */
MinimalTuple
RowFromSlot(TupleTableSlot *slot)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	Datum	   *values;
	MinimalTuple tuple;
	bool		detoast = false;

	slot_getallattrs(slot);
	for (int i = 0; i < desc->natts; i++)
	{
		if (!slot->tts_isnull[i] && TupleDescAttr(desc, i)->attlen == -1 &&
			NEEDS_DETOAST(slot->tts_values[i]))
		{
			detoast = true;
			break;
		}
	}
	if (!detoast)
		return heap_form_minimal_tuple(desc, slot->tts_values, slot->tts_isnull);

	/*
	 * The detoasted copies are only needed to form the tuple: free them, as
	 * the caller's context may live as long as the view (an arrangement's).
	 */
	values = palloc(sizeof(Datum) * desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		values[i] = slot->tts_values[i];
		if (!slot->tts_isnull[i] && TupleDescAttr(desc, i)->attlen == -1 &&
			NEEDS_DETOAST(values[i]))
			values[i] = PointerGetDatum(detoast_attr((struct varlena *) DatumGetPointer(values[i])));
	}
	tuple = heap_form_minimal_tuple(desc, values, slot->tts_isnull);
	for (int i = 0; i < desc->natts; i++)
	{
		if (values[i] != slot->tts_values[i])
			pfree(DatumGetPointer(values[i]));
	}
	pfree(values);
	return tuple;
}

/* The part of a MinimalTuple that holds the row (not its length word). */
#define ROW_BODY(t)		((char *) (t) + MINIMAL_TUPLE_DATA_OFFSET)
#define ROW_BODY_LEN(t)	((t)->t_len - MINIMAL_TUPLE_DATA_OFFSET)

uint32
RowImageHash(MinimalTuple tuple)
{
	return hash_bytes((const unsigned char *) ROW_BODY(tuple), ROW_BODY_LEN(tuple));
}

bool
RowImageEqual(MinimalTuple a, MinimalTuple b)
{
	return a->t_len == b->t_len &&
		memcmp(ROW_BODY(a), ROW_BODY(b), ROW_BODY_LEN(a)) == 0;
}

/* A row with its image hash, the unit of consolidation's sort. */
typedef struct HashedRow
{
	uint32		hash;
	ZRow		row;
} HashedRow;

static int
hashedrow_cmp(const void *a, const void *b)
{
	const HashedRow *x = a;
	const HashedRow *y = b;
	MinimalTuple tx = x->row.tuple;
	MinimalTuple ty = y->row.tuple;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	if (tx->t_len != ty->t_len)
		return tx->t_len < ty->t_len ? -1 : 1;
	return memcmp(ROW_BODY(tx), ROW_BODY(ty), ROW_BODY_LEN(tx));
}

#define RADIX_BITS	11
#define RADIX_SIZE	(1 << RADIX_BITS)
#define RADIX_PASSES 3			/* 33 bits >= 32 */
#define RADIX_MIN_ROWS 1024		/* fewer rows: qsort, without the counts */

/*
 * Sort n rows by hash: a least-significant-digit radix sort, three passes
 * of 11 bits, moving whole entries so that later passes read sequentially.
 * Returns whichever of a and tmp holds the result.
 */
static HashedRow *
radix_sort(HashedRow *a, HashedRow *tmp, int n)
{
	uint32	   *counts = palloc0(sizeof(uint32) * RADIX_SIZE * RADIX_PASSES);

	for (int i = 0; i < n; i++)
	{
		uint32		h = a[i].hash;

		for (int p = 0; p < RADIX_PASSES; p++)
			counts[p * RADIX_SIZE + ((h >> (p * RADIX_BITS)) & (RADIX_SIZE - 1))]++;
	}
	for (int p = 0; p < RADIX_PASSES; p++)
	{
		uint32	   *c = counts + p * RADIX_SIZE;
		uint32		sum = 0;
		HashedRow  *swap;

		for (int b = 0; b < RADIX_SIZE; b++)
		{
			uint32		k = c[b];

			c[b] = sum;
			sum += k;
		}
		for (int i = 0; i < n; i++)
			tmp[c[(a[i].hash >> (p * RADIX_BITS)) & (RADIX_SIZE - 1)]++] = a[i];
		swap = a;
		a = tmp;
		tmp = swap;
	}
	pfree(counts);
	return a;
}

/*
 * Sum the weights of equal rows and drop the rows that cancel.  The order
 * of the result is unspecified.
 *
 * The rows are sorted by image hash (radix sort: linear, and sequential in
 * memory; qsort for a few rows), so equal rows are adjacent; a run of equal hashes is summed at
 * once when its rows are all equal (the common case: duplicates), and
 * sorted by image otherwise (a collision).  Tuples are only read within
 * runs of equal hashes.
 */
void
ZSetConsolidate(ZSet *z)
{
	HashedRow  *a;
	HashedRow  *tmp = NULL;
	HashedRow  *sorted;
	ZRow	   *out;
	int			n = 0;

	if (z->nrows < 2)
	{
		if (z->nrows == 1 && z->rows[0].diff == 0)
			z->nrows = 0;
		return;
	}
	a = palloc_extended(sizeof(HashedRow) * z->nrows, MCXT_ALLOC_HUGE);
	for (int i = 0; i < z->nrows; i++)
	{
		a[i].hash = RowImageHash(z->rows[i].tuple);
		a[i].row = z->rows[i];
	}
	if (z->nrows < RADIX_MIN_ROWS)
	{
		qsort(a, z->nrows, sizeof(HashedRow), hashedrow_cmp);
		sorted = a;
	}
	else
	{
		tmp = palloc_extended(sizeof(HashedRow) * z->nrows, MCXT_ALLOC_HUGE);
		sorted = radix_sort(a, tmp, z->nrows);
	}

	out = palloc_extended(sizeof(ZRow) * z->nrows, MCXT_ALLOC_HUGE);
	for (int i = 0; i < z->nrows;)
	{
		int			j = i + 1;
		bool		same = true;

		while (j < z->nrows && sorted[j].hash == sorted[i].hash)
		{
			same = same && RowImageEqual(sorted[j].row.tuple, sorted[i].row.tuple);
			j++;
		}
		/* a collision: order the run by image (qsort above already did) */
		if (!same && tmp != NULL)
			qsort(sorted + i, j - i, sizeof(HashedRow), hashedrow_cmp);
		for (int k = i; k < j;)
		{
			ZRow		row = sorted[k].row;
			int			l = k + 1;

			while (l < j && (same || RowImageEqual(sorted[l].row.tuple, row.tuple)))
				row.diff += sorted[l++].row.diff;
			if (row.diff != 0)
				out[n++] = row;
			k = l;
		}
		i = j;
	}
	pfree(a);
	if (tmp != NULL)
		pfree(tmp);
	z->rows = out;
	z->nrows = n;
	z->maxrows = z->nrows > 0 ? z->nrows : 0;
	if (n == 0)
		ZSetReset(z);
}
