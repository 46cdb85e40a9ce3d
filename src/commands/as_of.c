/*-------------------------------------------------------------------------
 *
 * as_of.c
 *	  AS OF reads: a maintained view's contents at a past time.
 *
 *	SELECT * FROM coordinator.as_of(NULL::v, 123456789);		-- a timestamp
 *	SELECT * FROM coordinator.as_of(NULL::v, now() - '10 min'::interval);
 *
 * The first argument names the view by its row type (NULL::v), so the
 * result has the view's columns and types and any query can use it: join
 * two views as of one time, aggregate over a view as it was.
 *
 * As of a timestamp t: the read waits until the view reflects t (upper
 * passes it), takes a snapshot, holds t on the view (holds.c) after
 * checking that t is not before the view's since, and returns
 *
 *	heap - the changes after t (history.c)
 *
 * under that snapshot.  The result does not depend on the snapshot: every
 * snapshot that reflects t gives the same rows.  As of a wall-clock time
 * w: the contents the view had at w, that is heap minus the changes the
 * worker applied after w; w must be in the past and not before the wall
 * time of since.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "coordinator/commands.h"
#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

PG_FUNCTION_INFO_V1(coordinator_as_of);

/* The changes after the read's time, added up per row. */
typedef struct AsOfChanges
{
	Oid			relid;
	XLogRecPtr	as_of;			/* changes after it */
	RowDelta   *changes;
	TupleTableSlot *slot;
	bool		by_wall;
	TimestampTz wall;			/* by_wall: changes applied after it */
} AsOfChanges;

static void
add_change(void *arg, XLogRecPtr first_commit, XLogRecPtr ts, TimestampTz wall,
		   int64 diff, MinimalTuple row)
{
	AsOfChanges *c = arg;

	if (c->by_wall && wall <= c->wall)
		return;
	if (!c->by_wall)
		HistoryCheckKnown(c->relid, first_commit, ts, c->as_of);
	ExecStoreMinimalTuple(row, c->slot, false);
	RowDeltaAdd(c->changes, c->slot, diff);
}

typedef struct AsOfOutput
{
	Tuplestorestate *store;
	TupleDesc	desc;
	TupleTableSlot *slot;
} AsOfOutput;

/* Rows deleted after the read's time: they were there at it. */
static void
emit_deleted(void *arg, MinimalTuple row, int64 weight)
{
	AsOfOutput *out = arg;

	if (weight >= 0)
		return;
	ExecStoreMinimalTuple(row, out->slot, false);
	slot_getallattrs(out->slot);
	for (int64 n = -weight; n > 0; n--)
		tuplestore_putvalues(out->store, out->desc, out->slot->tts_values,
							 out->slot->tts_isnull);
}

static void
no_valid_timestamp(Oid relid, const char *since, const char *as_of)
{
	HistoryNoValidTimestamp(quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													   get_rel_name(relid)),
							since, as_of);
}

/* The view a NULL::v argument names. */
static Oid
view_of_argument(FunctionCallInfo fcinfo)
{
	Oid			argtype = get_fn_expr_argtype(fcinfo->flinfo, 0);
	Oid			relid = OidIsValid(argtype) ? get_typ_typrelid(argtype) : InvalidOid;

	CoordinatorRefuseDuringRecovery("coordinator.as_of");
	if (!OidIsValid(relid) || !CoordinatorIsMaintainedView(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("coordinator.as_of reads maintained views only"),
				 errhint("Name the view by its row type: coordinator.as_of(NULL::view_name, timestamp).")));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		aclcheck_error(ACLCHECK_NO_PRIV, OBJECT_MATVIEW, get_rel_name(relid));
	return relid;
}

/* A range table entry of the view, for CoordinatorMaintainedViewsIn. */
static RangeTblEntry *
make_view_rte(Oid relid)
{
	RangeTblEntry *rte = makeNode(RangeTblEntry);

	rte->rtekind = RTE_RELATION;
	rte->relid = relid;
	rte->relkind = RELKIND_MATVIEW;
	return rte;
}

/*
 * A snapshot whose contents of the view reflect as_of (a timestamp), or
 * that sees them hydrated (InvalidXLogRecPtr).
 */
static Snapshot
snapshot_reflecting(Oid relid, XLogRecPtr as_of)
{
	List	   *relids = list_make1_oid(relid);

	for (;;)
	{
		Snapshot	snap;
		TimestampDetermination *det;

		CoordinatorWaitForViews(relids, Max(as_of, 1));
		snap = RegisterSnapshot(GetLatestSnapshot());
		det = TimestampInputs(relids, snap);
		if (det->inputs[0].upper > as_of)
			return snap;
		UnregisterSnapshot(snap);
		CHECK_FOR_INTERRUPTS();
	}
}

/*
 * coordinator.as_of(view anyelement, as_of bigint | timestamptz)
 * RETURNS SETOF anyelement
 */
Datum
coordinator_as_of(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = view_of_argument(fcinfo);
	bool		by_wall = get_fn_expr_argtype(fcinfo->flinfo, 1) == TIMESTAMPTZOID;
	XLogRecPtr	as_of = InvalidXLogRecPtr;
	TimestampTz wall = 0;
	Snapshot	snap;
	AsOfChanges changes;
	AsOfOutput	out;
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	MemoryContext context;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the time of an AS OF read must not be null")));
	if (by_wall)
	{
		wall = PG_GETARG_TIMESTAMPTZ(1);
		if (wall > GetCurrentTimestamp())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot read maintained view \"%s\" as of a time in the future",
							get_rel_name(relid))));
	}
	else
	{
		if (PG_GETARG_INT64(1) <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timestamp %lld is not a valid timestamp", (long long) PG_GETARG_INT64(1))));
		as_of = (XLogRecPtr) PG_GETARG_INT64(1);
		if (as_of > GetXLogInsertRecPtr())
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cannot read maintained view \"%s\" as of timestamp %s, which is in the future",
							get_rel_name(relid), TimestampString(as_of)),
					 errdetail("The WAL ends at %s.", TimestampString(GetXLogInsertRecPtr()))));
	}

	/* created in this transaction: its dataflow starts at commit */
	CoordinatorMaintainedViewsIn(list_make1(make_view_rte(relid)));
	InitMaterializedSRF(fcinfo, 0);
	snap = snapshot_reflecting(relid, as_of);

	/* the view's since, seen after the snapshot was taken (history.c) */
	if (by_wall)
	{
		TimestampTz since_wall = 0;
		XLogRecPtr	since = InvalidXLogRecPtr;
		CoordinatorView *entry;

		LWLockAcquire(Coordinator->lock, LW_SHARED);
		entry = CoordinatorFindView(relid);
		if (entry != NULL)
		{
			since_wall = entry->history_since_wall;
			since = entry->history_since;
		}
		LWLockRelease(Coordinator->lock);
		if (wall < since_wall)
			no_valid_timestamp(relid,
							   psprintf("%s, applied %s", TimestampString(since),
										WallTimeString(since_wall)),
							   WallTimeString(wall));
	}
	else
	{
		XLogRecPtr	since;

		if (!ReadHoldAcquire(relid, as_of, READ_HOLD_AS_OF, &since))
			no_valid_timestamp(relid, TimestampString(since), TimestampString(as_of));
	}

	context = AllocSetContextCreate(CurrentMemoryContext, "coordinator as of",
									ALLOCSET_DEFAULT_SIZES);
	rel = table_open(relid, AccessShareLock);
	changes.changes = RowDeltaCreate(RelationGetDescr(rel), context);
	changes.slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsMinimalTuple);
	changes.relid = relid;
	changes.as_of = as_of;
	changes.by_wall = by_wall;
	changes.wall = wall;
	HistoryScan(relid, as_of, snap, add_change, &changes);

	/* the heap minus what was inserted after the time ... */
	out.store = rsinfo->setResult;
	out.desc = rsinfo->setDesc;
	out.slot = changes.slot;
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, snap, 0, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		if (RowDeltaConsume(changes.changes, slot))
			continue;
		tuplestore_putvalues(out.store, out.desc, slot->tts_values, slot->tts_isnull);
		CHECK_FOR_INTERRUPTS();
	}
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);

	/* ... plus what was deleted after it */
	RowDeltaForEach(changes.changes, emit_deleted, &out);

	ExecDropSingleTupleTableSlot(changes.slot);
	RowDeltaFree(changes.changes);
	MemoryContextDelete(context);
	table_close(rel, AccessShareLock);
	UnregisterSnapshot(snap);
	return (Datum) 0;
}
