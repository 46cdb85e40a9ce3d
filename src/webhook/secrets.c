/*-------------------------------------------------------------------------
 *
 * secrets.c
 *	  Keep coordinator.secrets in step with the roles that own them.
 *
 * Secrets are rows keyed by their owner's OID, not catalog objects, so
 * Postgres's shared dependencies do not cover them.  The utility hook
 * calls these for DROP ROLE (refused while the role owns secrets, as for
 * any object it owns -- a later role given the same OID must never read
 * them), DROP OWNED (drops them) and REASSIGN OWNED (hands them over),
 * in the database the statement runs in.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "coordinator/catalog.h"
#include "coordinator/webhook.h"

/* OIDs of a list of RoleSpec, skipping roles that do not exist. */
static Datum
role_array(List *roles)
{
	Datum	   *oids = palloc(sizeof(Datum) * Max(list_length(roles), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, roles)
	{
		Oid			role = get_rolespec_oid(lfirst(lc), true);

		if (OidIsValid(role))
			oids[n++] = ObjectIdGetDatum(role);
	}
	return PointerGetDatum(construct_array(oids, n, OIDOID, sizeof(Oid), true, TYPALIGN_INT));
}

/* Run sql with $1 = role OIDs (and $2) as the catalog's owner; rows processed. */
static uint64
run_as_owner(const char *sql, int nargs, Datum *values, int expect)
{
	Oid			types[2] = {OIDARRAYOID, OIDOID};
	Oid			save_userid;
	int			save_sec_context;
	uint64		processed;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(CatalogOwner(),
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql, nargs, types, values, NULL, false, 0) != expect)
		elog(ERROR, "could not run \"%s\"", sql);
	processed = SPI_processed;
	if (expect == SPI_OK_SELECT && processed > 0)
	{
		bool		isnull;
		Oid			role = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0],
														  SPI_tuptable->tupdesc, 1, &isnull));
		int64		count = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
														SPI_tuptable->tupdesc, 2, &isnull));

		ereport(ERROR,
				(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
				 errmsg("role \"%s\" cannot be dropped because some objects depend on it",
						GetUserNameFromId(role, false)),
				 errdetail_plural("owner of " INT64_FORMAT " secret in coordinator.secrets of database \"%s\"",
								  "owner of " INT64_FORMAT " secrets in coordinator.secrets of database \"%s\"",
								  count, count, get_database_name(MyDatabaseId)),
				 errhint("Drop them with coordinator.drop_secret, or use DROP OWNED.")));
	}
	SPI_finish();
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return processed;
}

void
WebhookSecretsBeforeDropRole(List *roles)
{
	Datum		values[1] = {role_array(roles)};

	run_as_owner("SELECT owner, pg_catalog.count(*) FROM coordinator.secrets "
				 "WHERE owner OPERATOR(pg_catalog.=) ANY ($1) GROUP BY owner ORDER BY owner LIMIT 1",
				 1, values, SPI_OK_SELECT);
}

void
WebhookSecretsDropOwned(List *roles)
{
	Datum		values[1] = {role_array(roles)};

	run_as_owner("DELETE FROM coordinator.secrets WHERE owner OPERATOR(pg_catalog.=) ANY ($1)",
				 1, values, SPI_OK_DELETE);
}

void
WebhookSecretsReassignOwned(List *roles, RoleSpec *newrole)
{
	Datum		values[2] = {role_array(roles), ObjectIdGetDatum(get_rolespec_oid(newrole, false))};

	run_as_owner("UPDATE coordinator.secrets SET owner = $2 WHERE owner OPERATOR(pg_catalog.=) ANY ($1)",
				 2, values, SPI_OK_UPDATE);
}
