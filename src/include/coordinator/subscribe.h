/*-------------------------------------------------------------------------
 *
 * subscribe.h
 *	  SUBSCRIBE: stream the changes of a maintained view or of a query.
 *
 * A subscription is a slot in shared memory (ipc/subscriptions.c) and a
 * queue in a dynamic shared memory segment that the subscriber's backend
 * creates.  The dataflow worker that maintains the view, or that runs the
 * query as a transient dataflow, is the queue's sender
 * (dataflow/sender.c): after each tick it sends the tick's consolidated
 * change and a progress message.  The subscriber (src/subscribe) turns
 * them into rows (mz_timestamp, [mz_progressed], mz_diff, columns...);
 * rewrite.c gives those rows their column types when the query is
 * analyzed.
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

/* target.c, functions.c: shapes for rewrite.c */
extern TupleDesc SubscriptionShape(const char *target, bool progress, List *keys);
extern TupleDesc SubscriptionShapeOf(int64 id);
extern List *SubscriptionKeyList(ArrayType *array);

/* rewrite.c */
extern void CoordinatorInstallSubscribeHook(void);

#endif							/* COORDINATOR_SUBSCRIBE_H */
