/*-------------------------------------------------------------------------
 *
 * numericsum.c
 *	  Exact, invertible sums of numeric values: the state of sum, avg,
 *	  variance and standard deviation over numeric and integers, per group.
 *
 * Postgres's own moving state for these aggregates cannot always remove a
 * value: the result's display scale is the largest scale among the values
 * summed, and once the last value of that scale goes the state no longer
 * knows the next largest, so WindowAgg recomputes the frame.  This state
 * keeps what the inverse needs: the count of finite values per display
 * scale, besides their exact sum and the counts of NaN and infinite
 * values.  A value is added or removed in O(digits), and the result is
 * the one Postgres computes over the same values:
 *
 *	- no values: NULL;
 *	- a NaN, or both infinities: NaN; else an infinity if there is one;
 *	- sum: the exact sum, at the largest display scale of the finite
 *	  values (rounding to it is exact, no value has more digits);
 *	- avg: that sum divided by the count of finite values, by numeric
 *	  division with its own choice of result scale;
 *	- variance: (N * sum(x^2) - sum(x)^2) / (N * (N - 1)), or N * N for the
 *	  population, from exact sums at Postgres's scales (the sum of squares
 *	  at twice the largest scale), by numeric division; 0 (of scale 0) when
 *	  the numerator is not positive; NULL for a sample of one value, before
 *	  NaN is looked at, as Postgres does;
 *	- standard deviation: the square root of that variance, correctly
 *	  rounded at the variance's scale, which is what Postgres's computes
 *	  (numeric's sqrt() picks another scale, so it is only the first guess).
 *
 * Integers are summed as numeric values of scale 0, as Postgres's sum and
 * avg of bigint and its variances of every integer type do.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/numeric.h"

#include "coordinator/dataflow.h"

struct NumericSum
{
	int64		finite;			/* finite values */
	int64		nan;
	int64		pinf;
	int64		ninf;
	Datum		sum;			/* of the finite values; 0 if none */
	Datum		squares;		/* of their squares, if kept; 0 if none */
	int			nscales;		/* entries of scales */
	int64	   *scales;			/* finite values per display scale */
	MemoryContext context;
};

/* An empty sum, in context; also of the squares if squares. */
NumericSum *
NumericSumCreate(MemoryContext context, bool squares)
{
	NumericSum *ns = MemoryContextAllocZero(context, sizeof(NumericSum));
	MemoryContext old = MemoryContextSwitchTo(context);

	ns->sum = NumericGetDatum(int64_to_numeric(0));
	if (squares)
		ns->squares = NumericGetDatum(int64_to_numeric(0));
	MemoryContextSwitchTo(old);
	ns->context = context;
	return ns;
}

/* Add diff to a count, which must not become negative. */
static void
count_add(int64 *count, int64 diff)
{
	if (*count + diff < 0)
		elog(ERROR, "coordinator: removing a value a sum does not hold");
	*count += diff;
}

/*
 * Add diff copies (remove, if negative) of value, a numeric, to the sum.
 * An ERROR (a result out of numeric's range) leaves the sum unchanged
 * (what it allocated stays in the sum's memory until the group goes).
 */
void
NumericSumAdd(NumericSum *ns, Datum value, int64 diff)
{
	Numeric		num = DatumGetNumeric(value);
	int			scale;
	Datum		term;
	Datum		sum;
	Datum		squares = (Datum) 0;
	Datum		count;
	MemoryContext old;

	if (diff == 0)
		return;
	if (numeric_is_nan(num))
	{
		count_add(&ns->nan, diff);
		return;
	}
	if (numeric_is_inf(num))
	{
		bool		positive = DatumGetInt32(DirectFunctionCall2(numeric_cmp, value,
																 NumericGetDatum(int64_to_numeric(0)))) > 0;

		count_add(positive ? &ns->pinf : &ns->ninf, diff);
		return;
	}

	scale = DatumGetInt32(DirectFunctionCall1(numeric_scale, value));
	if (diff < 0 && (scale >= ns->nscales || ns->scales[scale] + diff < 0 ||
					 ns->finite + diff < 0))
		elog(ERROR, "coordinator: removing a value a sum does not hold");
	/* the new sums, in the sum's memory: they replace the old ones */
	old = MemoryContextSwitchTo(ns->context);
	count = diff == 1 || diff == -1 ? (Datum) 0 :
		NumericGetDatum(int64_to_numeric(diff < 0 ? -diff : diff));
	term = count == (Datum) 0 ? value : DirectFunctionCall2(numeric_mul, value, count);
	sum = DirectFunctionCall2(diff > 0 ? numeric_add : numeric_sub, ns->sum, term);
	if (ns->squares != (Datum) 0)
	{
		term = DirectFunctionCall2(numeric_mul, value, value);
		if (count != (Datum) 0)
			term = DirectFunctionCall2(numeric_mul, term, count);
		squares = DirectFunctionCall2(diff > 0 ? numeric_add : numeric_sub,
									  ns->squares, term);
	}
	MemoryContextSwitchTo(old);

	/* nothing can fail from here on */
	if (scale >= ns->nscales)
	{
		int			n = Max(scale + 1, ns->nscales * 2);
		int64	   *scales = MemoryContextAllocZero(ns->context, sizeof(int64) * n);

		if (ns->scales != NULL)
		{
			memcpy(scales, ns->scales, sizeof(int64) * ns->nscales);
			pfree(ns->scales);
		}
		ns->scales = scales;
		ns->nscales = n;
	}
	ns->scales[scale] += diff;
	ns->finite += diff;
	pfree(DatumGetPointer(ns->sum));
	ns->sum = sum;
	if (squares != (Datum) 0)
	{
		pfree(DatumGetPointer(ns->squares));
		ns->squares = squares;
	}
}

/* Does the sum hold no values? */
bool
NumericSumEmpty(NumericSum *ns)
{
	return ns->finite + ns->nan + ns->pinf + ns->ninf == 0;
}

/* A numeric constant, from its text. */
static Datum
numeric_constant(const char *name)
{
	return DirectFunctionCall3(numeric_in, CStringGetDatum(name),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}

/* The largest display scale of the finite values. */
static int
max_scale(NumericSum *ns)
{
	for (int s = ns->nscales - 1; s >= 0; s--)
	{
		if (ns->scales[s] > 0)
			return s;
	}
	return 0;
}

/*
 * The sum (avg false) or the average (avg true) of the values, as
 * Postgres's sum and avg of numeric and bigint give it; *isnull if there
 * are none.  Allocated in the current memory context.
 */
Datum
NumericSumFinal(NumericSum *ns, bool avg, bool *isnull)
{
	Datum		sum;

	*isnull = NumericSumEmpty(ns);
	if (*isnull)
		return (Datum) 0;
	if (ns->nan > 0 || (ns->pinf > 0 && ns->ninf > 0))
		return numeric_constant("NaN");
	if (ns->pinf > 0 || ns->ninf > 0)
		return numeric_constant(ns->pinf > 0 ? "Infinity" : "-Infinity");
	sum = DirectFunctionCall2(numeric_round, ns->sum, Int32GetDatum(max_scale(ns)));
	if (!avg)
		return sum;
	return DirectFunctionCall2(numeric_div, sum,
							   NumericGetDatum(int64_to_numeric(ns->finite)));
}

/* a * b, exactly */
static Datum
mul(Datum a, Datum b)
{
	return DirectFunctionCall2(numeric_mul, a, b);
}

static int
cmp(Datum a, Datum b)
{
	return DatumGetInt32(DirectFunctionCall2(numeric_cmp, a, b));
}

/*
 * The square root of v (positive, of scale d) rounded to d digits, half
 * away from zero: the c with (c - h)^2 <= v < (c + h)^2, h half a unit of
 * the last digit.  numeric's sqrt() gives it to at least d digits; rounding
 * that to d may miss by one unit, which the exact test corrects.
 */
static Datum
rounded_sqrt(Datum v, int d)
{
	char		text[32];
	Datum		ulp;
	Datum		half;
	Datum		c;

	snprintf(text, sizeof(text), "1e-%d", d);
	ulp = numeric_constant(text);
	snprintf(text, sizeof(text), "5e-%d", d + 1);
	half = numeric_constant(text);
	c = DirectFunctionCall2(numeric_round,
									   DirectFunctionCall1(numeric_sqrt, v),
									   Int32GetDatum(d));

	for (;;)
	{
		Datum		low = DirectFunctionCall2(numeric_sub, c, half);
		Datum		high = DirectFunctionCall2(numeric_add, c, half);

		if (cmp(mul(low, low), v) > 0)
			c = DirectFunctionCall2(numeric_sub, c, ulp);
		else if (cmp(mul(high, high), v) <= 0)
			c = DirectFunctionCall2(numeric_add, c, ulp);
		else
			break;
	}
	return DirectFunctionCall2(numeric_round, c, Int32GetDatum(d));
}

/*
 * The variance (or, if root, the standard deviation) of the values, of the
 * sample or of the population, as Postgres's var_samp, var_pop,
 * stddev_samp and stddev_pop give it; *isnull where they give NULL.  The
 * sum must keep squares.  Allocated in the current memory context.
 */
Datum
NumericSumVariance(NumericSum *ns, bool sample, bool root, bool *isnull)
{
	int64		total = ns->finite + ns->nan + ns->pinf + ns->ninf;
	int			m;
	Datum		n;
	Datum		sum;
	Datum		squares;
	Datum		numerator;
	Datum		variance;

	Assert(ns->squares != (Datum) 0);
	*isnull = total == 0 || (sample && total <= 1);
	if (*isnull)
		return (Datum) 0;
	if (ns->nan > 0 || ns->pinf > 0 || ns->ninf > 0)
		return numeric_constant("NaN");
	m = max_scale(ns);
	n = NumericGetDatum(int64_to_numeric(ns->finite));
	sum = DirectFunctionCall2(numeric_round, ns->sum, Int32GetDatum(m));
	squares = DirectFunctionCall2(numeric_round, ns->squares, Int32GetDatum(2 * m));
	numerator = DirectFunctionCall2(numeric_sub, mul(n, squares), mul(sum, sum));
	if (cmp(numerator, NumericGetDatum(int64_to_numeric(0))) <= 0)
		return NumericGetDatum(int64_to_numeric(0));
	variance = DirectFunctionCall2(numeric_div, numerator,
								   mul(n, sample ? NumericGetDatum(int64_to_numeric(ns->finite - 1)) : n));
	if (!root)
		return variance;
	return rounded_sqrt(variance, DatumGetInt32(DirectFunctionCall1(numeric_scale, variance)));
}

/* Free the sum. */
void
NumericSumFree(NumericSum *ns)
{
	pfree(DatumGetPointer(ns->sum));
	if (ns->squares != (Datum) 0)
		pfree(DatumGetPointer(ns->squares));
	if (ns->scales != NULL)
		pfree(ns->scales);
	pfree(ns);
}
