/*-------------------------------------------------------------------------
 *
 * aggregate.c
 *	  Aggregates kept as per-group states: a reduce that keeps no rows.
 *
 * A reduce normally arranges its input rows and re-runs its plan node over
 * each changed group (reduce.c), which any aggregate allows but costs the
 * group's rows in memory and the group's size per change.  When every
 * aggregate of an Agg node has a state that can take a row out as well as
 * in, the reduce keeps instead, for each group, one state per aggregate and
 * the count of its rows, and a change costs one update per aggregate,
 * whatever the size of its group.  The kinds of state:
 *
 *	- moving: count(*), count(x), sum and avg over smallint and integer,
 *	  avg(interval), sum of money and of interval: the aggregate's moving transition function adds a row
 *	  and its inverse removes it, as Postgres's WindowAgg does for moving
 *	  frames (the same functions and the same rules for strict functions
 *	  and for the last value removed); these inverses always succeed, and
 *	  the state is a plain value this file owns;
 *	- numeric sums: sum and avg over numeric and bigint, variances and
 *	  standard deviations over numeric and integers: exact sums (of the
 *	  squares too) that also know the display scales of their values
 *	  (numericsum.c), because Postgres's own inverse gives up when the
 *	  largest scale goes;
 *	- extremes: min, max, bool_and, bool_or, every and any aggregate that
 *	  declares a sort operator (pg_aggregate.aggsortop, the promise that it
 *	  returns the first value in that order): the values spread over
 *	  buckets that know their extremes, under a tournament tree
 *	  (extremes.c), so that removing the current extreme costs a bucket
 *	  and O(log n), never a rescan of the group.
 *
 * DISTINCT inside one of them (count(DISTINCT x), sum(DISTINCT x)) keeps
 * the distinct values in the order of the DISTINCT's sort operator, with
 * their counts; a value's first copy adds it to the state it wraps and its
 * last copy removes it, so a change costs O(log n) too.  FILTER is allowed;
 * ORDER BY inside an aggregate and aggregates whose state is as large as
 * their input (string_agg, array_agg) take the general path.
 *
 * The group's output row is made by the Agg node's own HAVING qual and
 * projection, with the aggregates' final values in its expression
 * context: so expressions over aggregates, grouping columns and HAVING
 * work as in the executor.  Grouping columns are read from a row of the
 * group kept as its key (reduce.c's arrangement keeps one per group).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/nodeAgg.h"
#include "fmgr.h"
#include "nodes/nodeFuncs.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/fmgroids.h"
#include "utils/fmgrprotos.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "coordinator/dataflow.h"

typedef enum AggKind
{
	AGG_MOVING,					/* moving transition function and inverse */
	AGG_NUMERIC_SUM,			/* numericsum.c, its sum */
	AGG_NUMERIC_AVG,			/* numericsum.c, its average */
	AGG_NUMERIC_VAR,			/* numericsum.c, a variance */
	AGG_EXTREME					/* extremes.c, its extreme */
} AggKind;

/* one aggregate of the node */
typedef struct GroupAgg
{
	AggKind		kind;
	int			aggno;			/* its slot in ecxt_aggvalues */
	int			nargs;
	ExprState **args;			/* over the input row */
	ExprState  *filter;
	Oid			argtype;		/* of its first argument */
	ExtremeOrder *order;		/* extremes: the order of the values */
	ValueOrder *distinct;		/* DISTINCT: the order of distinct values */
	bool		sample;			/* a variance of the sample, not population */
	bool		root;			/* its square root: a standard deviation */
	/* moving aggregates */
	FmgrInfo	transfn;
	FmgrInfo	invtransfn;
	FmgrInfo	finalfn;		/* fn_oid invalid: none */
	Oid			transtype;
	int16		translen;
	bool		transbyval;
	Datum		initval;
	bool		initnull;		/* the initial state is NULL: the first value
								 * becomes the state (see moving_agg) */
	FunctionCallInfo fcinfo;	/* arguments of the row; transfn and
								 * invtransfn calls */
} GroupAgg;

struct AggStates
{
	AggState   *node;
	int			naggs;
	GroupAgg   *aggs;
	ExprContext *econtext;		/* input expressions */
	TupleTableSlot *input;		/* an input row, as the node's expressions
								 * expect it */
	TupleTableSlot *key;		/* a group's key row, likewise */
	TupleTableSlot *nulls;		/* the key row of a group without rows */
	bool	   *pass;			/* per aggregate: does the row pass FILTER */
	MemoryContext context;		/* the states */
};

/* per group and aggregate */
typedef struct AggValue
{
	Datum		value;			/* moving: the transition state;
								 * numeric: a NumericSum; extreme: an
								 * ExtremeSet */
	int64		count;			/* moving: inputs in the state (non-NULL if
								 * strict) */
	bool		isnull;			/* moving: the state is NULL */
	ValueSet   *distinct;		/* DISTINCT: the distinct values */
} AggValue;

/* per group: its row count, then a state per aggregate */
typedef struct GroupStates
{
	int64		rows;
	AggValue	states[FLEXIBLE_ARRAY_MEMBER];
} GroupStates;

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
		case F_INTERVAL_ACCUM:
		case F_CASH_PL:
		case F_INTERVAL_PL:
			return true;
		default:
			return false;
	}
}

/* Set up a moving aggregate; false if it is not invertible here. */
static bool
moving_agg(GroupAgg *agg, Form_pg_aggregate form, HeapTuple tuple)
{
	Datum		initval;
	bool		initnull;
	Oid			input;
	Oid			ioparam;

	initval = SysCacheGetAttr(AGGFNOID, tuple, Anum_pg_aggregate_aggminitval, &initnull);
	if (!invertible(form->aggmtransfn) || form->aggmfinalextra)
		return false;
	agg->kind = AGG_MOVING;
	fmgr_info(form->aggmtransfn, &agg->transfn);
	fmgr_info(form->aggminvtransfn, &agg->invtransfn);
	if (OidIsValid(form->aggmfinalfn))
		fmgr_info(form->aggmfinalfn, &agg->finalfn);
	agg->transtype = form->aggmtranstype;
	get_typlenbyval(agg->transtype, &agg->translen, &agg->transbyval);

	/*
	 * A NULL initial state (sum of money or interval): as in Postgres, the
	 * first value becomes the state, which needs a strict transition
	 * function and one argument of the state's type.
	 */
	agg->initnull = initnull;
	if (initnull)
		return agg->transfn.fn_strict && agg->nargs == 1 &&
			agg->argtype == agg->transtype;
	getTypeInputInfo(agg->transtype, &input, &ioparam);
	agg->initval = OidInputFunctionCall(input, TextDatumGetCString(initval),
										ioparam, -1);
	return true;
}

/*
 * Set up a variance or standard deviation of numeric or integer values;
 * false if aggfnoid is none of them.
 */
static bool
variance_agg(GroupAgg *agg, Oid aggfnoid)
{
	switch (aggfnoid)
	{
		case F_VAR_SAMP_INT2:
		case F_VAR_SAMP_INT4:
		case F_VAR_SAMP_INT8:
		case F_VAR_SAMP_NUMERIC:
		case F_VARIANCE_INT2:
		case F_VARIANCE_INT4:
		case F_VARIANCE_INT8:
		case F_VARIANCE_NUMERIC:
			agg->sample = true;
			break;
		case F_STDDEV_SAMP_INT2:
		case F_STDDEV_SAMP_INT4:
		case F_STDDEV_SAMP_INT8:
		case F_STDDEV_SAMP_NUMERIC:
		case F_STDDEV_INT2:
		case F_STDDEV_INT4:
		case F_STDDEV_INT8:
		case F_STDDEV_NUMERIC:
			agg->sample = true;
			agg->root = true;
			break;
		case F_VAR_POP_INT2:
		case F_VAR_POP_INT4:
		case F_VAR_POP_INT8:
		case F_VAR_POP_NUMERIC:
			break;
		case F_STDDEV_POP_INT2:
		case F_STDDEV_POP_INT4:
		case F_STDDEV_POP_INT8:
		case F_STDDEV_POP_NUMERIC:
			agg->root = true;
			break;
		default:
			return false;
	}
	agg->kind = AGG_NUMERIC_VAR;
	return true;
}

/*
 * Set up one aggregate in its kind; false if it has none here.  Memory of
 * the orders is in context.
 */
static bool
group_agg(AggStates *as, GroupAgg *agg, Aggref *aggref, MemoryContext context)
{
	HeapTuple	tuple;
	Form_pg_aggregate form;
	bool		ok = true;
	ListCell   *lc;
	int			i;

	if (aggref->aggorder != NIL || aggref->aggkind != AGGKIND_NORMAL ||
		aggref->aggdirectargs != NIL)
		return false;
	agg->nargs = list_length(aggref->args);
	if (agg->nargs > 0)
		agg->argtype = exprType((Node *) linitial_node(TargetEntry, aggref->args)->expr);
	tuple = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tuple))
		return false;
	form = (Form_pg_aggregate) GETSTRUCT(tuple);
	if (OidIsValid(form->aggsortop) && agg->nargs == 1 && aggref->aggtype == agg->argtype)
	{
		agg->kind = AGG_EXTREME;
		agg->order = ExtremeOrderCreate(form->aggsortop, aggref->inputcollid,
										agg->argtype, context);
	}
	else if (aggref->aggfnoid == F_SUM_NUMERIC || aggref->aggfnoid == F_SUM_INT8)
		agg->kind = AGG_NUMERIC_SUM;
	else if (aggref->aggfnoid == F_AVG_NUMERIC || aggref->aggfnoid == F_AVG_INT8)
		agg->kind = AGG_NUMERIC_AVG;
	else if (!variance_agg(agg, aggref->aggfnoid))
		ok = moving_agg(agg, form, tuple);
	ReleaseSysCache(tuple);
	if (!ok)
		return false;

	if (aggref->aggdistinct != NIL)
	{
		SortGroupClause *clause = linitial_node(SortGroupClause, aggref->aggdistinct);

		/* one argument, in an order, into a state that ignores NULLs */
		if (agg->nargs != 1 || list_length(aggref->aggdistinct) != 1 ||
			!OidIsValid(clause->sortop) ||
			(agg->kind == AGG_MOVING && !agg->transfn.fn_strict))
			return false;
		agg->distinct = ValueOrderCreate(clause->sortop, aggref->inputcollid,
										 agg->argtype, context);
	}

	agg->args = palloc0(sizeof(ExprState *) * Max(agg->nargs, 1));
	i = 0;
	foreach(lc, aggref->args)
		agg->args[i++] = ExecInitExpr(lfirst_node(TargetEntry, lc)->expr, &as->node->ss.ps);
	if (aggref->aggfilter != NULL)
		agg->filter = ExecInitExpr(aggref->aggfilter, &as->node->ss.ps);
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
 * The per-group states of an Agg's node state (grouped by the nkeys input
 * columns keycols), or NULL if one of its aggregates has no state of a
 * kind here or its output reads other columns of the input.  context
 * holds the groups' states.
 */
AggStates *
AggStatesCreate(AggState *node, int nkeys, AttrNumber *keycols,
				TupleDesc input, MemoryContext context)
{
	AggStates  *as;
	const TupleTableSlotOps *ops;
	Plan	   *plan = node->ss.ps.plan;
	KeyColumns	keys = {nkeys, keycols};

	if (reads_other_column((Node *) plan->targetlist, &keys) ||
		reads_other_column((Node *) plan->qual, &keys))
		return NULL;
	as = palloc0(sizeof(AggStates));
	as->node = node;
	as->naggs = node->numaggs;
	as->aggs = palloc0(sizeof(GroupAgg) * Max(as->naggs, 1));
	for (int i = 0; i < as->naggs; i++)
	{
		as->aggs[i].aggno = i;
		if (!group_agg(as, &as->aggs[i], node->peragg[i].aggref, context))
		{
			pfree(as->aggs);
			pfree(as);
			return NULL;
		}
	}
	/* the node's expressions were compiled for its input's kind of slot */
	ops = node->ss.ps.outeropsset && node->ss.ps.outerops != NULL ?
		node->ss.ps.outerops : &TTSOpsVirtual;
	as->econtext = CreateExprContext(node->ss.ps.state);
	as->input = MakeSingleTupleTableSlot(input, ops);
	as->key = MakeSingleTupleTableSlot(input, ops);
	as->nulls = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(input, ops));
	as->pass = palloc(sizeof(bool) * Max(as->naggs, 1));
	as->context = context;
	return as;
}

/* Make value (a transition's result, or the initial state) the state. */
static void
set_state(GroupAgg *agg, AggValue *st, Datum value, MemoryContext context)
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

/* Put a moving aggregate's state back to its initial value. */
static void
set_initial(GroupAgg *agg, AggValue *st, MemoryContext context)
{
	if (agg->initnull)
	{
		if (!agg->transbyval && !st->isnull && DatumGetPointer(st->value) != NULL)
			pfree(DatumGetPointer(st->value));
		st->value = (Datum) 0;
		st->isnull = true;
	}
	else
	{
		set_state(agg, st, agg->initval, context);
		st->isnull = false;
	}
	st->count = 0;
}

/* The group's states, created empty on first use. */
static GroupStates *
group_states(AggStates *as, ArrGroup *g)
{
	GroupStates *gs = g->extra;

	if (gs != NULL)
		return gs;
	gs = MemoryContextAllocZero(as->context,
								offsetof(GroupStates, states) +
								sizeof(AggValue) * as->naggs);
	for (int i = 0; i < as->naggs; i++)
	{
		GroupAgg   *agg = &as->aggs[i];
		AggValue   *st = &gs->states[i];

		switch (agg->kind)
		{
			case AGG_MOVING:
				set_initial(agg, st, as->context);
				break;
			case AGG_NUMERIC_SUM:
			case AGG_NUMERIC_AVG:
			case AGG_NUMERIC_VAR:
				st->value = PointerGetDatum(NumericSumCreate(as->context,
															 agg->kind == AGG_NUMERIC_VAR));
				break;
			case AGG_EXTREME:
				st->value = PointerGetDatum(ExtremeSetCreate(agg->order));
				break;
		}
		if (agg->distinct != NULL)
			st->distinct = ValueSetCreate(agg->distinct);
	}
	g->extra = gs;
	return gs;
}

/*
 * Add (add true) or remove one input row's value to a moving aggregate's
 * state; the arguments are in agg->fcinfo.
 */
static void
transition(AggStates *as, GroupAgg *agg, AggValue *st, bool add)
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
			set_initial(agg, st, as->context);
			return;
		}
	}
	else if (st->isnull)
	{
		/* a NULL initial state: the first value becomes the state */
		set_state(agg, st, fcinfo->args[1].value, as->context);
		st->isnull = false;
		st->count = 1;
		return;
	}

	InitFunctionCallInfoData(*fcinfo, fn, agg->nargs + 1, InvalidOid,
							 (Node *) as->node, NULL);
	fcinfo->args[0].value = st->value;
	fcinfo->args[0].isnull = false;
	old = MemoryContextSwitchTo(as->econtext->ecxt_per_tuple_memory);
	result = FunctionCallInvoke(fcinfo);
	MemoryContextSwitchTo(old);
	if (fcinfo->isnull)
		elog(ERROR, "coordinator: a moving-aggregate transition returned NULL");
	set_state(agg, st, result, as->context);
	st->count += add ? 1 : -1;
}

/*
 * Add diff copies (remove, if negative) of the arguments in agg->fcinfo
 * to an aggregate's state, DISTINCT aside.
 */
static void
apply(AggStates *as, GroupAgg *agg, AggValue *st, int64 diff)
{
	NullableDatum *arg = &agg->fcinfo->args[1];

	switch (agg->kind)
	{
		case AGG_MOVING:
			for (int64 n = 0; n < (diff > 0 ? diff : -diff); n++)
				transition(as, agg, st, diff > 0);
			break;
		case AGG_NUMERIC_SUM:
		case AGG_NUMERIC_AVG:
		case AGG_NUMERIC_VAR:
			if (!arg->isnull)
			{
				Datum		value = arg->value;

				if (agg->argtype == INT2OID)
					value = DirectFunctionCall1(int2_numeric, value);
				else if (agg->argtype == INT4OID)
					value = DirectFunctionCall1(int4_numeric, value);
				else if (agg->argtype == INT8OID)
					value = DirectFunctionCall1(int8_numeric, value);
				NumericSumAdd((NumericSum *) DatumGetPointer(st->value), value, diff);
			}
			break;
		case AGG_EXTREME:
			if (!arg->isnull)
				ExtremeSetAdd((ExtremeSet *) DatumGetPointer(st->value), arg->value, diff);
			break;
	}
}

/*
 * Add diff copies of a DISTINCT aggregate's argument (in agg->fcinfo) to
 * its distinct values; the state it wraps takes each distinct value once.
 */
static void
apply_distinct(AggStates *as, GroupAgg *agg, AggValue *st, int64 diff)
{
	NullableDatum *arg = &agg->fcinfo->args[1];
	Datum		gone;
	Datum		came;
	int			changed;

	if (arg->isnull)
		return;
	changed = ValueSetAdd(st->distinct, arg->value, diff, &gone, &came);
	if (changed & VALUESET_GONE)
	{
		arg->value = gone;
		apply(as, agg, st, -1);
		ValueSetRelease(st->distinct, gone);
	}
	if (changed & VALUESET_CAME)
	{
		arg->value = came;
		apply(as, agg, st, 1);
	}
}

/*
 * Evaluate the row's FILTERs and arguments (in slot) for every aggregate,
 * into their call infos; *pass[i] says whether aggregate i takes the row.
 * May raise a data error, before any state has changed.
 */
static void
evaluate_inputs(AggStates *as, TupleTableSlot *slot, bool *pass)
{
	ExprContext *econtext = as->econtext;

	econtext->ecxt_outertuple = slot;
	for (int i = 0; i < as->naggs; i++)
	{
		GroupAgg   *agg = &as->aggs[i];

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
AggStatesUpdate(AggStates *as, ArrGroup *g, MinimalTuple row, int64 diff)
{
	GroupStates *gs = group_states(as, g);
	bool	   *pass = as->pass;

	ResetExprContext(as->econtext);
	ExecForceStoreMinimalTuple(row, as->input, false);
	evaluate_inputs(as, as->input, pass);
	gs->rows += diff;
	for (int i = 0; i < as->naggs; i++)
	{
		GroupAgg   *agg = &as->aggs[i];

		if (!pass[i])
			continue;
		/* the arguments stay in the per-tuple context until the reset */
		if (agg->distinct != NULL)
			apply_distinct(as, agg, &gs->states[i], diff);
		else
			apply(as, agg, &gs->states[i], diff);
	}
	ResetExprContext(as->econtext);
	ExecClearTuple(as->input);
}

/* Does group g hold no rows? */
bool
AggStatesEmpty(ArrGroup *g)
{
	GroupStates *gs = g->extra;

	if (gs != NULL && gs->rows < 0)
		elog(ERROR, "coordinator: negative multiplicity in a reduce");
	return gs == NULL || gs->rows == 0;
}

/* Forget group g's states. */
void
AggStatesFree(AggStates *as, ArrGroup *g)
{
	GroupStates *gs = g->extra;

	if (gs == NULL)
		return;
	for (int i = 0; i < as->naggs; i++)
	{
		GroupAgg   *agg = &as->aggs[i];
		AggValue   *st = &gs->states[i];

		switch (agg->kind)
		{
			case AGG_MOVING:
				if (!agg->transbyval && !st->isnull)
					pfree(DatumGetPointer(st->value));
				break;
			case AGG_NUMERIC_SUM:
			case AGG_NUMERIC_AVG:
			case AGG_NUMERIC_VAR:
				NumericSumFree((NumericSum *) DatumGetPointer(st->value));
				break;
			case AGG_EXTREME:
				ExtremeSetFree((ExtremeSet *) DatumGetPointer(st->value));
				break;
		}
		if (st->distinct != NULL)
			ValueSetFree(st->distinct);
	}
	pfree(gs);
	g->extra = NULL;
}

/* The final value of one aggregate of a group. */
static void
final_value(GroupAgg *agg, AggValue *st, AggState *node, Datum *value, bool *isnull)
{
	switch (agg->kind)
	{
		case AGG_MOVING:
			if (OidIsValid(agg->finalfn.fn_oid) &&
				!(st->isnull && agg->finalfn.fn_strict))
			{
				LOCAL_FCINFO(fcinfo, 1);

				InitFunctionCallInfoData(*fcinfo, &agg->finalfn, 1, InvalidOid,
										 (Node *) node, NULL);
				fcinfo->args[0].value = st->value;
				fcinfo->args[0].isnull = st->isnull;
				*value = FunctionCallInvoke(fcinfo);
				*isnull = fcinfo->isnull;
			}
			else
			{
				*value = st->value;
				*isnull = st->isnull;
			}
			break;
		case AGG_NUMERIC_SUM:
		case AGG_NUMERIC_AVG:
			*value = NumericSumFinal((NumericSum *) DatumGetPointer(st->value),
									 agg->kind == AGG_NUMERIC_AVG, isnull);
			break;
		case AGG_NUMERIC_VAR:
			*value = NumericSumVariance((NumericSum *) DatumGetPointer(st->value),
										agg->sample, agg->root, isnull);
			break;
		case AGG_EXTREME:
			*isnull = !ExtremeSetFirst((ExtremeSet *) DatumGetPointer(st->value), value);
			break;
	}
}

/*
 * The output of group g: the Agg node's HAVING and projection over the
 * final values, with the group's key row (none for the global group) as
 * the node's input row.  Returns the output slot, or NULL if HAVING
 * rejects the group.  Errors propagate (the caller records them as data
 * errors).
 */
TupleTableSlot *
AggStatesProject(AggStates *as, ArrGroup *g)
{
	GroupStates *gs = group_states(as, g);
	ExprContext *econtext = as->node->ss.ps.ps_ExprContext;
	MemoryContext old;

	ResetExprContext(econtext);
	old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
	for (int i = 0; i < as->naggs; i++)
	{
		GroupAgg   *agg = &as->aggs[i];

		final_value(agg, &gs->states[i], as->node,
					&econtext->ecxt_aggvalues[agg->aggno],
					&econtext->ecxt_aggnulls[agg->aggno]);
	}
	MemoryContextSwitchTo(old);
	econtext->ecxt_outertuple = as->nulls;
	if (g->keyrow != NULL)
	{
		ExecForceStoreMinimalTuple(g->keyrow, as->key, false);
		econtext->ecxt_outertuple = as->key;
	}
	if (as->node->ss.ps.qual != NULL && !ExecQual(as->node->ss.ps.qual, econtext))
		return NULL;
	return ExecProject(as->node->ss.ps.ps_ProjInfo);
}
