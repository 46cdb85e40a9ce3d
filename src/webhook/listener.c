/*-------------------------------------------------------------------------
 *
 * listener.c
 *	  The webhook listener: a background worker serving HTTP POSTs.
 *
 * The launcher starts it, connected to no database, when
 * coordinator.webhook_port is not 0.  It serves every database: the
 * database is the first segment of the URL, and relay.c hands each
 * database's requests to an appender connected to it.  HTTP is libmicrohttpd's, run without
 * threads of its own: MHD_USE_EPOLL without an internal polling thread
 * gives one epoll descriptor that this process waits on together with its
 * latch, and every callback runs in this process between MHD_run calls,
 * so Postgres code never runs on another thread.
 *
 * A request goes through the access handler in three steps:
 *  1. headers received: refuse at once what needs no database -- a method
 *     other than POST (405), a path outside /api/webhook/ (404), too many
 *     requests in flight (429), a Content-Length over the limit (413),
 *     a header name sent twice (401), shutting down (503);
 *  2. body chunks: collected up to coordinator.webhook_body_limit;
 *  3. body complete: the connection is suspended and the request waits
 *     for the batch.
 * After each MHD_run, the requests waiting are appended by append.c in
 * one transaction per database (relay.c); then their connections are resumed and MHD calls the
 * handler once more to queue the response -- 200 only after the commit.
 * While one batch commits, new requests queue up in the kernel and form
 * the next batch, which is what lets one process keep up with many
 * clients.
 *
 * Slow clients: MHD never waits for one client (every socket is
 * non-blocking), but each open connection holds a slot, and its own
 * timeout is one of inactivity, which a client sending a byte a second
 * never reaches.  So every connection is tracked from its accept
 * (MHD_OPTION_NOTIFY_CONNECTION), oldest first: one that has not sent a
 * whole request within coordinator.webhook_request_timeout of its accept
 * (or of its last response, when kept alive) is closed, and when more
 * than seven eighths of coordinator.webhook_max_connections are open, the
 * oldest connections that have not sent a whole request are closed until
 * they are not.  A connection whose request is complete (waiting for its
 * batch, or being answered) is never closed that way.  New clients thus
 * always find room, and a flood of slow connections costs a valid request
 * nothing but its place in the next batch.  Closing is shutdown() of the
 * socket, which MHD then sees as the client leaving.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <microhttpd.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>

#include "access/xact.h"
#include "lib/ilist.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/formatting.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#include "utils/memutils.h"

#include "coordinator/processes.h"
#include "coordinator/shmem.h"
#include "coordinator/webhook.h"

#define WEBHOOK_PATH_PREFIX "/api/webhook/"
/*
 * MHD's own timeout, of inactivity: for a response the client does not
 * read.  Requests are bounded by coordinator.webhook_request_timeout.
 */
#define WEBHOOK_CONNECTION_TIMEOUT_S 60
/* How long a shutdown keeps answering 503 before it closes the socket. */
#define WEBHOOK_SHUTDOWN_GRACE_MS 200

/* One HTTP request, MHD's per-request context ("con_cls"). */
typedef struct Request
{
	WebhookRequest req;
	MemoryContext context;
	struct MHD_Connection *connection;
	bool		too_large;
	bool		answered;		/* req.status is set: respond on resume */
} Request;

/*
 * One open connection, MHD's per-connection context ("socket_context"),
 * from MHD_CONNECTION_NOTIFY_STARTED to MHD_CONNECTION_NOTIFY_CLOSED,
 * which frees it.
 */
typedef struct Connection
{
	dlist_node	node;			/* in connections, by since */
	MHD_socket	fd;
	TimestampTz since;			/* accepted, or its last response sent */
	bool		busy;			/* its request is complete: never shed */
	bool		shed;			/* shutdown() called, MHD closes it next */
} Connection;

/* The con_cls of a request answered at its first call. */
static char answered_at_once;

static struct MHD_Daemon *daemon_handle = NULL;
static MemoryContext requests_context = NULL;
static int	in_flight = 0;
static Request **pending = NULL;
static int	npending = 0;
static int	pending_capacity = 0;
static bool shutting_down = false;
static volatile sig_atomic_t in_batch = false;

/* Open connections, the oldest (smallest since) first; in connections_context. */
static dlist_head connections = DLIST_STATIC_INIT(connections);
static MemoryContext connections_context = NULL;
static int	nconnections = 0;
static int	nshed = 0;

/* The Connection of an MHD connection (NULL only if MHD has none). */
static Connection *
connection_of(struct MHD_Connection *connection)
{
	const union MHD_ConnectionInfo *info;

	info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	return info != NULL ? (Connection *) info->socket_context : NULL;
}

/* MHD_OPTION_NOTIFY_CONNECTION: track a connection from accept to close. */
static void
notify_connection(void *cls, struct MHD_Connection *connection,
				  void **socket_context, enum MHD_ConnectionNotificationCode code)
{
	Connection *conn = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED)
	{
		const union MHD_ConnectionInfo *info;

		info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
		conn = MemoryContextAllocZero(connections_context, sizeof(Connection));
		conn->fd = info != NULL ? info->connect_fd : MHD_INVALID_SOCKET;
		conn->since = GetCurrentTimestamp();
		dlist_push_tail(&connections, &conn->node);
		nconnections++;
		*socket_context = conn;
	}
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && conn != NULL)
	{
		dlist_delete(&conn->node);
		nconnections--;
		if (conn->shed)
			nshed--;
		pfree(conn);
		*socket_context = NULL;
	}
}

/* Connections open past this many are shed, oldest first. */
static int
shed_threshold(void)
{
	return coordinator_webhook_max_connections - coordinator_webhook_max_connections / 8;
}

/*
 * Close the connections that have not sent a whole request in time, and
 * the oldest that have not sent one while too many are open.  Returns the
 * milliseconds until the next connection's time is up, at most max_ms.
 */
static long
shed_connections(long max_ms)
{
	TimestampTz now = GetCurrentTimestamp();
	int			excess = nconnections - nshed - shed_threshold();
	dlist_iter	iter;

	dlist_foreach(iter, &connections)
	{
		Connection *conn = dlist_container(Connection, node, iter.cur);
		TimestampTz deadline;

		if (conn->busy || conn->shed)
			continue;
		deadline = TimestampTzPlusMilliseconds(conn->since,
											   coordinator_webhook_request_timeout);
		if (deadline > now && excess <= 0)
		{
			/* the rest are younger: this one's deadline is the next */
			long		ms = (long) ((deadline - now + 999) / 1000);

			return Min(ms, max_ms);
		}
		if (conn->fd != MHD_INVALID_SOCKET)
			(void) shutdown(conn->fd, SHUT_RDWR);
		conn->shed = true;
		nshed++;
		excess--;
	}
	return max_ms;
}

static enum MHD_Result
respond(struct MHD_Connection *connection, unsigned int status, const char *message)
{
	struct MHD_Response *response;
	enum MHD_Result ret;

	response = MHD_create_response_from_buffer(strlen(message), (void *) message,
											   MHD_RESPMEM_PERSISTENT);
	if (response == NULL)
		return MHD_NO;
	MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, "POST");
	ret = MHD_queue_response(connection, status, response);
	MHD_destroy_response(response);
	return ret;
}

/* Answer at the first call: the request gets no context of its own. */
static enum MHD_Result
refuse(struct MHD_Connection *connection, void **con_cls,
	   unsigned int status, const char *message)
{
	*con_cls = &answered_at_once;
	return respond(connection, status, message);
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decode one path segment [start, end); NULL if malformed or empty. */
static char *
decode_segment(const char *start, const char *end)
{
	char	   *result = palloc(end - start + 1);
	char	   *out = result;

	if (start == end)
		return NULL;
	for (const char *p = start; p < end; p++)
	{
		if (*p == '%')
		{
			int			hi;
			int			lo;

			if (end - p < 3)
				return NULL;
			hi = hex_value(p[1]);
			lo = hex_value(p[2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return NULL;
			*out++ = (char) (hi * 16 + lo);
			p += 2;
		}
		else
			*out++ = *p;
	}
	*out = '\0';
	return result;
}

/* /api/webhook/<database>/<schema>/<name>, each segment percent-encoded. */
static bool
parse_path(const char *url, WebhookRequest *req)
{
	const char *segments[4];
	int			n = 0;
	const char *p;

	if (strncmp(url, WEBHOOK_PATH_PREFIX, strlen(WEBHOOK_PATH_PREFIX)) != 0)
		return false;
	p = url + strlen(WEBHOOK_PATH_PREFIX);
	segments[n++] = p;
	for (; *p; p++)
	{
		if (*p == '/')
		{
			if (n == 3)
				return false;
			segments[n++] = p + 1;
		}
	}
	if (n != 3)
		return false;
	req->database = decode_segment(segments[0], segments[1] - 1);
	req->schema = decode_segment(segments[1], segments[2] - 1);
	req->name = decode_segment(segments[2], p);
	return req->database != NULL && req->schema != NULL && req->name != NULL;
}

typedef struct HeaderScan
{
	WebhookRequest *req;
	bool		duplicate;
} HeaderScan;

static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	HeaderScan *scan = cls;
	WebhookRequest *req = scan->req;
	char	   *name = asc_tolower(key, strlen(key));

	for (int i = 0; i < req->nheaders; i++)
	{
		if (strcmp(req->header_names[i], name) == 0)
		{
			scan->duplicate = true;
			return MHD_NO;
		}
	}
	req->header_names[req->nheaders] = name;
	req->header_values[req->nheaders] = pstrdup(value != NULL ? value : "");
	req->nheaders++;
	return MHD_YES;
}

/* Step 1: the headers are in. */
static enum MHD_Result
start_request(struct MHD_Connection *connection, const char *url, const char *method,
			  void **con_cls)
{
	const char *length;
	MemoryContext context;
	MemoryContext old;
	Request    *r;
	HeaderScan	scan;
	int			nheaders;

	if (strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return refuse(connection, con_cls, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed");
	if (shutting_down)
		return refuse(connection, con_cls, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
	if (in_flight >= coordinator_webhook_concurrency_limit)
		return refuse(connection, con_cls, MHD_HTTP_TOO_MANY_REQUESTS, "too many requests");
	length = MHD_lookup_connection_value(connection, MHD_HEADER_KIND,
										 MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (length != NULL && strtoull(length, NULL, 10) > (unsigned long long) coordinator_webhook_body_limit)
		return refuse(connection, con_cls, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");

	context = AllocSetContextCreate(requests_context, "webhook request", ALLOCSET_DEFAULT_SIZES);
	old = MemoryContextSwitchTo(context);
	r = palloc0(sizeof(Request));
	r->context = context;
	if (!parse_path(url, &r->req))
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(context);
		return refuse(connection, con_cls, MHD_HTTP_NOT_FOUND, "not found");
	}
	nheaders = MHD_get_connection_values(connection, MHD_HEADER_KIND, NULL, NULL);
	r->req.header_names = palloc(sizeof(char *) * Max(nheaders, 1));
	r->req.header_values = palloc(sizeof(char *) * Max(nheaders, 1));
	scan.req = &r->req;
	scan.duplicate = false;
	MHD_get_connection_values(connection, MHD_HEADER_KIND, collect_header, &scan);
	initStringInfo(&r->req.body);
	MemoryContextSwitchTo(old);
	if (scan.duplicate)
	{
		MemoryContextDelete(context);
		return refuse(connection, con_cls, MHD_HTTP_UNAUTHORIZED, "duplicate header names");
	}

	*con_cls = r;
	in_flight++;
	return MHD_YES;
}

static void
add_pending(Request *r)
{
	if (npending == pending_capacity)
	{
		pending_capacity = Max(64, pending_capacity * 2);
		pending = pending == NULL ?
			MemoryContextAlloc(TopMemoryContext, sizeof(Request *) * pending_capacity) :
			repalloc(pending, sizeof(Request *) * pending_capacity);
	}
	pending[npending++] = r;
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *connection, const char *url,
			   const char *method, const char *version, const char *upload_data,
			   size_t *upload_data_size, void **con_cls)
{
	Request    *r = *con_cls;

	if (*con_cls == &answered_at_once)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r == NULL)
		return start_request(connection, url, method, con_cls);

	/* Step 2: a chunk of the body. */
	if (*upload_data_size > 0)
	{
		if (!r->too_large &&
			r->req.body.len + *upload_data_size > (size_t) coordinator_webhook_body_limit)
		{
			r->too_large = true;
			pfree(r->req.body.data);
			r->req.body.data = NULL;
		}
		if (!r->too_large)
		{
			MemoryContext old = MemoryContextSwitchTo(r->context);

			appendBinaryStringInfo(&r->req.body, upload_data, *upload_data_size);
			MemoryContextSwitchTo(old);
		}
		*upload_data_size = 0;
		return MHD_YES;
	}

	/* Step 3: the body is complete. */
	if (r->answered)
		return respond(connection, r->req.status, r->req.message);
	if (r->too_large)
		return respond(connection, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large");
	if (shutting_down)
		return respond(connection, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting down");
	r->connection = connection;
	add_pending(r);
	if (connection_of(connection) != NULL)
		connection_of(connection)->busy = true;
	MHD_suspend_connection(connection);
	return MHD_YES;
}

/*
 * A request ended (answered, or its connection closed): a kept-alive
 * connection has coordinator.webhook_request_timeout again for the next.
 */
static void
request_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
				  enum MHD_RequestTerminationCode toe)
{
	Request    *r = *con_cls;
	Connection *conn = connection_of(connection);

	if (conn != NULL)
	{
		conn->busy = false;
		conn->since = GetCurrentTimestamp();
		dlist_move_tail(&connections, &conn->node);
	}
	if (r == NULL || *con_cls == &answered_at_once)
		return;
	MemoryContextDelete(r->context);
	in_flight--;
	*con_cls = NULL;
}

static void
log_mhd(void *cls, const char *fmt, va_list ap)
{
	char		buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	ereport(LOG,
			(errmsg("webhook listener: %s", buf)));
}

/* libmicrohttpd must not decode the path: its segments are decoded one by one. */
static size_t
keep_escaped(void *cls, struct MHD_Connection *connection, char *s)
{
	return strlen(s);
}

/*
 * SIGTERM: stop after the current batch and answer 503 for a moment, as
 * the main loop does.  A batch waiting for a lock is interrupted at once
 * (as die() would), so that a shutdown never waits for whoever holds it.
 */
static void
handle_sigterm(SIGNAL_ARGS)
{
	int			save_errno = errno;

	ShutdownRequestPending = true;
	if (in_batch)
	{
		InterruptPending = true;
		ProcDiePending = true;
	}
	SetLatch(MyLatch);
	errno = save_errno;
}

/* Append the waiting requests, a batch at a time, and resume them. */
static void
append_pending(MemoryContext batch_context)
{
	int			done = 0;

	while (done < npending)
	{
		WebhookRequest *batch[WEBHOOK_MAX_BATCH];
		int			n = Min(npending - done, WEBHOOK_MAX_BATCH);
		MemoryContext old;

		for (int i = 0; i < n; i++)
			batch[i] = &pending[done + i]->req;
		old = MemoryContextSwitchTo(batch_context);
		in_batch = true;
		if (ShutdownRequestPending)
		{
			for (int i = 0; i < n; i++)
			{
				batch[i]->status = MHD_HTTP_SERVICE_UNAVAILABLE;
				batch[i]->message = "shutting down";
			}
		}
		else
			WebhookRelayBatch(batch, n);
		in_batch = false;
		MemoryContextSwitchTo(old);
		MemoryContextReset(batch_context);
		for (int i = 0; i < n; i++)
		{
			pending[done + i]->answered = true;
			MHD_resume_connection(pending[done + i]->connection);
		}
		done += n;
	}
	npending = 0;
}

/* The address to listen on; false (with a LOG) if it does not resolve. */
static bool
listen_address(struct sockaddr_storage *addr, socklen_t *len)
{
	struct addrinfo hints;
	struct addrinfo *res;
	char		port[16];
	int			rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	hints.ai_family = AF_INET;
	snprintf(port, sizeof(port), "%d", coordinator_webhook_port);
	rc = getaddrinfo(coordinator_webhook_listen_address, port, &hints, &res);
	if (rc != 0)
	{
		hints.ai_family = AF_INET6;
		rc = getaddrinfo(coordinator_webhook_listen_address, port, &hints, &res);
	}
	if (rc != 0)
	{
		ereport(LOG,
				(errmsg("webhook listener: could not resolve \"%s\": %s",
						coordinator_webhook_listen_address, gai_strerror(rc))));
		return false;
	}
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return true;
}

static struct MHD_Daemon *
start_daemon(void)
{
	struct sockaddr_storage addr;
	socklen_t	addrlen = 0;
	bool		any = strcmp(coordinator_webhook_listen_address, "*") == 0;
	unsigned int flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	if (!any && !listen_address(&addr, &addrlen))
		return NULL;
	if (!any && addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	return MHD_start_daemon(flags, (uint16_t) coordinator_webhook_port,
							NULL, NULL,
							access_handler, NULL,
							MHD_OPTION_EXTERNAL_LOGGER, log_mhd, NULL,
							MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
							MHD_OPTION_NOTIFY_CONNECTION, notify_connection, NULL,
							MHD_OPTION_UNESCAPE_CALLBACK, keep_escaped, NULL,
							MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int) WEBHOOK_CONNECTION_TIMEOUT_S,
							MHD_OPTION_CONNECTION_LIMIT,
							(unsigned int) coordinator_webhook_max_connections,
							MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned int) 1,
							any ? MHD_OPTION_END : MHD_OPTION_SOCK_ADDR, (struct sockaddr *) &addr,
							MHD_OPTION_END);
}

/* Milliseconds until MHD needs to run again, at most max_ms. */
static long
mhd_timeout(long max_ms)
{
	MHD_UNSIGNED_LONG_LONG timeout;

	if (MHD_get_timeout(daemon_handle, &timeout) == MHD_YES && timeout < (MHD_UNSIGNED_LONG_LONG) max_ms)
		return (long) timeout;
	return max_ms;
}

/*
 * The URL that accepts POSTs for a table, or NULL while the listener is
 * off.  Every path segment is percent-encoded but for RFC 3986's
 * unreserved characters.
 */
char *
WebhookUrl(const char *database, const char *schema, const char *name)
{
	const char *segments[3] = {database, schema, name};
	const char *host = coordinator_webhook_listen_address;
	char		hostname[256];
	StringInfoData url;

	if (coordinator_webhook_port == 0)
		return NULL;
	if (strcmp(host, "*") == 0)
	{
		if (gethostname(hostname, sizeof(hostname)) != 0)
			strlcpy(hostname, "localhost", sizeof(hostname));
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	initStringInfo(&url);
	appendStringInfo(&url, strchr(host, ':') != NULL ? "http://[%s]:%d" : "http://%s:%d",
					 host, coordinator_webhook_port);
	appendStringInfoString(&url, "/api/webhook");
	for (int i = 0; i < 3; i++)
	{
		appendStringInfoChar(&url, '/');
		for (const unsigned char *p = (const unsigned char *) segments[i]; *p; p++)
		{
			if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
				(*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL)
				appendStringInfoChar(&url, *p);
			else
				appendStringInfo(&url, "%%%02X", *p);
		}
	}
	return url.data;
}

static void
listener_detach(int code, Datum arg)
{
	LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
	CoordinatorGlobals->listener_running = false;
	CoordinatorGlobals->listener_pid = 0;
	CoordinatorGlobals->listener_latch = NULL;
	LWLockRelease(CoordinatorGlobals->lock);
}

void
WebhookListenerMain(Datum main_arg)
{
	WaitEventSet *events;
	MemoryContext batch_context;
	const union MHD_DaemonInfo *info;
	TimestampTz stop_at;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, handle_sigterm);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("coordinator webhook listener");
	LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
	CoordinatorGlobals->listener_running = true;
	CoordinatorGlobals->listener_pid = MyProcPid;
	CoordinatorGlobals->listener_latch = MyLatch;
	LWLockRelease(CoordinatorGlobals->lock);
	before_shmem_exit(listener_detach, 0);

	requests_context = AllocSetContextCreate(TopMemoryContext, "webhook requests",
											 ALLOCSET_DEFAULT_SIZES);
	batch_context = AllocSetContextCreate(TopMemoryContext, "webhook batch",
										  ALLOCSET_DEFAULT_SIZES);
	connections_context = AllocSetContextCreate(TopMemoryContext, "webhook connections",
												ALLOCSET_SMALL_SIZES);

	daemon_handle = start_daemon();
	if (daemon_handle == NULL)
		ereport(ERROR,
				(errmsg("webhook listener could not listen on %s port %d",
						coordinator_webhook_listen_address, coordinator_webhook_port),
				 errhint("Check coordinator.webhook_listen_address and that no other process uses the port.")));
	info = MHD_get_daemon_info(daemon_handle, MHD_DAEMON_INFO_EPOLL_FD);
	events = CreateWaitEventSet(TopMemoryContext, 3);
	AddWaitEventToSet(events, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	AddWaitEventToSet(events, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(events, WL_SOCKET_READABLE, info->epoll_fd, NULL, NULL);
	ereport(LOG,
			(errmsg("webhook listener accepting POSTs on %s port %d",
					coordinator_webhook_listen_address, coordinator_webhook_port)));

	while (!ShutdownRequestPending)
	{
		WaitEvent	event;
		long		wait_ms;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		MHD_run(daemon_handle);
		wait_ms = shed_connections(1000);
		if (npending > 0)
		{
			append_pending(batch_context);
			continue;
		}
		(void) WaitEventSetWait(events, mhd_timeout(wait_ms), &event, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		/*
		 * Absorbs ProcSignalBarriers: DROP DATABASE waits for every process.
		 * A cancel between batches has nothing to cancel.
		 */
		QueryCancelPending = false;
		CHECK_FOR_INTERRUPTS();
	}

	/* Answer what arrives during a short grace with 503, then close. */
	shutting_down = true;
	stop_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), WEBHOOK_SHUTDOWN_GRACE_MS);
	while (GetCurrentTimestamp() < stop_at)
	{
		WaitEvent	event;

		MHD_run(daemon_handle);
		(void) WaitEventSetWait(events, mhd_timeout(10), &event, 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
	MHD_stop_daemon(daemon_handle);
	proc_exit(0);
}
