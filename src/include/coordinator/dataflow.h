/*-------------------------------------------------------------------------
 *
 * dataflow.h
 *	  The dataflow: compiled operators over changes, and the view sink.
 *
 * A change flows source row -> map/filter (mapfilter.c) -> signed output
 * rows, consolidated per tick (a Z-set: row -> weight) -> sink (sink.c),
 * which applies the weights to the view's heap table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_DATAFLOW_H
#define COORDINATOR_DATAFLOW_H

#include "access/tupdesc.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/relfilenode.h"
#include "utils/hsearch.h"
#include "utils/relcache.h"

#include "coordinator/compile.h"

/* mapfilter.c: evaluates a compiled view on one source row */
typedef struct MapFilter
{
	ExprContext *econtext;
	TupleTableSlot *input;		/* source row, current descriptor */
	ExprState  *qual;
	ProjectionInfo *projection;
	TupleTableSlot *output;		/* virtual slot of the view's row type */
} MapFilter;

extern MapFilter *MapFilterCreate(CompiledView *plan, TupleDesc source_desc,
								  TupleDesc view_desc);
extern TupleTableSlot *MapFilterApply(MapFilter *mf, HeapTuple source_row);
extern void MapFilterFree(MapFilter *mf);

/* a Z-set of view rows being consolidated within one tick */
typedef struct RowDelta
{
	TupleDesc	desc;
	TupleTableSlot *compare;	/* for equality checks of equal hashes */
	MemoryContext context;		/* rows; reset by RowDeltaReset */
	HTAB	   *rows;
} RowDelta;

/* sink.c: a view's heap table with an in-memory index of its rows */
typedef struct Sink
{
	RelFileNode node;			/* storage the index describes */
	MemoryContext context;
	HTAB	   *rows;			/* row hash -> TIDs of equal rows */
} Sink;

extern Sink *SinkCreate(void);
extern void SinkBegin(Sink *sink, Relation rel, RowDelta *retract);
extern void SinkEnd(void);
extern void SinkInvalidate(Sink *sink);
extern void SinkClear(Sink *sink, Relation rel);

extern RowDelta *RowDeltaCreate(TupleDesc desc, MemoryContext context);
extern void RowDeltaAdd(RowDelta *delta, TupleTableSlot *slot, int64 weight);
extern void RowDeltaApply(RowDelta *delta, Sink *sink, Relation rel);
extern void RowDeltaReset(RowDelta *delta);
extern void RowDeltaFree(RowDelta *delta);

extern uint64 RowHash(TupleDesc desc, Datum *values, bool *isnull);
extern bool RowEqual(TupleDesc desc, Datum *v1, bool *n1, Datum *v2, bool *n2);

#endif							/* COORDINATOR_DATAFLOW_H */
