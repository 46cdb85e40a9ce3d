/*-------------------------------------------------------------------------
 *
 * compile.h
 *	  Compile an analyzed Query into a dataflow plan, or refuse it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_COMPILE_H
#define COORDINATOR_COMPILE_H

#include "nodes/parsenodes.h"

/*
 * The plan of a view in this version: one source table, a filter and a
 * projection.  It is stored with nodeToString as a List of three elements:
 * a one-element OID list with the source, the target list and the
 * implicitly AND-ed qual list.
 */
typedef struct CompiledView
{
	Oid			source;
	List	   *targetlist;		/* TargetEntry, resno 1..n, no junk */
	List	   *quals;			/* implicit AND */
} CompiledView;

extern CompiledView *CompileView(Query *query, const char *source_text);
extern char *CompiledViewToString(CompiledView *view);
extern CompiledView *CompiledViewFromString(const char *plan);

#endif							/* COORDINATOR_COMPILE_H */
