/*-------------------------------------------------------------------------
 *
 * sink.c
 *	  The view sink: apply a consolidated Z-set of rows to the view's heap.
 *
 * A maintained view is an ordinary heap relation with no key, so deleting
 * "one copy of row r" needs to find such a copy.  The sink keeps, in the
 * worker's memory, an index from a hash of each row's binary image to the
 * TIDs of the heap tuples holding it.  Binary, not type, equality: if a
 * source value changes from 1.0 to 1.00 the view must show 1.00.  Hash
 * collisions are resolved by fetching the tuple and comparing images.
 *
 * The index describes one relfilenode; when the storage changes (CLUSTER,
 * VACUUM FULL) it is rebuilt by scanning the heap.  Hydration compares the
 * heap with the recomputed result and writes only the difference, which is
 * what makes the sink self-correcting after a crash.
 *
 * RowDelta is the per-tick consolidation: row image -> summed weight, so a
 * row inserted and deleted within one tick costs no heap write.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/tableam.h"
#include "common/hashfn.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "coordinator/dataflow.h"

typedef struct SinkEntry
{
	uint64		hash;			/* key */
	ItemPointerData tid;		/* first tuple with this hash */
	int			nextra;
	int			maxextra;
	ItemPointerData *extra;		/* further tuples: duplicates, collisions */
} SinkEntry;

typedef struct DeltaRow
{
	struct DeltaRow *next;
	int64		weight;
	MinimalTuple tuple;
} DeltaRow;

typedef struct DeltaEntry
{
	uint64		hash;			/* key */
	DeltaRow   *rows;
} DeltaEntry;

/* State of the relation being written, between SinkBegin and SinkEnd. */
static struct
{
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *heapslot;
	TupleTableSlot *fetchslot;
} apply;

/*
 * Hash of a row's binary image: detoasted, independent of short or long
 * varlena headers.
 */
static void
datum_image(Form_pg_attribute att, Datum value, const char **data, Size *len,
			char *buf)
{
	if (att->attbyval)
	{
		store_att_byval(buf, value, att->attlen);
		*data = buf;
		*len = att->attlen;
	}
	else if (att->attlen == -1)
	{
		struct varlena *v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(value));

		*data = VARDATA_ANY(v);
		*len = VARSIZE_ANY_EXHDR(v);
	}
	else if (att->attlen == -2)
	{
		*data = DatumGetCString(value);
		*len = strlen(*data);
	}
	else
	{
		*data = DatumGetPointer(value);
		*len = att->attlen;
	}
}

uint64
RowHash(TupleDesc desc, Datum *values, bool *isnull)
{
	uint64		h = 0;

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *data;
		Size		len;
		char		buf[sizeof(Datum)];

		if (att->attisdropped)
			continue;
		if (isnull[i])
		{
			h = hash_combine64(h, UINT64CONST(0x9e3779b97f4a7c15));
			continue;
		}
		datum_image(att, values[i], &data, &len, buf);
		h = hash_combine64(h, hash_bytes_extended((const unsigned char *) data,
												  (int) len, i));
	}
	return h;
}

bool
RowEqual(TupleDesc desc, Datum *v1, bool *n1, Datum *v2, bool *n2)
{
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		const char *d1,
				   *d2;
		Size		l1,
					l2;
		char		b1[sizeof(Datum)],
					b2[sizeof(Datum)];

		if (att->attisdropped)
			continue;
		if (n1[i] != n2[i])
			return false;
		if (n1[i])
			continue;
		datum_image(att, v1[i], &d1, &l1, b1);
		datum_image(att, v2[i], &d2, &l2, b2);
		if (l1 != l2 || memcmp(d1, d2, l1) != 0)
			return false;
	}
	return true;
}

/* An empty hash table keyed by a row hash, in context (reset first). */
static HTAB *
row_hash_table(const char *name, Size entrysize, long nelem,
			   MemoryContext context)
{
	HASHCTL		ctl;

	MemoryContextReset(context);
	ctl.keysize = sizeof(uint64);
	ctl.entrysize = entrysize;
	ctl.hcxt = context;
	return hash_create(name, nelem, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

static void
sink_reset_index(Sink *sink)
{
	sink->rows = row_hash_table("coordinator sink", sizeof(SinkEntry), 1024,
								sink->context);
}

static void
sink_add(Sink *sink, uint64 hash, ItemPointer tid)
{
	bool		found;
	SinkEntry  *entry = hash_search(sink->rows, &hash, HASH_ENTER, &found);

	if (!found)
	{
		entry->tid = *tid;
		entry->nextra = 0;
		entry->maxextra = 0;
		entry->extra = NULL;
	}
	else
	{
		if (entry->nextra == entry->maxextra)
		{
			entry->maxextra = Max(4, entry->maxextra * 2);
			entry->extra = entry->extra == NULL ?
				MemoryContextAlloc(sink->context, entry->maxextra * sizeof(ItemPointerData)) :
				repalloc(entry->extra, entry->maxextra * sizeof(ItemPointerData));
		}
		entry->extra[entry->nextra++] = *tid;
	}
}

/*
 * Create the sink of a view; its index is built at the first SinkBegin.
 * Allocates in CurrentMemoryContext, which must outlive the sink.
 */
Sink *
SinkCreate(void)
{
	Sink	   *sink = palloc0(sizeof(Sink));

	sink->context = AllocSetContextCreate(CurrentMemoryContext,
										  "coordinator sink",
										  ALLOCSET_DEFAULT_SIZES);
	return sink;
}

/*
 * Rebuild the index from the heap, under the transaction's current
 * snapshot.  If retract is not NULL, every row found is also added to it
 * with weight -1 (hydration: desired minus existing).
 */
static void
sink_rebuild(Sink *sink, Relation rel, RowDelta *retract)
{
	TableScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	TupleDesc	desc = RelationGetDescr(rel);

	sink_reset_index(sink);
	scan = table_beginscan(rel, GetTransactionSnapshot(), 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		slot_getallattrs(slot);
		sink_add(sink, RowHash(desc, slot->tts_values, slot->tts_isnull),
				 &slot->tts_tid);
		if (retract != NULL)
			RowDeltaAdd(retract, slot, -1);
		CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	sink->node = rel->rd_node;
}

/*
 * Prepare to write rel (opened with RowExclusiveLock) in the current
 * transaction: executor state for index upkeep, and an index that matches
 * the relation's storage.  With retract (hydration), the index is always
 * rebuilt and every existing row is added to retract with weight -1.  Pair
 * with SinkEnd; on ERROR the transaction's abort releases what this opened,
 * and the caller must call SinkInvalidate.
 */
void
SinkBegin(Sink *sink, Relation rel, RowDelta *retract)
{
	apply.estate = CreateExecutorState();
	apply.rri = makeNode(ResultRelInfo);
	InitResultRelInfo(apply.rri, rel, 1, NULL, 0);
	ExecOpenIndices(apply.rri, false);
	apply.heapslot = table_slot_create(rel, NULL);
	apply.fetchslot = table_slot_create(rel, NULL);

	if (retract != NULL || sink->rows == NULL ||
		!RelFileNodeEquals(sink->node, rel->rd_node))
		sink_rebuild(sink, rel, retract);
}

/* Forget the index: the heap may differ from it (an aborted write). */
void
SinkInvalidate(Sink *sink)
{
	sink->rows = NULL;
	memset(&apply, 0, sizeof(apply));
}

void
SinkEnd(void)
{
	ExecCloseIndices(apply.rri);
	ExecDropSingleTupleTableSlot(apply.heapslot);
	ExecDropSingleTupleTableSlot(apply.fetchslot);
	FreeExecutorState(apply.estate);
	memset(&apply, 0, sizeof(apply));
}

/*
 * Write one copy of the row in slot (any slot type of rel's row type);
 * hash is its RowHash.  If replace is not NULL, the new copy replaces the
 * tuple at replace, taken out of the index by sink_take: one heap update,
 * HOT when the indexed columns are unchanged and the page has room,
 * instead of a delete, an insert and its index entries.
 */
static void
sink_insert(Sink *sink, Relation rel, TupleTableSlot *slot, uint64 hash,
			ItemPointer replace)
{
	TupleTableSlot *heapslot = apply.heapslot;
	bool		update_indexes = true;
	List	   *recheck;

	ExecCopySlot(heapslot, slot);
	if (replace != NULL)
		simple_table_tuple_update(rel, replace, heapslot, GetActiveSnapshot(),
								  &update_indexes);
	else
		table_tuple_insert(rel, heapslot, GetCurrentCommandId(true), 0, NULL);
	if (update_indexes && apply.rri->ri_NumIndices > 0)
	{
		recheck = ExecInsertIndexTuples(apply.rri, heapslot, apply.estate,
										false, false, NULL, NIL);
		list_free(recheck);
	}
	sink_add(sink, hash, &heapslot->tts_tid);
}

/*
 * Find one copy of the row in slot (hash is its RowHash) and take it out of
 * the index; the caller deletes or replaces the tuple at the TID returned.
 * ERRORs if the heap holds none: the view and its dataflow disagree, and
 * only a rebuild can repair that.
 */
static ItemPointerData
sink_take(Sink *sink, Relation rel, TupleTableSlot *slot, uint64 hash)
{
	TupleDesc	desc = RelationGetDescr(rel);
	SinkEntry  *entry;

	slot_getallattrs(slot);
	entry = hash_search(sink->rows, &hash, HASH_FIND, NULL);

	for (int i = -1; entry != NULL && i < entry->nextra; i++)
	{
		ItemPointerData tid = i < 0 ? entry->tid : entry->extra[i];

		if (!table_tuple_fetch_row_version(rel, &tid, SnapshotAny, apply.fetchslot))
			continue;
		slot_getallattrs(apply.fetchslot);
		if (!RowEqual(desc, slot->tts_values, slot->tts_isnull,
					  apply.fetchslot->tts_values, apply.fetchslot->tts_isnull))
			continue;

		if (entry->nextra == 0)
			hash_search(sink->rows, &hash, HASH_REMOVE, NULL);
		else
		{
			ItemPointerData last = entry->extra[--entry->nextra];

			if (i < 0)
				entry->tid = last;
			else
				entry->extra[i] = last;
		}
		return tid;
	}

	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("maintained view \"%s\" is out of sync with its dataflow",
					RelationGetRelationName(rel)),
			 errdetail("A row to be deleted is not in the view.")));
	pg_unreachable();
}

/* Delete every row of the view (TRUNCATE of its source). */
void
SinkClear(Sink *sink, Relation rel)
{
	HASH_SEQ_STATUS status;
	SinkEntry  *entry;

	hash_seq_init(&status, sink->rows);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		simple_heap_delete(rel, &entry->tid);
		for (int i = 0; i < entry->nextra; i++)
			simple_heap_delete(rel, &entry->extra[i]);
	}
	sink_reset_index(sink);
}

/* --- RowDelta: consolidation of one tick ------------------------------- */

/* A consolidation buffer for rows of desc, allocated under context. */
RowDelta *
RowDeltaCreate(TupleDesc desc, MemoryContext context)
{
	RowDelta   *delta = MemoryContextAllocZero(context, sizeof(RowDelta));

	delta->desc = desc;
	delta->compare = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	delta->context = AllocSetContextCreate(context, "coordinator delta",
										   ALLOCSET_DEFAULT_SIZES);
	RowDeltaReset(delta);
	return delta;
}

/* Release the delta's slot and memory. */
void
RowDeltaFree(RowDelta *delta)
{
	ExecDropSingleTupleTableSlot(delta->compare);
	MemoryContextDelete(delta->context);
	pfree(delta);
}

void
RowDeltaReset(RowDelta *delta)
{
	delta->rows = row_hash_table("coordinator delta", sizeof(DeltaEntry), 256,
								 delta->context);
}

/* Add weight to the row in slot. */
void
RowDeltaAdd(RowDelta *delta, TupleTableSlot *slot, int64 weight)
{
	uint64		hash;
	bool		found;
	DeltaEntry *entry;
	DeltaRow   *row;

	slot_getallattrs(slot);
	hash = RowHash(delta->desc, slot->tts_values, slot->tts_isnull);
	entry = hash_search(delta->rows, &hash, HASH_ENTER, &found);
	if (!found)
		entry->rows = NULL;

	/* equal hashes: compare images (another row only on a collision) */
	for (row = entry->rows; row != NULL; row = row->next)
	{
		TupleTableSlot *other = delta->compare;

		ExecStoreMinimalTuple(row->tuple, other, false);
		slot_getallattrs(other);
		if (RowEqual(delta->desc, slot->tts_values, slot->tts_isnull,
					 other->tts_values, other->tts_isnull))
		{
			row->weight += weight;
			return;
		}
	}

	row = MemoryContextAlloc(delta->context, sizeof(DeltaRow));
	row->weight = weight;
	{
		MemoryContext old = MemoryContextSwitchTo(delta->context);

		row->tuple = ExecCopySlotMinimalTuple(slot);
		MemoryContextSwitchTo(old);
	}
	row->next = entry->rows;
	entry->rows = row;
}

/*
 * If the delta holds a positive weight for the row in slot, take one from
 * it and return true.
 */
bool
RowDeltaConsume(RowDelta *delta, TupleTableSlot *slot)
{
	uint64		hash;
	DeltaEntry *entry;

	slot_getallattrs(slot);
	hash = RowHash(delta->desc, slot->tts_values, slot->tts_isnull);
	entry = hash_search(delta->rows, &hash, HASH_FIND, NULL);
	for (DeltaRow *row = entry ? entry->rows : NULL; row != NULL; row = row->next)
	{
		TupleTableSlot *other = delta->compare;

		if (row->weight <= 0)
			continue;
		ExecStoreMinimalTuple(row->tuple, other, false);
		slot_getallattrs(other);
		if (RowEqual(delta->desc, slot->tts_values, slot->tts_isnull,
					 other->tts_values, other->tts_isnull))
		{
			row->weight--;
			return true;
		}
	}
	return false;
}

/*
 * Does the view have a unique index or an exclusion constraint?  Those
 * check each new index entry against the rows still live at that moment.
 */
static bool
has_unique_index(void)
{
	for (int i = 0; i < apply.rri->ri_NumIndices; i++)
	{
		IndexInfo  *info = apply.rri->ri_IndexRelationInfo[i];

		if (info->ii_Unique || info->ii_ExclusionOps != NULL)
			return true;
	}
	return false;
}

/*
 * Write the consolidated delta to the sink: the copies to delete are found
 * first, then each insertion replaces one of them (an update of that
 * tuple) while any are left, and the rest are deleted; rows whose weights
 * summed to zero cost nothing.  A view with a unique index (a user's
 * CREATE UNIQUE INDEX on its group key, say) deletes first and inserts
 * after: an insertion that replaced the copy of another row would meet
 * the old copy of its own key, still live, in the index.  The delta's
 * final state is the query's result, so it never collides.
 */
void
RowDeltaApply(RowDelta *delta, Sink *sink, Relation rel)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(delta->desc, &TTSOpsMinimalTuple);
	ItemPointerData *taken = NULL;
	int			ntaken = 0;
	int			maxtaken = 0;
	bool		replace = !has_unique_index();

	for (int pass = 0; pass < 2; pass++)
	{
		HASH_SEQ_STATUS status;
		DeltaEntry *entry;

		hash_seq_init(&status, delta->rows);
		while ((entry = hash_seq_search(&status)) != NULL)
		{
			for (DeltaRow *row = entry->rows; row != NULL; row = row->next)
			{
				if ((pass == 0) != (row->weight < 0) || row->weight == 0)
					continue;
				ExecStoreMinimalTuple(row->tuple, slot, false);
				for (int64 n = Abs(row->weight); n > 0; n--)
				{
					if (row->weight > 0)
					{
						sink_insert(sink, rel, slot, entry->hash,
									ntaken > 0 ? &taken[--ntaken] : NULL);
						continue;
					}
					if (!replace)
					{
						ItemPointerData tid = sink_take(sink, rel, slot, entry->hash);

						simple_heap_delete(rel, &tid);
						continue;
					}
					if (ntaken == maxtaken)
					{
						maxtaken = Max(16, maxtaken * 2);
						taken = taken == NULL ?
							palloc(maxtaken * sizeof(ItemPointerData)) :
							repalloc(taken, maxtaken * sizeof(ItemPointerData));
					}
					taken[ntaken++] = sink_take(sink, rel, slot, entry->hash);
				}
			}
			CHECK_FOR_INTERRUPTS();
		}
	}
	while (ntaken > 0)
		simple_heap_delete(rel, &taken[--ntaken]);
	if (taken != NULL)
		pfree(taken);
	ExecDropSingleTupleTableSlot(slot);
}

/* Call fn for each row of the delta whose weight is not zero. */
void
RowDeltaForEach(RowDelta *delta, void (*fn) (void *arg, MinimalTuple row, int64 weight),
				void *arg)
{
	HASH_SEQ_STATUS status;
	DeltaEntry *entry;

	hash_seq_init(&status, delta->rows);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		for (DeltaRow *row = entry->rows; row != NULL; row = row->next)
		{
			if (row->weight != 0)
				fn(arg, row->tuple, row->weight);
		}
	}
}
