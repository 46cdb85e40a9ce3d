/*-------------------------------------------------------------------------
 *
 * join.c
 *	  The join operator: every join type, any join condition.
 *
 * Both inputs are arranged by the hash of their join keys (the clauses the
 * planner made hash or merge clauses, when their operators can hash; with
 * none, as in a cross join or an inequality join, all rows share one key).
 * A join is bilinear, so its change in a tick is
 *
 *		d(O join I) = dO join I_old  +  O_new join dI
 *
 * computed in two phases: the outer change against the inner arrangement,
 * then the inner change against the updated outer arrangement.  Candidate
 * pairs are tested with all of the join's clauses, evaluated by the
 * executor, so equality, inequality and arbitrary conditions all work.
 *
 * Outer joins, semi- and anti-joins keep, for every arranged row of a
 * preserved side, the weight of the rows it matches on the other side.
 * When that count crosses zero the row's NULL-extended output (outer
 * joins), its own output (semi-join) or its absence (anti-join) changes.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/nodeFuncs.h"
#include "utils/lsyscache.h"

#include "coordinator/dataflow.h"

typedef struct JoinKey
{
	ExprState  *outer_expr;
	ExprState  *inner_expr;
	FmgrInfo	outer_hash;
	FmgrInfo	inner_hash;
	Oid			collation;
} JoinKey;

typedef struct JoinOpState
{
	JoinType	jointype;
	int			nkeys;
	JoinKey    *keys;
	ExprState  *match;			/* all join clauses */
	ExprState  *otherqual;		/* filter applied to joined rows */
	ProjectionInfo *projection;
	ExprContext *econtext;
	TupleTableSlot *outer_slot;
	TupleTableSlot *inner_slot;
	TupleTableSlot *outer_null;
	TupleTableSlot *inner_null;
	TupleTableSlot *output;
	Arrangement *outer;
	Arrangement *inner;
} JoinOpState;

#define PAIRS_EMITTED(t)	((t) == JOIN_INNER || (t) == JOIN_LEFT || \
							 (t) == JOIN_FULL || (t) == JOIN_RIGHT)

/*
 * Does a row of this side, matching rows of weight m on the other side,
 * have an output of its own?  The NULL-extended row of a preserved side
 * (outer joins), the outer row itself (semi- and anti-joins).
 */
static bool
own_output(JoinType type, bool outer, int64 m)
{
	if (outer)
		return type == JOIN_SEMI ? m != 0 :
			(type == JOIN_LEFT || type == JOIN_FULL || type == JOIN_ANTI) && m == 0;
	return (type == JOIN_RIGHT || type == JOIN_FULL) && m == 0;
}

/* Do this side's arranged rows keep their match counts current? */
static bool
tracks_matches(JoinType type, bool outer)
{
	return outer ? (type != JOIN_INNER && type != JOIN_RIGHT) :
		(type == JOIN_RIGHT || type == JOIN_FULL);
}

/* Emit the projection of (outer, inner) with weight w if it passes. */
static void
emit(DataflowOp *op, Dataflow *df, TupleTableSlot *outer, TupleTableSlot *inner,
	 int64 w)
{
	JoinOpState  *js = op->state;
	ExprContext *econtext = js->econtext;
	MemoryContext context = CurrentMemoryContext;

	if (w == 0)
		return;
	econtext->ecxt_outertuple = outer;
	econtext->ecxt_innertuple = inner;
	PG_TRY();
	{
		if (js->otherqual == NULL || ExecQual(js->otherqual, econtext))
		{
			TupleTableSlot *out = ExecProject(js->projection);

			MemoryContextSwitchTo(context);
			ZSetAdd(&op->delta, RowFromSlot(out), w);
		}
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, w) == NULL)
			PG_RE_THROW();
	}
	PG_END_TRY();
}

/*
 * Do the rows in the outer and inner slots match?  A data error is no
 * match, counted with weight w.
 */
static bool
matches(JoinOpState *js, Dataflow *df, int64 w)
{
	ExprContext *econtext = js->econtext;
	MemoryContext context = CurrentMemoryContext;
	volatile bool result = false;

	ResetExprContext(econtext);
	if (js->match == NULL)
		return true;
	econtext->ecxt_outertuple = js->outer_slot;
	econtext->ecxt_innertuple = js->inner_slot;
	PG_TRY();
	{
		result = ExecQual(js->match, econtext);
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, w) == NULL)
			PG_RE_THROW();
	}
	PG_END_TRY();
	return result;
}

/*
 * Hash of the join key of the row in slot (outer or inner side).  A data
 * error evaluating it drops the row, counted with weight w.
 */
static bool
key_hash(JoinOpState *js, Dataflow *df, bool outer, int64 w, uint32 *hash)
{
	ExprContext *econtext = js->econtext;
	MemoryContext context = CurrentMemoryContext;
	volatile uint32 h = 0;
	volatile bool ok = true;

	ResetExprContext(econtext);
	econtext->ecxt_outertuple = js->outer_slot;
	econtext->ecxt_innertuple = js->inner_slot;
	PG_TRY();
	{
		for (int i = 0; i < js->nkeys; i++)
		{
			JoinKey    *key = &js->keys[i];
			bool		isnull;
			Datum		value = ExecEvalExprSwitchContext(outer ? key->outer_expr : key->inner_expr,
														  econtext, &isnull);
			uint32		kh = 0;

			if (!isnull)
				kh = DatumGetUInt32(FunctionCall1Coll(outer ? &key->outer_hash : &key->inner_hash,
													  key->collation, value));
			h = (h << 1 | h >> 31) ^ kh;
		}
	}
	PG_CATCH();
	{
		if (DataErrorCatch(df, context, w) == NULL)
			PG_RE_THROW();
		ok = false;
	}
	PG_END_TRY();
	*hash = h;
	return ok;
}

/* Emit the own output of the row in this side's slot, with weight w. */
static void
emit_own(DataflowOp *op, Dataflow *df, bool outer, int64 w)
{
	JoinOpState *js = op->state;

	if (outer)
		emit(op, df, js->outer_slot, js->inner_null, w);
	else
		emit(op, df, js->outer_null, js->inner_slot, w);
}

/*
 * The change of one side against the other side's arrangement, then into
 * this side's arrangement.  Run for the outer side first, then the inner:
 * that is d(O join I) = dO join I + O' join dI.
 */
static void
join_side(DataflowOp *op, Dataflow *df, ZSet *delta, bool outer)
{
	JoinOpState *js = op->state;
	JoinType	type = js->jointype;
	TupleTableSlot *slot = outer ? js->outer_slot : js->inner_slot;
	TupleTableSlot *other_slot = outer ? js->inner_slot : js->outer_slot;
	Arrangement *mine = outer ? js->outer : js->inner;
	Arrangement *theirs = outer ? js->inner : js->outer;
	bool		theirs_track = tracks_matches(type, !outer);

	for (int i = 0; i < delta->nrows; i++)
	{
		MinimalTuple r = delta->rows[i].tuple;
		int64		d = delta->rows[i].diff;
		uint32		h;
		ArrGroup   *g;
		ArrRow	   *e;
		int64		m = 0;

		ExecStoreMinimalTuple(r, slot, false);
		if (!key_hash(js, df, outer, d, &h))
			continue;
		g = ArrangementGroup(theirs, h, NULL, false);
		for (ArrRow *o = g ? g->rows : NULL; o != NULL; o = o->next)
		{
			ExecStoreMinimalTuple(ArrRowTuple(o), other_slot, false);
			if (!matches(js, df, d * o->mult))
				continue;
			m += o->mult;
			if (PAIRS_EMITTED(type))
				emit(op, df, js->outer_slot, js->inner_slot, d * o->mult);
			if (theirs_track)
			{
				int64	   *count = ArrRowMatches(o);
				bool		before = own_output(type, !outer, *count);
				bool		after = own_output(type, !outer, *count + d);

				*count += d;
				if (before != after)
					emit_own(op, df, !outer, (after ? 1 : -1) * o->mult);
			}
		}
		if (own_output(type, outer, m))
			emit_own(op, df, outer, d);

		g = ArrangementGroup(mine, h, NULL, true);
		e = ArrangementUpdate(mine, g, r, d);
		if (e == NULL)
		{
			if (g->rows == NULL)
				ArrangementRemoveGroup(mine, g);
		}
		else if (mine->matches)
			*ArrRowMatches(e) = m;
	}
	ExecClearTuple(js->outer_slot);
	ExecClearTuple(js->inner_slot);
}

/*
 * d(O join I) is dO join I + O' join dI, or as well dI join O + I' join dO:
 * take the side with the smaller change first.  When both arrangements are
 * empty (hydration) the first side probes nothing, and the larger side then
 * probes the smaller one's arrangement, which stays in cache, instead of
 * walking the large side's groups row by row scattered over its memory.
 */
static void
join_step(DataflowOp *op, Dataflow *df)
{
	ZSet	   *outer = DataflowOpInput(op, df, 0);
	ZSet	   *inner = DataflowOpInput(op, df, 1);

	if (inner->nrows < outer->nrows)
	{
		join_side(op, df, inner, false);
		join_side(op, df, outer, true);
	}
	else
	{
		join_side(op, df, outer, true);
		join_side(op, df, inner, false);
	}
	ZSetConsolidate(&op->delta);
}

/* Hash and merge clauses whose operator can hash become keys. */
static void
join_keys(JoinOpState *js, List *clauses, PlanState *parent)
{
	ListCell   *lc;

	js->keys = palloc0(sizeof(JoinKey) * Max(list_length(clauses), 1));
	foreach(lc, clauses)
	{
		OpExpr	   *clause = lfirst(lc);
		Oid			lhash;
		Oid			rhash;
		JoinKey    *key;

		if (!IsA(clause, OpExpr) || list_length(clause->args) != 2 ||
			!get_op_hash_functions(clause->opno, &lhash, &rhash))
			continue;
		key = &js->keys[js->nkeys++];
		key->outer_expr = ExecInitExpr(linitial(clause->args), parent);
		key->inner_expr = ExecInitExpr(lsecond(clause->args), parent);
		fmgr_info(lhash, &key->outer_hash);
		fmgr_info(rhash, &key->inner_hash);
		key->collation = clause->inputcollid;
	}
}

DataflowOp *
JoinCreate(Dataflow *df, Join *plan, DataflowOp *outer, DataflowOp *inner)
{
	DataflowOp   *op = DataflowOpCreate(df, "join", &plan->plan, join_step);
	JoinOpState  *js = palloc0(sizeof(JoinOpState));
	List	   *clauses = NIL;

	switch (nodeTag(plan))
	{
		case T_HashJoin:
			clauses = ((HashJoin *) plan)->hashclauses;
			break;
		case T_MergeJoin:
			clauses = ((MergeJoin *) plan)->mergeclauses;
			break;
		default:
			break;
	}
	js->jointype = plan->jointype;
	join_keys(js, clauses, df->parent);
	clauses = list_concat_copy(clauses, plan->joinqual);
	js->match = clauses != NIL ? ExecInitQual(clauses, df->parent) : NULL;
	js->otherqual = plan->plan.qual != NIL ? ExecInitQual(plan->plan.qual, df->parent) : NULL;
	js->econtext = CreateExprContext(df->estate);
	js->outer_slot = MakeSingleTupleTableSlot(outer->desc, &TTSOpsMinimalTuple);
	js->inner_slot = MakeSingleTupleTableSlot(inner->desc, &TTSOpsMinimalTuple);
	js->outer_null = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(outer->desc, &TTSOpsVirtual));
	js->inner_null = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(inner->desc, &TTSOpsVirtual));
	js->output = MakeSingleTupleTableSlot(op->desc, &TTSOpsVirtual);
	js->projection = ExecBuildProjectionInfo(plan->plan.targetlist, js->econtext,
											 js->output, df->parent, NULL);
	js->outer = DataflowArrange(df, &plan->plan, "join outer", NULL, NULL);
	js->inner = DataflowArrange(df, &plan->plan, "join inner", NULL, NULL);
	if (tracks_matches(js->jointype, true))
		ArrangementKeepMatches(js->outer);
	if (tracks_matches(js->jointype, false))
		ArrangementKeepMatches(js->inner);
	op->inputs = list_make2(outer, inner);
	op->state = js;
	return op;
}
