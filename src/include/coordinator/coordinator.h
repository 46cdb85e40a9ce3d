/*-------------------------------------------------------------------------
 *
 * coordinator.h
 *	  Configuration shared by every subsystem of the coordinator extension.
 *
 * The GUC variables live in src/coordinator.c; everything that needs a
 * setting includes this header.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_H
#define COORDINATOR_H

/* Upper bound of coordinator.dataflow_workers (sizes shared memory). */
#define COORDINATOR_MAX_WORKERS 16

/*
 * The prefix of the WAL messages that carry a wall time (a TimestampTz) to
 * the dataflow workers: their views' time (timeline.c writes them).
 */
#define COORDINATOR_CLOCK_PREFIX "coordinator_clock"

/* Name of the extension, of its schema, and of the output plugin. */
#define COORDINATOR_NAME "coordinator"

/* coordinator.view_placement */
typedef enum CoordinatorPlacement
{
	COORDINATOR_PLACEMENT_SPREAD,
	COORDINATOR_PLACEMENT_SHARE
} CoordinatorPlacement;

typedef enum CoordinatorIsolation
{
	COORDINATOR_ISOLATION_STRICT_SERIALIZABLE,
	COORDINATOR_ISOLATION_SERIALIZABLE
} CoordinatorIsolation;

extern char *coordinator_database;
extern int	coordinator_dataflow_workers;
extern int	coordinator_view_placement;
extern int	coordinator_isolation;
extern int	coordinator_max_databases;
extern int	coordinator_max_views;
extern int	coordinator_max_recursion_iterations;
extern bool coordinator_emit_timestamp_notice;
extern int	coordinator_timestamp_notice_min_wait;
extern int	coordinator_max_subscriptions;
extern int	coordinator_subscribe_buffer_limit;
extern int	coordinator_webhook_port;
extern char *coordinator_webhook_listen_address;
extern int	coordinator_webhook_body_limit;
extern int	coordinator_webhook_concurrency_limit;
extern int	coordinator_webhook_max_connections;
extern int	coordinator_webhook_request_timeout;

/* true once _PG_init ran from shared_preload_libraries */
extern bool coordinator_preloaded;

/* ipc/setup.c: the server configuration the extension depends on */
extern void CoordinatorCheckSetup(void);

#endif							/* COORDINATOR_H */
