/*-------------------------------------------------------------------------
 *
 * capture.h
 *	  Change capture: logical decoding of the WAL inside a dataflow worker.
 *
 * The output plugin (plugin.c) copies the changes of source tables into the
 * current CaptureBatch; the decoder (decoder.c) owns the slot and drives
 * decoding.  A batch holds whole transactions in commit order: every change
 * of a transaction reaches the batch when its commit record is decoded.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_CAPTURE_H
#define COORDINATOR_CAPTURE_H

#include "access/htup.h"
#include "access/xlogdefs.h"
#include "nodes/pg_list.h"
#include "replication/logical.h"
#include "replication/origin.h"

typedef enum CaptureKind
{
	CAPTURE_INSERT,
	CAPTURE_UPDATE,
	CAPTURE_DELETE,
	CAPTURE_TRUNCATE
} CaptureKind;

typedef struct CapturedChange
{
	CaptureKind kind;
	Oid			relid;
	TransactionId xid;			/* the (top-level) transaction */
	XLogRecPtr	commit_end;		/* its timestamp: the end of its commit */
	HeapTuple	oldtuple;		/* UPDATE, DELETE: full old row */
	HeapTuple	newtuple;		/* INSERT, UPDATE */
} CapturedChange;

typedef struct CaptureBatch
{
	MemoryContext context;		/* changes live here; reset per tick */
	List	   *sources;		/* OIDs of the tables to capture */
	RepOriginId origin;			/* our own writes: never captured */
	List	   *changes;		/* CapturedChange *, in commit order */
	List	   *touched;		/* OIDs of the sources that changed */
	int			committed_changes;	/* changes of the transactions ... */
	XLogRecPtr	last_change_end;	/* ... up to the last one with changes */
	List	   *decoded_xids;	/* every transaction whose commit was
								 * decoded (int list of xids) */
	bool		catalog_changed;	/* a decoded transaction changed the
									 * catalogs */
	TimestampTz clock;			/* latest commit time or clock message
								 * decoded (0: none) */
	char	   *error;			/* set when a change cannot be captured */
	Oid			error_relid;	/* ... and the table it belongs to */
} CaptureBatch;

/* The batch the plugin appends to; NULL outside dataflow workers. */
extern CaptureBatch *CaptureCurrent;

extern void CaptureSetupOrigin(const char *name);
extern XLogRecPtr CaptureCreateSlot(const char *name);
extern LogicalDecodingContext *CaptureStartStreaming(void);
extern void CaptureReleaseDataHorizon(void);
extern XLogRecPtr CaptureDecode(LogicalDecodingContext *ctx, XLogRecPtr end,
								int max_changes);

#endif							/* COORDINATOR_CAPTURE_H */
