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
			VARATT_IS_EXTENDED(DatumGetPointer(slot->tts_values[i])))
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
			VARATT_IS_EXTENDED(DatumGetPointer(values[i])))
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

typedef struct SortRow
{
	uint32		hash;
	int			index;
} SortRow;

static int
sortrow_cmp(const void *a, const void *b, void *arg)
{
	const SortRow *x = a;
	const SortRow *y = b;
	ZRow	   *sort_rows = arg;
	MinimalTuple tx;
	MinimalTuple ty;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	tx = sort_rows[x->index].tuple;
	ty = sort_rows[y->index].tuple;
	if (tx->t_len != ty->t_len)
		return tx->t_len < ty->t_len ? -1 : 1;
	return memcmp(ROW_BODY(tx), ROW_BODY(ty), ROW_BODY_LEN(tx));
}

/*
 * Sum the weights of equal rows and drop the rows that cancel.  The order
 * of the result is unspecified.
 */
void
ZSetConsolidate(ZSet *z)
{
	SortRow    *order;
	ZRow	   *out;
	int			n = 0;

	if (z->nrows < 2)
	{
		if (z->nrows == 1 && z->rows[0].diff == 0)
			z->nrows = 0;
		return;
	}
	order = palloc_extended(sizeof(SortRow) * z->nrows, MCXT_ALLOC_HUGE);
	for (int i = 0; i < z->nrows; i++)
	{
		order[i].hash = RowImageHash(z->rows[i].tuple);
		order[i].index = i;
	}
	qsort_arg(order, z->nrows, sizeof(SortRow), sortrow_cmp, z->rows);

	out = palloc_extended(sizeof(ZRow) * z->nrows, MCXT_ALLOC_HUGE);
	for (int i = 0; i < z->nrows;)
	{
		ZRow		row = z->rows[order[i].index];
		int			j = i + 1;

		while (j < z->nrows && order[j].hash == order[i].hash &&
			   RowImageEqual(z->rows[order[j].index].tuple, row.tuple))
			row.diff += z->rows[order[j++].index].diff;
		if (row.diff != 0)
			out[n++] = row;
		i = j;
	}
	pfree(order);
	z->rows = out;
	z->nrows = n;
	z->maxrows = z->nrows > 0 ? z->nrows : 0;
	if (n == 0)
		ZSetReset(z);
}
