/*-------------------------------------------------------------------------
 *
 * plugin.c
 *	  The logical decoding output plugin "coordinator", in the same library.
 *
 * It writes nothing: its callbacks copy the changes of source tables into
 * CaptureCurrent, the batch of the dataflow worker that drives decoding in
 * its own process.  Callbacks run under a historic catalog snapshot inside
 * the reorder buffer's transaction, so they only copy: expressions are
 * evaluated later, in the worker's own transaction.
 *
 * Copies are self-contained: out-of-line values are detoasted, and an
 * UPDATE's unchanged TOAST columns (logged only as pointers) are taken from
 * the old row, which REPLICA IDENTITY FULL logs in full.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "replication/logical.h"
#include "replication/output_plugin.h"
#include "replication/reorderbuffer.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "coordinator/capture.h"
#include "coordinator/coordinator.h"

PGDLLEXPORT void _PG_output_plugin_init(OutputPluginCallbacks *cb);

CaptureBatch *CaptureCurrent = NULL;

static bool
is_source(Oid relid)
{
	return list_member_oid(CaptureCurrent->sources, relid);
}

/*
 * Copy a decoded tuple into the batch's memory, detoasting external values.
 * For an on-disk TOAST pointer (an unchanged column of an UPDATE), take the
 * value from old; returns NULL if it is not there.
 */
static HeapTuple
copy_tuple(HeapTuple tuple, TupleDesc desc, HeapTuple old)
{
	Datum	   *values;
	bool	   *isnull;
	Datum	   *oldvalues = NULL;
	bool	   *oldnull = NULL;
	HeapTuple	result;

	if (!HeapTupleHasExternal(tuple))
		return heap_copytuple(tuple);

	values = palloc(desc->natts * sizeof(Datum));
	isnull = palloc(desc->natts * sizeof(bool));
	heap_deform_tuple(tuple, desc, values, isnull);

	for (int i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		struct varlena *v;

		if (isnull[i] || att->attlen != -1 || att->attisdropped)
			continue;
		v = (struct varlena *) DatumGetPointer(values[i]);
		if (!VARATT_IS_EXTERNAL(v))
			continue;
		if (VARATT_IS_EXTERNAL_ONDISK(v))
		{
			if (old == NULL)
				return NULL;
			if (oldvalues == NULL)
			{
				oldvalues = palloc(desc->natts * sizeof(Datum));
				oldnull = palloc(desc->natts * sizeof(bool));
				heap_deform_tuple(old, desc, oldvalues, oldnull);
			}
			values[i] = oldvalues[i];
			isnull[i] = oldnull[i];
		}
		else
			values[i] = PointerGetDatum(detoast_external_attr(v));
	}
	result = heap_form_tuple(desc, values, isnull);
	return result;
}

/* Append a change to the batch; called in the batch's memory context. */
static void
capture_append(CapturedChange *c)
{
	CaptureCurrent->changes = lappend(CaptureCurrent->changes, c);
	CaptureCurrent->touched = list_append_unique_oid(CaptureCurrent->touched,
													 c->relid);
}

static void
capture_startup(LogicalDecodingContext *ctx, OutputPluginOptions *opt,
				bool is_init)
{
	if (CaptureCurrent == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("output plugin \"coordinator\" can only be used by the coordinator's dataflow workers")));
	opt->output_type = OUTPUT_PLUGIN_BINARY_OUTPUT;
	opt->receive_rewrites = false;
}

static void
capture_begin(LogicalDecodingContext *ctx, ReorderBufferTXN *txn)
{
}

static void
capture_fail(const char *message, Relation rel)
{
	MemoryContext old = MemoryContextSwitchTo(CaptureCurrent->context);

	if (CaptureCurrent->error == NULL)
	{
		CaptureCurrent->error = psprintf(message, RelationGetRelationName(rel));
		CaptureCurrent->error_relid = RelationGetRelid(rel);
	}
	MemoryContextSwitchTo(old);
}

static void
capture_change(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   Relation rel, ReorderBufferChange *change)
{
	CapturedChange *c;
	MemoryContext old;
	TupleDesc	desc = RelationGetDescr(rel);
	HeapTuple	oldtuple = NULL;

	if (!is_source(RelationGetRelid(rel)))
		return;

	old = MemoryContextSwitchTo(CaptureCurrent->context);
	c = palloc0(sizeof(CapturedChange));
	c->relid = RelationGetRelid(rel);
	c->xid = txn->xid;

	switch (change->action)
	{
		case REORDER_BUFFER_CHANGE_INSERT:
			c->kind = CAPTURE_INSERT;
			break;
		case REORDER_BUFFER_CHANGE_UPDATE:
			c->kind = CAPTURE_UPDATE;
			break;
		case REORDER_BUFFER_CHANGE_DELETE:
			c->kind = CAPTURE_DELETE;
			break;
		default:
			MemoryContextSwitchTo(old);
			return;
	}

	if (c->kind != CAPTURE_INSERT)
	{
		if (change->data.tp.oldtuple == NULL ||
			rel->rd_rel->relreplident != REPLICA_IDENTITY_FULL)
		{
			MemoryContextSwitchTo(old);
			capture_fail("an UPDATE or DELETE of \"%s\" was logged without its old row; the table needs REPLICA IDENTITY FULL", rel);
			return;
		}
		oldtuple = &change->data.tp.oldtuple->tuple;
		c->oldtuple = copy_tuple(oldtuple, desc, NULL);
	}
	if (c->kind != CAPTURE_DELETE)
	{
		c->newtuple = copy_tuple(&change->data.tp.newtuple->tuple, desc, oldtuple);
		if (c->newtuple == NULL)
		{
			MemoryContextSwitchTo(old);
			capture_fail("a TOAST value of \"%s\" could not be decoded", rel);
			return;
		}
	}

	capture_append(c);
	MemoryContextSwitchTo(old);
}

static void
capture_truncate(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				 int nrelations, Relation relations[],
				 ReorderBufferChange *change)
{
	MemoryContext old = MemoryContextSwitchTo(CaptureCurrent->context);

	for (int i = 0; i < nrelations; i++)
	{
		CapturedChange *c;

		if (!is_source(RelationGetRelid(relations[i])))
			continue;
		c = palloc0(sizeof(CapturedChange));
		c->kind = CAPTURE_TRUNCATE;
		c->relid = RelationGetRelid(relations[i]);
		c->xid = txn->xid;
		capture_append(c);
	}
	MemoryContextSwitchTo(old);
}

/* A transaction with captured changes ends at its commit's end. */
static void
capture_commit(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
			   XLogRecPtr commit_lsn)
{
	MemoryContext old = MemoryContextSwitchTo(CaptureCurrent->context);

	CaptureCurrent->decoded_xids = lappend_int(CaptureCurrent->decoded_xids,
											   (int) txn->xid);
	MemoryContextSwitchTo(old);
	/* the views' time follows the commits */
	CaptureCurrent->clock = Max(CaptureCurrent->clock, txn->xact_time.commit_time);
	if (rbtxn_has_catalog_changes(txn))
		CaptureCurrent->catalog_changed = true;
	else
	{
		dlist_iter	iter;

		dlist_foreach(iter, &txn->subtxns)
		{
			ReorderBufferTXN *sub = dlist_container(ReorderBufferTXN, node, iter.cur);

			if (rbtxn_has_catalog_changes(sub))
				CaptureCurrent->catalog_changed = true;
		}
	}
	if (list_length(CaptureCurrent->changes) > CaptureCurrent->committed_changes)
	{
		for (int i = CaptureCurrent->committed_changes; i < list_length(CaptureCurrent->changes); i++)
			((CapturedChange *) list_nth(CaptureCurrent->changes, i))->commit_end = txn->end_lsn;
		CaptureCurrent->committed_changes = list_length(CaptureCurrent->changes);
		CaptureCurrent->last_change_end = txn->end_lsn;
	}
}

/* A clock message: the wall time it carries is the views' time from then on. */
static void
capture_message(LogicalDecodingContext *ctx, ReorderBufferTXN *txn,
				XLogRecPtr message_lsn, bool transactional, const char *prefix,
				Size message_size, const char *message)
{
	TimestampTz clock;

	if (strcmp(prefix, COORDINATOR_CLOCK_PREFIX) != 0 || message_size != sizeof(clock))
		return;
	memcpy(&clock, message, sizeof(clock));
	CaptureCurrent->clock = Max(CaptureCurrent->clock, clock);
}

/* Our own writes to view tables carry our origin: never decode them. */
static bool
capture_filter_by_origin(LogicalDecodingContext *ctx, RepOriginId origin_id)
{
	return origin_id != InvalidRepOriginId &&
		origin_id == CaptureCurrent->origin;
}

static void
capture_shutdown(LogicalDecodingContext *ctx)
{
}

void
_PG_output_plugin_init(OutputPluginCallbacks *cb)
{
	cb->startup_cb = capture_startup;
	cb->begin_cb = capture_begin;
	cb->change_cb = capture_change;
	cb->truncate_cb = capture_truncate;
	cb->commit_cb = capture_commit;
	cb->message_cb = capture_message;
	cb->filter_by_origin_cb = capture_filter_by_origin;
	cb->shutdown_cb = capture_shutdown;
}
