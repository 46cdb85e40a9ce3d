/*-------------------------------------------------------------------------
 *
 * mapfilter.c
 *	  The map/filter operator: a view's WHERE and select list on one row.
 *
 * Linear, so it needs no state: a change of weight w to a source row
 * becomes a change of weight w to its output row, if the row passes the
 * filter.  Expressions are evaluated by Postgres's executor, so every type,
 * operator and IMMUTABLE function works as in a plain query.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"

#include "coordinator/dataflow.h"

/*
 * Prepare a plan for rows of source_desc producing rows of view_desc.
 * Allocates in CurrentMemoryContext; free with MapFilterFree.
 */
MapFilter *
MapFilterCreate(CompiledView *plan, TupleDesc source_desc, TupleDesc view_desc)
{
	MapFilter  *mf = palloc0(sizeof(MapFilter));

	mf->econtext = CreateStandaloneExprContext();
	mf->input = MakeSingleTupleTableSlot(source_desc, &TTSOpsHeapTuple);
	mf->output = MakeSingleTupleTableSlot(view_desc, &TTSOpsVirtual);
	mf->qual = ExecInitQual(plan->quals, NULL);
	mf->projection = ExecBuildProjectionInfo(plan->targetlist, mf->econtext,
											 mf->output, NULL, source_desc);
	return mf;
}

/*
 * The view row for source_row, or NULL if the filter rejects it.  The
 * result is valid until the next call; it may ERROR (division by zero...).
 */
TupleTableSlot *
MapFilterApply(MapFilter *mf, HeapTuple source_row)
{
	ResetExprContext(mf->econtext);
	ExecStoreHeapTuple(source_row, mf->input, false);
	mf->econtext->ecxt_scantuple = mf->input;
	if (!ExecQual(mf->qual, mf->econtext))
		return NULL;
	return ExecProject(mf->projection);
}

void
MapFilterFree(MapFilter *mf)
{
	ExecDropSingleTupleTableSlot(mf->input);
	ExecDropSingleTupleTableSlot(mf->output);
	FreeExprContext(mf->econtext, true);
	pfree(mf);
}
