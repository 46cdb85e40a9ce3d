/*-------------------------------------------------------------------------
 *
 * subscriber_internal.h
 *	  What the files of the subscriber's side of SUBSCRIBE share.
 *
 * The subscriber runs in the client's backend: functions.c holds the SQL
 * functions and their options, target.c what a target names and the
 * shape of its output, subscriber.c a subscription's life (request,
 * snapshot, end), emit.c the turning of the worker's messages into rows.
 * Nothing outside src/subscribe includes this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_SUBSCRIBER_INTERNAL_H
#define COORDINATOR_SUBSCRIBER_INTERNAL_H

#include "access/htup.h"
#include "nodes/parsenodes.h"
#include "storage/dsm.h"
#include "storage/shm_mq.h"

#include "coordinator/dataflow.h"
#include "coordinator/subscribe.h"
#include "coordinator/subscriptions.h"

/* How often a waiting subscriber checks that what it reads still exists. */
#define SUBSCRIBER_CHECK_MS 1000

typedef struct SubscribeOptions
{
	char	   *target;
	bool		snapshot;
	bool		progress;
	bool		has_as_of;
	XLogRecPtr	as_of;
	bool		has_up_to;
	XLogRecPtr	up_to;
	List	   *keys;			/* upsert_key: column names */
} SubscribeOptions;

/* What a target names: a maintained view, or a query to run. */
typedef struct SubscribeTarget
{
	Oid			relid;			/* a maintained view, or InvalidOid */
	char	   *query;			/* otherwise: the query's text */
	char	   *name;			/* for messages */
	TupleDesc	rowdesc;		/* its columns */
} SubscribeTarget;

/* A change of the view's history that goes out after the snapshot. */
typedef struct HistoryChange
{
	XLogRecPtr	ts;
	int64		diff;
	MinimalTuple row;
} HistoryChange;

typedef struct Subscriber
{
	uint64		id;				/* the user's handle; the slot's id */
	bool		registered;		/* the slot is ours */
	MemoryContext context;		/* everything of the subscription */
	SubscribeOptions opts;
	SubscribeTarget target;
	List	   *sources;		/* relations whose DROP ends it */
	List	   *source_names;
	TupleDesc	outdesc;		/* blessed output rows */
	int			nkeys;
	AttrNumber *keys;			/* upsert: key columns of rowdesc */
	dsm_segment *seg;
	shm_mq_handle *mqh;

	/* the snapshot */
	bool		have_snapshot;	/* as_of is chosen */
	bool		emitted;		/* the snapshot went out */
	XLogRecPtr	as_of;
	XLogRecPtr	oracle;			/* strict serializable: at the start */
	SeenXids	seen;			/* view: what the snapshot that read the heap saw */
	ZSet		rows;			/* the snapshot, until it goes out */
	List	   *history;		/* HistoryChange: from as_of to the contents
								 * the snapshot saw, in time order */
	MemoryContext history_context;	/* history and its rows */

	/* after the snapshot */
	XLogRecPtr	batch_ts;		/* the timestamp being received */
	ZSet		batch;
	XLogRecPtr	progress;		/* everything before it was received */
	XLogRecPtr	progress_out;	/* the last progress row */
	bool		done;			/* up_to reached */

	MemoryContext data_context; /* rows of the snapshot or batch received */
	List	   *ready;			/* output HeapTuples, oldest first */
	MemoryContext ready_context;	/* ready and its tuples */
	TimestampTz last_check;
} Subscriber;

/* target.c */
extern Query *SubscribeAnalyzeQuery(const char *text);
extern void SubscribeResolveTarget(const char *text, SubscribeTarget *target);
extern AttrNumber *SubscribeKeyColumns(TupleDesc rowdesc, List *keys);
extern TupleDesc SubscribeOutputDesc(TupleDesc rowdesc, bool progress,
									 List *keys);
extern bool SubscribeIsKey(AttrNumber *keys, int nkeys, AttrNumber att);

/* subscriber.c */
extern void SubscribeCheckBounds(XLogRecPtr as_of, XLogRecPtr up_to);
extern Subscriber *SubscriberOpen(SubscribeOptions *opts);
extern void SubscriberClose(Subscriber *sub);
extern void SubscriberRelease(Subscriber *sub);
extern void SubscriberCheckSources(Subscriber *sub);
extern void SubscriberReportEnd(Subscriber *sub);
extern void SubscriberSetAsOf(Subscriber *sub, XLogRecPtr history_since,
							  XLogRecPtr since, XLogRecPtr upper);

/* emit.c */
extern void SubscriberPump(Subscriber *sub, int want, XLogRecPtr target,
						   long timeout_ms);
extern HeapTuple SubscriberNextReady(Subscriber *sub);

#endif							/* COORDINATOR_SUBSCRIBER_INTERNAL_H */
