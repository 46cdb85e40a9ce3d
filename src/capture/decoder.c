/*-------------------------------------------------------------------------
 *
 * decoder.c
 *	  Own a logical replication slot and decode the WAL in-process.
 *
 * Each dataflow worker creates a temporary slot at start (so a dead worker
 * never retains WAL) and takes the slot's initial snapshot: scanning the
 * sources under it yields their state exactly at the slot's consistent
 * point, the clean cut from which decoding continues.  The call sequence is
 * the one of walsender's CREATE_REPLICATION_SLOT ... USE_SNAPSHOT and of
 * pg_logical_slot_get_changes.
 *
 * Timestamps: a transaction's timestamp is the end LSN of its commit
 * record, totally ordered and equal to the committer's XactLastCommitEnd.
 * After decoding up to reader->EndRecPtr, every commit ending at or before
 * it has been delivered: that is the frontier the worker publishes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlogutils.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/decode.h"
#include "replication/logical.h"
#include "replication/slot.h"
#include "replication/snapbuild.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "utils/snapmgr.h"

#include "coordinator/capture.h"
#include "coordinator/coordinator.h"

/*
 * Route this process's writes through a replication origin of its own, so
 * the plugin can skip them.  Origins are shared by all databases: the
 * origin's name is name followed by the database's OID, so that the
 * workers of two databases never share one.  Must run outside a
 * transaction.
 */
void
CaptureSetupOrigin(const char *base)
{
	RepOriginId origin;
	char		name[NAMEDATALEN];

	snprintf(name, sizeof(name), "%s_%u", base, MyDatabaseId);
	StartTransactionCommand();
	origin = replorigin_by_name(name, true);
	if (origin == InvalidRepOriginId)
		origin = replorigin_create(name);
	CommitTransactionCommand();

	replorigin_session_setup(origin);
	replorigin_session_origin = origin;
	CaptureCurrent->origin = origin;
}

/*
 * The reader's page callback.  read_local_xlog_page waits for WAL that is
 * not flushed yet (a record can straddle the flush position) in a sleep
 * loop that never checks the postmaster: a worker waiting there would
 * outlive a killed postmaster and keep its shared memory, so the next
 * postmaster could not start.  Wait here instead, until the page's
 * requested bytes are flushed, in waits that end with the postmaster and
 * on interrupts; the latch is left alone (it tells the main loop of work).
 */
static int
capture_page_read(XLogReaderState *state, XLogRecPtr targetPagePtr, int reqLen,
				  XLogRecPtr targetRecPtr, char *cur_page)
{
	XLogRecPtr	needed = targetPagePtr + reqLen;

	while (!RecoveryInProgress() && GetFlushRecPtr(NULL) < needed)
	{
		(void) WaitLatch(MyLatch, WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 1L,
						 PG_WAIT_EXTENSION);
		CHECK_FOR_INTERRUPTS();
	}
	return read_local_xlog_page(state, targetPagePtr, reqLen, targetRecPtr,
								cur_page);
}

/*
 * Create this process's temporary slot and make the slot's initial snapshot
 * the snapshot of the current transaction, which must be REPEATABLE READ
 * and must not have taken a snapshot yet.  Waits for every transaction
 * running now to finish.  Returns the consistent point: the state under
 * the snapshot is exactly every commit ending at or before it.
 */
XLogRecPtr
CaptureCreateSlot(const char *name)
{
	LogicalDecodingContext *ctx;
	Snapshot	snap;
	XLogRecPtr	consistent;

	Assert(XactIsoLevel == XACT_REPEATABLE_READ);

	CheckSlotPermissions();
	CheckLogicalDecodingRequirements();
	ReplicationSlotCreate(name, true, RS_TEMPORARY, false);

	ctx = CreateInitDecodingContext(COORDINATOR_NAME, NIL, true,
									InvalidXLogRecPtr,
									XL_ROUTINE(.page_read = capture_page_read,
											   .segment_open = wal_segment_open,
											   .segment_close = wal_segment_close),
									NULL, NULL, NULL);
	DecodingContextFindStartpoint(ctx);

	InvalidateCatalogSnapshot();
	snap = SnapBuildInitialSnapshot(ctx->snapshot_builder);
	RestoreTransactionSnapshot(snap, MyProc);
	consistent = MyReplicationSlot->data.confirmed_flush;

	FreeDecodingContext(ctx);
	return consistent;
}

/*
 * Start decoding from the slot's confirmed position.  Call outside a
 * transaction; the context is allocated in CurrentMemoryContext, which must
 * live as long as the process decodes.
 */
LogicalDecodingContext *
CaptureStartStreaming(void)
{
	LogicalDecodingContext *ctx;

	ctx = CreateDecodingContext(InvalidXLogRecPtr, NIL, false,
								XL_ROUTINE(.page_read = capture_page_read,
										   .segment_open = wal_segment_open,
										   .segment_close = wal_segment_close),
								NULL, NULL, NULL);
	XLogBeginRead(ctx->reader, MyReplicationSlot->data.restart_lsn);
	return ctx;
}

/*
 * Decode WAL records until the reader reaches end, or until the batch holds
 * at least max_changes changes (always at a record boundary, so the batch
 * holds whole transactions).  Returns the frontier: every commit ending at
 * or before it is in the batch or in an earlier one.
 */
XLogRecPtr
CaptureDecode(LogicalDecodingContext *ctx, XLogRecPtr end, int max_changes)
{
	while (ctx->reader->EndRecPtr < end)
	{
		XLogRecord *record;
		char	   *errm = NULL;

		record = XLogReadRecord(ctx->reader, &errm);
		if (errm)
			elog(ERROR, "could not find record for logical decoding: %s", errm);
		if (record != NULL)
			LogicalDecodingProcessRecord(ctx, ctx->reader);

		CHECK_FOR_INTERRUPTS();
		if (list_length(CaptureCurrent->changes) >= max_changes)
			break;
	}
	return ctx->reader->EndRecPtr;
}

/*
 * Stop holding back VACUUM.  Creating the slot with a full snapshot makes
 * the slot pin the data horizon (effective_xmin) and marks this process as
 * decoding, so that its own xmin is ignored; ReplicationSlotRelease undoes
 * both, but the worker keeps its slot for life.  Call once the initial
 * snapshot has been used and decoding has started (CreateDecodingContext
 * sets the flag again): from then on the worker's transactions protect
 * their snapshots like any backend's (a hydration at a cut relies on it),
 * and the slot holds only its catalog_xmin.
 */
void
CaptureReleaseDataHorizon(void)
{
	ReplicationSlot *slot = MyReplicationSlot;

	if (slot != NULL && TransactionIdIsValid(slot->effective_xmin))
	{
		SpinLockAcquire(&slot->mutex);
		slot->effective_xmin = InvalidTransactionId;
		SpinLockRelease(&slot->mutex);
		ReplicationSlotsComputeRequiredXmin(false);
	}
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	MyProc->statusFlags &= ~PROC_IN_LOGICAL_DECODING;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}
