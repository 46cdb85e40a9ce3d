/*-------------------------------------------------------------------------
 *
 * catalog.h
 *	  The coordinator's catalog: ordinary tables in schema coordinator.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_CATALOG_H
#define COORDINATOR_CATALOG_H

#include "nodes/pg_list.h"
#include "datatype/timestamp.h"

/* One maintained view as stored in coordinator.objects. */
typedef struct CatalogView
{
	int64		id;
	Oid			relid;
	char	   *plan;			/* nodeToString of the compiled plan */
	int64		retain_ms;		/* retain_history */
	List	   *inputs;			/* OIDs of the maintained views it reads */
	List	   *tables;			/* OIDs of the relations it names */
} CatalogView;

extern bool CatalogExtensionExists(void);
extern Oid	CatalogOwner(void);
extern uint64 CatalogExecuteAsOwner(const char *sql, int nargs, Oid *types,
									Datum *values, const char *nulls, int expect,
									int ncols, Datum *first_row);
extern void CatalogInsertView(Oid relid, const char *definition,
							  const char *plan, List *sources,
							  Interval *retain_history);
extern void CatalogSetRetainHistory(Oid relid, Interval *retain_history);
extern bool CatalogHasView(Oid relid);
extern bool CatalogViewCreatedHere(Oid relid);
extern Oid	CatalogViewReading(Oid relid);
extern List *CatalogLoadViews(void);
extern List *CatalogViewRelids(void);

extern Oid	CatalogRelationOwner(Oid relid);

#endif							/* COORDINATOR_CATALOG_H */
