/*-------------------------------------------------------------------------
 *
 * primary.c
 *	  Strict reads on a compute server after a primary's timestamp.
 *
 * A compute server keeps copies of a primary's tables through a native
 * subscription, and its maintained views read those copies
 * (docs/scale-out.md).  A client that wrote on the primary takes a token
 * there, coordinator.timestamp_token(): a committed write to the
 * published table coordinator.primary_clock, and the primary's WAL
 * position just before that commit.  On the compute server, with
 * coordinator.read_after set to the token, a strict read first waits until
 * the subscription that carries coordinator.primary_clock has applied the
 * primary's commits up to the token (its replication origin's remote
 * position), with every table of the subscription past its initial copy:
 * the clock's commit comes after every commit acknowledged before the
 * token was taken, and the subscription applies commits in the primary's
 * order.  Then the read goes on as any strict read, at a local timestamp
 * after those applied commits.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/xact.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_subscription.h"
#include "catalog/pg_subscription_rel.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/origin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/pg_lsn.h"
#include "utils/syscache.h"

#include "coordinator/coordinator.h"
#include "coordinator/timestamp.h"

char	   *coordinator_read_after = NULL;

/* check hook of coordinator.read_after: empty, or a pg_lsn */
bool
PrimaryCheckReadAfter(char **newval, void **extra, GucSource source)
{
	bool		have_error = false;

	if (*newval == NULL || **newval == '\0')
		return true;
	(void) pg_lsn_in_internal(*newval, &have_error);
	if (have_error)
	{
		GUC_check_errdetail("coordinator.read_after must be a WAL position like 0/16B3748 (what coordinator.timestamp_token() returns on the primary), or empty.");
		return false;
	}
	return true;
}

/* The token coordinator.read_after holds, or InvalidXLogRecPtr. */
XLogRecPtr
PrimaryReadAfter(void)
{
	bool		have_error = false;
	XLogRecPtr	token;

	if (coordinator_read_after == NULL || *coordinator_read_after == '\0')
		return InvalidXLogRecPtr;
	token = pg_lsn_in_internal(coordinator_read_after, &have_error);
	return have_error ? InvalidXLogRecPtr : token;
}

/*
 * The subscription of this database that carries coordinator.primary_clock:
 * its OID, name and whether it is enabled.  ERRORs if there is none.
 */
static Oid
clock_subscription(char **name, bool *enabled)
{
	Oid			clock = get_relname_relid("primary_clock",
										  get_namespace_oid(COORDINATOR_NAME, false));
	Relation	rel;
	SysScanDesc scan;
	HeapTuple	tuple;
	Oid			found = InvalidOid;

	if (OidIsValid(clock))
	{
		rel = table_open(SubscriptionRelationId, AccessShareLock);
		scan = systable_beginscan(rel, InvalidOid, false, NULL, 0, NULL);
		while ((tuple = systable_getnext(scan)) != NULL)
		{
			Form_pg_subscription sub = (Form_pg_subscription) GETSTRUCT(tuple);

			if (sub->subdbid != MyDatabaseId ||
				!SearchSysCacheExists2(SUBSCRIPTIONRELMAP, ObjectIdGetDatum(clock),
									   ObjectIdGetDatum(sub->oid)))
				continue;
			found = sub->oid;
			*name = pstrdup(NameStr(sub->subname));
			*enabled = sub->subenabled;
			break;
		}
		systable_endscan(scan);
		table_close(rel, AccessShareLock);
	}
	if (!OidIsValid(found))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator.read_after is set, but no subscription of this database carries coordinator.primary_clock"),
				 errdetail("A read after a primary's timestamp waits for the subscription that replicates the primary's coordinator.primary_clock."),
				 errhint("Add coordinator.primary_clock to the primary's publication and refresh the subscription (scripts/compute_server.sh does both), or RESET coordinator.read_after.")));
	return found;
}

/* The primary's commits the subscription has applied, from its origin. */
static XLogRecPtr
applied_position(Oid subid)
{
	char		origin_name[NAMEDATALEN];
	RepOriginId origin;

	/* the apply worker's origin (worker.c) */
	snprintf(origin_name, sizeof(origin_name), "pg_%u", subid);
	origin = replorigin_by_name(origin_name, true);
	return origin == InvalidRepOriginId ? InvalidXLogRecPtr :
		replorigin_get_progress(origin, false);
}

/*
 * For EXPLAIN TIMESTAMP: coordinator.read_after, the subscription and how
 * far it has applied the primary's commits (nothing without the setting).
 */
void
PrimaryDescribe(TimestampDetermination *det)
{
	bool		enabled;
	Oid			subid;

	det->primary_token = PrimaryReadAfter();
	if (det->primary_token == InvalidXLogRecPtr)
		return;
	subid = clock_subscription(&det->subscription, &enabled);
	det->primary_applied = applied_position(subid);
}

/*
 * Wait until the subscription carrying coordinator.primary_clock has
 * applied the primary's commits up to token.  Returns whether it waited.
 * Cancel and statement_timeout end the wait; a disabled subscription (an
 * apply error disables one created with disable_on_error) fails the read.
 */
bool
PrimaryWaitApplied(XLogRecPtr token)
{
	char	   *name = NULL;
	bool		enabled = false;
	Oid			subid = clock_subscription(&name, &enabled);
	bool		waited = false;

	for (int polls = 1;; polls++)
	{
		/* shared memory, cheap: every millisecond */
		XLogRecPtr	applied = applied_position(subid);

		/* tables still in their initial copy apply their changes apart */
		if (applied != InvalidXLogRecPtr && applied >= token &&
			GetSubscriptionNotReadyRelations(subid) == NIL)
			return waited;
		if (!enabled)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("subscription \"%s\" is disabled: it cannot apply the primary's commits up to %X/%X",
							name, LSN_FORMAT_ARGS(token)),
					 errdetail("It has applied them up to %X/%X.", LSN_FORMAT_ARGS(applied)),
					 errhint("See pg_stat_subscription_stats and the server log for its last error; ALTER SUBSCRIPTION ... ENABLE, or RESET coordinator.read_after.")));
		waited = true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		/* the catalog (ALTER SUBSCRIPTION ... DISABLE meanwhile): every 0.1 s */
		if (polls % 100 == 0)
		{
			AcceptInvalidationMessages();
			(void) clock_subscription(&name, &enabled);
		}
	}
}
