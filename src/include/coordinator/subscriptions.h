/*-------------------------------------------------------------------------
 *
 * subscriptions.h
 *	  Subscriptions in shared memory: their slots, the segment of each, and
 *	  the messages a worker sends to a subscriber.
 *
 * A subscriber (src/subscribe) takes a slot and creates the segment; the
 * dataflow worker that serves it (dataflow/sender.c) attaches and sends.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_SUBSCRIPTIONS_H
#define COORDINATOR_SUBSCRIPTIONS_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "storage/dsm.h"
#include "storage/shm_mq.h"

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

/* subscriptions.c */
extern Size SubscriptionShmemSize(void);
struct CoordinatorShared;
extern void SubscriptionShmemInit(struct CoordinatorShared *slot, void *address);
extern CoordinatorSubscription *SubscriptionSlot(int i);
extern CoordinatorSubscription *SubscriptionFind(uint64 id);
extern const char *SubscriptionStateName(SubscriptionState state);
extern void SubscriptionEnd(CoordinatorSubscription *sub, int code,
							const char *message);

#endif							/* COORDINATOR_SUBSCRIPTIONS_H */
