/*-------------------------------------------------------------------------
 *
 * aggregate.c
 *	  Invertible aggregates: a reduce that keeps per-group state, not rows.
 *
 * A reduce normally arranges its input rows and re-runs its plan node over
 * each changed group (reduce.c), which any aggregate allows but costs the
 * group's rows in memory and the group's size per change.  When every
 * aggregate of an Agg node can be inverted, the reduce keeps instead, for
 * each group, one transition state per aggregate and the count of its
 * rows: an inserted row is added with the aggregate's moving transition
 * function, a deleted row removed with its inverse, as Postgres's
 * WindowAgg does for moving frames (the same functions and the same rules
 * for strict functions and for the last value removed).  A change then
 * costs one call per aggregate, whatever the size of its group, and the
 * group's rows are not kept at all.
 *
 * The group's output row is made by the Agg node's own HAVING qual and
 * projection, with the aggregates' final values in its expression
 * context: so expressions over aggregates, grouping columns and HAVING
 * work as in the executor.  Grouping columns are read from a row of the
 * group kept as its key (reduce.c's arrangement keeps one per group).
 *
 * Which aggregates: count(*), count(x), and sum and avg over smallint and
 * integer, whose inverse always succeeds and whose transition state is a
 * plain value this file owns.  Others (min and max need the group's
 * rows; numeric sums can fail to invert; internal states cannot be
 * freed) take the general path; so do aggregates with DISTINCT or ORDER
 * BY inside.  FILTER is allowed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "executor/executor.h"
#include "executor/nodeAgg.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"

/* one aggregate of the node */
typedef struct LinearAgg
{
	int			aggno;			/* its slot in ecxt_aggvalues */
	int			nargs;
	ExprState **args;			/* over the input row */
	ExprState  *filter;
	FmgrInfo	transfn;
	FmgrInfo	invtransfn;
	FmgrInfo	finalfn;		/* fn_oid invalid: none */
	Oid			transtype;
	int16		translen;
	bool		transbyval;
	Datum		initval;		/* never NULL: see linear_agg */
	int16		resultlen;
	bool		resultbyval;
	FunctionCallInfo fcinfo;	/* for transfn and invtransfn */
} LinearAgg;

struct LinearAggs
{
	AggState   *node;
	int			naggs;
	LinearAgg  *aggs;
	ExprContext *econtext;		/* input expressions */
	TupleTableSlot *input;		/* an input row, as the node's expressions
								 * expect it */
	TupleTableSlot *key;		/* a group's key row, likewise */
	TupleTableSlot *nulls;		/* the key row of a group without rows */
	bool	   *pass;			/* per aggregate: does the row pass FILTER */
	MemoryContext context;		/* the states */
};

/* per group: its row count, then a state per aggregate */
typedef struct LinearState
{
	Datum		value;			/* never NULL */
	int64		count;			/* inputs in the state (non-NULL if strict) */
} LinearState;

typedef struct LinearGroup
{
	int64		rows;
	LinearState states[FLEXIBLE_ARRAY_MEMBER];
} LinearGroup;

/* The moving transition functions that are always invertible. */
static bool
invertible(Oid mtransfn)
{
	switch (mtransfn)
	{
		case F_INT8INC:
		case F_INT8INC_ANY:
		case F_INT2_AVG_ACCUM:
		case F_INT4_AVG_ACCUM:
			return true;
		default:
			return false;
	}
}

/* Set up one aggregate; false if it is not invertible here. */
static bool
linear_agg(LinearAggs *la, LinearAgg *agg, Aggref *aggref)
{
	HeapTuple	tuple;
	Form_pg_aggregate form;
	Datum		initval;
	bool		initnull;
	Oid			input;
	Oid			ioparam;
	ListCell   *lc;
	int			i;

	if (aggref->aggdistinct != NIL || aggref->aggorder != NIL ||
		aggref->aggkind != AGGKIND_NORMAL || aggref->aggdirectargs != NIL)
		return false;
	tuple = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tuple))
		return false;
	form = (Form_pg_aggregate) GETSTRUCT(tuple);
	initval = SysCacheGetAttr(AGGFNOID, tuple, Anum_pg_aggregate_aggminitval, &initnull);
	/* all of invertible()'s have an initial state, so states are never NULL */
	if (!invertible(form->aggmtransfn) || form->aggmfinalextra || initnull)
	{
		ReleaseSysCache(tuple);
		return false;
	}
	fmgr_info(form->aggmtransfn, &agg->transfn);
	fmgr_info(form->aggminvtransfn, &agg->invtransfn);
	if (OidIsValid(form->aggmfinalfn))
		fmgr_info(form->aggmfinalfn, &agg->finalfn);
	agg->transtype = form->aggmtranstype;
	get_typlenbyval(agg->transtype, &agg->translen, &agg->transbyval);
	getTypeInputInfo(agg->transtype, &input, &ioparam);
	agg->initval = OidInputFunctionCall(input, TextDatumGetCString(initval),
										ioparam, -1);
	ReleaseSysCache(tuple);
	get_typlenbyval(aggref->aggtype, &agg->resultlen, &agg->resultbyval);

	agg->nargs = list_length(aggref->args);
	agg->args = palloc0(sizeof(ExprState *) * Max(agg->nargs, 1));
	i = 0;
	foreach(lc, aggref->args)
		agg->args[i++] = ExecInitExpr(lfirst_node(TargetEntry, lc)->expr, &la->node->ss.ps);
	if (aggref->aggfilter != NULL)
		agg->filter = ExecInitExpr(aggref->aggfilter, &la->node->ss.ps);
	agg->fcinfo = palloc0(SizeForFunctionCallInfo(agg->nargs + 1));
	return true;
}

typedef struct KeyColumns
{
	int			nkeys;
	AttrNumber *keycols;
} KeyColumns;

/*
 * Does an expression of the node read, outside its aggregates, an input
 * column that is not a grouping column?  Such a column (functionally
 * dependent on the key, as after a rewritten correlated subquery) must
 * come from a current row of the group, which this path does not keep.
 */
static bool
reads_other_column(Node *node, KeyColumns *keys)
{
	if (node == NULL)
		return false;
	if (IsA(node, Aggref))
		return false;
	if (IsA(node, Var) && ((Var *) node)->varno == OUTER_VAR)
	{
		for (int i = 0; i < keys->nkeys; i++)
		{
			if (keys->keycols[i] == ((Var *) node)->varattno)
				return false;
		}
		return true;
	}
	return expression_tree_walker(node, reads_other_column, keys);
}

/*
 * The invertible form of an Agg's node state (grouped by the nkeys input
 * columns keycols), or NULL if one of its aggregates is not invertible or
 * its output reads other columns of the input.  context holds the groups'
 * states.
 */
LinearAggs *
LinearAggsCreate(AggState *node, int nkeys, AttrNumber *keycols,
				 TupleDesc input, MemoryContext context)
{
	LinearAggs *la;
	const TupleTableSlotOps *ops;
	Plan	   *plan = node->ss.ps.plan;
	KeyColumns	keys = {nkeys, keycols};

	if (reads_other_column((Node *) plan->targetlist, &keys) ||
		reads_other_column((Node *) plan->qual, &keys))
		return NULL;
	la = palloc0(sizeof(LinearAggs));
	la->node = node;
	la->naggs = node->numaggs;
	la->aggs = palloc0(sizeof(LinearAgg) * Max(la->naggs, 1));
	for (int i = 0; i < la->naggs; i++)
	{
		la->aggs[i].aggno = i;
		if (!linear_agg(la, &la->aggs[i], node->peragg[i].aggref))
		{
			pfree(la->aggs);
			pfree(la);
			return NULL;
		}
	}
	/* the node's expressions were compiled for its input's kind of slot */
	ops = node->ss.ps.outeropsset && node->ss.ps.outerops != NULL ?
		node->ss.ps.outerops : &TTSOpsVirtual;
	la->econtext = CreateExprContext(node->ss.ps.state);
	la->input = MakeSingleTupleTableSlot(input, ops);
	la->key = MakeSingleTupleTableSlot(input, ops);
	la->nulls = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(input, ops));
	la->pass = palloc(sizeof(bool) * Max(la->naggs, 1));
	la->context = context;
	return la;
}

/* Make value (a transition's result, or the initial state) the state. */
static void
set_state(LinearAgg *agg, LinearState *st, Datum value, MemoryContext context)
{
	Datum		old = st->value;
	MemoryContext caller;

	if (agg->transbyval)
	{
		st->value = value;
		return;
	}
	if (DatumGetPointer(old) == DatumGetPointer(value))
		return;					/* changed in place */
	caller = MemoryContextSwitchTo(context);
	st->value = datumCopy(value, false, agg->translen);
	MemoryContextSwitchTo(caller);
	if (DatumGetPointer(old) != NULL)
		pfree(DatumGetPointer(old));
}

/* The group's state, created in its initial form on first use. */
static LinearGroup *
group_state(LinearAggs *la, ArrGroup *g)
{
	LinearGroup *lg = g->extra;

	if (lg == NULL)
	{
		lg = MemoryContextAllocZero(la->context,
									offsetof(LinearGroup, states) +
									sizeof(LinearState) * la->naggs);
		for (int i = 0; i < la->naggs; i++)
			set_state(&la->aggs[i], &lg->states[i], la->aggs[i].initval, la->context);
		g->extra = lg;
	}
	return lg;
}

/* Add (diff > 0) or remove one input row's value to one aggregate. */
static void
transition(LinearAggs *la, LinearAgg *agg, LinearState *st, bool add)
{
	FunctionCallInfo fcinfo = agg->fcinfo;
	FmgrInfo   *fn = add ? &agg->transfn : &agg->invtransfn;
	MemoryContext old;
	Datum		result;

	if (fn->fn_strict)
	{
		for (int i = 1; i <= agg->nargs; i++)
		{
			if (fcinfo->args[i].isnull)
				return;
		}
	}
	if (!add)
	{
		if (st->count <= 0)
			elog(ERROR, "coordinator: removing a value an aggregate does not hold");
		if (st->count == 1)
		{
			/* the last value: back to the initial state, as WindowAgg does */
			set_state(agg, st, agg->initval, la->context);
			st->count = 0;
			return;
		}
	}

	InitFunctionCallInfoData(*fcinfo, fn, agg->nargs + 1, InvalidOid,
							 (Node *) la->node, NULL);
	fcinfo->args[0].value = st->value;
	fcinfo->args[0].isnull = false;
	old = MemoryContextSwitchTo(la->econtext->ecxt_per_tuple_memory);
	result = FunctionCallInvoke(fcinfo);
	MemoryContextSwitchTo(old);
	if (fcinfo->isnull)
		elog(ERROR, "coordinator: a moving-aggregate transition returned NULL");
	set_state(agg, st, result, la->context);
	st->count += add ? 1 : -1;
}

/*
 * Evaluate the row's FILTERs and arguments (in slot) for every aggregate,
 * into their call infos; *pass[i] says whether aggregate i takes the row.
 * May raise a data error, before any state has changed.
 */
static void
evaluate_inputs(LinearAggs *la, TupleTableSlot *slot, bool *pass)
{
	ExprContext *econtext = la->econtext;

	econtext->ecxt_outertuple = slot;
	for (int i = 0; i < la->naggs; i++)
	{
		LinearAgg  *agg = &la->aggs[i];

		pass[i] = true;
		if (agg->filter != NULL)
		{
			bool		isnull;
			Datum		value = ExecEvalExprSwitchContext(agg->filter, econtext, &isnull);

			pass[i] = !isnull && DatumGetBool(value);
		}
		for (int a = 0; pass[i] && a < agg->nargs; a++)
			agg->fcinfo->args[a + 1].value =
				ExecEvalExprSwitchContext(agg->args[a], econtext,
										  &agg->fcinfo->args[a + 1].isnull);
	}
}

/*
 * Add row, with weight diff, to group g's states.  A data error in its
 * FILTERs or arguments leaves the states as they were and is raised for
 * the caller to count.
 */
void
LinearAggsUpdate(LinearAggs *la, ArrGroup *g, MinimalTuple row, int64 diff)
{
	LinearGroup *lg = group_state(la, g);
	bool	   *pass = la->pass;

	ResetExprContext(la->econtext);
	ExecForceStoreMinimalTuple(row, la->input, false);
	evaluate_inputs(la, la->input, pass);
	lg->rows += diff;
	for (int i = 0; i < la->naggs; i++)
	{
		if (!pass[i])
			continue;
		/* the arguments stay in the per-tuple context until the reset */
		for (int64 n = 0; n < (diff > 0 ? diff : -diff); n++)
			transition(la, &la->aggs[i], &lg->states[i], diff > 0);
	}
	ResetExprContext(la->econtext);
	ExecClearTuple(la->input);
}

/* Does group g hold no rows? */
bool
LinearAggsEmpty(ArrGroup *g)
{
	LinearGroup *lg = g->extra;

	if (lg != NULL && lg->rows < 0)
		elog(ERROR, "coordinator: negative multiplicity in a reduce");
	return lg == NULL || lg->rows == 0;
}

/* Forget group g's states. */
void
LinearAggsFree(LinearAggs *la, ArrGroup *g)
{
	LinearGroup *lg = g->extra;

	if (lg == NULL)
		return;
	for (int i = 0; i < la->naggs; i++)
	{
		if (!la->aggs[i].transbyval)
			pfree(DatumGetPointer(lg->states[i].value));
	}
	pfree(lg);
	g->extra = NULL;
}

/*
 * The output of group g: the Agg node's HAVING and projection over the
 * final values, with the group's key row (none for the global group) as
 * the node's input row.  Returns the output slot, or NULL if HAVING
 * rejects the group.  Errors propagate (the caller records them as data
 * errors).
 */
TupleTableSlot *
LinearAggsProject(LinearAggs *la, ArrGroup *g)
{
	LinearGroup *lg = group_state(la, g);
	ExprContext *econtext = la->node->ss.ps.ps_ExprContext;

	ResetExprContext(econtext);
	for (int i = 0; i < la->naggs; i++)
	{
		LinearAgg  *agg = &la->aggs[i];
		LinearState *st = &lg->states[i];
		Datum	   *value = &econtext->ecxt_aggvalues[agg->aggno];
		bool	   *isnull = &econtext->ecxt_aggnulls[agg->aggno];

		if (OidIsValid(agg->finalfn.fn_oid))
		{
			LOCAL_FCINFO(fcinfo, 1);

			InitFunctionCallInfoData(*fcinfo, &agg->finalfn, 1, InvalidOid,
									 (Node *) la->node, NULL);
			fcinfo->args[0].value = st->value;
			fcinfo->args[0].isnull = false;
			*value = FunctionCallInvoke(fcinfo);
			*isnull = fcinfo->isnull;
		}
		else
		{
			*value = st->value;
			*isnull = false;
		}
	}
	econtext->ecxt_outertuple = la->nulls;
	if (g->keyrow != NULL)
	{
		ExecForceStoreMinimalTuple(g->keyrow, la->key, false);
		econtext->ecxt_outertuple = la->key;
	}
	if (la->node->ss.ps.qual != NULL && !ExecQual(la->node->ss.ps.qual, econtext))
		return NULL;
	return ExecProject(la->node->ss.ps.ps_ProjInfo);
}
