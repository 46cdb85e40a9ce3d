/*-------------------------------------------------------------------------
 *
 * temporal.c
 *	  Temporal filters: rows enter and leave a view as its time passes.
 *
 * A map whose qual holds temporal conditions (../compile/temporal.c) gives
 * each row that passes its other conditions the interval of times [lo, hi)
 * at which the temporal ones hold too.  The view's time is its worker's
 * clock, DataflowClock, which follows the commits and clock messages the
 * worker decodes: at clock W, a row whose interval holds W goes out now,
 * with its retraction scheduled at hi; one whose interval lies ahead is
 * scheduled at lo and at hi; one whose interval has passed goes nowhere.
 * Each step sends the scheduled changes whose time has come.  A deletion
 * is routed like the insertion it cancels: their scheduled changes, one
 * row at one time with opposite weights, cancel at once.  Memory holds the
 * scheduled changes only: rows that can still enter or leave.
 *
 * A condition's bound for a row is the first time at which it changes its
 * answer: the clock side grows with the clock, so the answer changes once.
 * The guess W + (row side - clock side at W) is exact for now() plus or
 * minus a fixed interval; the condition is evaluated just before and at
 * the guess to confirm it, and otherwise searched for (intervals of months,
 * dates), by doubling steps and bisection to the microsecond.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "nodes/nodeFuncs.h"
#include "common/hashfn.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "coordinator/compile.h"
#include "coordinator/dataflow.h"

TimestampTz DataflowClock = 0;

/* A search goes no further than this from the clock: beyond is never. */
#define SEARCH_REACH (INT64CONST(4000) * 365 * USECS_PER_DAY)

typedef struct TemporalBound
{
	bool		until;			/* holds before the bound, not from it */
	ExprState  *condition;		/* the clause as a qual, clock as $1 */
	ExprState  *row_side;
	ExprState  *clock_side;		/* clock as $1 */
	TimestampTz clock_at;		/* the clock the next two are for */
	bool		clock_known;	/* clock_time is the clock side there */
	TimestampTz clock_time;
	Oid			row_type;
	Oid			clock_type;
} TemporalBound;

/*
 * A scheduled change: the net weight of one row at one time.  A change
 * that cancels a scheduled one (a deletion, before either came due) takes
 * it out at once.
 */
typedef struct TemporalKey
{
	TimestampTz at;
	MinimalTuple row;
} TemporalKey;

typedef struct TemporalEvent
{
	TemporalKey key;			/* the hash table's key: first */
	int64		diff;
	int			index;			/* in the heap */
} TemporalEvent;

struct TemporalFilter
{
	int			nbounds;
	TemporalBound *bounds;
	ParamListInfo params;		/* $1: the time a condition is evaluated at */
	MemoryContext context;		/* scheduled rows */
	HTAB	   *events;			/* TemporalKey -> TemporalEvent */
	TemporalEvent **heap;		/* the events, earliest first */
	int			nevents;
	int			maxevents;
};

static uint32
event_hash(const void *key, Size keysize)
{
	const TemporalKey *k = key;

	return hash_bytes_extended((const unsigned char *) k->row, k->row->t_len,
							   (uint64) k->at);
}

static int
event_match(const void *a, const void *b, Size keysize)
{
	const TemporalKey *x = a;
	const TemporalKey *y = b;

	if (x->at != y->at || x->row->t_len != y->row->t_len)
		return 1;
	return memcmp(x->row, y->row, x->row->t_len);
}

/*
 * The temporal filter of a map's qual, and *qual without its temporal
 * conditions; NULL if it has none.  Expressions run in parent.
 */
TemporalFilter *
TemporalFilterCreate(Dataflow *df, List **qual, PlanState *parent)
{
	TemporalFilter *tf = NULL;
	List	   *rest = NIL;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(df->context);

	foreach(lc, *qual)
	{
		TemporalCondition t;
		TemporalBound *b;

		if (!TemporalMatch(lfirst(lc), &t))
		{
			rest = lappend(rest, lfirst(lc));
			continue;
		}
		if (tf == NULL)
		{
			tf = palloc0(sizeof(TemporalFilter));
			tf->params = makeParamList(1);
			tf->params->numParams = 1;
			tf->params->params[0].ptype = TIMESTAMPTZOID;
			tf->params->params[0].pflags = PARAM_FLAG_CONST;
			tf->context = AllocSetContextCreate(df->context, "temporal filter",
												ALLOCSET_DEFAULT_SIZES);
			{
				HASHCTL		ctl;

				ctl.keysize = sizeof(TemporalKey);
				ctl.entrysize = sizeof(TemporalEvent);
				ctl.hash = event_hash;
				ctl.match = event_match;
				ctl.hcxt = tf->context;
				tf->events = hash_create("temporal filter schedule", 256, &ctl,
										 HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
			}
			tf->bounds = palloc0(sizeof(TemporalBound) * list_length(*qual));
			df->temporal = lappend(df->temporal, tf);
		}
		b = &tf->bounds[tf->nbounds++];
		b->until = t.until;
		b->condition = ExecInitQual(list_make1(TemporalReplaceClock(t.clause, 1)), parent);
		b->row_side = ExecInitExpr(t.row_side, parent);
		b->clock_side = ExecInitExpr(TemporalReplaceClock(t.clock_side, 1), parent);
		b->row_type = exprType((Node *) t.row_side);
		b->clock_type = exprType((Node *) t.clock_side);
	}
	MemoryContextSwitchTo(old);
	*qual = rest;
	return tf;
}

/* The expression context a filter's expressions run in: its parameter. */
void
TemporalFilterBind(TemporalFilter *tf, ExprContext *econtext)
{
	econtext->ecxt_param_list_info = tf->params;
}

/* A value of type as a point on the timestamptz line; false if it is none. */
static bool
as_time(Datum value, Oid type, TimestampTz *result)
{
	int			overflow = 0;

	switch (type)
	{
		case TIMESTAMPTZOID:
			*result = DatumGetTimestampTz(value);
			break;
		case DATEOID:
			*result = date2timestamptz_opt_overflow(DatumGetDateADT(value), &overflow);
			break;
		case TIMESTAMPOID:
			*result = timestamp2timestamptz_opt_overflow(DatumGetTimestamp(value), &overflow);
			break;
		default:
			return false;
	}
	return overflow == 0 && !TIMESTAMP_NOT_FINITE(*result);
}

static TimestampTz
clamp_time(int128 t)
{
	if (t < MIN_TIMESTAMP)
		return MIN_TIMESTAMP;
	if (t >= END_TIMESTAMP)
		return END_TIMESTAMP - 1;
	return (TimestampTz) t;
}

/* Does bound b's condition hold at time at, for the row in econtext? */
static bool
holds_at(TemporalFilter *tf, TemporalBound *b, ExprContext *econtext, TimestampTz at)
{
	tf->params->params[0].value = TimestampTzGetDatum(at);
	tf->params->params[0].isnull = false;
	return ExecQual(b->condition, econtext);
}

/* Does b's condition change its answer exactly at time at? */
static bool
changes_at(TemporalFilter *tf, TemporalBound *b, ExprContext *econtext, TimestampTz at)
{
	return holds_at(tf, b, econtext, at) != b->until &&
		holds_at(tf, b, econtext, at - 1) == b->until;
}

/*
 * For a clock term of type date: the local midnights that start the day
 * of guess and the next, where such a condition changes its answer.
 */
static bool
midnight_near(TemporalFilter *tf, TemporalBound *b, ExprContext *econtext,
			  TimestampTz guess, TimestampTz *result)
{
	DateADT		day = DatumGetDateADT(DirectFunctionCall1(timestamptz_date,
														  TimestampTzGetDatum(guess)));

	for (int i = 0; i < 2; i++)
	{
		int			overflow = 0;
		TimestampTz midnight;

		if (DATE_NOT_FINITE(day + i))
			return false;
		midnight = date2timestamptz_opt_overflow(day + i, &overflow);
		if (overflow == 0 && !TIMESTAMP_NOT_FINITE(midnight) &&
			changes_at(tf, b, econtext, midnight))
		{
			*result = midnight;
			return true;
		}
	}
	return false;
}

/*
 * The first time at or after which b's condition gives the answer it
 * gives last (false for `until`, true otherwise): DT_NOBEGIN if it gives
 * it already at the start of the search, DT_NOEND if never.
 */
static TimestampTz
bound_of(TemporalFilter *tf, TemporalBound *b, ExprContext *econtext)
{
	TimestampTz now = DataflowClock;
	TimestampTz guess = now;
	TimestampTz low = clamp_time((int128) now - SEARCH_REACH);
	TimestampTz high = clamp_time((int128) now + SEARCH_REACH);
	TimestampTz before;
	TimestampTz after;
	bool		isnull;
	Datum		row;
	int64		step;

	/* the guess: where the row side meets the clock side */
	row = ExecEvalExpr(b->row_side, econtext, &isnull);
	if (isnull)
		return b->until ? DT_NOBEGIN : DT_NOEND;	/* never holds */
	if (b->clock_at != now || now == 0)
	{
		/* the clock side reads no row: once per clock, not per row */
		Datum		clock;
		bool		clock_null;

		tf->params->params[0].value = TimestampTzGetDatum(now);
		tf->params->params[0].isnull = false;
		clock = ExecEvalExpr(b->clock_side, econtext, &clock_null);
		b->clock_at = now;
		b->clock_known = !clock_null && as_time(clock, b->clock_type, &b->clock_time);
	}
	{
		TimestampTz row_time;

		if (b->clock_known && as_time(row, b->row_type, &row_time))
			guess = clamp_time((int128) now + row_time - b->clock_time);
	}
	guess = Max(Min(guess, high), low);
	if (b->clock_type == DATEOID && guess > low && guess < high &&
		midnight_near(tf, b, econtext, guess, &after))
		return after;

	if (holds_at(tf, b, econtext, guess) != b->until)
	{
		/* the last answer at the guess: is it the first time? */
		if (guess == low)
			return DT_NOBEGIN;
		if (holds_at(tf, b, econtext, guess - 1) == b->until)
			return guess;
		after = guess;
		for (step = USECS_PER_SEC;; step *= 2)
		{
			before = clamp_time((int128) guess - step);
			if (before <= low)
			{
				before = low;
				if (holds_at(tf, b, econtext, before) != b->until)
					return DT_NOBEGIN;
				break;
			}
			if (holds_at(tf, b, econtext, before) == b->until)
				break;
			after = before;
		}
	}
	else
	{
		before = guess;
		for (step = USECS_PER_SEC;; step *= 2)
		{
			after = clamp_time((int128) guess + step);
			if (after >= high)
			{
				after = high;
				if (holds_at(tf, b, econtext, after) == b->until)
					return DT_NOEND;
				break;
			}
			if (holds_at(tf, b, econtext, after) != b->until)
				break;
			before = after;
		}
	}
	/* before gives the first answer, after the last */
	while (after - before > 1)
	{
		TimestampTz middle = before + (after - before) / 2;

		if (holds_at(tf, b, econtext, middle) == b->until)
			before = middle;
		else
			after = middle;
	}
	return after;
}

/*
 * The times [*lo, *hi) at which the row in econtext passes the temporal
 * conditions (DT_NOBEGIN and DT_NOEND: unbounded).  False if never.
 */
bool
TemporalInterval(TemporalFilter *tf, ExprContext *econtext,
				 TimestampTz *lo, TimestampTz *hi)
{
	*lo = DT_NOBEGIN;
	*hi = DT_NOEND;
	for (int i = 0; i < tf->nbounds; i++)
	{
		TemporalBound *b = &tf->bounds[i];
		TimestampTz t = bound_of(tf, b, econtext);

		if (b->until)
			*hi = Min(*hi, t);
		else
			*lo = Max(*lo, t);
	}
	return *lo < *hi;
}

static void
heap_set(TemporalFilter *tf, int i, TemporalEvent *e)
{
	tf->heap[i] = e;
	e->index = i;
}

/* Restore the heap's order around position i. */
static void
heap_fix(TemporalFilter *tf, int i)
{
	TemporalEvent *e = tf->heap[i];

	while (i > 0 && tf->heap[(i - 1) / 2]->key.at > e->key.at)
	{
		heap_set(tf, i, tf->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;)
	{
		int			child = 2 * i + 1;

		if (child >= tf->nevents)
			break;
		if (child + 1 < tf->nevents && tf->heap[child + 1]->key.at < tf->heap[child]->key.at)
			child++;
		if (e->key.at <= tf->heap[child]->key.at)
			break;
		heap_set(tf, i, tf->heap[child]);
		i = child;
	}
	heap_set(tf, i, e);
}

/* Take event e out of the schedule and free its row. */
static void
unschedule(TemporalFilter *tf, TemporalEvent *e)
{
	int			i = e->index;
	MinimalTuple row = e->key.row;

	tf->nevents--;
	if (i < tf->nevents)
	{
		heap_set(tf, i, tf->heap[tf->nevents]);
		heap_fix(tf, i);
	}
	hash_search(tf->events, &e->key, HASH_REMOVE, NULL);
	pfree(row);
}

/* Add diff to row's change at time at (in tf->context). */
static void
schedule(TemporalFilter *tf, TimestampTz at, MinimalTuple row, int64 diff)
{
	TemporalKey key = {at, row};
	TemporalEvent *e;
	bool		found;

	e = hash_search(tf->events, &key, HASH_ENTER, &found);
	if (found)
	{
		e->diff += diff;
		if (e->diff == 0)
			unschedule(tf, e);
		return;
	}
	e->key.row = heap_copy_minimal_tuple(row);
	e->diff = diff;
	if (tf->nevents == tf->maxevents)
	{
		tf->maxevents = Max(64, tf->maxevents * 2);
		tf->heap = tf->heap == NULL ?
			palloc(sizeof(TemporalEvent *) * tf->maxevents) :
			repalloc_huge(tf->heap, sizeof(TemporalEvent *) * tf->maxevents);
	}
	heap_set(tf, tf->nevents++, e);
	heap_fix(tf, e->index);
}

/*
 * A change of weight diff to row, in the view over [lo, hi): into out now
 * if the clock is in it, scheduled at the bounds still ahead.
 */
void
TemporalRoute(TemporalFilter *tf, ZSet *out, MinimalTuple row, int64 diff,
			  TimestampTz lo, TimestampTz hi)
{
	MemoryContext old;

	if (DataflowClock >= hi)
		return;
	old = MemoryContextSwitchTo(tf->context);
	if (DataflowClock < lo)
		schedule(tf, lo, row, diff);
	if (hi != DT_NOEND)
		schedule(tf, hi, row, -diff);
	MemoryContextSwitchTo(old);
	if (DataflowClock >= lo)
		ZSetAdd(out, row, diff);
}

/* The scheduled changes whose time has come, into out (copied). */
void
TemporalFire(TemporalFilter *tf, ZSet *out)
{
	while (tf->nevents > 0 && tf->heap[0]->key.at <= DataflowClock)
	{
		TemporalEvent *first = tf->heap[0];

		ZSetAdd(out, heap_copy_minimal_tuple(first->key.row), first->diff);
		unschedule(tf, first);
	}
}

/* When the next scheduled change of the dataflow comes due; DT_NOEND: none. */
TimestampTz
DataflowNextDue(Dataflow *df)
{
	TimestampTz due = DT_NOEND;
	ListCell   *lc;

	foreach(lc, df->temporal)
	{
		TemporalFilter *tf = lfirst(lc);

		if (tf->nevents > 0)
			due = Min(due, tf->heap[0]->key.at);
	}
	return due;
}

/* How many changes the dataflow's temporal filters hold scheduled. */
int64
TemporalScheduled(Dataflow *df)
{
	int64		n = 0;
	ListCell   *lc;

	foreach(lc, df->temporal)
		n += ((TemporalFilter *) lfirst(lc))->nevents;
	return n;
}
