/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Retained history of maintained views: the changes after since.
 *
 * A view's heap holds its contents at the latest time.  Its history is
 * the list of changes the worker applied to it, in coordinator.history
 * (relid, ts, first_commit, wall, diff, row): the consolidated change of
 * each tick that changed the view, stamped with the tick's timestamp (the
 * commit of the last transaction in it that changed the view), the commit
 * of the first such transaction, and the wall-clock time the worker
 * applied it; row is the view's row as a MinimalTuple.  A tick applies
 * the transactions it decoded together, so the view's contents are known
 * at every time except from first_commit to just before ts, when only
 * some of them had committed: AS OF reads there are refused.
 * The worker writes a tick's changes in the transaction that writes the
 * view, so any snapshot sees a view's contents and its history in step:
 *
 *	contents at t = heap - sum of the changes with ts > t
 *
 * for every t from history_since (shmem.h) on.  Compaction deletes the
 * changes up to a new since, which merges them into the base; nothing can
 * bring them back.  The table is UNLOGGED (history is rebuilt from nothing
 * when a worker hydrates its views, after a crash among others) and its
 * index on (relid, ts) serves compaction and readers.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/stratnum.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "coordinator/coordinator.h"
#include "coordinator/timestamp.h"

#define Natts_history 6
#define Anum_history_relid 1
#define Anum_history_ts 2
#define Anum_history_first_commit 3
#define Anum_history_wall 4
#define Anum_history_diff 5
#define Anum_history_row 6

/* The history table, opened with lockmode, and its index on (relid, ts). */
static Relation
history_open(LOCKMODE lockmode, Relation *index)
{
	Oid			nsp = get_namespace_oid(COORDINATOR_NAME, false);
	Oid			relid = get_relname_relid("history", nsp);
	Relation	rel;
	List	   *indexes;

	if (!OidIsValid(relid))
		elog(ERROR, "relation coordinator.history does not exist");
	rel = table_open(relid, lockmode);
	indexes = RelationGetIndexList(rel);
	if (list_length(indexes) != 1)
		elog(ERROR, "coordinator.history must have exactly one index");
	*index = index_open(linitial_oid(indexes), lockmode);
	list_free(indexes);
	return rel;
}

static void
history_close(Relation rel, Relation index, LOCKMODE lockmode)
{
	index_close(index, lockmode);
	table_close(rel, lockmode);
}

/*
 * The row as a bytea, with values stored out of line (or indirect, as
 * decoding makes them) brought in: the history must not point elsewhere.
 */
static bytea *
row_image(TupleDesc desc, MinimalTuple row)
{
	HeapTupleData htup;
	Datum	   *values = palloc(sizeof(Datum) * desc->natts);
	bool	   *isnull = palloc(sizeof(bool) * desc->natts);
	MinimalTuple flat = row;
	bytea	   *image;

	htup.t_len = row->t_len + MINIMAL_TUPLE_OFFSET;
	htup.t_data = (HeapTupleHeader) ((char *) row - MINIMAL_TUPLE_OFFSET);
	if (HeapTupleHasExternal(&htup))
	{
		heap_deform_tuple(&htup, desc, values, isnull);
		for (int i = 0; i < desc->natts; i++)
		{
			if (!isnull[i] && TupleDescAttr(desc, i)->attlen == -1 &&
				VARATT_IS_EXTERNAL(DatumGetPointer(values[i])))
				values[i] = PointerGetDatum(detoast_external_attr((struct varlena *) DatumGetPointer(values[i])));
		}
		flat = heap_form_minimal_tuple(desc, values, isnull);
	}
	image = palloc(VARHDRSZ + flat->t_len);
	SET_VARSIZE(image, VARHDRSZ + flat->t_len);
	memcpy(VARDATA(image), flat, flat->t_len);
	if (flat != row)
		pfree(flat);
	pfree(values);
	pfree(isnull);
	return image;
}

/* A tick's change of one view being appended (HistoryAppendBegin). */
struct HistoryWrite
{
	Relation	rel;
	Relation	index;
	IndexInfo  *index_info;
	TupleDesc	row_desc;
	Oid			relid;
	XLogRecPtr	first_commit;
	XLogRecPtr	ts;
	TimestampTz wall;
};

/* Append one row of the change with its weight (arg: a HistoryWrite). */
void
HistoryAppendRow(void *arg, MinimalTuple row, int64 weight)
{
	HistoryWrite *w = arg;
	Datum		values[Natts_history];
	bool		isnull[Natts_history] = {false};
	HeapTuple	tuple;

	values[Anum_history_relid - 1] = ObjectIdGetDatum(w->relid);
	values[Anum_history_ts - 1] = Int64GetDatum((int64) w->ts);
	values[Anum_history_first_commit - 1] = Int64GetDatum((int64) w->first_commit);
	values[Anum_history_wall - 1] = TimestampTzGetDatum(w->wall);
	values[Anum_history_diff - 1] = Int64GetDatum(weight);
	values[Anum_history_row - 1] = PointerGetDatum(row_image(w->row_desc, row));
	tuple = heap_form_tuple(RelationGetDescr(w->rel), values, isnull);
	simple_heap_insert(w->rel, tuple);
	index_insert(w->index, values, isnull, &tuple->t_self, w->rel,
				 UNIQUE_CHECK_NO, false, w->index_info);
	pfree(DatumGetPointer(values[Anum_history_row - 1]));
	heap_freetuple(tuple);
}

/*
 * Begin to append the change of one tick of view relid (rows of the view,
 * described by row_desc, each given to HistoryAppendRow) at timestamp ts,
 * made by transactions that committed from first_commit to ts, applied at
 * wall.  HistoryAppendEnd ends it.
 */
HistoryWrite *
HistoryAppendBegin(Oid relid, XLogRecPtr first_commit, XLogRecPtr ts,
				   TimestampTz wall, TupleDesc row_desc)
{
	HistoryWrite *w = palloc(sizeof(HistoryWrite));

	w->rel = history_open(RowExclusiveLock, &w->index);
	w->index_info = BuildIndexInfo(w->index);
	w->row_desc = row_desc;
	w->relid = relid;
	w->first_commit = Min(first_commit, ts);
	w->ts = ts;
	w->wall = wall;
	return w;
}

void
HistoryAppendEnd(HistoryWrite *w)
{
	history_close(w->rel, w->index, RowExclusiveLock);
	pfree(w);
}

/* An index scan of relid's changes in ts order, after "after" if valid. */
static IndexScanDesc
history_begin_scan(Relation rel, Relation index, Snapshot snapshot, Oid relid,
				   XLogRecPtr after, ScanKeyData *keys)
{
	IndexScanDesc scan;
	int			nkeys = after != InvalidXLogRecPtr ? 2 : 1;

	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_OIDEQ,
				ObjectIdGetDatum(relid));
	ScanKeyInit(&keys[1], 2, BTGreaterStrategyNumber, F_INT8GT,
				Int64GetDatum((int64) after));
	scan = index_beginscan(rel, index, snapshot, nkeys, 0);
	index_rescan(scan, keys, nkeys, NULL, 0);
	return scan;
}

/*
 * Compaction of view relid: delete its changes, oldest first, while they
 * were applied before cutoff and are at or before hold.  Returns the
 * timestamp and wall time of the latest change deleted (the new since) in
 * *since and *since_wall, and true if it deleted any; *oldest_wall gets the
 * wall time of the oldest change kept (0 if none).  Runs in a transaction
 * with an active snapshot.
 */
bool
HistoryCompact(Oid relid, XLogRecPtr hold, TimestampTz cutoff,
			   XLogRecPtr *since, TimestampTz *since_wall,
			   TimestampTz *oldest_wall)
{
	Relation	index;
	Relation	rel = history_open(RowExclusiveLock, &index);
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		deleted = false;

	*oldest_wall = 0;
	scan = history_begin_scan(rel, index, GetActiveSnapshot(), relid,
							  InvalidXLogRecPtr, keys);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		XLogRecPtr	ts;
		TimestampTz wall;
		bool		isnull;

		ts = (XLogRecPtr) DatumGetInt64(slot_getattr(slot, Anum_history_ts, &isnull));
		wall = DatumGetTimestampTz(slot_getattr(slot, Anum_history_wall, &isnull));
		if (ts > hold || wall >= cutoff)
		{
			*oldest_wall = wall;
			break;
		}
		simple_heap_delete(rel, &slot->tts_tid);
		*since = ts;
		*since_wall = wall;
		deleted = true;
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	history_close(rel, index, RowExclusiveLock);
	return deleted;
}

/* Delete every change of view relid (its history starts anew). */
void
HistoryForget(Oid relid)
{
	TimestampTz oldest;
	XLogRecPtr	since;
	TimestampTz since_wall;

	(void) HistoryCompact(relid, PG_UINT64_MAX, DT_NOEND, &since, &since_wall,
						  &oldest);
}

/*
 * Call fn for every change of view relid after "after" that the snapshot
 * sees, in timestamp order.  The row passed is valid during the call only.
 */
void
HistoryScan(Oid relid, XLogRecPtr after, Snapshot snapshot,
			HistoryRowFn fn, void *arg)
{
	Relation	index;
	Relation	rel = history_open(AccessShareLock, &index);
	ScanKeyData keys[2];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);

	scan = history_begin_scan(rel, index, snapshot, relid, after, keys);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		XLogRecPtr	ts = (XLogRecPtr) DatumGetInt64(slot_getattr(slot, Anum_history_ts, &isnull));
		XLogRecPtr	first_commit = (XLogRecPtr) DatumGetInt64(slot_getattr(slot, Anum_history_first_commit, &isnull));
		TimestampTz wall = DatumGetTimestampTz(slot_getattr(slot, Anum_history_wall, &isnull));
		int64		diff = DatumGetInt64(slot_getattr(slot, Anum_history_diff, &isnull));
		Datum		stored = slot_getattr(slot, Anum_history_row, &isnull);
		bytea	   *image = DatumGetByteaP(stored);
		MinimalTuple row = palloc(VARSIZE(image) - VARHDRSZ);

		/* an aligned copy */
		memcpy(row, VARDATA(image), VARSIZE(image) - VARHDRSZ);
		fn(arg, first_commit, ts, wall, diff, row);
		pfree(row);
		if ((Pointer) image != DatumGetPointer(stored))
			pfree(image);
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	history_close(rel, index, AccessShareLock);
}

/*
 * A read as of a time before the since of what it reads: Materialize's
 * error, with the constraints in the DETAIL.
 */
void
HistoryNoValidTimestamp(const char *input, const char *since, const char *as_of)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not find a valid timestamp for the query"),
			 errdetail("Constraints:\nlower:\n  (Input %s): [%s]\nupper:\n  (Query's AS OF): [%s]",
					   input, since, as_of),
			 errhint("A view keeps the history of its retain_history (coordinator.objects); history older than its since is gone.  coordinator.set_retain_history keeps more of what comes.")));
}

/*
 * A change made by the transactions that committed from first_commit to
 * ts, seen by a read as of as_of (< ts): ERROR unless all of them came
 * after as_of (see the top of the file).
 */
void
HistoryCheckKnown(Oid relid, XLogRecPtr first_commit, XLogRecPtr ts,
				  XLogRecPtr as_of)
{
	if (first_commit > as_of)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("could not find a valid timestamp for the query"),
			 errdetail("Maintained view \"%s\" applied the transactions that committed from %s to %s as one change, so its contents at %s are not known.",
					   get_rel_name(relid), TimestampString(first_commit),
					   TimestampString(ts), TimestampString(as_of)),
			 errhint("Read as of a time before %llu or from %llu on, such as a timestamp a read or a subscription reported.",
					 (unsigned long long) first_commit, (unsigned long long) ts)));
}
