/*-------------------------------------------------------------------------
 *
 * transaction.c
 *	  What the end of a transaction does to time, in every process.
 *
 * A commit advances the oracle to its end (timeline.c) before the client
 * hears of it, so that every later strict read waits for it; the commits
 * of the coordinator's own processes (the workers' view writes) do not,
 * as views never read them.  At its end, commit or abort, a transaction
 * lets go of its read holds (holds.c) and of the wait an error cut short
 * (wait.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

/* Transaction callback, installed in every process (coordinator.c). */
void
TimestampXactCallback(XactEvent event, void *arg)
{
	static XLogRecPtr last_commit_end = InvalidXLogRecPtr;

	if (Coordinator == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
			if (XactLastCommitEnd != last_commit_end)
			{
				last_commit_end = XactLastCommitEnd;
				if (!CoordinatorIsOwnProcess)
					OracleApplyWrite(last_commit_end);
			}
			break;
		default:
			break;
	}

	/* read holds last as long as the transaction (holds.c) */
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
			ReadHoldsRelease();
			/* a wait that an error ended (wait.c), and its pause (pause.c) */
			ReadWaitEnd();
			ReadPauseRelease();
			break;
		default:
			break;
	}
}
