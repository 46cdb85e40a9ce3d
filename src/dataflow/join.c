/*-------------------------------------------------------------------------
 *
 * join.c
 *	  The join operator: every join type, any join condition.
 *
 * Both inputs are arranged by the hash of their join keys: every equality
 * between an expression of one side and one of the other whose operator
 * can hash, whether the planner made it a hash or merge clause or left it
 * in a nested loop's condition (so the planner's row estimates never make
 * a join quadratic).  With none, as in a cross join or an inequality join,
 * all rows share one key.
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
 * A side that is a scan of a table and keeps no match counts may share its
 * arrangement with the joins of other views that arrange the same rows by
 * the same key (shared.c).  Whichever join runs first in a tick applies the
 * change; a join that finds a side already updated takes that side's change
 * first (the formula's first term reads the other side's old state, the
 * second this side's new one), and when both sides are, it computes
 *
 *		dO join I_new  +  O_new join dI  -  dO join dI
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/executor.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
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
	List	   *keyexprs[2];	/* outer's and inner's key expressions ... */
	List	   *hashfns[2];		/* ... their hash functions */
	List	   *collations;
	List	   *signature[2];	/* shareable side: what it holds (shared.c) */
} JoinOpState;

/* The key hashes of a side's change, each computed once per step. */
typedef struct SideChange
{
	ZSet	   *rows;
	bool		outer;
	uint32	   *hash;
	bool	   *ok;				/* false: its key raised a data error */
} SideChange;

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

/* The key hashes of a side's change. */
static SideChange
side_change(JoinOpState *js, Dataflow *df, ZSet *rows, bool outer)
{
	SideChange	c = {rows, outer, NULL, NULL};
	TupleTableSlot *slot = outer ? js->outer_slot : js->inner_slot;

	c.hash = palloc(sizeof(uint32) * Max(rows->nrows, 1));
	c.ok = palloc(sizeof(bool) * Max(rows->nrows, 1));
	for (int i = 0; i < rows->nrows; i++)
	{
		ExecStoreMinimalTuple(rows->rows[i].tuple, slot, false);
		c.ok[i] = key_hash(js, df, outer, rows->rows[i].diff, &c.hash[i]);
	}
	ExecClearTuple(slot);
	return c;
}

/* Add the rows of a side's change to an arrangement without match counts. */
static void
arrange_change(Arrangement *a, SideChange *c, int64 sign)
{
	ArrangementReserve(a, c->rows->nrows);
	for (int i = 0; i < c->rows->nrows; i++)
	{
		ArrGroup   *g;

		if (!c->ok[i])
			continue;
		g = ArrangementGroup(a, c->hash[i], NULL, true);
		if (ArrangementUpdate(a, g, c->rows->rows[i].tuple,
							  sign * c->rows->rows[i].diff) == NULL &&
			g->rows == NULL)
			ArrangementRemoveGroup(a, g);
	}
}

/*
 * A side's change, times sign, against theirs, an arrangement of the other
 * side; then into mine, this side's arrangement, unless mine is NULL (it
 * holds the change already).  Run for the outer side first, then the
 * inner: that is d(O join I) = dO join I + O' join dI.
 */
static void
join_side(DataflowOp *op, Dataflow *df, SideChange *c, int64 sign,
		  Arrangement *theirs, Arrangement *mine)
{
	JoinOpState *js = op->state;
	JoinType	type = js->jointype;
	bool		outer = c->outer;
	TupleTableSlot *slot = outer ? js->outer_slot : js->inner_slot;
	TupleTableSlot *other_slot = outer ? js->inner_slot : js->outer_slot;
	bool		theirs_track = theirs->matches;

	if (mine != NULL && mine->shared == NULL)
		ArrangementReserve(mine, c->rows->nrows);
	for (int i = 0; i < c->rows->nrows; i++)
	{
		MinimalTuple r = c->rows->rows[i].tuple;
		int64		d = sign * c->rows->rows[i].diff;
		uint32		h = c->hash[i];
		ArrGroup   *g;
		ArrRow	   *e;
		int64		m = 0;

		if (!c->ok[i])
			continue;
		ExecStoreMinimalTuple(r, slot, false);
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

		if (mine == NULL || mine->shared != NULL)
			continue;
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

	/*
	 * A shared arrangement takes the change after the probes, which run the
	 * view's own expressions: an error there leaves it untouched.
	 */
	if (mine != NULL && mine->shared != NULL)
	{
		SharedArrangementBeginUpdate(mine->shared);
		arrange_change(mine, c, sign);
		SharedArrangementEndUpdate(mine->shared);
	}
}

/*
 * Both sides shared and already updated in this tick: their old states are
 * gone, so dO join I_new + O_new join dI counts dO join dI twice; take it
 * off once, joining dI with an arrangement of dO.  When one side was empty
 * before the tick (the worker's hydration) its change is all of it, and
 * the join's change is that side's change against the other's new state.
 */
static void
join_updated(DataflowOp *op, Dataflow *df, SideChange *outer, SideChange *inner)
{
	JoinOpState *js = op->state;
	Arrangement *change;

	if (SharedArrangementWasEmpty(js->outer->shared))
	{
		join_side(op, df, outer, 1, js->inner, NULL);
		return;
	}
	if (SharedArrangementWasEmpty(js->inner->shared))
	{
		join_side(op, df, inner, 1, js->outer, NULL);
		return;
	}
	change = ArrangementCreate(CurrentMemoryContext, "join change", NULL, NULL);
	join_side(op, df, outer, 1, js->inner, NULL);
	join_side(op, df, inner, 1, js->outer, NULL);
	arrange_change(change, outer, 1);
	join_side(op, df, inner, -1, change, NULL);
	MemoryContextDelete(change->context);
}

/* Does side a hold this tick's change already (another view's join)? */
static bool
updated(Arrangement *a)
{
	return a->shared != NULL && SharedArrangementUpdated(a->shared);
}

/*
 * d(O join I) is dO join I + O' join dI, or as well dI join O + I' join dO:
 * take the side with the smaller change first, or the one already updated.
 * When both arrangements are empty (hydration) the first side probes
 * nothing, and the larger side then probes the smaller one's arrangement,
 * which stays in cache, instead of walking the large side's groups row by
 * row scattered over its memory.
 */
static void
join_step(DataflowOp *op, Dataflow *df)
{
	JoinOpState *js = op->state;
	SideChange	outer = side_change(js, df, DataflowOpInput(op, df, 0), true);
	SideChange	inner = side_change(js, df, DataflowOpInput(op, df, 1), false);
	bool		outer_done = updated(js->outer);
	bool		inner_done = updated(js->inner);

	if (outer_done && inner_done)
		join_updated(op, df, &outer, &inner);
	else if (inner_done || (!outer_done && inner.rows->nrows < outer.rows->nrows))
	{
		join_side(op, df, &inner, 1, js->outer, inner_done ? NULL : js->inner);
		join_side(op, df, &outer, 1, js->inner, js->outer);
	}
	else
	{
		join_side(op, df, &outer, 1, js->inner, outer_done ? NULL : js->outer);
		join_side(op, df, &inner, 1, js->outer, js->inner);
	}
	ZSetConsolidate(&op->delta);
}

/* The sides an expression of the join reads: JOIN_SIDE_* bits. */
#define JOIN_SIDE_OUTER	0x01
#define JOIN_SIDE_INNER	0x02
#define JOIN_SIDE_OTHER	0x04	/* a parameter: cannot be a key */

static bool
sides_walker(Node *node, int *sides)
{
	if (node == NULL)
		return false;
	if (IsA(node, Var))
	{
		Var		   *var = (Var *) node;

		*sides |= var->varno == OUTER_VAR ? JOIN_SIDE_OUTER :
			var->varno == INNER_VAR ? JOIN_SIDE_INNER : JOIN_SIDE_OTHER;
		return false;
	}
	if (IsA(node, Param))
	{
		*sides |= JOIN_SIDE_OTHER;
		return false;
	}
	return expression_tree_walker(node, sides_walker, sides);
}

static int
expr_sides(Node *node)
{
	int			sides = 0;

	(void) sides_walker(node, &sides);
	return sides;
}

/*
 * Make the equality clause a key if its operator can hash and it compares
 * an expression of the outer side with one of the inner (in either
 * order); hash and merge clauses are known to, their outer side first.
 */
static void
join_key(JoinOpState *js, OpExpr *clause, bool known, PlanState *parent)
{
	Oid			lhash;
	Oid			rhash;
	Node	   *outer_arg;
	Node	   *inner_arg;
	JoinKey    *key;

	if (!IsA(clause, OpExpr) || list_length(clause->args) != 2 ||
		!get_op_hash_functions(clause->opno, &lhash, &rhash))
		return;
	outer_arg = linitial(clause->args);
	inner_arg = lsecond(clause->args);
	if (!known)
	{
		int			left = expr_sides(outer_arg);
		int			right = expr_sides(inner_arg);

		if (left == JOIN_SIDE_INNER && right == JOIN_SIDE_OUTER)
		{
			Oid			swap = lhash;

			outer_arg = lsecond(clause->args);
			inner_arg = linitial(clause->args);
			lhash = rhash;
			rhash = swap;
		}
		else if (left != JOIN_SIDE_OUTER || right != JOIN_SIDE_INNER)
			return;
		if (contain_volatile_functions((Node *) clause))
			return;
	}
	key = &js->keys[js->nkeys++];
	key->outer_expr = ExecInitExpr((Expr *) outer_arg, parent);
	key->inner_expr = ExecInitExpr((Expr *) inner_arg, parent);
	fmgr_info(lhash, &key->outer_hash);
	fmgr_info(rhash, &key->inner_hash);
	key->collation = clause->inputcollid;
	js->keyexprs[0] = lappend(js->keyexprs[0], outer_arg);
	js->keyexprs[1] = lappend(js->keyexprs[1], inner_arg);
	js->hashfns[0] = lappend_oid(js->hashfns[0], lhash);
	js->hashfns[1] = lappend_oid(js->hashfns[1], rhash);
	js->collations = lappend_oid(js->collations, clause->inputcollid);
}

/*
 * The join's keys: its hash or merge clauses, then the equalities of its
 * condition (quals) between the two sides.
 */
static void
join_keys(JoinOpState *js, List *clauses, List *quals, PlanState *parent)
{
	ListCell   *lc;

	js->keys = palloc0(sizeof(JoinKey) * Max(list_length(clauses) + list_length(quals), 1));
	foreach(lc, clauses)
		join_key(js, lfirst(lc), true, parent);
	foreach(lc, quals)
		join_key(js, lfirst(lc), false, parent);
}

/*
 * What the arrangement of a side holds, if another view's join may share
 * it: the side is a scan of a table, and its rows keep no match counts.
 */
static List *
side_signature(JoinOpState *js, Plan *child, DataflowOp *input, bool outer)
{
	int			side = outer ? 0 : 1;

	if (tracks_matches(js->jointype, outer) || !OidIsValid(input->source))
		return NIL;
	/* nothing between the join and its scan but order and buffering */
	while (IsA(child, Hash) || IsA(child, Sort) ||
		   IsA(child, IncrementalSort) || IsA(child, Material))
		child = outerPlan(child);
	if (!IsA(child, SeqScan))
		return NIL;
	return SharedSignature(input->source, (Scan *) child, js->keyexprs[side],
						   js->hashfns[side], js->collations);
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
	join_keys(js, clauses, plan->joinqual, df->parent);
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
	js->signature[0] = side_signature(js, outerPlan(plan), outer, true);
	js->signature[1] = side_signature(js, innerPlan(plan), inner, false);
	op->inputs = list_make2(outer, inner);
	op->state = js;
	df->joins = lappend(df->joins, op);
	return op;
}

/*
 * How the join's output moves when its input n (0: outer, 1: inner) gains
 * rows: 1, it gains rows only; -1, it loses rows only (an anti-join's
 * inner side); 0, either (an outer join's nullable side).
 */
int
JoinPolarity(DataflowOp *op, int n)
{
	JoinOpState *js = op->state;

	switch (js->jointype)
	{
		case JOIN_INNER:
			return 1;
		case JOIN_SEMI:
			return 1;
		case JOIN_ANTI:
			return n == 0 ? 1 : -1;
		default:
			return 0;
	}
}

/*
 * Read the shared arrangement of each side that can share one (the
 * dataflow's contents are those of the worker's other views: see
 * shared.c), freeing the join's own.
 */
void
JoinShare(DataflowOp *op, Dataflow *df)
{
	JoinOpState *js = op->state;

	/* subplan.c and recursion.c step such a join more than once a tick */
	if (op->deps != NIL || op->iterated)
		return;
	for (int side = 0; side < 2; side++)
	{
		Arrangement **mine = side == 0 ? &js->outer : &js->inner;
		Arrangement *other = side == 0 ? js->inner : js->outer;
		Arrangement *shared;

		if (js->signature[side] == NIL || *mine == NULL || (*mine)->shared != NULL)
			continue;
		/* a self-join's sides both change in its step: one stays its own */
		if (other != NULL && other->shared != NULL &&
			SharedArrangementFind(js->signature[side]) == other->shared)
			continue;
		shared = SharedArrangementAttach(js->signature[side], *mine);
		if (shared != *mine)
		{
			ListCell   *lc;

			foreach(lc, df->arrangements)
			{
				if (lfirst(lc) == *mine)
					lfirst(lc) = shared;
			}
			MemoryContextDelete((*mine)->context);
			*mine = shared;
		}
	}
}

/* Let go of the shared arrangements the join reads. */
void
JoinUnshare(DataflowOp *op, Dataflow *df)
{
	JoinOpState *js = op->state;

	for (int side = 0; side < 2; side++)
	{
		Arrangement **mine = side == 0 ? &js->outer : &js->inner;

		if (*mine == NULL || (*mine)->shared == NULL)
			continue;
		df->arrangements = list_delete_ptr(df->arrangements, *mine);
		SharedArrangementRelease((*mine)->shared);
		*mine = NULL;
	}
}
