/*-------------------------------------------------------------------------
 *
 * numericsum.c
 *	  Exact, invertible sums of numeric values: the state of sum and avg
 *	  over numeric and bigint, per group.
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
 *	  division with its own choice of result scale.
 *
 * bigint values are summed as numeric values of scale 0, as Postgres's
 * sum(bigint) and avg(bigint) do.
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
	int			nscales;		/* entries of scales */
	int64	   *scales;			/* finite values per display scale */
	MemoryContext context;
};

/* An empty sum, in context. */
NumericSum *
NumericSumCreate(MemoryContext context)
{
	NumericSum *ns = MemoryContextAllocZero(context, sizeof(NumericSum));
	MemoryContext old = MemoryContextSwitchTo(context);

	ns->sum = NumericGetDatum(int64_to_numeric(0));
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
 * An ERROR (a result out of numeric's range) leaves the sum unchanged.
 */
void
NumericSumAdd(NumericSum *ns, Datum value, int64 diff)
{
	Numeric		num = DatumGetNumeric(value);
	int			scale;
	Datum		term;
	Datum		sum;
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
	term = value;
	if (diff != 1 && diff != -1)
		term = DirectFunctionCall2(numeric_mul, value,
								   NumericGetDatum(int64_to_numeric(diff < 0 ? -diff : diff)));
	sum = DirectFunctionCall2(diff > 0 ? numeric_add : numeric_sub, ns->sum, term);

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
	old = MemoryContextSwitchTo(ns->context);
	pfree(DatumGetPointer(ns->sum));
	ns->sum = PointerGetDatum(PG_DETOAST_DATUM_COPY(sum));
	MemoryContextSwitchTo(old);
}

/* Does the sum hold no values? */
bool
NumericSumEmpty(NumericSum *ns)
{
	return ns->finite + ns->nan + ns->pinf + ns->ninf == 0;
}

/*
 * The sum (avg false) or the average (avg true) of the values, as
 * Postgres's sum and avg of numeric and bigint give it; *isnull if there
 * are none.  Allocated in the current memory context.
 */
Datum
NumericSumFinal(NumericSum *ns, bool avg, bool *isnull)
{
	int			maxscale = 0;
	Datum		sum;

	*isnull = NumericSumEmpty(ns);
	if (*isnull)
		return (Datum) 0;
	if (ns->nan > 0 || (ns->pinf > 0 && ns->ninf > 0))
		return DirectFunctionCall3(numeric_in, CStringGetDatum("NaN"),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	if (ns->pinf > 0 || ns->ninf > 0)
		return DirectFunctionCall3(numeric_in,
								   CStringGetDatum(ns->pinf > 0 ? "Infinity" : "-Infinity"),
								   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	for (int s = ns->nscales - 1; s >= 0; s--)
	{
		if (ns->scales[s] > 0)
		{
			maxscale = s;
			break;
		}
	}
	sum = DirectFunctionCall2(numeric_round, ns->sum, Int32GetDatum(maxscale));
	if (!avg)
		return sum;
	return DirectFunctionCall2(numeric_div, sum,
							   NumericGetDatum(int64_to_numeric(ns->finite)));
}

/* Free the sum. */
void
NumericSumFree(NumericSum *ns)
{
	pfree(DatumGetPointer(ns->sum));
	if (ns->scales != NULL)
		pfree(ns->scales);
	pfree(ns);
}
