/*-------------------------------------------------------------------------
 *
 * emit.c
 *	  The subscriber's output: the worker's messages (changes and progress)
 *	  turned into rows, consolidated per timestamp, the snapshot merged
 *	  with the history before it goes out, upsert keys collapsing a
 *	  timestamp's changes of one key into one row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "pgstat.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/memutils.h"

#include "subscriber_internal.h"

/* Append an output row; values of row (in rowdesc) or NULLs. */
static void
emit(Subscriber *sub, XLogRecPtr ts, bool progressed, int64 diff,
	 const char *state, MinimalTuple row)
{
	TupleDesc	rowdesc = sub->target.rowdesc;
	int			natts = sub->outdesc->natts;
	Datum	   *values = palloc0(sizeof(Datum) * natts);
	bool	   *nulls = palloc(sizeof(bool) * natts);
	Datum	   *rvalues = NULL;
	bool	   *rnulls = NULL;
	int			n = 0;
	MemoryContext old;

	memset(nulls, true, sizeof(bool) * natts);
	if (row != NULL)
	{
		HeapTupleData htup;

		rvalues = palloc(sizeof(Datum) * rowdesc->natts);
		rnulls = palloc(sizeof(bool) * rowdesc->natts);
		htup.t_len = row->t_len + MINIMAL_TUPLE_OFFSET;
		htup.t_data = (HeapTupleHeader) ((char *) row - MINIMAL_TUPLE_OFFSET);
		heap_deform_tuple(&htup, rowdesc, rvalues, rnulls);
	}

	values[n] = Int64GetDatum((int64) ts);
	nulls[n++] = false;
	if (sub->opts.progress)
	{
		values[n] = BoolGetDatum(progressed);
		nulls[n++] = false;
	}
	if (!progressed)
	{
		if (sub->nkeys > 0)
			values[n] = CStringGetTextDatum(state);
		else
			values[n] = Int64GetDatum(diff);
		nulls[n] = false;
	}
	n++;
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < rowdesc->natts; i++)
		{
			bool		key = SubscribeIsKey(sub->keys, sub->nkeys, i + 1);

			if (TupleDescAttr(rowdesc, i)->attisdropped)
				continue;
			if (sub->nkeys > 0 && (pass == 0) != key)
				continue;
			if (sub->nkeys == 0 && pass == 1)
				continue;
			/* upsert: only an upserted row shows its values; keys always */
			if (row != NULL && (key || state == NULL || strcmp(state, "upsert") == 0))
			{
				values[n] = rvalues[i];
				nulls[n] = rnulls[i];
			}
			n++;
		}
	}
	old = MemoryContextSwitchTo(sub->ready_context);
	sub->ready = lappend(sub->ready, heap_form_tuple(sub->outdesc, values, nulls));
	MemoryContextSwitchTo(old);
}

/* The key image of a row, for grouping by the upsert key. */
static uint32
key_hash(Subscriber *sub, MinimalTuple row, Datum *values, bool *nulls)
{
	TupleDesc	rowdesc = sub->target.rowdesc;
	HeapTupleData htup;
	uint32		h = 0;

	htup.t_len = row->t_len + MINIMAL_TUPLE_OFFSET;
	htup.t_data = (HeapTupleHeader) ((char *) row - MINIMAL_TUPLE_OFFSET);
	heap_deform_tuple(&htup, rowdesc, values, nulls);
	for (int k = 0; k < sub->nkeys; k++)
	{
		int			i = sub->keys[k] - 1;

		if (nulls[i])
			h = h * 31 + 1;
		else
			h = h * 31 + (uint32) datum_image_hash(values[i],
												   TupleDescAttr(rowdesc, i)->attbyval,
												   TupleDescAttr(rowdesc, i)->attlen);
	}
	return h;
}

static bool
same_key(Subscriber *sub, Datum *v1, bool *n1, Datum *v2, bool *n2)
{
	TupleDesc	rowdesc = sub->target.rowdesc;

	for (int k = 0; k < sub->nkeys; k++)
	{
		int			i = sub->keys[k] - 1;
		Form_pg_attribute att = TupleDescAttr(rowdesc, i);

		if (n1[i] != n2[i])
			return false;
		if (!n1[i] && !datum_image_eq(v1[i], v2[i], att->attbyval, att->attlen))
			return false;
	}
	return true;
}

/* A row of a batch with the hash of its key, for grouping by key. */
typedef struct KeyedRow
{
	uint32		hash;
	int			index;
} KeyedRow;

static int
keyed_row_cmp(const void *a, const void *b)
{
	const KeyedRow *x = a;
	const KeyedRow *y = b;

	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return x->index - y->index;
}

/*
 * The upsert envelope of one timestamp: per key, a lone insertion or a
 * retraction with an insertion is an upsert, a lone retraction a delete,
 * anything else a key violation.  Rows are sorted by key hash; rows of one
 * key are found within a run of equal hashes.
 */
static void
emit_upserts(Subscriber *sub, XLogRecPtr ts, ZSet *z)
{
	int			natts = sub->target.rowdesc->natts;
	KeyedRow   *order = palloc(sizeof(KeyedRow) * Max(z->nrows, 1));
	bool	   *done = palloc0(sizeof(bool) * Max(z->nrows, 1));
	Datum	   *v1 = palloc(sizeof(Datum) * natts);
	bool	   *n1 = palloc(sizeof(bool) * natts);
	Datum	   *v2 = palloc(sizeof(Datum) * natts);
	bool	   *n2 = palloc(sizeof(bool) * natts);

	for (int i = 0; i < z->nrows; i++)
	{
		order[i].hash = key_hash(sub, z->rows[i].tuple, v1, n1);
		order[i].index = i;
	}
	qsort(order, z->nrows, sizeof(KeyedRow), keyed_row_cmp);

	for (int i = 0; i < z->nrows; i++)
	{
		int64		inserted = 0;
		int64		deleted = 0;
		MinimalTuple insert = NULL;
		MinimalTuple any = z->rows[order[i].index].tuple;

		if (done[i])
			continue;
		(void) key_hash(sub, any, v1, n1);
		for (int j = i; j < z->nrows && order[j].hash == order[i].hash; j++)
		{
			ZRow	   *row = &z->rows[order[j].index];

			if (done[j])
				continue;
			(void) key_hash(sub, row->tuple, v2, n2);
			if (!same_key(sub, v1, n1, v2, n2))
				continue;
			done[j] = true;
			if (row->diff > 0)
			{
				inserted += row->diff;
				insert = row->tuple;
			}
			else
				deleted -= row->diff;
		}
		if (inserted == 1 && deleted <= 1)
			emit(sub, ts, false, 0, "upsert", insert);
		else if (inserted == 0 && deleted == 1)
			emit(sub, ts, false, 0, "delete", any);
		else
			emit(sub, ts, false, 0, "key_violation", any);
	}
}

/*
 * Forget the received rows of z (the snapshot or the batch; the other one
 * is empty whenever this is called).
 */
static void
discard_rows(Subscriber *sub, ZSet *z)
{
	memset(z, 0, sizeof(ZSet));
	MemoryContextReset(sub->data_context);
}

/* Emit a consolidated batch of changes at one timestamp. */
static void
emit_batch(Subscriber *sub, XLogRecPtr ts, ZSet *z)
{
	ZSetConsolidate(z);
	if (sub->nkeys > 0)
		emit_upserts(sub, ts, z);
	else
	{
		/* retractions first; each pass in the consolidated (hash) order */
		for (int pass = 0; pass < 2; pass++)
		{
			for (int i = 0; i < z->nrows; i++)
			{
				if ((z->rows[i].diff < 0) == (pass == 0))
					emit(sub, ts, false, z->rows[i].diff, NULL, z->rows[i].tuple);
			}
		}
	}
	discard_rows(sub, z);
}

static void
emit_progress(Subscriber *sub, XLogRecPtr p)
{
	if (sub->opts.has_up_to)
		p = Min(p, sub->opts.up_to);
	if (sub->opts.progress && p > sub->progress_out)
		emit(sub, p, true, 0, NULL, NULL);
	sub->progress_out = Max(sub->progress_out, p);
}

/*
 * The changes of the history after the snapshot's time, one batch per
 * timestamp (whole, as a worker transaction wrote them).
 */
static void
emit_history(Subscriber *sub)
{
	ListCell   *lc;
	MemoryContext old;

	foreach(lc, sub->history)
	{
		HistoryChange *change = lfirst(lc);

		if (sub->done || (sub->opts.has_up_to && change->ts >= sub->opts.up_to))
			break;
		/* the row lives in history_context until the end */
		old = MemoryContextSwitchTo(sub->data_context);
		ZSetAdd(&sub->batch, change->row, change->diff);
		MemoryContextSwitchTo(old);
		if (lnext(sub->history, lc) == NULL ||
			((HistoryChange *) lfirst(lnext(sub->history, lc)))->ts != change->ts)
			emit_batch(sub, change->ts, &sub->batch);
	}
	discard_rows(sub, &sub->batch);
	sub->history = NIL;
	if (sub->history_context != NULL)
		MemoryContextDelete(sub->history_context);
	sub->history_context = NULL;
}

/* Once the progress passed as_of: the snapshot goes out. */
static void
maybe_emit_snapshot(Subscriber *sub)
{
	if (!sub->have_snapshot || sub->emitted || sub->progress <= sub->as_of)
		return;
	sub->emitted = true;
	sub->progress_out = sub->as_of;
	if (sub->opts.progress && !sub->done)
		emit(sub, sub->as_of, true, 0, NULL, NULL);
	if (sub->opts.snapshot && !sub->done)
		emit_batch(sub, sub->as_of, &sub->rows);
	else
		discard_rows(sub, &sub->rows);
	emit_history(sub);
	emit_progress(sub, sub->progress);
}

/* The batch being received is complete (progress passed it). */
static void
finish_batch(Subscriber *sub)
{
	if (sub->batch.nrows > 0 && !sub->done)
	{
		if (sub->opts.has_up_to && sub->batch_ts >= sub->opts.up_to)
			discard_rows(sub, &sub->batch);
		else
			emit_batch(sub, sub->batch_ts, &sub->batch);
	}
	sub->batch_ts = InvalidXLogRecPtr;
}

/* A copy of a DATA message's row, in the context of received rows. */
static MinimalTuple
message_row(Subscriber *sub, SubscriptionMessage *msg, Size len)
{
	Size		tlen = len - MAXALIGN(sizeof(SubscriptionMessage));
	MinimalTuple tuple = MemoryContextAlloc(sub->data_context, tlen);

	memcpy(tuple, (char *) msg + MAXALIGN(sizeof(SubscriptionMessage)), tlen);
	return tuple;
}

static void
handle_message(Subscriber *sub, SubscriptionMessage *msg, Size len)
{
	MemoryContext old;

	switch (msg->kind)
	{
		case SUBMSG_HYDRATED:
			/* a query's first rows come at H, its since */
			SubscriberSetAsOf(sub, msg->ts, msg->ts, msg->ts + 1);
			break;
		case SUBMSG_DATA:
			if (SeenXidsSaw(&sub->seen, msg->xid))
				break;
			if (!sub->emitted && msg->ts <= sub->as_of)
			{
				old = MemoryContextSwitchTo(sub->data_context);
				ZSetAdd(&sub->rows, message_row(sub, msg, len), msg->diff);
				MemoryContextSwitchTo(old);
				break;
			}
			if (!sub->emitted)
			{
				sub->progress = Max(sub->progress, sub->as_of + 1);
				maybe_emit_snapshot(sub);
			}
			if (sub->batch_ts != msg->ts)
				finish_batch(sub);
			sub->batch_ts = msg->ts;
			old = MemoryContextSwitchTo(sub->data_context);
			ZSetAdd(&sub->batch, message_row(sub, msg, len), msg->diff);
			MemoryContextSwitchTo(old);
			break;
		case SUBMSG_PROGRESS:
			sub->progress = Max(sub->progress, msg->ts);
			if (!sub->emitted)
				maybe_emit_snapshot(sub);
			if (sub->emitted)
			{
				finish_batch(sub);
				emit_progress(sub, sub->progress);
			}
			break;
		default:
			elog(ERROR, "unexpected subscription message \"%c\"", msg->kind);
	}
	if (sub->emitted && sub->opts.has_up_to && sub->progress >= sub->opts.up_to)
		sub->done = true;
}

/*
 * Receive until want rows are ready, or the queue is empty and some rows
 * are ready and everything before target was received (0: no target), or
 * the subscription is done, or timeout_ms passes (-1: no timeout).  Honors
 * cancel.
 */
void
SubscriberPump(Subscriber *sub, int want, XLogRecPtr target, long timeout_ms)
{
	TimestampTz start = GetCurrentTimestamp();

	/* the rows handed out before were sent on */
	if (sub->ready == NIL)
		MemoryContextReset(sub->ready_context);
	maybe_emit_snapshot(sub);
	while (list_length(sub->ready) < want && !sub->done)
	{
		Size		len;
		void	   *data;
		shm_mq_result res = shm_mq_receive(sub->mqh, &len, &data, true);
		long		wait = SUBSCRIBER_CHECK_MS;
		TimestampTz now;

		if (res == SHM_MQ_SUCCESS)
		{
			handle_message(sub, data, len);
			/* past up_to: the worker can stop sending */
			if (sub->done)
				SubscriberRelease(sub);
			continue;
		}
		if (res == SHM_MQ_DETACHED)
			SubscriberReportEnd(sub);
		/* nothing more queued: once caught up with target, do not wait */
		if (sub->ready != NIL && sub->emitted && sub->progress > target)
			break;

		now = GetCurrentTimestamp();
		if (timeout_ms >= 0)
		{
			long		left = timeout_ms - (long) ((now - start) / 1000);

			if (left <= 0)
				break;
			wait = Min(wait, left);
		}
		if (now - sub->last_check >= SUBSCRIBER_CHECK_MS * INT64CONST(1000))
		{
			SubscriberCheckSources(sub);
			sub->last_check = now;
		}
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 wait, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

HeapTuple
SubscriberNextReady(Subscriber *sub)
{
	HeapTuple	tuple;

	if (sub->ready == NIL)
		return NULL;
	tuple = linitial(sub->ready);
	sub->ready = list_delete_first(sub->ready);
	return tuple;
}
