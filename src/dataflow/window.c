/*-------------------------------------------------------------------------
 *
 * window.c
 *	  Which windows are recomputed by row, and how: window functions that
 *	  read only the rows near a row, only those before it, or the same
 *	  rows for the whole partition.
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
 * the row's value, or within some peer groups of it (windowspan.c):
 * a change recomputes the rows whose frames hold it, fed with the rows
 * their frames hold.
 *
 * Functions whose value follows from the rows before a row (row_number,
 * rank, running sums and averages: WindowPrefixCreate, windowprefix.c)
 * are re-run from each change on, with lag, lead or a bounded ROWS frame
 * beside them (windowresume.c).  first_value, last_value and nth_value over the whole
 * partition have one value for all its rows, read from its first rows and
 * its last (WindowWideHead, windowwide.c).  Aggregates over the frame
 * from the current row to the partition's end are those to the current
 * row over the rows in reverse (WindowMirror).  Others (ntile,
 * percent_rank, cume_dist; aggregates over the whole partition; EXCLUDE
 * GROUP and TIES in ROWS frames; running float sums, whose value depends
 * on where a sum starts; windows mixing kinds) keep the whole partition's
 * re-run.
 *
 * Either way the reduce keeps the node's outputs by row, and recomputes
 * the rows a change moves (windowrows.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/clauses.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

#include "coordinator/dataflow.h"
#include "window_internal.h"

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
int64
WindowOffsetDistance(Node *node)
{
	int64		v;

	if (!integer_constant(node, &v) || v == PG_INT64_MIN)
		return -1;
	return v < 0 ? -v : v;
}

/* A frame's offset (never negative), or -1. */
int64
WindowFrameOffset(Node *node)
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
bool
WindowSafeAggregate(WindowFunc *wf, bool floats)
{
	char	   *name = get_func_name(wf->winfnoid);
	Oid			argtype = wf->args != NIL ? exprType(linitial(wf->args)) : InvalidOid;
	bool		safe = false;

	if (name == NULL)
		return false;
	if (get_func_namespace(wf->winfnoid) != PG_CATALOG_NAMESPACE)
	{
		pfree(name);
		return false;
	}
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
int64
WindowRowsFrameRadius(WindowAgg *plan)
{
	int			options = plan->frameOptions;
	int64		start;
	int64		end;

	if (!(options & FRAMEOPTION_ROWS) ||
		(options & (FRAMEOPTION_START_UNBOUNDED_PRECEDING | FRAMEOPTION_END_UNBOUNDED_FOLLOWING |
					FRAMEOPTION_EXCLUDE_GROUP | FRAMEOPTION_EXCLUDE_TIES)))
		return -1;
	start = (options & FRAMEOPTION_START_OFFSET) ? WindowFrameOffset(plan->startOffset) : 0;
	end = (options & FRAMEOPTION_END_OFFSET) ? WindowFrameOffset(plan->endOffset) : 0;
	if (start < 0 || end < 0)
		return -1;
	return Max(start, end);
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
				r = WindowOffsetDistance(lsecond(wf->args));
				break;
			case F_FIRST_VALUE:
			case F_LAST_VALUE:
				if (rc->frame_local)
					r = rc->frame_radius;
				break;
			case F_NTH_VALUE:
				if (rc->frame_local && WindowFrameOffset(lsecond(wf->args)) > 0)
					r = rc->frame_radius;
				break;
			default:
				if (wf->winagg && rc->frame_local && WindowSafeAggregate(wf, true))
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
	else if (WindowRowsFrameRadius(plan) >= 0)
	{
		rc.frame_local = true;
		rc.frame_radius = WindowRowsFrameRadius(plan);
	}
	(void) radius_walker((Node *) plan->plan.targetlist, &rc);
	/* a radius beyond this is no cheaper than the partition */
	if (rc.radius > 1000)
		return -1;
	return (int) rc.radius;
}

/*
 * Window functions whose value is the same for every row of a partition:
 * first_value, last_value and nth_value (by a constant) over the frame
 * from the partition's start to its end.  Their values follow from the
 * partition's first rows and its last: a change that moves none of those
 * moves no other row's values and costs its own rows; one that does moves
 * every row's, legitimately.  The number of first rows they read (the
 * largest nth), or -1 if the node's functions are not all of these.
 */
int
WindowWideHead(WindowAgg *plan)
{
	int			options = plan->frameOptions;
	int			head = -1;
	ListCell   *lc;

	if (plan->runCondition != NIL || plan->plan.qual != NIL || plan->ordNumCols == 0 ||
		!(options & FRAMEOPTION_START_UNBOUNDED_PRECEDING) ||
		!(options & FRAMEOPTION_END_UNBOUNDED_FOLLOWING) ||
		(options & FRAMEOPTION_EXCLUSION))
		return -1;
	foreach(lc, plan->plan.targetlist)
	{
		TargetEntry *tle = lfirst_node(TargetEntry, lc);
		WindowFunc *wf = (WindowFunc *) tle->expr;

		if (IsA(wf, WindowFunc) && wf->winref == plan->winref)
		{
			int64		k = wf->winfnoid == F_FIRST_VALUE ? 1 :
				wf->winfnoid == F_LAST_VALUE ? 0 :
				wf->winfnoid == F_NTH_VALUE ? WindowFrameOffset(lsecond(wf->args)) : -1;

			if (k < 0 || (wf->winfnoid == F_NTH_VALUE && (k == 0 || k > 1000)))
				return -1;
			head = Max(head, (int) k);
		}
		else if (contain_window_function((Node *) tle->expr))
			return -1;
	}
	return head;
}

static bool
frameless_walker(Node *node, Index *winref)
{
	if (node == NULL)
		return false;
	if (IsA(node, WindowFunc) && ((WindowFunc *) node)->winref == *winref)
	{
		switch (((WindowFunc *) node)->winfnoid)
		{
			case F_ROW_NUMBER:
			case F_RANK_:
			case F_DENSE_RANK_:
			case F_PERCENT_RANK_:
			case F_CUME_DIST_:
			case F_NTILE:
			case F_LAG_ANYELEMENT:
			case F_LEAD_ANYELEMENT:
			case F_LAG_ANYELEMENT_INT4:
			case F_LEAD_ANYELEMENT_INT4:
			case F_LAG_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
			case F_LEAD_ANYCOMPATIBLE_INT4_ANYCOMPATIBLE:
				break;
			default:
				return true;
		}
	}
	return expression_tree_walker(node, frameless_walker, (void *) winref);
}

/*
 * Do none of the node's window functions read its frame (row_number, the
 * ranks, ntile, lag, lead)?  Then the reduce runs the node with the frame
 * ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW, whose end the executor
 * need not look for: the default frame's ends at the current row's last
 * peer, which it reads ahead to find, however many peers there are.
 */
bool
WindowFrameless(WindowAgg *plan)
{
	Index		winref = plan->winref;

	return !frameless_walker((Node *) plan->plan.targetlist, &winref) &&
		!frameless_walker((Node *) plan->runCondition, &winref) &&
		!frameless_walker((Node *) plan->plan.qual, &winref);
}
