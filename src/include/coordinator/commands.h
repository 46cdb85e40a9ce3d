/*-------------------------------------------------------------------------
 *
 * commands.h
 *	  What client backends do: setup checks, the utility hook, strict reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_COMMANDS_H
#define COORDINATOR_COMMANDS_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "nodes/parsenodes.h"
#include "nodes/pg_list.h"

#include "coordinator/compile.h"

/* utility.c, reads.c */
extern void CoordinatorCheckRetainHistory(Interval *retain);
extern void CoordinatorInstallUtilityHook(void);
extern void CoordinatorRecordView(Oid relid, Query *query,
								  CompiledView *compiled,
								  Interval *retain_history);

/* source_ddl.c: DDL on the tables maintained views read */
extern void CoordinatorEnsureReplicaIdentityFull(Oid relid);
extern void CoordinatorCheckSourceDDL(Node *parsetree);
extern void CoordinatorAfterSourceDDL(Node *parsetree);

extern void CoordinatorInstallReadHooks(void);

/* reads.c */
extern bool CoordinatorIsMaintainedView(Oid relid);
extern List *CoordinatorMaintainedViewsIn(List *rtable);
extern void CoordinatorNoteSnapshotUse(void);
extern XLogRecPtr CoordinatorReadTarget(void);

#endif							/* COORDINATOR_COMMANDS_H */
