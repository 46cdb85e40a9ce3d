/*-------------------------------------------------------------------------
 *
 * rowkey.c
 *	  A key of some columns of a row: its hash and equality, by the
 *	  operators a plan node groups with.
 *
 * Rows of one key are the rows a plan node takes as one group or one
 * distinct row: equal by the node's equality operators, not by their
 * images (1.0 and 1.00 are one numeric).  The hash combines the columns'
 * hash functions; a column whose type cannot hash adds nothing to it, and
 * the equality test then tells its rows apart.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "utils/lsyscache.h"

#include "coordinator/dataflow.h"

/*
 * Set up key over ncols columns of rows of desc, compared with operators
 * (equality operators) under collations.  The arrays are kept, not copied.
 */
void
RowKeyInit(RowKey *key, TupleDesc desc, int ncols, AttrNumber *cols,
		   Oid *operators, Oid *collations)
{
	key->nkeys = ncols;
	key->keycols = cols;
	key->collations = collations;
	key->eqfns = palloc0(sizeof(FmgrInfo) * Max(ncols, 1));
	key->hashfns = palloc0(sizeof(FmgrInfo) * Max(ncols, 1));
	for (int i = 0; i < ncols; i++)
	{
		Oid			lhash;
		Oid			rhash;

		fmgr_info(get_opcode(operators[i]), &key->eqfns[i]);
		if (get_op_hash_functions(operators[i], &lhash, &rhash))
			fmgr_info(lhash, &key->hashfns[i]);
	}
	key->slot_a = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	key->slot_b = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	key->input = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
}

/* Do rows a and b have the same key?  (An ArrKeyEqual; arg is the RowKey.) */
bool
RowKeyEqual(void *arg, MinimalTuple a, MinimalTuple b)
{
	RowKey	   *key = arg;

	ExecStoreMinimalTuple(a, key->slot_a, false);
	ExecStoreMinimalTuple(b, key->slot_b, false);
	for (int i = 0; i < key->nkeys; i++)
	{
		bool		na;
		bool		nb;
		Datum		va = slot_getattr(key->slot_a, key->keycols[i], &na);
		Datum		vb = slot_getattr(key->slot_b, key->keycols[i], &nb);

		if (na != nb)
			return false;
		if (!na && !DatumGetBool(FunctionCall2Coll(&key->eqfns[i], key->collations[i], va, vb)))
			return false;
	}
	return true;
}

/* The hash of row's key; the row stays in key->input until RowKeyDone. */
uint32
RowKeyHash(RowKey *key, MinimalTuple row)
{
	uint32		h = 0;

	ExecStoreMinimalTuple(row, key->input, false);
	for (int i = 0; i < key->nkeys; i++)
	{
		bool		isnull;
		Datum		value = slot_getattr(key->input, key->keycols[i], &isnull);
		uint32		kh = 0;

		if (!isnull && OidIsValid(key->hashfns[i].fn_oid))
			kh = DatumGetUInt32(FunctionCall1Coll(&key->hashfns[i], key->collations[i], value));
		h = (h << 1 | h >> 31) ^ kh;
	}
	return h;
}

/* Let go of the rows the key's slots hold. */
void
RowKeyDone(RowKey *key)
{
	ExecClearTuple(key->input);
	ExecClearTuple(key->slot_a);
	ExecClearTuple(key->slot_b);
}
