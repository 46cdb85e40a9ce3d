/*-------------------------------------------------------------------------
 *
 * subscribe.h
 *	  SUBSCRIBE: stream the changes of a maintained view or of a query.
 *
 * A subscription is a slot in shared memory (registry.c) and a queue in a
 * dynamic shared memory segment that the subscriber's backend creates.  The
 * dataflow worker that maintains the view, or that runs the query as a
 * transient dataflow, is the queue's sender (sender.c): after each tick it
 * sends the tick's consolidated change and a progress message.  The
 * subscriber (subscriber.c) turns them into rows
 * (mz_timestamp, [mz_progressed], mz_diff, columns...); rewrite.c gives
 * those rows their column types when the query is analyzed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_SUBSCRIBE_H
#define COORDINATOR_SUBSCRIBE_H

#include "access/tupdesc.h"
#include "access/xlogdefs.h"
#include "nodes/parsenodes.h"
#include "storage/dsm.h"
#include "storage/shm_mq.h"
#include "utils/array.h"
#include "utils/snapshot.h"

#include "coordinator/dataflow.h"

#define SUBSCRIPTION_ERROR_LEN 256
#define SUBSCRIPTION_NAME_LEN 64

typedef enum SubscriptionState
{
	SUBSCRIPTION_FREE = 0,
	SUBSCRIPTION_REQUESTED,		/* waiting for its worker to attach */
	SUBSCRIPTION_ATTACHED,		/* the worker sends to it */
	SUBSCRIPTION_ENDED			/* the worker stopped; error says why */
} SubscriptionState;

/* A subscription in shared memory.  Protected by Coordinator->lock. */
typedef struct CoordinatorSubscription
{
	uint64		id;
	SubscriptionState state;
	pid_t		pid;			/* the subscriber's backend */
	Oid			userid;
	Oid			relid;			/* the maintained view; InvalidOid: a query */
	char		name[SUBSCRIPTION_NAME_LEN];	/* what is subscribed */
	int			worker;
	dsm_handle	handle;
	int64		max_buffer;		/* bytes the worker may hold back */
	int64		buffered;		/* bytes the worker holds back now */
	XLogRecPtr	as_of;			/* set by the subscriber once chosen */
	XLogRecPtr	progress;		/* the latest progress the worker sent */
	TimestampTz created;
	int			error_code;		/* ENDED: SQLSTATE */
	char		error[SUBSCRIPTION_ERROR_LEN];	/* ENDED: why */
} CoordinatorSubscription;

/*
 * The segment of a subscription: a header, the plan of a query (empty for
 * a view) and the queue.
 */
typedef struct SubscriptionSegment
{
	Size		plan_len;		/* bytes of plan text and of the text of the
								 * relations the query names, each with its
								 * NUL */
	Size		queue_offset;
	char		plan[FLEXIBLE_ARRAY_MEMBER];
} SubscriptionSegment;

/* Messages from the worker to the subscriber. */
typedef enum SubscriptionMessageKind
{
	SUBMSG_HYDRATED = 'H',		/* a query's dataflow is built: ts is its
								 * first time; its rows follow as data */
	SUBMSG_DATA = 'D',			/* a row changed by diff at ts */
	SUBMSG_PROGRESS = 'P'		/* every change before ts was sent */
} SubscriptionMessageKind;

typedef struct SubscriptionMessage
{
	char		kind;
	TransactionId xid;			/* DATA of a view: the worker transaction
								 * that wrote the change */
	XLogRecPtr	ts;
	int64		diff;
	/* DATA: a MinimalTuple of the view's (or query's) columns follows */
} SubscriptionMessage;

#define SUBSCRIPTION_QUEUE_SIZE (1024 * 1024)

/*
 * What an MVCC snapshot saw, kept after the snapshot is gone (it holds
 * nothing back): which top-level transactions were committed for it.
 */
typedef struct SeenXids
{
	TransactionId xmin;
	TransactionId xmax;
	int			xcnt;
	TransactionId *xip;			/* NULL: not set, or no longer needed */
} SeenXids;

/* registry.c */
extern void SeenXidsCopy(SeenXids *seen, Snapshot snapshot, MemoryContext context);
extern bool SeenXidsSaw(SeenXids *seen, TransactionId xid);
extern Size SubscriptionShmemSize(void);
extern void SubscriptionShmemInit(void *address);
extern CoordinatorSubscription *SubscriptionSlot(int i);
extern CoordinatorSubscription *SubscriptionFind(uint64 id);
extern const char *SubscriptionStateName(SubscriptionState state);
extern void SubscriptionEnd(CoordinatorSubscription *sub, int code,
							const char *message);

/* sender.c: the worker's side; see worker.c */
extern void SendersService(int worker, List *views);
extern bool SendersAttached(void);
extern void SendersCollect(Oid relid, RowDelta *delta);
extern void SendersCommitted(TransactionId xid, XLogRecPtr ts);
extern void SendersProgress(XLogRecPtr upper);
extern bool SendersHaveTransients(void);
extern List *SendersTransientSources(void);
extern void SendersApplyTransients(List *changes, XLogRecPtr upper);
extern void SendersCheckRights(void);

/* subscriber.c */
extern TupleDesc SubscriptionShape(const char *target, bool progress, List *keys);
extern TupleDesc SubscriptionShapeOf(int64 id);
extern List *SubscriptionKeyList(ArrayType *array);

/* rewrite.c */
extern void CoordinatorInstallSubscribeHook(void);

#endif							/* COORDINATOR_SUBSCRIBE_H */
