/*-------------------------------------------------------------------------
 *
 * commands.h
 *	  What client backends do: setup checks, the utility hook, strict reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_COMMANDS_H
#define COORDINATOR_COMMANDS_H

#include "nodes/pg_list.h"

/* setup.c */
extern void CoordinatorCheckSetup(void);

/* utility.c, reads.c */
extern void CoordinatorInstallHooks(void);
extern void CoordinatorInstallUtilityHook(void);
extern void CoordinatorInstallReadHooks(void);

/* reads.c */
extern bool CoordinatorIsMaintainedView(Oid relid);
extern void CoordinatorWaitForViews(List *relids, bool strict);

#endif							/* COORDINATOR_COMMANDS_H */
