/*-------------------------------------------------------------------------
 *
 * source_ddl.c
 *	  DDL on the tables that maintained views read.
 *
 * A source must keep what the views need of it: its changes in the WAL
 * (logged, not foreign), with the whole old row of every UPDATE and
 * DELETE (REPLICA IDENTITY FULL), and no inheritance children that the
 * view's plan would miss; a plain view that a maintained view expanded
 * at CREATE is not replaced under it.  Statements that would break that
 * are refused before they run.
 *
 * A partitioned table is read through its partitions, which come and go:
 * every plain-table partition under a partitioned source, at any level,
 * gets REPLICA IDENTITY FULL as it is created (CREATE TABLE ... PARTITION
 * OF, after the statement) or attached (ATTACH PARTITION, before it), and
 * unlogged or foreign partitions are refused.  The dataflow worker builds
 * the views again when a source's partitions change (dataflow/sources.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_class.h"
#include "catalog/pg_inherits.h"
#include "commands/tablecmds.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "coordinator/catalog.h"
#include "coordinator/commands.h"

/*
 * Maintained views need the whole old row of every UPDATE and DELETE of a
 * source in the WAL.  Set REPLICA IDENTITY FULL if it is not, and say so.
 */
void
CoordinatorEnsureReplicaIdentityFull(Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	char		identity = rel->rd_rel->relreplident;
	char	   *name = pstrdup(RelationGetRelationName(rel));
	ReplicaIdentityStmt *ri;
	AlterTableCmd *cmd;

	table_close(rel, AccessShareLock);
	if (identity == REPLICA_IDENTITY_FULL)
		return;

	if (!pg_class_ownercheck(relid, GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("table \"%s\" must have REPLICA IDENTITY FULL to be the source of a maintained view", name),
				 errhint("Ask the owner of \"%s\" to run ALTER TABLE ... REPLICA IDENTITY FULL.", name)));

	ri = makeNode(ReplicaIdentityStmt);
	ri->identity_type = REPLICA_IDENTITY_FULL;
	cmd = makeNode(AlterTableCmd);
	cmd->subtype = AT_ReplicaIdentity;
	cmd->def = (Node *) ri;
	AlterTableInternal(relid, list_make1(cmd), false);

	ereport(NOTICE,
			(errmsg("table \"%s\" now has REPLICA IDENTITY FULL", name),
			 errdetail("Maintained views need the old row of every UPDATE and DELETE in the WAL.")));
}

/*
 * A maintained view that reads table relid, directly or as a partition of
 * a partitioned table it reads, or InvalidOid.
 */
static Oid
view_reading_relid(Oid relid)
{
	Oid			view = CatalogViewReading(relid);
	ListCell   *lc;

	if (OidIsValid(view) || !get_rel_relispartition(relid))
		return view;
	foreach(lc, get_partition_ancestors(relid))
	{
		view = CatalogViewReading(lfirst_oid(lc));
		if (OidIsValid(view))
			break;
	}
	return view;
}

/*
 * A maintained view that reads the table table_rv names (its OID goes to
 * *table), or InvalidOid if none does (or there is no such table).
 */
static Oid
view_reading(RangeVar *table_rv, Oid *table)
{
	*table = RangeVarGetRelid(table_rv, NoLock, true);
	if (!OidIsValid(*table) || !CatalogExtensionExists())
		return InvalidOid;
	return view_reading_relid(*table);
}

/*
 * A table that a maintained view reads cannot get inheritance children:
 * the view's plan, made at CREATE, scans the table alone, while its query
 * would read the children too.  (A partitioned table's partitions are
 * followed instead: partition_of_source.)
 */
static void
refuse_child_of_source(RangeVar *parent_rv)
{
	Oid			parent;
	Oid			view = view_reading(parent_rv, &parent);

	if (OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot add an inheritance child to table \"%s\"",
						get_rel_name(parent)),
				 errdetail("Maintained view \"%s\" reads the table, and maintained views do not read inheritance children.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/*
 * Maintained views need the whole old row of every UPDATE and DELETE of a
 * source: its REPLICA IDENTITY stays FULL while a view reads it.
 */
static void
refuse_replica_identity(RangeVar *table_rv, ReplicaIdentityStmt *ri)
{
	Oid			table;
	Oid			view;

	if (ri->identity_type == REPLICA_IDENTITY_FULL)
		return;
	view = view_reading(table_rv, &table);
	/* a partitioned table has no rows of its own to log */
	if (OidIsValid(view) && get_rel_relkind(table) != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table \"%s\" must keep REPLICA IDENTITY FULL",
						get_rel_name(table)),
				 errdetail("Maintained view \"%s\" reads the table and needs the old row of every UPDATE and DELETE in the WAL.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/* An unlogged table's changes are not in the WAL: a source stays logged. */
static void
refuse_unlogged(RangeVar *table_rv)
{
	Oid			table;
	Oid			view = view_reading(table_rv, &table);

	if (OidIsValid(view))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot make table \"%s\" unlogged", get_rel_name(table)),
				 errdetail("Maintained view \"%s\" reads the table from the WAL.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
}

/*
 * CREATE OR REPLACE VIEW of a plain view that a maintained view reads
 * (maybe through other plain views): the maintained view expanded the old
 * definition at CREATE and would not follow.
 */
static void
refuse_replacing_read_view(RangeVar *view_rv)
{
	Oid			view = RangeVarGetRelid(view_rv, NoLock, true);
	Oid			types[1] = {OIDOID};
	Datum		values[1];
	Datum		reader = ObjectIdGetDatum(InvalidOid);

	if (!OidIsValid(view) || get_rel_relkind(view) != RELKIND_VIEW ||
		!CatalogExtensionExists())
		return;
	values[0] = ObjectIdGetDatum(view);
	CatalogExecuteAsOwner("WITH RECURSIVE readers(relid) AS ("
						  "  SELECT $1"
						  "  UNION"
						  "  SELECT r.ev_class FROM readers"
						  "    JOIN pg_catalog.pg_depend d"
						  "      ON d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass"
						  "     AND d.refobjid OPERATOR(pg_catalog.=) readers.relid"
						  "     AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_rewrite'::pg_catalog.regclass"
						  "    JOIN pg_catalog.pg_rewrite r ON r.oid OPERATOR(pg_catalog.=) d.objid"
						  "   WHERE r.ev_class OPERATOR(pg_catalog.<>) readers.relid)"
						  "SELECT o.relid FROM readers"
						  "  JOIN coordinator.catalog_objects o ON o.relid OPERATOR(pg_catalog.=) readers.relid"
						  " ORDER BY o.id LIMIT 1",
						  1, types, values, NULL, SPI_OK_SELECT, 1, &reader);
	if (OidIsValid(DatumGetObjectId(reader)))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot replace view \"%s\"", get_rel_name(view)),
				 errdetail("Maintained view \"%s\" reads it and keeps the definition it had at CREATE.",
						   get_rel_name(DatumGetObjectId(reader))),
				 errhint("Drop the maintained views that read it, replace the view, then create them again.")));
}

/*
 * A table that becomes a partition under a partitioned table that a
 * maintained view reads: every plain table in it (the table, or the
 * partitions of a partitioned one) must log full rows; ERROR for an
 * unlogged or foreign one.  With set_identity, set REPLICA IDENTITY FULL
 * where it is missing.
 */
static void
partition_of_source(Oid partition, Oid view, bool set_identity)
{
	ListCell   *lc;

	foreach(lc, find_all_inheritors(partition, NoLock, NULL))
	{
		Oid			relid = lfirst_oid(lc);
		char		relkind = get_rel_relkind(relid);

		if (relkind == RELKIND_FOREIGN_TABLE)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot make foreign table \"%s\" a partition of a table that a maintained view reads",
							get_rel_name(relid)),
					 errdetail("Maintained view \"%s\" reads the partitioned table from the WAL, which has no changes of a foreign table.",
							   get_rel_name(view)),
					 errhint("Drop the maintained views that read it first.")));
		if (relkind != RELKIND_RELATION)
			continue;
		if (get_rel_persistence(relid) != RELPERSISTENCE_PERMANENT)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot make unlogged table \"%s\" a partition of a table that a maintained view reads",
							get_rel_name(relid)),
					 errdetail("Maintained view \"%s\" reads the partitioned table from the WAL.",
							   get_rel_name(view)),
					 errhint("Run ALTER TABLE ... SET LOGGED on it first.")));
		if (set_identity)
			CoordinatorEnsureReplicaIdentityFull(relid);
	}
}

/* The parent that CREATE TABLE ... PARTITION OF names, or NULL. */
static RangeVar *
partition_parent(Node *parsetree)
{
	CreateStmt *stmt;

	if (!IsA(parsetree, CreateStmt) && !IsA(parsetree, CreateForeignTableStmt))
		return NULL;
	/* a CreateForeignTableStmt begins with its CreateStmt */
	stmt = (CreateStmt *) parsetree;
	if (stmt->partbound == NULL || list_length(stmt->inhRelations) != 1)
		return NULL;
	return linitial_node(RangeVar, stmt->inhRelations);
}

/* CREATE TABLE ... PARTITION OF a source: a logged table only. */
static void
refuse_partition_kind(Node *parsetree, RangeVar *parent_rv)
{
	Oid			parent;
	Oid			view = view_reading(parent_rv, &parent);
	RangeVar   *rel = ((CreateStmt *) parsetree)->relation;

	if (!OidIsValid(view))
		return;
	if (IsA(parsetree, CreateForeignTableStmt))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot create foreign table \"%s\" as a partition of table \"%s\"",
						rel->relname, get_rel_name(parent)),
				 errdetail("Maintained view \"%s\" reads the table from the WAL, which has no changes of a foreign table.",
						   get_rel_name(view)),
				 errhint("Drop the maintained views that read it first.")));
	if (rel->relpersistence == RELPERSISTENCE_UNLOGGED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot create unlogged table \"%s\" as a partition of table \"%s\"",
						rel->relname, get_rel_name(parent)),
				 errdetail("Maintained view \"%s\" reads the table from the WAL.",
						   get_rel_name(view)),
				 errhint("Create the partition without UNLOGGED.")));
}

/* ALTER TABLE ... ATTACH PARTITION under a source. */
static void
attach_partition(RangeVar *parent_rv, PartitionCmd *cmd)
{
	Oid			parent;
	Oid			view = view_reading(parent_rv, &parent);
	Oid			partition;

	if (!OidIsValid(view))
		return;
	partition = RangeVarGetRelid(cmd->name, NoLock, true);
	if (OidIsValid(partition))
		partition_of_source(partition, view, true);
}

/*
 * Before a utility statement runs: refuse DDL that would break a source,
 * and prepare a table attached as a partition of one.
 */
void
CoordinatorCheckSourceDDL(Node *parsetree)
{
	ListCell   *lc;
	RangeVar   *parent = partition_parent(parsetree);

	if (parent != NULL)
		refuse_partition_kind(parsetree, parent);
	else if (IsA(parsetree, CreateStmt) || IsA(parsetree, CreateForeignTableStmt))
	{
		foreach(lc, ((CreateStmt *) parsetree)->inhRelations)
			refuse_child_of_source(lfirst_node(RangeVar, lc));
	}
	else if (IsA(parsetree, ViewStmt) && ((ViewStmt *) parsetree)->replace)
		refuse_replacing_read_view(((ViewStmt *) parsetree)->view);
	else if (IsA(parsetree, AlterTableStmt))
	{
		AlterTableStmt *stmt = (AlterTableStmt *) parsetree;

		foreach(lc, stmt->cmds)
		{
			AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);

			if (cmd->subtype == AT_AddInherit)
				refuse_child_of_source(castNode(RangeVar, cmd->def));
			else if (cmd->subtype == AT_ReplicaIdentity)
				refuse_replica_identity(stmt->relation,
										castNode(ReplicaIdentityStmt, cmd->def));
			else if (cmd->subtype == AT_SetUnLogged)
				refuse_unlogged(stmt->relation);
			else if (cmd->subtype == AT_AttachPartition &&
					 stmt->objtype == OBJECT_TABLE)
				attach_partition(stmt->relation, castNode(PartitionCmd, cmd->def));
		}
	}
}

/*
 * After a utility statement ran: a table created as a partition of a
 * source logs full rows.
 */
void
CoordinatorAfterSourceDDL(Node *parsetree)
{
	RangeVar   *parent_rv = partition_parent(parsetree);
	Oid			parent;
	Oid			view;
	Oid			partition;

	if (parent_rv == NULL || IsA(parsetree, CreateForeignTableStmt))
		return;
	view = view_reading(parent_rv, &parent);
	if (!OidIsValid(view))
		return;
	partition = RangeVarGetRelid(((CreateStmt *) parsetree)->relation, NoLock, true);
	if (OidIsValid(partition))
		partition_of_source(partition, view, true);
}
