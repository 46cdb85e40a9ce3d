/*-------------------------------------------------------------------------
 *
 * windowspan.c
 *	  The rows a RANGE or GROUPS frame with offsets holds: those within an
 *	  offset of a row's value, or within some peer groups of it.
 *
 * window.c finds the windows whose rows read only the rows near them; a
 * RANGE or GROUPS frame bounded by constant offsets (or the current row)
 * is one, but how near is said by values or peer groups, not by a number
 * of rows.  windowrows.c steps over a partition's rows in order and asks
 * here whether a row is still within a row's frame on one side (RANGE:
 * by the in_range support functions the plan names, as the executor
 * does) or how many peer groups the frame holds there (GROUPS).  Either
 * way it asks for the rows a row's frame holds (to feed them) and for the
 * rows whose frames hold a row (to recompute them after it changed): the
 * same bounds, from the other side.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/nodeFuncs.h"

#include "coordinator/dataflow.h"

/*
 * A RANGE or GROUPS frame bounded on both sides by constant offsets or the
 * current row: what its rows read is a WindowSpan.
 */
bool
WindowSpanFrame(WindowAgg *plan)
{
	int			options = plan->frameOptions;

	if (!(options & (FRAMEOPTION_RANGE | FRAMEOPTION_GROUPS)) ||
		(options & (FRAMEOPTION_START_UNBOUNDED_PRECEDING | FRAMEOPTION_END_UNBOUNDED_FOLLOWING)))
		return false;
	if ((options & FRAMEOPTION_START_OFFSET) &&
		(!IsA(plan->startOffset, Const) || ((Const *) plan->startOffset)->constisnull))
		return false;
	if ((options & FRAMEOPTION_END_OFFSET) &&
		(!IsA(plan->endOffset, Const) || ((Const *) plan->endOffset)->constisnull))
		return false;
	return true;
}

/*
 * A RANGE or GROUPS frame with offsets: a row's frame holds its peers and
 * the rows within an offset of its value (RANGE, by the in_range support
 * functions its plan names) or within a number of peer groups (GROUPS),
 * before and after it.  Either side may have two bounds (a frame from 5
 * FOLLOWING to 10 FOLLOWING): a row is within that side if within either,
 * which holds the rows between the two too.
 */
struct WindowSpan
{
	bool		groups;
	int			nbounds[2];		/* [0]: the bounds before the row, [1]: after */
	Datum		offsets[2][2];
	FmgrInfo	in_range[2][2];
	int64		ngroups[2];		/* GROUPS: the most groups each side */
	Oid			collation;
	bool		asc;
	AttrNumber	column;			/* RANGE: the ORDER BY column */
	TupleTableSlot *row;
	TupleTableSlot *base;
};

static void
span_bound(WindowSpan *ws, bool after, Node *offset, Oid in_range)
{
	int			i = ws->nbounds[after]++;

	if (ws->groups)
		ws->ngroups[after] = Max(ws->ngroups[after],
								 DatumGetInt64(((Const *) offset)->constvalue));
	else
	{
		ws->offsets[after][i] = ((Const *) offset)->constvalue;
		fmgr_info(in_range, &ws->in_range[after][i]);
	}
}

/*
 * What the rows of a RANGE or GROUPS frame with offsets read, or NULL if
 * the node's frame is not one (input describes its rows).
 */
WindowSpan *
WindowSpanCreate(WindowAgg *plan, TupleDesc input)
{
	WindowSpan *ws;
	int			options = plan->frameOptions;

	if (!WindowSpanFrame(plan))
		return NULL;
	ws = palloc0(sizeof(WindowSpan));
	ws->groups = (options & FRAMEOPTION_GROUPS) != 0;
	ws->collation = plan->inRangeColl;
	ws->asc = plan->inRangeAsc;
	if (options & FRAMEOPTION_START_OFFSET)
		span_bound(ws, (options & FRAMEOPTION_START_OFFSET_FOLLOWING) != 0,
				   plan->startOffset, plan->startInRangeFunc);
	if (options & FRAMEOPTION_END_OFFSET)
		span_bound(ws, (options & FRAMEOPTION_END_OFFSET_FOLLOWING) != 0,
				   plan->endOffset, plan->endInRangeFunc);
	if (!ws->groups && (ws->nbounds[0] > 0 || ws->nbounds[1] > 0))
	{
		/* an offset in RANGE: one ORDER BY column (the parser says so) */
		if (plan->ordNumCols != 1)
			elog(ERROR, "coordinator: a RANGE frame with an offset orders by %d columns",
				 plan->ordNumCols);
		ws->column = plan->ordColIdx[0];
		ws->row = MakeSingleTupleTableSlot(input, &TTSOpsMinimalTuple);
		ws->base = MakeSingleTupleTableSlot(input, &TTSOpsMinimalTuple);
	}
	return ws;
}

/*
 * The side of a row whose bounds say how far from it a step goes: forward
 * or back, over the rows the row reads (reads) or the rows that read it.
 */
static int
span_side(bool forward, bool reads)
{
	return reads ? forward : !forward;
}

/* GROUPS: the peer groups a step goes over besides the row's own. */
int64
WindowSpanGroups(WindowSpan *ws, bool forward, bool reads)
{
	return ws->groups ? ws->ngroups[span_side(forward, reads)] : -1;
}

/*
 * RANGE: is row, a step forward or back from base, within the frame of
 * base (reads), or is base within the frame of row (not reads)?  Either
 * is asked as the executor asks it, from the frame's own row: in_range of
 * the other value, the own value and the offset, minus or plus it (for
 * intervals with months, or floats, adding an offset to one side is not
 * subtracting it from the other).  Rows whose ORDER BY value is NULL are
 * within no offset (they are peers of each other only).
 */
bool
WindowSpanWithin(WindowSpan *ws, MinimalTuple row, MinimalTuple base,
				 bool forward, bool reads)
{
	int			side = span_side(forward, reads);
	/* ascending, the offset is subtracted on the side before the frame's row */
	bool		sub = (reads ? forward : !forward) != ws->asc;
	bool		rnull;
	bool		bnull;
	Datum		r;
	Datum		b;
	bool		within = false;

	if (ws->groups || ws->nbounds[side] == 0)
		return false;
	ExecStoreMinimalTuple(row, ws->row, false);
	ExecStoreMinimalTuple(base, ws->base, false);
	r = slot_getattr(ws->row, ws->column, &rnull);
	b = slot_getattr(ws->base, ws->column, &bnull);
	for (int i = 0; !rnull && !bnull && !within && i < ws->nbounds[side]; i++)
		within = DatumGetBool(FunctionCall5Coll(&ws->in_range[side][i], ws->collation,
												reads ? r : b, reads ? b : r,
												ws->offsets[side][i],
												BoolGetDatum(sub), BoolGetDatum(!sub)));
	ExecClearTuple(ws->row);
	ExecClearTuple(ws->base);
	return within;
}
