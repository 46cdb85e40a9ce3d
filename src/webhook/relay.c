/*-------------------------------------------------------------------------
 *
 * relay.c
 *	  The webhook listener hands each database's requests to an appender
 *	  connected to that database.
 *
 * One listener serves every database: the database is the first segment
 * of the URL (/api/webhook/<database>/<schema>/<name>).  A process is
 * connected to one database for life, so the listener, connected to
 * none, does not write rows itself.  For each database named in a batch
 * it copies the requests into a dynamic shared memory segment, posts the
 * segment in the database's slot (relay_state RELAY_POSTED) and waits on
 * its latch until the database's appender -- a background worker it
 * starts there on the first request and again whenever it exited -- has
 * appended them in one transaction (append.c) and written back each
 * status and message (RELAY_DONE).  A 200 thus still means the row is
 * committed and flushed.
 *
 * A database the coordinator does not serve (no slot: no extension, or
 * a coordinator.database restriction) answers 404, as an unknown source
 * does; one being dropped, or whose appender cannot start or fails,
 * answers 503.  The appender leaves its database when it is dropped, when
 * the extension is, and when the listener that started it is gone.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/webhook.h"

#define RELAY_MESSAGE_LEN 128
/* How long the listener waits for a new appender to be ready. */
#define APPENDER_START_WAIT_MS 10000

typedef struct RelayResult
{
	int			status;
	char		message[RELAY_MESSAGE_LEN];
} RelayResult;

/*
 * The segment: the header, the results, then each request as
 * database, schema, name, nheaders, (name, value)..., body, every string
 * and the body as a uint32 length and its bytes.
 */
typedef struct RelayBatch
{
	int			nrequests;
	RelayResult results[FLEXIBLE_ARRAY_MEMBER];
} RelayBatch;

/* The listener's appenders, by slot index (in TopMemoryContext). */
static BackgroundWorkerHandle **appenders = NULL;

static void
put_bytes(StringInfo buf, const char *data, uint32 len)
{
	appendBinaryStringInfo(buf, (const char *) &len, sizeof(len));
	appendBinaryStringInfo(buf, data, len);
}

static void
put_string(StringInfo buf, const char *s)
{
	put_bytes(buf, s, strlen(s));
}

/* The next length-prefixed item at *p, copied with a terminating NUL. */
static char *
get_bytes(const char **p, uint32 *len)
{
	char	   *result;

	memcpy(len, *p, sizeof(uint32));
	*p += sizeof(uint32);
	result = palloc(*len + 1);
	memcpy(result, *p, *len);
	result[*len] = '\0';
	*p += *len;
	return result;
}

static char *
get_string(const char **p)
{
	uint32		len;

	return get_bytes(p, &len);
}

/* Answer each request of a group the same way. */
static void
answer_all(WebhookRequest **group, int n, int status, const char *message)
{
	for (int i = 0; i < n; i++)
	{
		group[i]->status = status;
		group[i]->message = message;
	}
}

/* The index of a slot in the directory. */
static int
slot_index(CoordinatorShared *slot)
{
	for (int i = 0; i < CoordinatorGlobals->max_databases; i++)
	{
		if (CoordinatorGlobals->slots[i] == slot)
			return i;
	}
	elog(ERROR, "coordinator: unknown database slot");
	return -1;					/* keep the compiler quiet */
}

/*
 * Make sure the slot's database has an appender of this listener that is
 * ready; start one if not and wait for it.  Returns false if none could
 * start.
 */
static bool
ensure_appender(CoordinatorShared *slot)
{
	int			index = slot_index(slot);
	BackgroundWorkerHandle *handle;
	TimestampTz start = GetCurrentTimestamp();
	pid_t		pid;
	MemoryContext old;

	if (appenders == NULL)
		appenders = MemoryContextAllocZero(TopMemoryContext,
										   sizeof(BackgroundWorkerHandle *) *
										   CoordinatorGlobals->max_databases);
	handle = appenders[index];
	if (handle != NULL && GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
	{
		pfree(handle);
		handle = appenders[index] = NULL;
	}
	if (handle == NULL)
	{
		LWLockAcquire(slot->lock, LW_EXCLUSIVE);
		slot->appender_latch = NULL;
		slot->relay_state = RELAY_IDLE;
		LWLockRelease(slot->lock);
		/* the handle outlives the batch */
		old = MemoryContextSwitchTo(TopMemoryContext);
		handle = appenders[index] =
			CoordinatorStartWorker("WebhookAppenderMain", "coordinator webhook appender",
								   "coordinator webhook appender",
								   ObjectIdGetDatum(slot->database));
		MemoryContextSwitchTo(old);
		if (handle == NULL)
			return false;
	}
	while (slot->appender_latch == NULL)
	{
		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED ||
			CoordinatorRestartDelay(start, APPENDER_START_WAIT_MS) == 0)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return true;
}

/*
 * Relay the requests of database dbname (all of group[] name it) to its
 * appender and wait for their outcome.
 */
static void
relay_group(const char *dbname, WebhookRequest **group, int n)
{
	CoordinatorShared *slot = CoordinatorFindDatabaseByName(dbname);
	StringInfoData data;
	Size		header;
	dsm_segment *seg;
	RelayBatch *batch;
	Latch	   *latch;
	bool		done = false;
	int			index;

	/* not served, or no longer: the slot of a dropped extension may linger */
	if (slot == NULL || slot->extension_absent)
	{
		answer_all(group, n, 404, "not found");
		return;
	}
	if (slot->dropping_database || !ensure_appender(slot))
	{
		answer_all(group, n, 503, "database not available");
		return;
	}
	index = slot_index(slot);

	initStringInfo(&data);
	for (int i = 0; i < n; i++)
	{
		WebhookRequest *req = group[i];

		put_string(&data, req->database);
		put_string(&data, req->schema);
		put_string(&data, req->name);
		appendBinaryStringInfo(&data, (const char *) &req->nheaders, sizeof(int));
		for (int h = 0; h < req->nheaders; h++)
		{
			put_string(&data, req->header_names[h]);
			put_string(&data, req->header_values[h]);
		}
		put_bytes(&data, req->body.data, req->body.len);
	}
	header = MAXALIGN(add_size(offsetof(RelayBatch, results),
							   mul_size(sizeof(RelayResult), n)));
	seg = dsm_create(add_size(header, data.len), 0);
	batch = dsm_segment_address(seg);
	batch->nrequests = n;
	for (int i = 0; i < n; i++)
	{
		batch->results[i].status = 503;
		strlcpy(batch->results[i].message, "database not available", RELAY_MESSAGE_LEN);
	}
	memcpy((char *) batch + header, data.data, data.len);
	pfree(data.data);

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->relay_segment = dsm_segment_handle(seg);
	slot->relay_state = RELAY_POSTED;
	latch = slot->appender_latch;
	LWLockRelease(slot->lock);
	if (latch != NULL)
		SetLatch(latch);

	while (!done)
	{
		pid_t		pid;

		LWLockAcquire(slot->lock, LW_SHARED);
		done = slot->relay_state == RELAY_DONE;
		LWLockRelease(slot->lock);
		if (done)
			break;
		/* the appender failed: its requests are not appended */
		if (appenders[index] == NULL ||
			GetBackgroundWorkerPid(appenders[index], &pid) == BGWH_STOPPED)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}

	for (int i = 0; i < n; i++)
	{
		group[i]->status = batch->results[i].status;
		/* the message is answered after the batch: keep it with the request */
		group[i]->message = MemoryContextStrdup(GetMemoryChunkContext(group[i]->name),
												batch->results[i].message);
	}
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->relay_state = RELAY_IDLE;
	slot->relay_segment = DSM_HANDLE_INVALID;
	LWLockRelease(slot->lock);
	dsm_detach(seg);
}

/*
 * The listener's batch: relay the requests of each database to its
 * appender, one database after the other, and fill in every status and
 * message.
 */
void
WebhookRelayBatch(WebhookRequest **requests, int n)
{
	bool		taken[WEBHOOK_MAX_BATCH] = {false};

	Assert(n <= WEBHOOK_MAX_BATCH);
	for (int i = 0; i < n; i++)
	{
		WebhookRequest *group[WEBHOOK_MAX_BATCH];
		int			ngroup = 0;

		if (taken[i])
			continue;
		for (int j = i; j < n; j++)
		{
			if (!taken[j] && strcmp(requests[j]->database, requests[i]->database) == 0)
			{
				group[ngroup++] = requests[j];
				taken[j] = true;
			}
		}
		relay_group(requests[i]->database, group, ngroup);
	}
}

/* Append the batch posted in the slot and write back the outcome. */
static void
append_posted(CoordinatorShared *slot, MemoryContext batch_context)
{
	dsm_segment *seg = dsm_attach(slot->relay_segment);
	Latch	   *latch;

	if (seg != NULL)
	{
		RelayBatch *batch = dsm_segment_address(seg);
		int			n = batch->nrequests;
		const char *p = (const char *) batch +
			MAXALIGN(add_size(offsetof(RelayBatch, results), mul_size(sizeof(RelayResult), n)));
		WebhookRequest **requests;
		MemoryContext old = MemoryContextSwitchTo(batch_context);

		requests = palloc(sizeof(WebhookRequest *) * n);
		for (int i = 0; i < n; i++)
		{
			WebhookRequest *req = palloc0(sizeof(WebhookRequest));
			uint32		len;

			req->database = get_string(&p);
			req->schema = get_string(&p);
			req->name = get_string(&p);
			memcpy(&req->nheaders, p, sizeof(int));
			p += sizeof(int);
			req->header_names = palloc(sizeof(char *) * Max(req->nheaders, 1));
			req->header_values = palloc(sizeof(char *) * Max(req->nheaders, 1));
			for (int h = 0; h < req->nheaders; h++)
			{
				req->header_names[h] = get_string(&p);
				req->header_values[h] = get_string(&p);
			}
			req->body.data = get_bytes(&p, &len);
			req->body.len = len;
			req->body.maxlen = len + 1;
			req->body.cursor = 0;
			requests[i] = req;
		}
		WebhookAppendBatch(requests, n);
		/* the tables' insert counts drive autovacuum and autoanalyze */
		pgstat_report_stat(false);
		for (int i = 0; i < n; i++)
		{
			batch->results[i].status = requests[i]->status;
			strlcpy(batch->results[i].message,
					requests[i]->message ? requests[i]->message : "", RELAY_MESSAGE_LEN);
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_context);
		dsm_detach(seg);
	}
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->relay_state = RELAY_DONE;
	latch = CoordinatorGlobals->listener_latch;
	LWLockRelease(slot->lock);
	if (latch != NULL)
		SetLatch(latch);
}

static void
appender_detach(int code, Datum arg)
{
	CoordinatorShared *slot = (CoordinatorShared *) DatumGetPointer(arg);

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	if (slot->appender_pid == MyProcPid)
	{
		slot->appender_pid = 0;
		slot->appender_latch = NULL;
	}
	LWLockRelease(slot->lock);
}

/*
 * The appender of one database: started by the listener (its
 * bgw_notify_pid), it appends the batches the listener posts in the
 * database's slot until the database goes, the slot is given back or the
 * listener is gone.
 */
void
WebhookAppenderMain(Datum main_arg)
{
	CoordinatorShared *slot;
	MemoryContext batch_context;
	pid_t		listener = MyBgworkerEntry->bgw_notify_pid;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(main_arg), InvalidOid, 0);
	pgstat_report_appname("coordinator webhook appender");
	slot = CoordinatorFindDatabase(MyDatabaseId);
	if (slot == NULL)
		proc_exit(0);

	/* A 200 promises a durable row: never acknowledge before the flush. */
	if (synchronous_commit < SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		SetConfigOption("synchronous_commit", "local", PGC_SUSET, PGC_S_OVERRIDE);

	StartTransactionCommand();
	WebhookAppendInit();
	CommitTransactionCommand();
	batch_context = AllocSetContextCreate(TopMemoryContext, "webhook batch",
										  ALLOCSET_DEFAULT_SIZES);

	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->appender_pid = MyProcPid;
	slot->appender_latch = MyLatch;
	LWLockRelease(slot->lock);
	before_shmem_exit(appender_detach, PointerGetDatum(slot));
	if (CoordinatorGlobals->listener_latch != NULL)
		SetLatch(CoordinatorGlobals->listener_latch);

	for (;;)
	{
		bool		posted;

		if (slot->database != MyDatabaseId || slot->dropping_database ||
			slot->extension_absent || CoordinatorGlobals->listener_pid != listener)
			proc_exit(0);
		LWLockAcquire(slot->lock, LW_SHARED);
		posted = slot->relay_state == RELAY_POSTED;
		LWLockRelease(slot->lock);
		if (posted)
		{
			append_posted(slot, batch_context);
			continue;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);

		/*
		 * Absorbs ProcSignalBarriers.  A cancel between batches has
		 * nothing to cancel.
		 */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
	}
}
