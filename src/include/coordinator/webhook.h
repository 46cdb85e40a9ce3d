/*-------------------------------------------------------------------------
 *
 * webhook.h
 *	  Webhook sources: tables that an HTTP listener appends POSTs to.
 *
 * source.c   coordinator.create_webhook_source and make_webhook_source:
 *            the table, the CHECK expression analyzed and stored, the
 *            catalog row; a source restored from a dump.
 * stored.c   the catalog's rows of webhook sources and of secrets.
 * outlive.c  sources stay plain tables, data and all, at DROP EXTENSION.
 * append.c   one batch of requests in one transaction: resolve the source,
 *            decode the body, evaluate the CHECK, insert the rows.
 * listener.c the background worker serving HTTP with libmicrohttpd.
 * relay.c    the listener hands each database's requests to an appender
 *            connected to that database.
 * crypto.c   coordinator.hmac and coordinator.constant_time_eq.
 * secrets.c  secrets follow DROP ROLE, DROP OWNED and REASSIGN OWNED.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_WEBHOOK_H
#define COORDINATOR_WEBHOOK_H

#include "lib/stringinfo.h"
#include "nodes/pg_list.h"

/* How the request body is stored in column body. */
typedef enum WebhookBodyFormat
{
	WEBHOOK_BODY_TEXT,			/* text, valid in the database encoding */
	WEBHOOK_BODY_JSON,			/* jsonb */
	WEBHOOK_BODY_JSON_ARRAY,	/* jsonb, one row per element of an array */
	WEBHOOK_BODY_BYTES			/* bytea, as sent */
} WebhookBodyFormat;

/*
 * Requests appended in one transaction at most: each writes in a
 * subtransaction of its own, and PGPROC caches 64 subtransaction ids.
 */
#define WEBHOOK_MAX_BATCH 64

/* Parameters of a CHECK expression: $1 body, $2 headers, then secrets. */
#define WEBHOOK_PARAM_BODY 1
#define WEBHOOK_PARAM_HEADERS 2
#define WEBHOOK_FIRST_SECRET_PARAM 3

/* A webhook source as stored in coordinator.catalog_webhooks. */
typedef struct CatalogWebhook
{
	Oid			relid;
	WebhookBodyFormat body_format;
	bool		include_headers;
	List	   *exclude_headers;	/* of char *, lower case */
	List	   *header_columns; /* of char *, header names, lower case */
	char	   *check_plan;		/* nodeToString of the CHECK, or NULL */
	List	   *secrets;		/* of char *: names of $3, $4, ... */
} CatalogWebhook;

/* One HTTP request, as the listener hands it to append.c. */
typedef struct WebhookRequest
{
	/* the path after /api/webhook/, decoded */
	char	   *database;
	char	   *schema;
	char	   *name;
	int			nheaders;
	char	  **header_names;	/* lower case */
	char	  **header_values;
	StringInfoData body;

	/* the outcome, filled by WebhookAppendBatch */
	int			status;
	const char *message;
} WebhookRequest;

/* source.c */
extern WebhookBodyFormat WebhookParseBodyFormat(const char *format);
extern const char *WebhookBodyFormatName(WebhookBodyFormat format);
extern char *WebhookHeaderColumnName(const char *header);
/* outlive.c */
extern List *WebhookSourcesBeforeDropExtension(List **calls);
extern void WebhookSourcesAfterDropExtension(List *relids, List *calls);
extern void WebhookRestoreSource(Oid relid, Datum *values, bool *nulls);

/* stored.c: the catalog's rows of webhook sources and secrets */
extern void WebhookCatalogInsert(CatalogWebhook *source,
								 const char *check_expression);
extern CatalogWebhook *WebhookCatalogLoad(Oid relid);
extern bool WebhookCatalogHas(Oid relid);
extern List *WebhookCatalogList(List **calls);
extern char *WebhookLookupSecret(Oid owner, const char *name);

/* secrets.c: the utility hook keeps secrets in step with their owners */
struct RoleSpec;
extern void WebhookSecretsBeforeDropRole(List *roles);
extern void WebhookSecretsDropOwned(List *roles);
extern void WebhookSecretsReassignOwned(List *roles, struct RoleSpec *newrole);

/* append.c */
extern void WebhookAppendBatch(WebhookRequest **requests, int nrequests);
extern void WebhookAppendInit(void);

/* relay.c */
extern void WebhookRelayBatch(WebhookRequest **requests, int nrequests);

/* listener.c */
extern char *WebhookUrl(const char *database, const char *schema, const char *name);

#endif							/* COORDINATOR_WEBHOOK_H */
