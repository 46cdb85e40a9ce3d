/*-------------------------------------------------------------------------
 *
 * registry.c
 *	  The subscriptions in shared memory: coordinator.max_subscriptions
 *	  slots after the view directory.
 *
 * A subscriber takes a free slot (state REQUESTED), the worker that will
 * send to it moves it to ATTACHED, and either side ends it: the subscriber
 * frees its slot, the worker marks it ENDED with the reason and detaches
 * from the queue.  All under Coordinator->lock.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "coordinator/shmem.h"
#include "coordinator/subscribe.h"

Size
SubscriptionShmemSize(void)
{
	return mul_size(sizeof(CoordinatorSubscription), coordinator_max_subscriptions);
}

/* Called once, on zeroed memory, when the shared struct is created. */
void
SubscriptionShmemInit(void *address)
{
	Coordinator->subscriptions = address;
	Coordinator->max_subscriptions = coordinator_max_subscriptions;
	Coordinator->next_subscription_id = 1;
}

CoordinatorSubscription *
SubscriptionSlot(int i)
{
	return &Coordinator->subscriptions[i];
}

/* The slot of subscription id, or NULL.  Caller holds the lock. */
CoordinatorSubscription *
SubscriptionFind(uint64 id)
{
	for (int i = 0; i < Coordinator->max_subscriptions; i++)
	{
		CoordinatorSubscription *sub = &Coordinator->subscriptions[i];

		if (sub->state != SUBSCRIPTION_FREE && sub->id == id)
			return sub;
	}
	return NULL;
}

const char *
SubscriptionStateName(SubscriptionState state)
{
	switch (state)
	{
		case SUBSCRIPTION_REQUESTED:
			return "starting";
		case SUBSCRIPTION_ATTACHED:
			return "running";
		case SUBSCRIPTION_ENDED:
			return "ended";
		default:
			return "free";
	}
}

/*
 * The worker's end of a subscription: record why, once.  Caller holds the
 * lock exclusively.
 */
void
SubscriptionEnd(CoordinatorSubscription *sub, int code, const char *message)
{
	if (sub->state == SUBSCRIPTION_ENDED)
		return;
	sub->state = SUBSCRIPTION_ENDED;
	sub->error_code = code;
	strlcpy(sub->error, message, SUBSCRIPTION_ERROR_LEN);
	sub->buffered = 0;
}

/* Keep what snapshot saw, in context. */
void
SeenXidsCopy(SeenXids *seen, Snapshot snapshot, MemoryContext context)
{
	seen->xmin = snapshot->xmin;
	seen->xmax = snapshot->xmax;
	seen->xcnt = snapshot->xcnt;
	seen->xip = MemoryContextAlloc(context, sizeof(TransactionId) * Max(snapshot->xcnt, 1));
	memcpy(seen->xip, snapshot->xip, sizeof(TransactionId) * snapshot->xcnt);
}

/*
 * Was the committed top-level transaction xid visible to the snapshot?
 * (A top-level xid running at the snapshot is in its xip.)
 */
bool
SeenXidsSaw(SeenXids *seen, TransactionId xid)
{
	if (!TransactionIdIsValid(xid) || seen->xip == NULL)
		return false;
	if (TransactionIdPrecedes(xid, seen->xmin))
		return true;
	if (TransactionIdFollowsOrEquals(xid, seen->xmax))
		return false;
	for (int i = 0; i < seen->xcnt; i++)
	{
		if (TransactionIdEquals(seen->xip[i], xid))
			return false;
	}
	return true;
}
