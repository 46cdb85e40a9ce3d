/*-------------------------------------------------------------------------
 *
 * windowprefix.c
 *	  Windows whose values follow from the rows before a row: how a fresh
 *	  value resumes after the row before a change, and windows over a
 *	  frame to the partition's end, mirrored to be of that kind.
 *
 * window.c says which windows are recomputed by row; windowresume.c
 * re-runs these from each change on, completing the node's fresh values
 * here (WindowPrefixComplete).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_aggregate.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"
#include "window_internal.h"

/*
 * Window functions whose value for a row follows from the rows before it:
 * row_number, rank, dense_rank, and count, sum and avg (of integers and
 * numeric), min, max, first_value and last_value over the frame from the
 * partition's start to the current row.  A change at a row moves only the
 * values from it on (for a running sum or row_number, legitimately all of
 * them); the values before it stay.  So the reduce re-runs the node from
 * the first change only (from its first peer where a frame ends at the
 * current row's last peer), and the node's fresh values there are
 * completed by the outputs of the row before (WindowPrefixComplete): an
 * appended row costs O(log n), not the partition.
 *
 * Some values need more of the row before than its outputs: a rank, the
 * number of rows up to it (its row_number); an average, the sum and the
 * count under it.  Hidden window functions compute those: appended to the
 * node's target list (WindowPrefixTargetList), kept with the row's
 * outputs, not emitted.
 */
typedef enum WindowCombine
{
	COMBINE_NONE,				/* not a window function: as computed */
	COMBINE_ADD_INT8,			/* plus the last value before */
	COMBINE_ADD_NUMERIC,
	COMBINE_RANK,				/* the row before's if its peer, else plus
								 * the number of rows before */
	COMBINE_DENSE_RANK,			/* plus the row before's, less one if its
								 * peer */
	COMBINE_AVG,				/* the completed sum by the completed count */
	COMBINE_FIRST,				/* the first value of the partition */
	COMBINE_EXTREME,			/* the extreme of it and the last before */
	COMBINE_KEEP				/* as computed (the current row's peers') */
} WindowCombine;

struct WindowPrefix
{
	int			ncolumns;		/* the node's columns */
	int			ntotal;			/* and the hidden ones after them */
	WindowCombine *combine;		/* by column */
	FmgrInfo   *better;			/* COMBINE_EXTREME: the aggregate's sort
								 * operator (min's <, max's >) */
	Oid		   *collations;
	int		   *sums;			/* COMBINE_AVG: the columns of its sum */
	int		   *counts;			/* and count */
	int			row_number;		/* a row_number column (0: none) */
	bool		peers;			/* some value depends on the row's peers */
	int64		radius;			/* lag and lead: the rows they read */
	List	   *hidden;			/* the hidden columns' target entries */
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
 * A hidden window function of the node's window, computed by combine.
 * Its column number.
 */
static int
add_hidden(WindowPrefix *wp, WindowAgg *plan, Oid fnoid, Oid type, List *args,
		   Expr *filter, WindowCombine combine)
{
	WindowFunc *wf = makeNode(WindowFunc);
	int			resno = ++wp->ntotal;

	wf->winfnoid = fnoid;
	wf->wintype = type;
	wf->args = copyObject(args);
	wf->aggfilter = copyObject(filter);
	wf->winref = plan->winref;
	wf->winagg = fnoid != F_ROW_NUMBER;
	wf->location = -1;
	wp->hidden = lappend(wp->hidden, makeTargetEntry((Expr *) wf, resno, NULL, true));
	wp->combine[resno - 1] = combine;
	return resno;
}

static WindowPrefix *
prefix_free(WindowPrefix *wp)
{
	pfree(wp->combine);
	pfree(wp->better);
	pfree(wp->collations);
	pfree(wp->sums);
	pfree(wp->counts);
	list_free_deep(wp->hidden);
	pfree(wp);
	return NULL;
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
	int64		bounded = WindowRowsFrameRadius(plan);
	bool		any = false;
	bool		rank = false;
	int			most;

	if (plan->runCondition != NIL || plan->plan.qual != NIL || plan->ordNumCols == 0)
		return NULL;
	wp = palloc0(sizeof(WindowPrefix));
	wp->ncolumns = list_length(plan->plan.targetlist);
	wp->ntotal = wp->ncolumns;
	/* at most two hidden columns for each average, and a row_number */
	most = 3 * wp->ncolumns + 1;
	wp->combine = palloc0(sizeof(WindowCombine) * most);
	wp->better = palloc0(sizeof(FmgrInfo) * most);
	wp->collations = palloc0(sizeof(Oid) * most);
	wp->sums = palloc0(sizeof(int) * most);
	wp->counts = palloc0(sizeof(int) * most);
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
				 (wf->winfnoid == F_NTH_VALUE && WindowFrameOffset(lsecond(wf->args)) > 0) ||
				 (wf->winagg && WindowSafeAggregate(wf, false))))
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
					c = COMBINE_DENSE_RANK;
					break;
				case F_RANK_:
					c = COMBINE_RANK;
					rank = true;
					break;
				case F_COUNT_:
				case F_COUNT_ANY:
				case F_SUM_INT2:
				case F_SUM_INT4:
					if (frame)
						c = COMBINE_ADD_INT8;
					break;
				case F_SUM_INT8:
				case F_SUM_NUMERIC:
					if (frame)
						c = COMBINE_ADD_NUMERIC;
					break;
				case F_AVG_INT2:
				case F_AVG_INT4:
				case F_AVG_INT8:
				case F_AVG_NUMERIC:
					if (frame)
					{
						/* sum(int2) and sum(int4) are bigint, the others numeric */
						bool		small = wf->winfnoid == F_AVG_INT2 || wf->winfnoid == F_AVG_INT4;

						c = COMBINE_AVG;
						wp->sums[tle->resno - 1] =
							add_hidden(wp, plan,
									   wf->winfnoid == F_AVG_INT2 ? F_SUM_INT2 :
									   wf->winfnoid == F_AVG_INT4 ? F_SUM_INT4 :
									   wf->winfnoid == F_AVG_INT8 ? F_SUM_INT8 : F_SUM_NUMERIC,
									   small ? INT8OID : NUMERICOID, wf->args, wf->aggfilter,
									   small ? COMBINE_ADD_INT8 : COMBINE_ADD_NUMERIC);
						wp->counts[tle->resno - 1] =
							add_hidden(wp, plan, F_COUNT_ANY, INT8OID, wf->args, wf->aggfilter,
									   COMBINE_ADD_INT8);
					}
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
						int64		d = WindowOffsetDistance(lsecond(wf->args));

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
					if (frame && wf->winagg)
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
				return prefix_free(wp);
			any = true;
		}
		else if (contain_window_function((Node *) tle->expr))
			return prefix_free(wp);
		wp->combine[tle->resno - 1] = c;
	}
	if (!any)
		return prefix_free(wp);
	/* a rank after the row before: the number of rows up to that row */
	if (rank && wp->row_number == 0)
		wp->row_number = add_hidden(wp, plan, F_ROW_NUMBER, INT8OID, NIL, NULL, COMBINE_ADD_INT8);
	return wp;
}

/*
 * The node's target list for wp: with the hidden window functions after
 * its own, if wp has any.  (plan's own if its values do not resume.)
 */
List *
WindowPrefixTargetList(WindowAgg *plan)
{
	WindowPrefix *wp;

	if (WindowRadius(plan) >= 0 || (wp = WindowPrefixCreate(plan)) == NULL ||
		wp->hidden == NIL)
		return plan->plan.targetlist;
	return list_concat(list_copy(plan->plan.targetlist), wp->hidden);
}

/* The number of hidden columns after the node's own. */
int
WindowPrefixHidden(WindowPrefix *wp)
{
	return wp->ntotal - wp->ncolumns;
}

/*
 * Does a value depend on the row's later peers (a frame that ends at the
 * current row's last peer)?  Then a change re-runs its first peer on.
 */
bool
WindowPrefixNeedsPeers(WindowPrefix *wp)
{
	return wp->peers;
}

/* The rows lag, lead and bounded frames read, each side (0: none). */
int64
WindowPrefixRadius(WindowPrefix *wp)
{
	return wp->radius;
}

/*
 * Complete a fresh output row (out: the node's values over the rows from
 * a change on, hidden columns too) with the output of the last row before
 * them (prev), of which the first of them is a peer or not (joined): into
 * values and nulls.
 */
void
WindowPrefixComplete(WindowPrefix *wp, TupleTableSlot *out, TupleTableSlot *prev,
					 bool joined, Datum *values, bool *nulls)
{
	int64		before = 0;

	slot_getallattrs(out);
	slot_getallattrs(prev);
	if (wp->row_number > 0 && !prev->tts_isnull[wp->row_number - 1])
		before = DatumGetInt64(prev->tts_values[wp->row_number - 1]);
	for (int i = 0; i < wp->ntotal; i++)
	{
		Datum		v = out->tts_values[i];
		bool		n = out->tts_isnull[i];
		Datum		p = prev->tts_values[i];
		bool		pn = prev->tts_isnull[i];

		switch (wp->combine[i])
		{
			case COMBINE_NONE:
			case COMBINE_KEEP:
			case COMBINE_AVG:	/* below, from its sum and count */
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
				/* the first of the fresh ranks is the row before's group's */
				if (joined && DatumGetInt64(v) == 1)
					v = p;
				else
					v = Int64GetDatum(DatumGetInt64(v) + before);
				break;
			case COMBINE_DENSE_RANK:
				v = Int64GetDatum(DatumGetInt64(v) + DatumGetInt64(p) - (joined ? 1 : 0));
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
		}
		values[i] = v;
		nulls[i] = n;
	}
	/* an average: as avg's final functions compute it, sum / count */
	for (int i = 0; i < wp->ncolumns; i++)
	{
		int			s = wp->sums[i] - 1;
		int			c = wp->counts[i] - 1;
		Datum		sum;

		if (wp->combine[i] != COMBINE_AVG)
			continue;
		nulls[i] = nulls[s] || nulls[c] || DatumGetInt64(values[c]) == 0;
		if (nulls[i])
			continue;
		sum = wp->combine[s] == COMBINE_ADD_INT8 ?
			NumericGetDatum(int64_to_numeric(DatumGetInt64(values[s]))) : values[s];
		values[i] = DirectFunctionCall2(numeric_div, sum,
										NumericGetDatum(int64_to_numeric(DatumGetInt64(values[c]))));
	}
}

/*
 * A frame from the current row to the partition's end is one from the
 * partition's start to the current row over the rows in reverse.  If the
 * node's functions are the same over both (aggregates, whose value does
 * not depend on the order of their rows, and first_value and last_value,
 * swapped), the node mirrored, to be run over the rows in reverse order:
 * its values then follow from the rows after a row, and resume after the
 * row after a change.  NULL if not.
 */
static WindowAgg *
mirror_of(WindowAgg *plan)
{
	int			options = plan->frameOptions;
	WindowAgg  *mirror;
	WindowPrefix *wp;
	ListCell   *lc;

	if (!(options & FRAMEOPTION_START_CURRENT_ROW) ||
		!(options & FRAMEOPTION_END_UNBOUNDED_FOLLOWING) ||
		!(options & (FRAMEOPTION_RANGE | FRAMEOPTION_ROWS)) ||
		(options & FRAMEOPTION_EXCLUSION) || plan->ordNumCols == 0 ||
		plan->runCondition != NIL || plan->plan.qual != NIL)
		return NULL;
	mirror = makeNode(WindowAgg);
	memcpy(mirror, plan, sizeof(WindowAgg));
	mirror->frameOptions = (options & (FRAMEOPTION_RANGE | FRAMEOPTION_ROWS)) |
		FRAMEOPTION_NONDEFAULT | FRAMEOPTION_BETWEEN |
		FRAMEOPTION_START_UNBOUNDED_PRECEDING | FRAMEOPTION_END_CURRENT_ROW;
	mirror->plan.targetlist = NIL;
	foreach(lc, plan->plan.targetlist)
	{
		TargetEntry *tle = copyObject(lfirst_node(TargetEntry, lc));
		WindowFunc *wf = (WindowFunc *) tle->expr;

		if (IsA(wf, WindowFunc) && wf->winref == plan->winref)
		{
			if (wf->winfnoid == F_FIRST_VALUE)
				wf->winfnoid = F_LAST_VALUE;
			else if (wf->winfnoid == F_LAST_VALUE)
				wf->winfnoid = F_FIRST_VALUE;
			else if (!wf->winagg)
				return NULL;	/* row_number, rank, lag... read the order */
		}
		else if (contain_window_function((Node *) tle->expr))
			return NULL;
		mirror->plan.targetlist = lappend(mirror->plan.targetlist, tle);
	}
	/* the aggregates that resume after the row before */
	wp = WindowPrefixCreate(mirror);
	if (wp == NULL)
		return NULL;
	prefix_free(wp);
	return mirror;
}

/* The rows of order (a Sort's keys) in reverse order; NULL if not known. */
static Sort *
reverse_order(Sort *order)
{
	Sort	   *reverse = makeNode(Sort);

	memcpy(reverse, order, sizeof(Sort));
	reverse->sortOperators = palloc(sizeof(Oid) * Max(order->numCols, 1));
	reverse->nullsFirst = palloc(sizeof(bool) * Max(order->numCols, 1));
	for (int i = 0; i < order->numCols; i++)
	{
		reverse->sortOperators[i] = get_commutator(order->sortOperators[i]);
		reverse->nullsFirst[i] = !order->nullsFirst[i];
		if (!OidIsValid(reverse->sortOperators[i]))
			return NULL;
	}
	return reverse;
}

/*
 * plan mirrored (above), if a reduce can run it so: its input's order is
 * known and can be reversed, into *reverse.  NULL if not.
 */
WindowAgg *
WindowMirror(WindowAgg *plan, Sort **reverse)
{
	WindowAgg  *mirror = mirror_of(plan);
	Sort	   *order;

	if (mirror == NULL || (order = FeederOrder(outerPlan(&plan->plan))) == NULL ||
		(*reverse = reverse_order(order)) == NULL)
		return NULL;
	return mirror;
}
