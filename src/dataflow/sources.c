/*-------------------------------------------------------------------------
 *
 * sources.c
 *	  The tables a dataflow worker's views read: locks for a hydration, and
 *	  the changes of a table that invalidate the dataflows built for it.
 *
 * A hydration scans the sources under a snapshot, then decoding goes on
 * from it.  A table rewrite (ALTER TABLE ... TYPE, VACUUM FULL, CLUSTER,
 * TRUNCATE) that committed between the snapshot and the scan would leave
 * the scan reading the new file, whose rows the snapshot cannot see, and
 * decoding never replays a rewrite: the rows would be lost.  So the
 * sources are locked (AccessShareLock, to commit) before the scan, and a
 * rewrite between the snapshot and the locks is detected by comparing
 * each table's file under the snapshot and now.
 *
 * A dataflow is built for its sources' row layout: a layout that changes
 * (ALTER TABLE ... ADD, DROP or ALTER COLUMN) makes the worker build its
 * dataflows again.  So does a change of a partitioned table's partitions
 * (CREATE TABLE ... PARTITION OF, ATTACH, DETACH, also the first step of
 * DETACH CONCURRENTLY, DROP of a partition, at any level): the plan scans
 * the partitions it had, and rows that arrive or leave with a partition
 * are in no change the worker decodes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "common/hashfn.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"

/*
 * Lock the tables relids (in OID order) with AccessShareLock, to the end of
 * the transaction.  The worker must never wait for a lock while it holds
 * another: DDL that holds a strong lock on one source and waits for one on
 * another (a restore's ALTER TABLE ... ADD CONSTRAINT in one transaction,
 * say) would deadlock with it.  So the tables are locked without waiting;
 * when one is taken, the locks held are let go, that one alone is waited
 * for, and the locking starts again.
 */
void
SourcesLock(List *relids)
{
	for (;;)
	{
		Oid			busy = InvalidOid;
		int			held = 0;
		ListCell   *lc;

		foreach(lc, relids)
		{
			if (!ConditionalLockRelationOid(lfirst_oid(lc), AccessShareLock))
			{
				busy = lfirst_oid(lc);
				break;
			}
			held++;
		}
		if (!OidIsValid(busy))
			return;

		for (int i = 0; i < held; i++)
			UnlockRelationOid(list_nth_oid(relids, i), AccessShareLock);
		pgstat_report_activity(STATE_RUNNING,
							   "hydrating maintained views: waiting for a lock on a source");
		LockRelationOid(busy, AccessShareLock);
		UnlockRelationOid(busy, AccessShareLock);
		pgstat_report_activity(STATE_RUNNING, "hydrating maintained views");
	}
}

static uint32 partitions_hash(Relation inherits, Oid relid, Snapshot snapshot);

/*
 * After SourcesLock: a table of relids whose file is not the one snapshot
 * sees (rewritten by a transaction that committed after the snapshot was
 * taken), or a partitioned table whose partitions are not those snapshot
 * sees (the plan, made now, would scan partitions the snapshot's rows do
 * not match, and the layout recorded now would miss the change), or
 * InvalidOid.  In a transaction.
 */
Oid
SourcesRewrittenSince(List *relids, Snapshot snapshot)
{
	Relation	pg_class_rel = table_open(RelationRelationId, AccessShareLock);
	ListCell   *lc;
	Oid			rewritten = InvalidOid;

	foreach(lc, relids)
	{
		Oid			relid = lfirst_oid(lc);
		ScanKeyData key;
		SysScanDesc scan;
		HeapTuple	tuple;
		Oid			then = InvalidOid;
		Oid			now = InvalidOid;

		ScanKeyInit(&key, Anum_pg_class_oid, BTEqualStrategyNumber, F_OIDEQ,
					ObjectIdGetDatum(relid));
		scan = systable_beginscan(pg_class_rel, ClassOidIndexId, true, snapshot, 1, &key);
		tuple = systable_getnext(scan);
		if (HeapTupleIsValid(tuple))
			then = ((Form_pg_class) GETSTRUCT(tuple))->relfilenode;
		systable_endscan(scan);

		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (HeapTupleIsValid(tuple))
		{
			now = ((Form_pg_class) GETSTRUCT(tuple))->relfilenode;
			ReleaseSysCache(tuple);
		}
		if (then != now)
			rewritten = relid;
	}
	table_close(pg_class_rel, AccessShareLock);
	if (!OidIsValid(rewritten))
	{
		Relation	inherits = table_open(InheritsRelationId, AccessShareLock);

		foreach(lc, relids)
		{
			Oid			relid = lfirst_oid(lc);

			if (get_rel_relkind(relid) == RELKIND_PARTITIONED_TABLE &&
				partitions_hash(inherits, relid, snapshot) !=
				partitions_hash(inherits, relid, NULL))
				rewritten = relid;
		}
		table_close(inherits, AccessShareLock);
	}
	return rewritten;
}

/* The row layout of a table the dataflows read, as they were built. */
typedef struct SourceLayout
{
	Oid			relid;
	uint32		layout;
} SourceLayout;

/* In the context given to SourcesRecordLayouts; lives with the process. */
static List *source_layouts = NIL;

/*
 * An order-independent hash of the partitions under partitioned table
 * relid, at every level, with their pending detaches.
 */
static uint32
partitions_hash(Relation inherits, Oid relid, Snapshot snapshot)
{
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tuple;
	uint32		hash = 0;

	check_stack_depth();
	ScanKeyInit(&key, Anum_pg_inherits_inhparent, BTEqualStrategyNumber,
				F_OIDEQ, ObjectIdGetDatum(relid));
	scan = systable_beginscan(inherits, InheritsParentIndexId, true, snapshot, 1, &key);
	while (HeapTupleIsValid(tuple = systable_getnext(scan)))
	{
		Form_pg_inherits inh = (Form_pg_inherits) GETSTRUCT(tuple);

		hash += hash_combine(hash_uint32(inh->inhrelid),
							 hash_uint32(inh->inhdetachpending));
		if (get_rel_relkind(inh->inhrelid) == RELKIND_PARTITIONED_TABLE)
			hash += partitions_hash(inherits, inh->inhrelid, snapshot);
	}
	systable_endscan(scan);
	return hash;
}

/*
 * A hash of the columns of table relid (and of its partitions if it is
 * partitioned), or 0 if it is gone.
 */
static uint32
source_layout(Oid relid)
{
	Relation	rel = try_relation_open(relid, AccessShareLock);
	uint32		layout;
	TupleDesc	desc;

	if (rel == NULL)
		return 0;
	desc = RelationGetDescr(rel);
	layout = hash_uint32(desc->natts);
	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		layout = hash_combine(layout, hash_uint32(att->atttypid));
		layout = hash_combine(layout, hash_uint32((uint32) att->atttypmod));
		layout = hash_combine(layout, hash_uint32(att->attisdropped));
	}
	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE)
	{
		Relation	inherits = table_open(InheritsRelationId, AccessShareLock);

		layout = hash_combine(layout, partitions_hash(inherits, relid, NULL));
		table_close(inherits, AccessShareLock);
	}
	relation_close(rel, AccessShareLock);
	return layout;
}

/*
 * Remember the layout of each table of sources not seen before, in
 * context (which must live as long as the process).  In a transaction.
 */
void
SourcesRecordLayouts(List *sources, MemoryContext context)
{
	ListCell   *lc;
	ListCell   *ls;
	MemoryContext old;

	foreach(lc, sources)
	{
		bool		known = false;
		SourceLayout *entry;

		foreach(ls, source_layouts)
			known |= ((SourceLayout *) lfirst(ls))->relid == lfirst_oid(lc);
		if (known)
			continue;
		entry = MemoryContextAlloc(context, sizeof(SourceLayout));
		entry->relid = lfirst_oid(lc);
		entry->layout = source_layout(entry->relid);
		old = MemoryContextSwitchTo(context);
		source_layouts = lappend(source_layouts, entry);
		MemoryContextSwitchTo(old);
	}
}

/*
 * A table whose layout differs from the one recorded (a table dropped
 * meanwhile is not), or InvalidOid.  In a transaction.
 */
Oid
SourcesLayoutChanged(void)
{
	ListCell   *lc;

	foreach(lc, source_layouts)
	{
		SourceLayout *entry = lfirst(lc);
		uint32		now = source_layout(entry->relid);

		if (now != 0 && now != entry->layout)
			return entry->relid;
	}
	return InvalidOid;
}
