/*-------------------------------------------------------------------------
 *
 * databases.c
 *	  The databases the coordinator serves: each one's slot of shared
 *	  memory, taken, found and given back.
 *
 * A slot is taken by the first process of a database that needs it once
 * the extension exists there (CREATE EXTENSION, the coordinator at its
 * start, a backend after a restart) and given back by the launcher when
 * the extension or the database is gone.  Every process reaches its
 * database's slot through the macro Coordinator (CoordinatorForDatabase),
 * which costs a comparison once the slot is found; in a database the
 * coordinator does not serve, a lock-free generation check, and in a
 * transaction a syscache lookup of schema coordinator.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "coordinator/shmem.h"

/* The slot of this process's database, once found (CoordinatorForDatabase). */
static CoordinatorShared *current_slot = NULL;

/* The slots' generation when this process last looked for its slot. */
static uint64 searched_generation = 0;

/* The local transaction that found no extension here: not looked up again. */
static LocalTransactionId absent_lxid = InvalidLocalTransactionId;

/* The slot of database dboid, or NULL.  Takes the directory lock. */
CoordinatorShared *
CoordinatorFindDatabase(Oid dboid)
{
	CoordinatorShared *found = NULL;

	if (CoordinatorGlobals == NULL || !OidIsValid(dboid))
		return NULL;
	LWLockAcquire(CoordinatorGlobals->lock, LW_SHARED);
	for (int i = 0; i < CoordinatorGlobals->max_databases && found == NULL; i++)
	{
		if (CoordinatorGlobals->slots[i]->database == dboid)
			found = CoordinatorGlobals->slots[i];
	}
	LWLockRelease(CoordinatorGlobals->lock);
	return found;
}

/* The slot of the database named dbname, or NULL.  Takes the directory lock. */
CoordinatorShared *
CoordinatorFindDatabaseByName(const char *dbname)
{
	CoordinatorShared *found = NULL;

	if (CoordinatorGlobals == NULL)
		return NULL;
	LWLockAcquire(CoordinatorGlobals->lock, LW_SHARED);
	for (int i = 0; i < CoordinatorGlobals->max_databases && found == NULL; i++)
	{
		CoordinatorShared *slot = CoordinatorGlobals->slots[i];

		if (OidIsValid(slot->database) && strcmp(NameStr(slot->dbname), dbname) == 0)
			found = slot;
	}
	LWLockRelease(CoordinatorGlobals->lock);
	return found;
}

/*
 * Whether coordinator.database lets the coordinator serve database dbname:
 * empty, it serves every database in which the extension exists.
 */
bool
CoordinatorServesDatabaseName(const char *dbname)
{
	return coordinator_database == NULL || coordinator_database[0] == '\0' ||
		(dbname != NULL && strcmp(dbname, coordinator_database) == 0);
}

/*
 * The slot of the current database, taken if the database has none yet.
 * Needs a transaction (the database's name).  ERRORs (53400) when every
 * slot is taken by another database.
 */
CoordinatorShared *
CoordinatorAttachDatabase(void)
{
	CoordinatorShared *slot;
	CoordinatorShared *free_slot = NULL;
	char	   *dbname = get_database_name(MyDatabaseId);
	StringInfoData served;

	if ((slot = CoordinatorFindDatabase(MyDatabaseId)) != NULL)
		return current_slot = slot;

	LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
	initStringInfo(&served);
	for (int i = 0; i < CoordinatorGlobals->max_databases; i++)
	{
		CoordinatorShared *s = CoordinatorGlobals->slots[i];

		if (s->database == MyDatabaseId)
		{
			LWLockRelease(CoordinatorGlobals->lock);
			return current_slot = s;
		}
		if (!OidIsValid(s->database) && free_slot == NULL)
			free_slot = s;
		else if (OidIsValid(s->database))
			appendStringInfo(&served, "%s\"%s\"", served.len > 0 ? ", " : "",
							 NameStr(s->dbname));
	}

	/*
	 * None free: take one that the launcher would give back but has not
	 * yet, that of a database dropped or without the extension, where no
	 * process of ours remains.
	 */
	for (int i = 0; i < CoordinatorGlobals->max_databases && free_slot == NULL; i++)
	{
		CoordinatorShared *s = CoordinatorGlobals->slots[i];

		if (!s->dropping_database && !CoordinatorDatabaseBusy(s) &&
			((s->extension_absent &&
			  s->absent_generation == pg_atomic_read_u64(&s->catalog_generation)) ||
			 !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(s->database))))
			free_slot = s;
	}
	if (free_slot == NULL)
	{
		LWLockRelease(CoordinatorGlobals->lock);
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("coordinator cannot serve database \"%s\": it serves coordinator.max_databases (%d) databases already",
						dbname ? dbname : "?", CoordinatorGlobals->max_databases),
				 errdetail("The databases served are %s.", served.data),
				 errhint("Drop the extension in a database that does not need it, or raise coordinator.max_databases and restart the server.")));
	}
	for (int i = 0; i < CoordinatorGlobals->max_databases; i++)
	{
		/* its lock is the i + 1th of the tranche, as at startup */
		if (CoordinatorGlobals->slots[i] == free_slot)
			CoordinatorInitDatabaseSlot(free_slot, i);
	}
	free_slot->database = MyDatabaseId;
	namestrcpy(&free_slot->dbname, dbname ? dbname : "");
	free_slot->allocated_at = GetCurrentTimestamp();
	pg_atomic_fetch_add_u64(&CoordinatorGlobals->slots_generation, 1);
	LWLockRelease(CoordinatorGlobals->lock);
	ereport(DEBUG1,
			(errmsg("coordinator: serving database \"%s\"", dbname ? dbname : "?")));
	return current_slot = free_slot;
}

/*
 * Give a slot back (the launcher, once no process of ours is in its
 * database).  A backend of that database that still holds it finds it
 * again by its database, and no longer does.
 */
void
CoordinatorFreeDatabase(CoordinatorShared *slot)
{
	LWLockAcquire(CoordinatorGlobals->lock, LW_EXCLUSIVE);
	slot->database = InvalidOid;
	NameStr(slot->dbname)[0] = '\0';
	CoordinatorGlobals->probe_generation++;
	pg_atomic_fetch_add_u64(&CoordinatorGlobals->slots_generation, 1);
	LWLockRelease(CoordinatorGlobals->lock);
}

/* Whether a process of ours (coordinator, worker, appender) is in the slot's database. */
bool
CoordinatorDatabaseBusy(CoordinatorShared *slot)
{
	bool		busy;

	LWLockAcquire(slot->lock, LW_SHARED);
	busy = slot->coordinator_latch != NULL || slot->appender_pid != 0;
	for (int i = 0; i < COORDINATOR_MAX_WORKERS; i++)
		busy |= slot->workers[i].pid != 0;
	LWLockRelease(slot->lock);
	return busy;
}

/*
 * What Coordinator stands for: the slot of this process's database.
 * Found once and kept; found again if it was freed since.  A backend of a
 * database without a slot takes one only inside a transaction that sees
 * the extension in its database (so a commit's callback never does) and
 * that coordinator.database allows; otherwise NULL, as without the
 * preload.  Can ERROR when all slots are taken (see CoordinatorAttachDatabase).
 */
CoordinatorShared *
CoordinatorForDatabase(void)
{
	uint64		generation;

	if (CoordinatorGlobals == NULL || !OidIsValid(MyDatabaseId))
		return NULL;
	if (current_slot != NULL && current_slot->database == MyDatabaseId)
		return current_slot;

	/* the slots changed since this process last looked: look again */
	generation = pg_atomic_read_u64(&CoordinatorGlobals->slots_generation);
	if (generation != searched_generation)
	{
		searched_generation = generation;
		current_slot = CoordinatorFindDatabase(MyDatabaseId);
		if (current_slot != NULL)
			return current_slot;
	}
	if (!IsTransactionState() || MyProc == NULL || absent_lxid == MyProc->lxid)
		return NULL;
	/* the schema first: a syscache lookup, where the extension is not */
	if (!OidIsValid(get_namespace_oid(COORDINATOR_NAME, true)) ||
		!OidIsValid(get_extension_oid(COORDINATOR_NAME, true)) ||
		!CoordinatorServesDatabaseName(get_database_name(MyDatabaseId)))
	{
		absent_lxid = MyProc->lxid;
		return NULL;
	}
	return CoordinatorAttachDatabase();
}

/*
 * DROP DATABASE, in the dropping backend: if the coordinator serves the
 * database, ask the launcher to stop its coordinator (which stops its
 * workers) and the webhook listener to stop its appender there, and wait
 * up to DROP_DATABASE_WAIT_MS for them to leave the database.  DROP
 * DATABASE then proceeds as usual (and waits for other sessions itself).
 * Returns the database's slot, or NULL if it has none;
 * CoordinatorResumeAfterDropDatabase must follow with it, whether the drop
 * succeeded or not.
 */
#define DROP_DATABASE_WAIT_MS 10000

CoordinatorShared *
CoordinatorLeaveDatabase(Oid dboid)
{
	TimestampTz start = GetCurrentTimestamp();
	CoordinatorShared *slot = CoordinatorFindDatabase(dboid);

	if (slot == NULL)
		return NULL;
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->dropping_database = true;
	if (slot->appender_latch != NULL)
		SetLatch(slot->appender_latch);
	LWLockRelease(slot->lock);
	CoordinatorWakeLauncher();
	while (slot->database == dboid && CoordinatorDatabaseBusy(slot) &&
		   !TimestampDifferenceExceeds(start, GetCurrentTimestamp(),
									   DROP_DATABASE_WAIT_MS))
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 20, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return slot;
}

/* The database is gone, or the drop failed: the launcher goes on. */
void
CoordinatorResumeAfterDropDatabase(CoordinatorShared *slot)
{
	if (slot == NULL)
		return;
	LWLockAcquire(slot->lock, LW_EXCLUSIVE);
	slot->dropping_database = false;
	LWLockRelease(slot->lock);
	CoordinatorWakeLauncher();
}
