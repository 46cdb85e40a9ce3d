/*-------------------------------------------------------------------------
 *
 * window.c
 *	  Window functions whose value for a row depends only on the rows near
 *	  it: which WindowAgg nodes a change recomputes around itself.
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
 * Functions that read a row's position or its peers (row_number, rank,
 * ntile, percent_rank, cume_dist; RANGE and GROUPS frames; EXCLUDE GROUP
 * and TIES; unbounded frames) change rows arbitrarily far away and keep
 * the whole partition's re-run.  So do aggregates that could raise a data
 * error (a float sum's overflow): an error is a property of the whole
 * partition's output, recomputed whole.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_namespace.h"
#include "catalog/pg_type.h"
#include "nodes/nodeFuncs.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"

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
 * Aggregates that read only their frame and cannot raise a data error
 * over a bounded frame.
 */
static bool
safe_aggregate(WindowFunc *wf)
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
			argtype == NUMERICOID;
	pfree(name);
	return safe;
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
				if (wf->winagg && rc->frame_local && safe_aggregate(wf))
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
	int			options = plan->frameOptions;

	if (plan->runCondition != NIL || plan->plan.qual != NIL)
		return -1;
	rc.winref = plan->winref;
	rc.radius = 0;
	rc.frame_radius = -1;
	rc.frame_local = false;
	if ((options & FRAMEOPTION_ROWS) &&
		!(options & (FRAMEOPTION_START_UNBOUNDED_PRECEDING | FRAMEOPTION_END_UNBOUNDED_FOLLOWING |
					 FRAMEOPTION_EXCLUDE_GROUP | FRAMEOPTION_EXCLUDE_TIES)))
	{
		int64		start = (options & FRAMEOPTION_START_OFFSET) ?
			frame_offset(plan->startOffset) : 0;
		int64		end = (options & FRAMEOPTION_END_OFFSET) ?
			frame_offset(plan->endOffset) : 0;

		if (start >= 0 && end >= 0)
		{
			rc.frame_local = true;
			rc.frame_radius = Max(start, end);
		}
	}
	(void) radius_walker((Node *) plan->plan.targetlist, &rc);
	/* a radius beyond this is no cheaper than the partition */
	if (rc.radius > 1000)
		return -1;
	return (int) rc.radius;
}
