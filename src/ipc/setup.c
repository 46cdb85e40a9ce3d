/*-------------------------------------------------------------------------
 *
 * setup.c
 *	  Check the server configuration the extension depends on.
 *
 * Called by CREATE EXTENSION (through coordinator.check_setup()) and before
 * every CREATE MATERIALIZED VIEW ... WITH (incremental), so that a missing
 * setting is reported with an ERROR and a HINT naming it, never as a crash
 * or a view that silently never updates.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "utils/guc.h"
#include "utils/varlena.h"

#include "coordinator/coordinator.h"
#include "coordinator/shmem.h"

/*
 * Servers from 15.19 on only load output plugins named in
 * output_plugin_libraries; older ones have no such setting and load any.
 */
static bool
output_plugin_allowed(const char **current)
{
	const char *value = GetConfigOption("output_plugin_libraries", true, false);
	char	   *copy;
	List	   *names;
	ListCell   *lc;
	bool		found = false;

	*current = value;
	if (value == NULL)
		return true;

	copy = pstrdup(value);
	if (!SplitDirectoriesString(copy, ',', &names))
		return false;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), COORDINATOR_NAME) == 0)
			found = true;
	}
	list_free_deep(names);
	pfree(copy);
	return found;
}

/*
 * ERROR unless the library is preloaded, wal_level is logical, our output
 * plugin may be loaded, a replication slot is available, coordinator.database
 * allows this database and, once the extension exists here, a slot of
 * shared memory is free for it (coordinator.max_databases); takes that
 * slot.  Needs a transaction (database name).
 */
void
CoordinatorCheckSetup(void)
{
	const char *plugins;
	char	   *dbname;

	if (!coordinator_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator must be loaded via \"shared_preload_libraries\""),
				 errdetail("The coordinator runs background workers and needs shared memory, which only a preloaded library gets."),
				 errhint("Add 'coordinator' to shared_preload_libraries in postgresql.conf and restart the server.")));

	if (wal_level < WAL_LEVEL_LOGICAL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator requires \"wal_level\" to be \"logical\""),
				 errdetail("Maintained views are fed by logical decoding of the WAL; \"wal_level\" is \"%s\".",
						   GetConfigOption("wal_level", false, false)),
				 errhint("Set wal_level = logical in postgresql.conf and restart the server.")));

	if (!output_plugin_allowed(&plugins))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator is not allowed as a logical decoding output plugin"),
				 errdetail("\"output_plugin_libraries\" is '%s'.", plugins),
				 errhint("Add coordinator to output_plugin_libraries in postgresql.conf, e.g. output_plugin_libraries = 'pgoutput, test_decoding, coordinator', and reload the server configuration.")));

	if (max_replication_slots < coordinator_dataflow_workers)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator needs %d replication slots, but \"max_replication_slots\" is %d",
						coordinator_dataflow_workers, max_replication_slots),
				 errdetail("Each dataflow worker holds one temporary replication slot."),
				 errhint("Raise max_replication_slots in postgresql.conf and restart the server.")));

	dbname = get_database_name(MyDatabaseId);
	if (!CoordinatorServesDatabaseName(dbname))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("coordinator serves database \"%s\" only, not \"%s\"",
						coordinator_database, dbname ? dbname : "?"),
				 errdetail("coordinator.database restricts the coordinator to one database."),
				 errhint("Use database \"%s\", or set coordinator.database = '' (every database) or '%s' in postgresql.conf and restart the server.",
						 coordinator_database, dbname ? dbname : "?")));

	/* this database's slot of shared memory: an ERROR if none is left */
	if (OidIsValid(get_extension_oid(COORDINATOR_NAME, true)))
		(void) CoordinatorAttachDatabase();
}
