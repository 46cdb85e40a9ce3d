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

/* Parameter types of the statements below: $1 role OIDs, $2 a role. */
static Oid	role_types[2] = {OIDARRAYOID, OIDOID};

void
WebhookSecretsBeforeDropRole(List *roles)
{
	Datum		values[1] = {role_array(roles)};
	Datum		found[2];
	int64		count;

	if (CatalogExecuteAsOwner("SELECT owner, pg_catalog.count(*) FROM coordinator.secrets "
							  "WHERE owner OPERATOR(pg_catalog.=) ANY ($1) "
							  "GROUP BY owner ORDER BY owner LIMIT 1",
							  1, role_types, values, NULL, SPI_OK_SELECT, 2, found) == 0)
		return;
	count = DatumGetInt64(found[1]);
	ereport(ERROR,
			(errcode(ERRCODE_DEPENDENT_OBJECTS_STILL_EXIST),
			 errmsg("role \"%s\" cannot be dropped because some objects depend on it",
					GetUserNameFromId(DatumGetObjectId(found[0]), false)),
			 errdetail_plural("owner of " INT64_FORMAT " secret in coordinator.secrets of database \"%s\"",
							  "owner of " INT64_FORMAT " secrets in coordinator.secrets of database \"%s\"",
							  count, count, get_database_name(MyDatabaseId)),
			 errhint("Drop them with coordinator.drop_secret, or use DROP OWNED.")));
}

void
WebhookSecretsDropOwned(List *roles)
{
	Datum		values[1] = {role_array(roles)};

	CatalogExecuteAsOwner("DELETE FROM coordinator.secrets WHERE owner OPERATOR(pg_catalog.=) ANY ($1)",
						  1, role_types, values, NULL, SPI_OK_DELETE, 0, NULL);
}

void
WebhookSecretsReassignOwned(List *roles, RoleSpec *newrole)
{
	Datum		values[2] = {role_array(roles), ObjectIdGetDatum(get_rolespec_oid(newrole, false))};

	CatalogExecuteAsOwner("UPDATE coordinator.secrets SET owner = $2 WHERE owner OPERATOR(pg_catalog.=) ANY ($1)",
						  2, role_types, values, NULL, SPI_OK_UPDATE, 0, NULL);
}
