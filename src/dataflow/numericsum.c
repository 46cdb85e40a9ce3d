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
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "coordinator/dataflow.h"

/*
 * The stored form of a numeric (the varlena's contents), as numeric.c
 * writes it and pg_upgrade keeps it: a 16-bit header, in the long form a
 * 16-bit weight, then base-10000 digits.  Read here only to sum small
 * values as integers without calling numeric arithmetic per value.
 */
#define NUMERIC_SIGN_MASK			0xC000
#define NUMERIC_NEG					0x4000
#define NUMERIC_SHORT				0x8000
#define NUMERIC_SPECIAL				0xC000
#define NUMERIC_EXT_SIGN_MASK		0xF000
#define NUMERIC_NAN					0xC000
#define NUMERIC_PINF				0xD000
#define NUMERIC_DSCALE_MASK			0x3FFF
#define NUMERIC_SHORT_SIGN_MASK		0x2000
#define NUMERIC_SHORT_DSCALE_MASK	0x1F80
#define NUMERIC_SHORT_DSCALE_SHIFT	7
#define NUMERIC_SHORT_WEIGHT_SIGN_MASK 0x0040
#define NUMERIC_SHORT_WEIGHT_MASK	0x003F
#define NUMERIC_NBASE				10000

#ifdef HAVE_INT128
/* finite values of one display scale */
typedef struct ScaleSums
{
	int64		count;
	int128		sum;			/* of the small ones, times 10^scale */
	int128		squares;		/* of their squares, times 10^(2 scale) */
} ScaleSums;
#else
typedef struct ScaleSums
{
	int64		count;
} ScaleSums;
#endif

/*
 * One per group and aggregate, so kept to 64 bytes; its memory context is
 * the one it was allocated in (GetMemoryChunkContext).
 */
struct NumericSum
{
	int64		finite;			/* finite values */
	int64		nan;
	int64		pinf;
	int64		ninf;
	Datum		sum;			/* of the values not in scales[].sum; 0 if none */
	Datum		squares;		/* of their squares, if kept */
	ScaleSums  *scales;			/* by display scale, from first_scale */
	int16		first_scale;
	int16		nscales;		/* entries of scales */
	bool		keep_squares;
};

StaticAssertDecl(sizeof(NumericSum) <= 64, "a NumericSum must stay small");

/* The sums of the values of display scale s, or NULL if it has none. */
#define SCALE_SUMS(ns, s) \
	((s) >= (ns)->first_scale && (s) < (ns)->first_scale + (ns)->nscales ? \
	 &(ns)->scales[(s) - (ns)->first_scale] : NULL)

/* What a numeric is: NaN, an infinity, or finite with its display scale. */
typedef enum NumericKind
{
	NUMBER_FINITE,
	NUMBER_NAN,
	NUMBER_PINF,
	NUMBER_NINF
} NumericKind;

/*
 * The kind and display scale of the numeric value, and if it is finite and
 * value * 10^scale fits in an int64, that integer in *scaled (else *small
 * is false).  Reads the stored form in place, packed or not.
 */
static NumericKind
numeric_parts(Datum value, int *scale, bool *small, int64 *scaled)
{
	struct varlena *v = PG_DETOAST_DATUM_PACKED(value);
	const char *data = VARDATA_ANY(v);
	Size		len = VARSIZE_ANY_EXHDR(v);
	uint16		header;
	int			weight;
	bool		negative;
	const char *digits;
	int			ndigits;

	*small = false;
	*scale = 0;
	memcpy(&header, data, sizeof(uint16));
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SPECIAL)
	{
		header &= NUMERIC_EXT_SIGN_MASK;
		return header == NUMERIC_NAN ? NUMBER_NAN :
			header == NUMERIC_PINF ? NUMBER_PINF : NUMBER_NINF;
	}
	if ((header & NUMERIC_SIGN_MASK) == NUMERIC_SHORT)
	{
		negative = (header & NUMERIC_SHORT_SIGN_MASK) != 0;
		*scale = (header & NUMERIC_SHORT_DSCALE_MASK) >> NUMERIC_SHORT_DSCALE_SHIFT;
		weight = (header & NUMERIC_SHORT_WEIGHT_SIGN_MASK ? ~NUMERIC_SHORT_WEIGHT_MASK : 0) |
			(header & NUMERIC_SHORT_WEIGHT_MASK);
		digits = data + sizeof(uint16);
	}
	else
	{
		int16		w;

		negative = (header & NUMERIC_SIGN_MASK) == NUMERIC_NEG;
		*scale = header & NUMERIC_DSCALE_MASK;
		memcpy(&w, data + sizeof(uint16), sizeof(int16));
		weight = w;
		digits = data + 2 * sizeof(uint16);
	}
	ndigits = (len - (digits - data)) / sizeof(int16);

#ifdef HAVE_INT128
	/* at most 18 decimal digits in all: the integer fits in an int64 */
	if (*scale <= 18 && ndigits <= 5 && (weight + 1) * 4 + *scale <= 18)
	{
		int128		acc = 0;
		int			shift;

		for (int i = 0; i < ndigits; i++)
		{
			int16		d;

			memcpy(&d, digits + i * sizeof(int16), sizeof(int16));
			acc = acc * NUMERIC_NBASE + d;
		}
		/* the last digit stands for 10000^(weight - ndigits + 1) */
		shift = 4 * (weight - ndigits + 1) + *scale;
		for (; shift > 0; shift--)
			acc *= 10;
		for (; shift < 0; shift++)
			acc /= 10;			/* exact: no digit beyond the scale */
		if (acc <= PG_INT64_MAX)
		{
			*scaled = negative ? -(int64) acc : (int64) acc;
			*small = true;
		}
	}
#endif
	if ((Pointer) v != DatumGetPointer(value))
		pfree(v);
	return NUMBER_FINITE;
}

#ifdef HAVE_INT128
/* The numeric value / 10^scale, in the current memory context. */
static Datum
scaled_numeric(int128 value, int scale)
{
	char		digits[64];
	char		text[96];
	char	   *p = text;
	int			n = 0;
	bool		negative = value < 0;
	uint128		u = negative ? -(uint128) value : (uint128) value;

	do
	{
		digits[n++] = '0' + (int) (u % 10);
		u /= 10;
	} while (u != 0);
	while (n <= scale)
		digits[n++] = '0';
	if (negative)
		*p++ = '-';
	for (int i = n - 1; i >= scale; i--)
		*p++ = digits[i];
	if (scale > 0)
	{
		*p++ = '.';
		for (int i = scale - 1; i >= 0; i--)
			*p++ = digits[i];
	}
	*p = '\0';
	return DirectFunctionCall3(numeric_in, CStringGetDatum(text),
							   ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
}
#endif

/* An empty sum, in context; also of the squares if squares. */
NumericSum *
NumericSumCreate(MemoryContext context, bool squares)
{
	NumericSum *ns = MemoryContextAllocZero(context, sizeof(NumericSum));

	ns->keep_squares = squares;
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

/* *acc + diff > 0 ? add : subtract, as a numeric in the sum's memory */
static Datum
numeric_accumulate(NumericSum *ns, Datum acc, Datum term, int64 diff)
{
	MemoryContext old = MemoryContextSwitchTo(GetMemoryChunkContext(ns));
	Datum		result;

	if (acc == (Datum) 0)
		acc = NumericGetDatum(int64_to_numeric(0));
	result = DirectFunctionCall2(diff > 0 ? numeric_add : numeric_sub, acc, term);
	MemoryContextSwitchTo(old);
	return result;
}

/*
 * Add diff copies (remove, if negative) of value, a numeric, to the sum.
 * A value whose digits times 10^scale fit in an int64 is summed as that
 * integer with the others of its scale (and so are their squares), while
 * the sums fit in 128 bits; others by numeric arithmetic.  An ERROR (a
 * result out of numeric's range) leaves the sum unchanged (what it
 * allocated stays in the sum's memory until the group goes).
 */
void
NumericSumAdd(NumericSum *ns, Datum value, int64 diff)
{
	int			scale;
	bool		small;
	int64		scaled = 0;
	Datum		sum = (Datum) 0;
	Datum		squares = (Datum) 0;
	ScaleSums  *ss;

	if (diff == 0)
		return;
	switch (numeric_parts(value, &scale, &small, &scaled))
	{
		case NUMBER_NAN:
			count_add(&ns->nan, diff);
			return;
		case NUMBER_PINF:
			count_add(&ns->pinf, diff);
			return;
		case NUMBER_NINF:
			count_add(&ns->ninf, diff);
			return;
		case NUMBER_FINITE:
			break;
	}
	ss = SCALE_SUMS(ns, scale);
	if (diff < 0 && (ss == NULL || ss->count + diff < 0 || ns->finite + diff < 0))
		elog(ERROR, "coordinator: removing a value a sum does not hold");
	if (ss == NULL)
	{
		/* the scales from the smallest to the largest seen, no more */
		int			first = ns->nscales == 0 ? scale : Min(scale, ns->first_scale);
		int			end = ns->nscales == 0 ? scale + 1 :
			Max(scale + 1, ns->first_scale + ns->nscales);
		ScaleSums  *scales = MemoryContextAllocZero(GetMemoryChunkContext(ns),
												   sizeof(ScaleSums) * (end - first));

		if (ns->scales != NULL)
		{
			memcpy(scales + (ns->first_scale - first), ns->scales,
				   sizeof(ScaleSums) * ns->nscales);
			pfree(ns->scales);
		}
		ns->scales = scales;
		ns->first_scale = first;
		ns->nscales = end - first;
		ss = SCALE_SUMS(ns, scale);
	}

#ifdef HAVE_INT128
	if (small)
	{
		int128		x = scaled;
		int128		term;
		int128		newsum;
		int128		square = 0;
		int128		newsquares = ss->squares;

		/* |diff| < 2^63 and |x| < 2^63: no product overflows */
		if (!__builtin_mul_overflow(x, (int128) diff, &term) &&
			!__builtin_add_overflow(ss->sum, term, &newsum) &&
			(!ns->keep_squares ||
			 (!__builtin_mul_overflow(x * x, (int128) diff, &square) &&
			  !__builtin_add_overflow(ss->squares, square, &newsquares))))
		{
			ss->sum = newsum;
			ss->squares = newsquares;
			ss->count += diff;
			ns->finite += diff;
			return;
		}
	}
#endif

	/* numeric arithmetic: the new sums first, then nothing can fail */
	{
		Datum		count = diff == 1 || diff == -1 ? (Datum) 0 :
			NumericGetDatum(int64_to_numeric(diff < 0 ? -diff : diff));
		Datum		term = count == (Datum) 0 ? value :
			DirectFunctionCall2(numeric_mul, value, count);

		sum = numeric_accumulate(ns, ns->sum, term, diff);
		if (ns->keep_squares)
		{
			term = DirectFunctionCall2(numeric_mul, value, value);
			if (count != (Datum) 0)
				term = DirectFunctionCall2(numeric_mul, term, count);
			squares = numeric_accumulate(ns, ns->squares, term, diff);
		}
	}
	ss->count += diff;
	ns->finite += diff;
	if (ns->sum != (Datum) 0)
		pfree(DatumGetPointer(ns->sum));
	ns->sum = sum;
	if (squares != (Datum) 0)
	{
		if (ns->squares != (Datum) 0)
			pfree(DatumGetPointer(ns->squares));
		ns->squares = squares;
	}
}

/*
 * The exact sum of the finite values (squares false) or of their squares
 * (squares true), in the current memory context.
 */
static Datum
exact_total(NumericSum *ns, bool squares)
{
	Datum		total = squares ? ns->squares : ns->sum;

	if (total == (Datum) 0)
		total = NumericGetDatum(int64_to_numeric(0));
#ifdef HAVE_INT128
	for (int i = 0; i < ns->nscales; i++)
	{
		int128		part = squares ? ns->scales[i].squares : ns->scales[i].sum;
		int			s = ns->first_scale + i;

		if (part != 0)
			total = DirectFunctionCall2(numeric_add, total,
										scaled_numeric(part, squares ? 2 * s : s));
	}
#endif
	return total;
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
	for (int i = ns->nscales - 1; i >= 0; i--)
	{
		if (ns->scales[i].count > 0)
			return ns->first_scale + i;
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
	sum = DirectFunctionCall2(numeric_round, exact_total(ns, false),
							  Int32GetDatum(max_scale(ns)));
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

	Assert(ns->keep_squares);
	*isnull = total == 0 || (sample && total <= 1);
	if (*isnull)
		return (Datum) 0;
	if (ns->nan > 0 || ns->pinf > 0 || ns->ninf > 0)
		return numeric_constant("NaN");
	m = max_scale(ns);
	n = NumericGetDatum(int64_to_numeric(ns->finite));
	sum = DirectFunctionCall2(numeric_round, exact_total(ns, false), Int32GetDatum(m));
	squares = DirectFunctionCall2(numeric_round, exact_total(ns, true), Int32GetDatum(2 * m));
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
	if (ns->sum != (Datum) 0)
		pfree(DatumGetPointer(ns->sum));
	if (ns->squares != (Datum) 0)
		pfree(DatumGetPointer(ns->squares));
	if (ns->scales != NULL)
		pfree(ns->scales);
	pfree(ns);
}
