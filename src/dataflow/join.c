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

#define OUTER_PRESERVED(t)	((t) == JOIN_LEFT || (t) == JOIN_FULL)
#define INNER_PRESERVED(t)	((t) == JOIN_RIGHT || (t) == JOIN_FULL)
#define PAIRS_EMITTED(t)	((t) == JOIN_INNER || (t) == JOIN_LEFT || \
							 (t) == JOIN_FULL || (t) == JOIN_RIGHT)
#define COUNTS_OUTER(t)		((t) != JOIN_INNER && (t) != JOIN_RIGHT)

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
		char	   *message;
		int			sqlerrcode;

		if (!DataErrorCatch(context, &message, &sqlerrcode))
			PG_RE_THROW();
		DataErrorAdd(df, message, sqlerrcode, w);
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
		char	   *message;
		int			sqlerrcode;

		if (!DataErrorCatch(context, &message, &sqlerrcode))
			PG_RE_THROW();
		DataErrorAdd(df, message, sqlerrcode, w);
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
		char	   *message;
		int			sqlerrcode;

		if (!DataErrorCatch(context, &message, &sqlerrcode))
			PG_RE_THROW();
		DataErrorAdd(df, message, sqlerrcode, w);
		ok = false;
	}
	PG_END_TRY();
	*hash = h;
	return ok;
}

/* The change of the match count of a preserved row: emit what it implies. */
static void
preserved_transition(DataflowOp *op, Dataflow *df, JoinType type, bool outer_side,
					 ArrRow *row, int64 before, int64 after)
{
	JoinOpState  *js = op->state;
	bool		was = before != 0;
	bool		now = after != 0;
	int64		sign;

	if (was == now)
		return;
	sign = now ? 1 : -1;
	if (outer_side)
	{
		ExecStoreMinimalTuple(row->tuple, js->outer_slot, false);
		if (OUTER_PRESERVED(type) || type == JOIN_ANTI)
			emit(op, df, js->outer_slot, js->inner_null, -sign * row->mult);
		else if (type == JOIN_SEMI)
			emit(op, df, js->outer_slot, js->inner_null, sign * row->mult);
	}
	else
	{
		ExecStoreMinimalTuple(row->tuple, js->inner_slot, false);
		emit(op, df, js->outer_null, js->inner_slot, -sign * row->mult);
	}
}

static void
join_step(DataflowOp *op, Dataflow *df)
{
	JoinOpState  *js = op->state;
	JoinType	type = js->jointype;
	ZSet	   *douter = DataflowOpInput(op, df, 0);
	ZSet	   *dinner = DataflowOpInput(op, df, 1);

	/* phase 1: the outer change against the inner arrangement */
	for (int i = 0; i < douter->nrows; i++)
	{
		MinimalTuple r = douter->rows[i].tuple;
		int64		d = douter->rows[i].diff;
		uint32		h;
		ArrGroup   *g;
		ArrRow	   *e;
		int64		m = 0;

		ExecStoreMinimalTuple(r, js->outer_slot, false);
		if (!key_hash(js, df, true, d, &h))
			continue;
		g = ArrangementGroup(js->inner, h, NULL, false);
		for (ArrRow *s = g ? g->rows : NULL; s != NULL; s = s->next)
		{
			ExecStoreMinimalTuple(s->tuple, js->inner_slot, false);
			if (!matches(js, df, d * s->mult))
				continue;
			m += s->mult;
			if (PAIRS_EMITTED(type))
				emit(op, df, js->outer_slot, js->inner_slot, d * s->mult);
			if (INNER_PRESERVED(type))
			{
				int64		before = s->matches;

				s->matches += d;
				preserved_transition(op, df, type, false, s, before, s->matches);
				ExecStoreMinimalTuple(r, js->outer_slot, false);
			}
		}
		if ((OUTER_PRESERVED(type) || type == JOIN_ANTI) && m == 0)
			emit(op, df, js->outer_slot, js->inner_null, d);
		else if (type == JOIN_SEMI && m != 0)
			emit(op, df, js->outer_slot, js->inner_null, d);

		g = ArrangementGroup(js->outer, h, NULL, true);
		e = ArrangementUpdate(js->outer, g, r, d);
		if (e != NULL)
			e->matches = m;
		else if (g->rows == NULL)
			ArrangementRemoveGroup(js->outer, g);
	}

	/* phase 2: the inner change against the updated outer arrangement */
	for (int i = 0; i < dinner->nrows; i++)
	{
		MinimalTuple s = dinner->rows[i].tuple;
		int64		d = dinner->rows[i].diff;
		uint32		h;
		ArrGroup   *g;
		ArrRow	   *e;
		int64		m = 0;

		ExecStoreMinimalTuple(s, js->inner_slot, false);
		if (!key_hash(js, df, false, d, &h))
			continue;
		g = ArrangementGroup(js->outer, h, NULL, false);
		for (ArrRow *o = g ? g->rows : NULL; o != NULL; o = o->next)
		{
			ExecStoreMinimalTuple(o->tuple, js->outer_slot, false);
			if (!matches(js, df, d * o->mult))
				continue;
			m += o->mult;
			if (PAIRS_EMITTED(type))
				emit(op, df, js->outer_slot, js->inner_slot, d * o->mult);
			if (COUNTS_OUTER(type))
			{
				int64		before = o->matches;

				o->matches += d;
				preserved_transition(op, df, type, true, o, before, o->matches);
			}
			ExecStoreMinimalTuple(s, js->inner_slot, false);
		}
		if (INNER_PRESERVED(type) && m == 0)
			emit(op, df, js->outer_null, js->inner_slot, d);

		g = ArrangementGroup(js->inner, h, NULL, true);
		e = ArrangementUpdate(js->inner, g, s, d);
		if (e != NULL)
			e->matches = m;
		else if (g->rows == NULL)
			ArrangementRemoveGroup(js->inner, g);
	}
	ExecClearTuple(js->outer_slot);
	ExecClearTuple(js->inner_slot);
	ZSetConsolidate(&op->delta);
}

/* Hash and merge clauses whose operator can hash become keys. */
static void
join_keys(JoinOpState *js, List *clauses)
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
		key->outer_expr = ExecInitExpr(linitial(clause->args), NULL);
		key->inner_expr = ExecInitExpr(lsecond(clause->args), NULL);
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
	join_keys(js, clauses);
	clauses = list_concat_copy(clauses, plan->joinqual);
	js->match = clauses != NIL ? ExecInitQual(clauses, NULL) : NULL;
	js->otherqual = plan->plan.qual != NIL ? ExecInitQual(plan->plan.qual, NULL) : NULL;
	js->econtext = CreateExprContext(df->estate);
	js->outer_slot = MakeSingleTupleTableSlot(outer->desc, &TTSOpsMinimalTuple);
	js->inner_slot = MakeSingleTupleTableSlot(inner->desc, &TTSOpsMinimalTuple);
	js->outer_null = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(outer->desc, &TTSOpsVirtual));
	js->inner_null = ExecStoreAllNullTuple(MakeSingleTupleTableSlot(inner->desc, &TTSOpsVirtual));
	js->output = MakeSingleTupleTableSlot(op->desc, &TTSOpsVirtual);
	js->projection = ExecBuildProjectionInfo(plan->plan.targetlist, js->econtext,
											 js->output, NULL, NULL);
	js->outer = ArrangementCreate(df->context, "coordinator join outer", NULL, NULL);
	js->inner = ArrangementCreate(df->context, "coordinator join inner", NULL, NULL);
	df->arrangements = lappend(df->arrangements, js->outer);
	df->arrangements = lappend(df->arrangements, js->inner);
	op->inputs = list_make2(outer, inner);
	op->state = js;
	return op;
}
