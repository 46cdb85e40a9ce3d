/*-------------------------------------------------------------------------
 *
 * subscriptions.c
 *	  The subscriptions in shared memory: coordinator.max_subscriptions
 *	  slots in each database's slot, after the view directory.
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
#include "coordinator/subscriptions.h"

Size
SubscriptionShmemSize(void)
{
	return mul_size(sizeof(CoordinatorSubscription), coordinator_max_subscriptions);
}

/* Called on zeroed memory, when a database's slot is made new. */
void
SubscriptionShmemInit(CoordinatorShared *slot, void *address)
{
	slot->subscriptions = address;
	slot->max_subscriptions = coordinator_max_subscriptions;
	slot->next_subscription_id = 1;
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
