/*-------------------------------------------------------------------------
 *
 * recursion.c
 *	  WITH RECURSIVE: the recursion operator, which iterates its recursive
 *	  term within a tick until the change of its result is complete.
 *
 * A RecursiveUnion's result R is its non-recursive term B and what its
 * recursive term F makes of R's own rows.  F reads them through its work
 * table, once, and every operator between that scan and F's root is linear
 * in them (compile/recursion.c): so F(R) is the union of F over any split
 * of R, and F's operators, fed the change of R round after round, keep
 * F(R) for the R fed so far, exactly as they keep any other output.  Their
 * other inputs (tables, joins of tables) change once per tick, in the
 * first round.
 *
 * UNION ALL (a bag): R = B + F(R).  Each round feeds the rows found last
 * round (the change of B and of F's other inputs in the first) and takes
 * F's change as the next round's rows, until a round finds none.  Rows
 * leaving are negative rows and flow the same way.  Only new and removed
 * derivations are computed: the work is the change of R.
 *
 * UNION (a set): R is the least set with R = distinct(B + F(R)).  Counting
 * derivations is not enough: rows on a cycle derive each other after the
 * base that started them is gone.  So a change is made in two phases
 * (delete and rederive):
 *
 *	1. Deletion: the changes that remove derivations (of B, and of F's
 *	   other inputs in the direction that removes rows: JoinPolarity) go
 *	   first.  A row of R that loses a derivation is deleted, fed to F as a
 *	   negative row, and the rows that lose derivations through it are
 *	   deleted in turn.  What remains of R still has every derivation it
 *	   had, so it is all derivable.
 *	2. Insertion: the changes that add derivations, then every row that has
 *	   a derivation and is not in R (a deleted row that kept one, a new
 *	   row) is inserted, round by round (semi-naive), until none is left.
 *
 * Each row keeps its derivations, counted by row image under the class of
 * rows the UNION takes as one (its equality operators); the class's row in
 * R is the image it had when it entered.  The work is the rows deleted and
 * rederived, which can exceed the change when a deleted row had other
 * derivations.
 *
 * A recursion that does not end (a cycle under UNION ALL, a value that
 * grows without bound) stops after coordinator.max_recursion_iterations
 * rounds in a tick: the view has a data error until a later tick finishes
 * the rounds left, which go on from where they stopped (a change that
 * breaks the cycle ends them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/memutils.h"

#include "coordinator/coordinator.h"
#include "coordinator/dataflow.h"

/* What a round feeds of the changes of the term's other inputs. */
typedef enum FixedPart
{
	FIXED_NONE,					/* none: a later round */
	FIXED_ALL,					/* all of it (UNION ALL) */
	FIXED_REMOVING,				/* the part that removes derivations */
	FIXED_ADDING				/* the part that adds them */
} FixedPart;

/* An operator of the term stepped once per round. */
typedef struct IteratedOp
{
	DataflowOp *op;
	int			ninputs;
	bool	   *iterated;		/* input n is stepped per round too */
	int		   *polarity;		/* of input n otherwise (JoinPolarity) */
	ZSet	   *parts[3];		/* of input n otherwise: FIXED_ALL,
								 * FIXED_REMOVING, FIXED_ADDING */
	ZSet	   *inputs;			/* what its step reads (op->override) */
} IteratedOp;

typedef struct RecursionState
{
	int			wtParam;
	DataflowOp *work_table;		/* its delta: the rows of this round */
	DataflowOp *term;			/* the recursive term's root */
	List	   *iterated;		/* IteratedOps, each after its inputs */
	bool		distinct;		/* UNION */
	char	   *failing;		/* the data error counted while rounds are
								 * left, or NULL */
	/* UNION ALL: rows not yet fed when the rounds stopped */
	MemoryContext left_context;
	ZSet		left;
	/* UNION: classes of rows, their derivations by image, the row in R */
	RowKey		key;
	Arrangement *rows;
	List	   *touched;		/* groups changed this tick */
	List	   *pending;		/* groups to insert when the rounds stopped */
} RecursionState;

/*
 * A group of rs->rows uses the reduce fields of ArrGroup: output.row is the
 * row in R (NULL: the class is not in R), dirty and next_dirty its place
 * in the next round, and extra is non-NULL while it is in rs->touched.
 */
#define IN_RESULT(g)	((g)->output.row != NULL)
#define DERIVABLE(g)	((g)->rows != NULL)

static void recursion_step(DataflowOp *op, Dataflow *df);

/* The work table: its delta is set by the recursion for each round. */
static void
work_table_step(DataflowOp *op, Dataflow *df)
{
}

/*
 * The operator of a WorkTableScan: a map over the work table of the
 * recursion being built.
 */
DataflowOp *
RecursionWorkTable(Dataflow *df, WorkTableScan *plan)
{
	ListCell   *lc;

	foreach(lc, df->work_tables)
	{
		DataflowOp *wt = lfirst(lc);

		if (((RecursionState *) wt->state)->wtParam == plan->wtParam)
			return MapCreate(df, &plan->scan.plan, wt);
	}
	elog(ERROR, "coordinator: a work table scan outside its recursion");
	return NULL;				/* keep compiler quiet */
}

/*
 * Collect the operators between the work table and op, each after its
 * inputs.  Returns whether op reads the work table; others is the list of
 * operators found not to.
 */
static bool
collect_iterated(RecursionState *rs, Dataflow *df, DataflowOp *op, List **others)
{
	IteratedOp *it;
	bool		reads = false;
	ListCell   *lc;
	int			n = 0;

	check_stack_depth();
	if (op == rs->work_table)
		return true;
	foreach(lc, rs->iterated)
	{
		if (((IteratedOp *) lfirst(lc))->op == op)
			return true;
	}
	if (list_member_ptr(*others, op))
		return false;

	it = palloc0(sizeof(IteratedOp));
	it->op = op;
	it->ninputs = list_length(op->inputs);
	it->iterated = palloc0(sizeof(bool) * Max(it->ninputs, 1));
	it->polarity = palloc0(sizeof(int) * Max(it->ninputs, 1));
	it->inputs = palloc0(sizeof(ZSet) * Max(it->ninputs, 1));
	for (int p = 0; p < 3; p++)
		it->parts[p] = palloc0(sizeof(ZSet) * Max(it->ninputs, 1));
	foreach(lc, op->inputs)
	{
		it->iterated[n] = collect_iterated(rs, df, lfirst(lc), others);
		reads |= it->iterated[n];
		n++;
	}
	if (!reads)
	{
		*others = lappend(*others, op);
		return false;
	}
	if (op->deps != NIL)
		elog(ERROR, "coordinator: a subquery in an expression of a recursive term");
	for (n = 0; n < it->ninputs; n++)
	{
		it->polarity[n] = list_member_ptr(df->joins, op) ? JoinPolarity(op, n) : 1;
		if (rs->distinct && !it->iterated[n] && it->polarity[n] == 0)
			elog(ERROR, "coordinator: an outer join in the recursive term of a UNION");
	}
	op->iterated = true;
	rs->iterated = lappend(rs->iterated, it);
	return true;
}

DataflowOp *
RecursionCreate(Dataflow *df, RecursiveUnion *plan)
{
	DataflowOp *op;
	RecursionState *rs = palloc0(sizeof(RecursionState));
	DataflowOp *base = DataflowBuild(df, outerPlan(plan));
	DataflowOp *wt = palloc0(sizeof(DataflowOp));
	List	   *others = NIL;

	op = DataflowOpCreate(df, "recursion", &plan->plan, recursion_step);
	rs->wtParam = plan->wtParam;
	rs->distinct = plan->numCols > 0;
	wt->name = "work table";
	wt->desc = op->desc;
	wt->step = work_table_step;
	wt->state = rs;
	wt->iterated = true;
	rs->work_table = wt;
	df->work_tables = lappend(df->work_tables, wt);
	rs->term = DataflowBuild(df, innerPlan(plan));
	df->work_tables = list_delete_ptr(df->work_tables, wt);
	if (!collect_iterated(rs, df, rs->term, &others))
		elog(ERROR, "coordinator: a recursive term that does not read its work table");
	list_free(others);

	if (rs->distinct)
	{
		RowKeyInit(&rs->key, op->desc, plan->numCols, plan->dupColIdx,
				   plan->dupOperators, plan->dupCollations);
		rs->rows = DataflowArrange(df, &plan->plan, "recursion rows",
								   RowKeyEqual, &rs->key);
		ArrangementKeepGroupState(rs->rows);
	}
	op->inputs = list_make1(base);
	op->state = rs;
	return op;
}

/*
 * This tick's change of each input of the iterated operators that is not
 * iterated, and its parts (computed once per tick).
 */
static void
fixed_changes(RecursionState *rs, Dataflow *df)
{
	ListCell   *lc;

	foreach(lc, rs->iterated)
	{
		IteratedOp *it = lfirst(lc);

		for (int n = 0; n < it->ninputs; n++)
		{
			ZSet	   *all;
			ZSet	   *removing = &it->parts[1][n];
			ZSet	   *adding = &it->parts[2][n];

			if (it->iterated[n])
				continue;
			all = DataflowOpOutput(list_nth(it->op->inputs, n), df);
			it->parts[0][n] = *all;
			ZSetReset(removing);
			ZSetReset(adding);
			if (!rs->distinct)
				continue;
			for (int i = 0; i < all->nrows; i++)
			{
				bool		gains = (all->rows[i].diff > 0) == (it->polarity[n] > 0);

				ZSetAdd(gains ? adding : removing, all->rows[i].tuple, all->rows[i].diff);
			}
		}
	}
}

/*
 * One round: the rows wt (with weights) through the recursive term, with
 * the given part of its other inputs' changes.  Returns the term's change.
 */
static ZSet *
run_round(RecursionState *rs, Dataflow *df, ZSet *wt, FixedPart part)
{
	ListCell   *lc;

	CHECK_FOR_INTERRUPTS();
	rs->work_table->delta = *wt;
	foreach(lc, rs->iterated)
	{
		IteratedOp *it = lfirst(lc);
		DataflowOp *op = it->op;

		for (int n = 0; n < it->ninputs; n++)
		{
			if (it->iterated[n])
				it->inputs[n] = ((DataflowOp *) list_nth(op->inputs, n))->delta;
			else if (part == FIXED_NONE)
				ZSetReset(&it->inputs[n]);
			else
				it->inputs[n] = it->parts[part - FIXED_ALL][n];
		}
		ZSetReset(&op->delta);
		op->tick = df->tick;
		op->override = it->inputs;
		PG_TRY();
		{
			op->step(op, df);
		}
		PG_FINALLY();
		{
			op->override = NULL;
		}
		PG_END_TRY();
	}
	return &rs->term->delta;
}

/*
 * The rounds stopped short: the view has a data error until they finish
 * (retracted with the message it was counted with, whatever the setting
 * says by then).
 */
static void
set_failing(RecursionState *rs, Dataflow *df, bool failing)
{
	if (failing == (rs->failing != NULL))
		return;
	if (failing)
		rs->failing = MemoryContextStrdup(df->context,
										  psprintf("WITH RECURSIVE did not finish within %d iterations (coordinator.max_recursion_iterations): its recursion may not end",
												   coordinator_max_recursion_iterations));
	DataErrorAdd(df, rs->failing, ERRCODE_PROGRAM_LIMIT_EXCEEDED, failing ? 1 : -1);
	if (!failing)
	{
		pfree(rs->failing);
		rs->failing = NULL;
	}
}

/*
 * Keep the rows not yet fed when the rounds stop short (UNION ALL), or
 * take back those of the last tick into this tick's memory.
 */
static void
keep_left(RecursionState *rs, Dataflow *df, ZSet *rows)
{
	MemoryContext old;

	rs->left_context = AllocSetContextCreate(df->context, "coordinator recursion rows left",
											 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(rs->left_context);
	for (int i = 0; i < rows->nrows; i++)
		ZSetAdd(&rs->left, heap_copy_minimal_tuple(rows->rows[i].tuple),
				rows->rows[i].diff);
	MemoryContextSwitchTo(old);
}

static void
take_left(RecursionState *rs, ZSet *rows)
{
	for (int i = 0; i < rs->left.nrows; i++)
		ZSetAdd(rows, heap_copy_minimal_tuple(rs->left.rows[i].tuple),
				rs->left.rows[i].diff);
	if (rs->left_context != NULL)
		MemoryContextDelete(rs->left_context);
	rs->left_context = NULL;
	ZSetReset(&rs->left);
}

/*
 * UNION ALL: R = B + F(R), round by round.  The rows of R fed to F so far
 * are the rows emitted; the next round's rows are B + F(R) - R.
 */
static void
bag_step(DataflowOp *op, Dataflow *df, RecursionState *rs)
{
	ZSet	   *base = DataflowOpInput(op, df, 0);
	ZSet		empty = {0};
	ZSet		rows = {0};
	ZSet	   *found;
	int			rounds = 0;

	/* F over the same R with its other inputs changed */
	found = run_round(rs, df, &empty, FIXED_ALL);
	rows = *found;
	ZSetReset(found);
	take_left(rs, &rows);
	for (int i = 0; i < base->nrows; i++)
		ZSetAdd(&rows, base->rows[i].tuple, base->rows[i].diff);
	ZSetConsolidate(&rows);

	while (rows.nrows > 0)
	{
		if (++rounds > coordinator_max_recursion_iterations)
		{
			keep_left(rs, df, &rows);
			break;
		}
		for (int i = 0; i < rows.nrows; i++)
			ZSetAdd(&op->delta, rows.rows[i].tuple, rows.rows[i].diff);
		found = run_round(rs, df, &rows, FIXED_NONE);
		rows = *found;
		ZSetReset(found);
		ZSetConsolidate(&rows);
	}
	set_failing(rs, df, rs->left.nrows > 0);
	ZSetConsolidate(&op->delta);
}

/* Keep g until the end of the tick, when it is forgotten if empty. */
static void
touch(RecursionState *rs, ArrGroup *g)
{
	if (g->extra != NULL)
		return;
	g->extra = rs;
	rs->touched = lappend(rs->touched, g);
}

static void
add_to_round(ArrGroup *g, ArrGroup **next)
{
	if (g->dirty)
		return;
	g->dirty = true;
	g->next_dirty = *next;
	*next = g;
}

/*
 * Count the derivations (rows with weights) in z.  While deleting, a row
 * of R that loses one goes into the next round; while inserting, a row
 * that has one and is not in R does.
 */
static void
derive(RecursionState *rs, ZSet *z, bool deleting, ArrGroup **next)
{
	for (int i = 0; i < z->nrows; i++)
	{
		MinimalTuple row = z->rows[i].tuple;
		int64		diff = z->rows[i].diff;
		ArrGroup   *g = ArrangementGroup(rs->rows, RowKeyHash(&rs->key, row), row, true);
		ArrRow	   *r;

		touch(rs, g);
		r = ArrangementUpdate(rs->rows, g, row, diff);
		if (r != NULL && r->mult < 0)
			elog(ERROR, "coordinator: a row of a recursion lost more derivations than it had");
		if (deleting ? (diff < 0 && IN_RESULT(g)) : (DERIVABLE(g) && !IN_RESULT(g)))
			add_to_round(g, next);
	}
	RowKeyDone(&rs->key);
}

/* Delete (insert) the rows of a round from R: into out, and the next round. */
static void
move_rows(RecursionState *rs, ArrGroup *round, bool deleting, ZSet *out, ZSet *wt)
{
	while (round != NULL)
	{
		ArrGroup   *g = round;
		MinimalTuple row;

		round = g->next_dirty;
		g->dirty = false;
		g->next_dirty = NULL;
		if (deleting && IN_RESULT(g))
		{
			row = heap_copy_minimal_tuple(g->output.row);
			pfree(g->output.row);
			g->output.row = NULL;
			ZSetAdd(out, row, -1);
			ZSetAdd(wt, row, -1);
		}
		else if (!deleting && DERIVABLE(g) && !IN_RESULT(g))
		{
			g->output.row = MemoryContextAlloc(rs->rows->context, ArrRowTuple(g->rows)->t_len);
			memcpy(g->output.row, ArrRowTuple(g->rows), ArrRowTuple(g->rows)->t_len);
			row = heap_copy_minimal_tuple(g->output.row);
			ZSetAdd(out, row, 1);
			ZSetAdd(wt, row, 1);
		}
	}
}

/* UNION: delete, then rederive and insert. */
static void
set_step(DataflowOp *op, Dataflow *df, RecursionState *rs)
{
	ZSet	   *base = DataflowOpInput(op, df, 0);
	ZSet		empty = {0};
	ZSet		removing = {0};
	ZSet		adding = {0};
	ArrGroup   *round = NULL;
	int			rounds = 0;
	ListCell   *lc;

	/* rows that were to be inserted when the rounds stopped short */
	foreach(lc, rs->pending)
		touch(rs, lfirst(lc));
	list_free(rs->pending);
	rs->pending = NIL;

	for (int i = 0; i < base->nrows; i++)
		ZSetAdd(base->rows[i].diff < 0 ? &removing : &adding,
				base->rows[i].tuple, base->rows[i].diff);

	/* 1. deletion */
	derive(rs, &removing, true, &round);
	derive(rs, run_round(rs, df, &empty, FIXED_REMOVING), true, &round);
	while (round != NULL)
	{
		ZSet		wt = {0};

		move_rows(rs, round, true, &op->delta, &wt);
		round = NULL;
		derive(rs, run_round(rs, df, &wt, FIXED_NONE), true, &round);
	}

	/* 2. insertion: every row with a derivation and not in R */
	derive(rs, &adding, false, &round);
	derive(rs, run_round(rs, df, &empty, FIXED_ADDING), false, &round);
	foreach(lc, rs->touched)
	{
		ArrGroup   *g = lfirst(lc);

		if (DERIVABLE(g) && !IN_RESULT(g))
			add_to_round(g, &round);
	}
	while (round != NULL)
	{
		ZSet		wt = {0};

		if (++rounds > coordinator_max_recursion_iterations)
		{
			MemoryContext old = MemoryContextSwitchTo(df->context);

			for (; round != NULL; round = round->next_dirty)
			{
				round->dirty = false;
				rs->pending = lappend(rs->pending, round);
			}
			MemoryContextSwitchTo(old);
			break;
		}
		move_rows(rs, round, false, &op->delta, &wt);
		round = NULL;
		derive(rs, run_round(rs, df, &wt, FIXED_NONE), false, &round);
	}
	set_failing(rs, df, rs->pending != NIL);

	/* forget the classes without derivations */
	foreach(lc, rs->touched)
	{
		ArrGroup   *g = lfirst(lc);

		g->extra = NULL;
		if (!DERIVABLE(g) && !IN_RESULT(g))
			ArrangementRemoveGroup(rs->rows, g);
	}
	list_free(rs->touched);
	rs->touched = NIL;
	ZSetConsolidate(&op->delta);
}

static void
recursion_step(DataflowOp *op, Dataflow *df)
{
	RecursionState *rs = op->state;

	fixed_changes(rs, df);
	if (rs->distinct)
		set_step(op, df, rs);
	else
		bag_step(op, df, rs);
}
