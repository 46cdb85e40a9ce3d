/*-------------------------------------------------------------------------
 *
 * window.c
 *	  Which windows are recomputed by row, and how: window functions that
 *	  read only the rows near a row, or only those before it.
 *
 * A reduce re-runs a WindowAgg over a partition that changed (reduce.c).
 * When every window function of the node reads only the rows within a
 * fixed distance d of the current row in the partition's order -- lag and
 * lead by a constant offset, and first_value, last_value, nth_value and
 * the aggregates below over a ROWS frame with constant offsets -- a
 * change can move the value of the rows within d of it only (before it
 * when it leaves, after it when it comes).  Then the reduce recomputes
 * just those rows, feeding the node d more rows on each side
 * (roworder.c), and a change costs O(log n + d) plus the rows it changes,
 * whatever the partition's size.
 *
 * RANGE and GROUPS frames with offsets read the rows within an offset of
 * the row's value, or within some peer groups of it (a WindowSpan below):
 * a change recomputes the rows whose frames hold it, fed with the rows
 * their frames hold.
 *
 * Functions whose value follows from the rows before a row (row_number,
 * rank, running sums: WindowPrefixCreate below) are re-run from the first
 * change on, with lag, lead or a bounded ROWS frame beside them.  Others
 * (ntile, percent_rank, cume_dist, a running avg; EXCLUDE GROUP and TIES
 * in ROWS frames; frames to the partition's end; running float sums,
 * whose value depends on where a sum starts) keep the whole partition's
 * re-run.
 *
 * Either way the reduce keeps the node's outputs by row, and recomputes
 * the rows a change moves (windowrows.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"

typedef struct RadiusContext
{
	Index		winref;
	bool		frame_local;	/* the node's frame is ROWS, bounded */
	int64		frame_radius;
	int64		radius;			/* -1: not local */
} RadiusContext;

/* Is node an integer constant?  Its value in *v. */
static bool
integer_constant(Node *node, int64 *v)
{
	Const	   *c;

	if (node == NULL || !IsA(node, Const) || ((Const *) node)->constisnull)
		return false;
	c = (Const *) node;
	switch (c->consttype)
	{
		case INT2OID:
			*v = DatumGetInt16(c->constvalue);
			return true;
		case INT4OID:
			*v = DatumGetInt32(c->constvalue);
			return true;
		case INT8OID:
			*v = DatumGetInt64(c->constvalue);
			return true;
		default:
			return false;
	}
}

/* A lag's or lead's offset (either sign) as a distance, or -1. */
static int64
offset_distance(Node *node)
{
	int64		v;

	if (!integer_constant(node, &v) || v == PG_INT64_MIN)
		return -1;
	return v < 0 ? -v : v;
}

/* A frame's offset (never negative), or -1. */
static int64
frame_offset(Node *node)
{
	int64		v;

	if (!integer_constant(node, &v) || v < 0)
		return -1;
	return v;
}

/*
 * Aggregates that read only their frame, aggregated in the frame's order
 * from its first row: the same value however many rows before the frame
 * the node was fed.  With floats: a float sum may overflow over a part of
 * a frame that the node reads only to compute a row it does not keep;
 * rows near a change are then recomputed with their partition whole,
 * whose error is the query's (windowrows.c).  Rows resumed after the row
 * before are not: no floats there.
 */
static bool
safe_aggregate(WindowFunc *wf, bool floats)
{
	char	   *name = get_func_name(wf->winfnoid);
	Oid			argtype = wf->args != NIL ? exprType(linitial(wf->args)) : InvalidOid;
	bool		safe = false;

	if (name == NULL || get_func_namespace(wf->winfnoid) != PG_CATALOG_NAMESPACE ||
		wf->aggfilter != NULL)
		return false;
	if (strcmp(name, "count") == 0 || strcmp(name, "min") == 0 ||
		strcmp(name, "max") == 0 || strcmp(name, "bool_and") == 0 ||
		strcmp(name, "bool_or") == 0 || strcmp(name, "every") == 0)
		safe = true;
	else if (strcmp(name, "sum") == 0 || strcmp(name, "avg") == 0)
		safe = argtype == INT2OID || argtype == INT4OID || argtype == INT8OID ||
			argtype == NUMERICOID ||
			(floats && (argtype == FLOAT4OID || argtype == FLOAT8OID));
	pfree(name);
	return safe;
}

/*
 * A ROWS frame bounded on both sides by constant offsets or the current
 * row: the most rows it holds on either side; -1 if it is not one.
 */
static int64
rows_frame_radius(WindowAgg *plan)
{
	int			options = plan->frameOptions;
	int64		start;
	int64		end;

	if (!(options & FRAMEOPTION_ROWS) ||
		(options & (FRAMEOPTION_START_UNBOUNDED_PRECEDING | FRAMEOPTION_END_UNBOUNDED_FOLLOWING |
					FRAMEOPTION_EXCLUDE_GROUP | FRAMEOPTION_EXCLUDE_TIES)))
		return -1;
	start = (options & FRAMEOPTION_START_OFFSET) ? frame_offset(plan->startOffset) : 0;
	end = (options & FRAMEOPTION_END_OFFSET) ? frame_offset(plan->endOffset) : 0;
	if (start < 0 || end < 0)
		return -1;
	return Max(start, end);
}

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

static bool
radius_walker(Node *node, RadiusContext *rc)
{
	if (node == NULL)
		return false;
	if (IsA(node, WindowFunc) && ((WindowFunc *) node)->winref == rc->winref)
	{
		WindowFunc *wf = (WindowFunc *) node;
		int64		r = -1;

		switch (wf->winfnoid)
		{
			case F_LAG_ANYELEMENT:
			case F_LEAD_ANYELEMENT:
				r = 1;
				break;
			case F_LAG_ANYELEMENT_INT4:
			case F_LEAD_ANYELEMENT_INT4:
			case F_LAG_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
			case F_LEAD_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
				r = offset_distance(lsecond(wf->args));
				break;
			case F_FIRST_VALUE:
			case F_LAST_VALUE:
				if (rc->frame_local)
					r = rc->frame_radius;
				break;
			case F_NTH_VALUE:
				if (rc->frame_local && frame_offset(lsecond(wf->args)) > 0)
					r = rc->frame_radius;
				break;
			default:
				if (wf->winagg && rc->frame_local && safe_aggregate(wf, true))
					r = rc->frame_radius;
				break;
		}
		if (r < 0)
			rc->radius = -1;
		else if (rc->radius >= 0)
			rc->radius = Max(rc->radius, r);
		/* the arguments are the node's input's columns */
		return false;
	}
	return expression_tree_walker(node, radius_walker, (void *) rc);
}

/*
 * The distance within which a row's window functions read other rows, if
 * every window function of the node has one (and a change need recompute
 * only the rows that near it); -1 otherwise.
 */
int
WindowRadius(WindowAgg *plan)
{
	RadiusContext rc;

	if (plan->runCondition != NIL || plan->plan.qual != NIL)
		return -1;
	rc.winref = plan->winref;
	rc.radius = 0;
	rc.frame_radius = -1;
	rc.frame_local = false;
	if (WindowSpanFrame(plan))
	{
		/* the frame reads by value or peer group: a WindowSpan */
		rc.frame_local = true;
		rc.frame_radius = 0;
	}
	else if (rows_frame_radius(plan) >= 0)
	{
		rc.frame_local = true;
		rc.frame_radius = rows_frame_radius(plan);
	}
	(void) radius_walker((Node *) plan->plan.targetlist, &rc);
	/* a radius beyond this is no cheaper than the partition */
	if (rc.radius > 1000)
		return -1;
	return (int) rc.radius;
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
 * RANGE: is row, a step forward or back from base, within an offset of its
 * value (past base's peers)?  Rows whose ORDER BY value is NULL are within
 * no offset (they are peers of each other only).
 */
bool
WindowSpanWithin(WindowSpan *ws, MinimalTuple row, MinimalTuple base,
				 bool forward, bool reads)
{
	int			side = span_side(forward, reads);
	bool		sub = forward != ws->asc;	/* base minus the offset */
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
												r, b, ws->offsets[side][i],
												BoolGetDatum(sub), BoolGetDatum(!sub)));
	ExecClearTuple(ws->row);
	ExecClearTuple(ws->base);
	return within;
}

/*
 * Window functions whose value for a row follows from the rows before it:
 * row_number, rank, dense_rank, and count, sum (of integers and numeric),
 * min, max, first_value and last_value over the frame from the
 * partition's start to the current row.  A change at a row moves only the
 * values from its peers on (for a running sum or row_number, legitimately
 * all of them); the values before it stay.  So the reduce re-runs the node from the first peer of
 * the first change only, and the node's fresh values there are completed
 * by the last value before (WindowPrefixComplete): an appended row costs
 * O(log n), not the partition.
 */
typedef enum WindowCombine
{
	COMBINE_NONE,				/* not a window function: as computed */
	COMBINE_ADD_INT8,			/* plus the last value before */
	COMBINE_ADD_NUMERIC,
	COMBINE_RANK,				/* plus the number of rows before */
	COMBINE_FIRST,				/* the first value of the partition */
	COMBINE_EXTREME,			/* the extreme of it and the last before */
	COMBINE_KEEP				/* as computed (the current row's peers') */
} WindowCombine;

struct WindowPrefix
{
	int			ncolumns;
	WindowCombine *combine;		/* by output column */
	FmgrInfo   *better;			/* COMBINE_EXTREME: the aggregate's sort
								 * operator (min's <, max's >) */
	Oid		   *collations;
	int			row_number;		/* a row_number column (0: none) */
	int			rank;			/* a rank column (0: none) */
	bool		peers;			/* some value depends on the row's peers */
	int64		radius;			/* lag and lead: the rows they read */
};

/*
 * The sort operator of min or max (pg_catalog's: an aggregate's sort
 * operator alone may not make it an extreme), or InvalidOid.
 */
static Oid
extreme_operator(Oid aggfnoid)
{
	HeapTuple	tuple;
	Oid			sortop = InvalidOid;
	char	   *name;

	if (get_func_namespace(aggfnoid) != PG_CATALOG_NAMESPACE)
		return InvalidOid;
	name = get_func_name(aggfnoid);
	if (name == NULL || (strcmp(name, "min") != 0 && strcmp(name, "max") != 0))
		return InvalidOid;
	tuple = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggfnoid));
	if (HeapTupleIsValid(tuple))
	{
		sortop = ((Form_pg_aggregate) GETSTRUCT(tuple))->aggsortop;
		ReleaseSysCache(tuple);
	}
	return sortop;
}

/* The frame from the partition's start to the current row (and its peers). */
static bool
frame_to_current_row(int options)
{
	return (options & FRAMEOPTION_START_UNBOUNDED_PRECEDING) &&
		(options & FRAMEOPTION_END_CURRENT_ROW) &&
		(options & (FRAMEOPTION_RANGE | FRAMEOPTION_ROWS)) &&
		!(options & FRAMEOPTION_EXCLUSION);
}

/*
 * How the node's values resume after the rows before a change, or NULL
 * if one of its window functions does not.
 */
WindowPrefix *
WindowPrefixCreate(WindowAgg *plan)
{
	WindowPrefix *wp;
	ListCell   *lc;
	bool		frame = frame_to_current_row(plan->frameOptions);
	int64		bounded = rows_frame_radius(plan);
	bool		any = false;

	if (plan->runCondition != NIL || plan->plan.qual != NIL || plan->ordNumCols == 0)
		return NULL;
	wp = palloc0(sizeof(WindowPrefix));
	wp->ncolumns = list_length(plan->plan.targetlist);
	wp->combine = palloc0(sizeof(WindowCombine) * Max(wp->ncolumns, 1));
	wp->better = palloc0(sizeof(FmgrInfo) * Max(wp->ncolumns, 1));
	wp->collations = palloc0(sizeof(Oid) * Max(wp->ncolumns, 1));
	foreach(lc, plan->plan.targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		WindowCombine c = COMBINE_NONE;

		if (IsA(tle->expr, WindowFunc) && ((WindowFunc *) tle->expr)->winref == plan->winref)
		{
			WindowFunc *wf = (WindowFunc *) tle->expr;

			/* a bounded ROWS frame: recomputed with rows around, as lag */
			if (bounded >= 0 && bounded <= 1000 &&
				(wf->winfnoid == F_FIRST_VALUE || wf->winfnoid == F_LAST_VALUE ||
				 (wf->winfnoid == F_NTH_VALUE && frame_offset(lsecond(wf->args)) > 0) ||
				 (wf->winagg && safe_aggregate(wf, false))))
			{
				c = COMBINE_KEEP;
				wp->radius = Max(wp->radius, bounded);
			}
			else switch (wf->winfnoid)
			{
				case F_ROW_NUMBER:
					c = COMBINE_ADD_INT8;
					wp->row_number = tle->resno;
					break;
				case F_DENSE_RANK_:
					c = COMBINE_ADD_INT8;
					wp->peers = true;
					break;
				case F_RANK_:
					c = COMBINE_RANK;
					wp->rank = tle->resno;
					wp->peers = true;
					break;
				case F_COUNT_:
				case F_COUNT_ANY:
				case F_SUM_INT2:
				case F_SUM_INT4:
					if (frame && wf->aggfilter == NULL)
						c = COMBINE_ADD_INT8;
					break;
				case F_SUM_INT8:
				case F_SUM_NUMERIC:
					if (frame && wf->aggfilter == NULL)
						c = COMBINE_ADD_NUMERIC;
					break;
				case F_LAG_ANYELEMENT:
				case F_LEAD_ANYELEMENT:
					/* the rows near: recomputed with rows around them */
					c = COMBINE_KEEP;
					wp->radius = Max(wp->radius, 1);
					break;
				case F_LAG_ANYELEMENT_INT4:
				case F_LEAD_ANYELEMENT_INT4:
				case F_LAG_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
				case F_LEAD_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
					{
						int64		d = offset_distance(lsecond(wf->args));

						if (d >= 0 && d <= 1000)
						{
							c = COMBINE_KEEP;
							wp->radius = Max(wp->radius, d);
						}
						break;
					}
				case F_FIRST_VALUE:
					if (frame)
						c = COMBINE_FIRST;
					break;
				case F_LAST_VALUE:
					/* the last of the current row's peers: among them */
					if (frame)
						c = COMBINE_KEEP;
					break;
				default:
					if (frame && wf->winagg && wf->aggfilter == NULL)
					{
						Oid			sortop = extreme_operator(wf->winfnoid);

						if (OidIsValid(sortop))
						{
							c = COMBINE_EXTREME;
							fmgr_info(get_opcode(sortop), &wp->better[tle->resno - 1]);
							wp->collations[tle->resno - 1] = wf->inputcollid;
						}
					}
					break;
			}
			/* a RANGE frame ends at the current row's last peer */
			if (c != COMBINE_NONE && (wf->winagg || wf->winfnoid == F_FIRST_VALUE ||
									  wf->winfnoid == F_LAST_VALUE) &&
				(plan->frameOptions & FRAMEOPTION_RANGE))
				wp->peers = true;
			if (c == COMBINE_NONE)
			{
				pfree(wp->combine);
				pfree(wp);
				return NULL;
			}
			any = true;
		}
		else if (contain_window_function((Node *) tle->expr))
		{
			pfree(wp->combine);
			pfree(wp);
			return NULL;
		}
		wp->combine[tle->resno - 1] = c;
	}
	if (!any)
	{
		pfree(wp->combine);
		pfree(wp);
		return NULL;
	}
	return wp;
}

/* Does a value depend on the row's peers (ties in the window's order)? */
bool
WindowPrefixNeedsPeers(WindowPrefix *wp)
{
	return wp->peers;
}

/* The rows lag and lead read, each side (0: none). */
int64
WindowPrefixRadius(WindowPrefix *wp)
{
	return wp->radius;
}

/* Does the node need the number of rows before a change (a rank)? */
bool
WindowPrefixNeedsPosition(WindowPrefix *wp)
{
	return wp->rank > 0;
}

/*
 * The number of rows before a change, from the output of the last row
 * before it (prev) and the number of rows of that row's peer group.
 */
int64
WindowPrefixPosition(WindowPrefix *wp, TupleTableSlot *prev, int64 peers)
{
	bool		isnull;

	if (wp->row_number > 0)
		return DatumGetInt64(slot_getattr(prev, wp->row_number, &isnull));
	return DatumGetInt64(slot_getattr(prev, wp->rank, &isnull)) - 1 + peers;
}

/*
 * Complete a fresh output row (out: the node's values over the rows from
 * a change on) with the output of the last row before them (prev) and
 * their number (before): into values and nulls.
 */
void
WindowPrefixComplete(WindowPrefix *wp, TupleTableSlot *out, TupleTableSlot *prev,
					 int64 before, Datum *values, bool *nulls)
{
	slot_getallattrs(out);
	slot_getallattrs(prev);
	for (int i = 0; i < wp->ncolumns; i++)
	{
		Datum		v = out->tts_values[i];
		bool		n = out->tts_isnull[i];
		Datum		p = prev->tts_values[i];
		bool		pn = prev->tts_isnull[i];

		switch (wp->combine[i])
		{
			case COMBINE_NONE:
				break;
			case COMBINE_ADD_INT8:
			case COMBINE_ADD_NUMERIC:
				/* NULL (a sum of no values) adds nothing */
				if (n)
				{
					v = p;
					n = pn;
				}
				else if (!pn)
					v = DirectFunctionCall2(wp->combine[i] == COMBINE_ADD_INT8 ?
											int8pl : numeric_add, v, p);
				break;
			case COMBINE_RANK:
				v = Int64GetDatum(DatumGetInt64(v) + before);
				break;
			case COMBINE_FIRST:
				v = p;
				n = pn;
				break;
			case COMBINE_EXTREME:
				if (n || (!pn && DatumGetBool(FunctionCall2Coll(&wp->better[i], wp->collations[i], p, v))))
				{
					v = p;
					n = pn;
				}
				break;
			case COMBINE_KEEP:
				break;
		}
		values[i] = v;
		nulls[i] = n;
	}
}
