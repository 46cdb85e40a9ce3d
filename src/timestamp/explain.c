/*-------------------------------------------------------------------------
 *
 * explain.c
 *	  EXPLAIN TIMESTAMP: how a read's timestamp was chosen, in Materialize's
 *	  layout (text) and as jsonb.
 *
 * Each timestamp is shown as the number it is (a WAL position), with its
 * wall-clock time from the timeline and the position in the form pg_lsn
 * prints.  Frontiers are shown as Materialize shows them, in brackets: an
 * empty frontier [] is a view that cannot be read yet.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"

#include "coordinator/shmem.h"
#include "coordinator/timestamp.h"

/* Unix epoch milliseconds of a TimestampTz, as Materialize counts time. */
static int64
epoch_ms(TimestampTz t)
{
	return t / 1000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

static char *
frontier_string(XLogRecPtr ts)
{
	return ts == InvalidXLogRecPtr ? pstrdup("[]") : psprintf("[%s]", TimestampString(ts));
}

static char *
input_name(Oid relid)
{
	char	   *name = get_rel_name(relid);

	if (name == NULL)
		return psprintf("%u", relid);
	return quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)), name);
}

/* The views whose since is the greatest: they bind the lower bound. */
static char *
binding_inputs(TimestampDetermination *det)
{
	StringInfoData buf;
	bool		first = true;

	initStringInfo(&buf);
	for (int i = 0; i < det->ninputs; i++)
	{
		if (det->inputs[i].since != det->since)
			continue;
		appendStringInfo(&buf, "%s%s", first ? "" : ", ", input_name(det->inputs[i].relid));
		first = false;
	}
	return buf.data;
}

/* A lower bound on the query timestamp, and why. */
typedef struct LowerConstraint
{
	char	   *reason;
	XLogRecPtr	frontier;		/* 0: empty */
} LowerConstraint;

/*
 * The binding lower constraints, minimized as Materialize does: those
 * dominated by another are dropped, ties are kept.  Returns how many.
 */
static int
lower_constraints(TimestampDetermination *det, LowerConstraint *out)
{
	XLogRecPtr	bound = Max(det->since, det->oracle);
	int			n = 0;

	if (det->ninputs > 0 && det->since == bound)
	{
		out[n].reason = psprintf("Storage inputs: [%s]", binding_inputs(det));
		out[n++].frontier = det->since;
	}
	if (det->strict && det->oracle == bound)
	{
		out[n].reason = "Isolation level: StrictSerializable";
		out[n++].frontier = det->oracle;
	}
	if (!det->strict && det->ninputs == 0)
	{
		out[n].reason = "Isolation level: Serializable";
		out[n++].frontier = InvalidXLogRecPtr;
	}
	return n;
}

char *
TimestampExplainText(TimestampDetermination *det)
{
	StringInfoData buf;
	LowerConstraint lower[3];
	int			nlower = lower_constraints(det, lower);

	initStringInfo(&buf);
	appendStringInfo(&buf, "                query timestamp: %s\n", TimestampString(det->chosen));
	if (det->strict)
		appendStringInfo(&buf, "          oracle read timestamp: %s\n", TimestampString(det->oracle));
	if (det->upper > 0)
		appendStringInfo(&buf, "largest not in advance of upper: %s\n",
						 TimestampString(det->upper - 1));
	appendStringInfo(&buf, "                          upper:%s\n", frontier_string(det->upper));
	appendStringInfo(&buf, "                          since:%s\n", frontier_string(det->since));
	appendStringInfo(&buf, "        can respond immediately: %s\n",
					 det->respond_immediately ? "true" : "false");
	appendStringInfoString(&buf, "                       timeline: Some(WalPosition)\n");
	appendStringInfo(&buf, "              session wall time: " INT64_FORMAT " (%s)\n",
					 epoch_ms(det->wall), WallTimeString(det->wall));
	if (det->waited_ms > 0)
		appendStringInfo(&buf, "                         waited: %ld ms\n", det->waited_ms);
	if (det->primary_token != InvalidXLogRecPtr)
	{
		appendStringInfo(&buf, "       primary timestamp (token): %X/%X\n",
						 LSN_FORMAT_ARGS(det->primary_token));
		appendStringInfo(&buf, "  applied by subscription %s: %X/%X\n",
						 quote_identifier(det->subscription),
						 LSN_FORMAT_ARGS(det->primary_applied));
	}

	for (int i = 0; i < det->ninputs; i++)
	{
		TimestampInput *in = &det->inputs[i];

		appendStringInfo(&buf, "\nview %s (worker %d%s%s):\n", input_name(in->relid),
						 in->worker, in->state == VIEW_READY ? "" : ", ",
						 in->state == VIEW_READY ? "" : CoordinatorViewStateName(in->state));
		appendStringInfo(&buf, "                  read frontier:%s\n", frontier_string(in->since));
		appendStringInfo(&buf, "                 write frontier:%s\n", frontier_string(in->upper));
	}

	appendStringInfoString(&buf, "\nbinding constraints:\nlower:\n");
	for (int i = 0; i < nlower; i++)
		appendStringInfo(&buf, "  (%s): %s\n", lower[i].reason,
						 frontier_string(lower[i].frontier));

	/* no trailing newline, as EXPLAIN */
	if (buf.len > 0 && buf.data[buf.len - 1] == '\n')
		buf.data[--buf.len] = '\0';
	return buf.data;
}

/* A JSON array holding one timestamp, or [] for an empty frontier. */
static void
json_frontier(StringInfo buf, XLogRecPtr ts)
{
	if (ts == InvalidXLogRecPtr)
		appendStringInfoString(buf, "[]");
	else
		appendStringInfo(buf, "[" UINT64_FORMAT "]", (uint64) ts);
}

static void
json_timestamp(StringInfo buf, const char *key, XLogRecPtr ts)
{
	escape_json(buf, key);
	if (ts == InvalidXLogRecPtr)
	{
		appendStringInfoString(buf, ": null");
		return;
	}
	appendStringInfo(buf, ": {\"ts\": " UINT64_FORMAT ", \"lsn\": \"%X/%X\", \"wall_time\": ",
					 (uint64) ts, LSN_FORMAT_ARGS(ts));
	escape_json(buf, WallTimeString(TimelineWallTime(ts)));
	appendStringInfoChar(buf, '}');
}

Jsonb *
TimestampExplainJsonb(TimestampDetermination *det)
{
	StringInfoData buf;
	LowerConstraint lower[3];
	int			nlower = lower_constraints(det, lower);

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"determination\": {\"timestamp_context\": "
					 "{\"timeline\": \"WalPosition\", \"chosen_ts\": " UINT64_FORMAT ", \"oracle_ts\": ",
					 (uint64) det->chosen);
	if (det->strict)
		appendStringInfo(&buf, UINT64_FORMAT "}", (uint64) det->oracle);
	else
		appendStringInfoString(&buf, "null}");
	appendStringInfoString(&buf, ", \"since\": ");
	json_frontier(&buf, det->since);
	appendStringInfoString(&buf, ", \"upper\": ");
	json_frontier(&buf, det->upper);
	appendStringInfoString(&buf, ", \"largest_not_in_advance_of_upper\": ");
	if (det->upper > 0)
		appendStringInfo(&buf, UINT64_FORMAT, (uint64) (det->upper - 1));
	else
		appendStringInfoString(&buf, "null");
	appendStringInfoString(&buf, ", \"constraints\": {\"lower\": [");
	for (int i = 0; i < nlower; i++)
	{
		appendStringInfo(&buf, "%s{\"reason\": ", i == 0 ? "" : ", ");
		escape_json(&buf, lower[i].reason);
		appendStringInfoString(&buf, ", \"frontier\": ");
		json_frontier(&buf, lower[i].frontier);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfoString(&buf, "], \"upper\": []}}, \"sources\": [");
	for (int i = 0; i < det->ninputs; i++)
	{
		TimestampInput *in = &det->inputs[i];

		appendStringInfo(&buf, "%s{\"name\": ", i == 0 ? "" : ", ");
		escape_json(&buf, input_name(in->relid));
		appendStringInfo(&buf, ", \"worker\": %d, \"state\": ", in->worker);
		escape_json(&buf, CoordinatorViewStateName(in->state));
		appendStringInfoString(&buf, ", \"read_frontier\": ");
		json_frontier(&buf, in->since);
		appendStringInfoString(&buf, ", \"write_frontier\": ");
		json_frontier(&buf, in->upper);
		appendStringInfoChar(&buf, '}');
	}
	appendStringInfo(&buf, "], \"session_wall_time\": " INT64_FORMAT
					 ", \"respond_immediately\": %s, ",
					 epoch_ms(det->wall), det->respond_immediately ? "true" : "false");
	json_timestamp(&buf, "query_timestamp", det->chosen);
	appendStringInfoString(&buf, ", ");
	json_timestamp(&buf, "upper", det->upper);
	appendStringInfoString(&buf, ", ");
	json_timestamp(&buf, "since", det->since);
	if (det->primary_token != InvalidXLogRecPtr)
	{
		appendStringInfo(&buf, ", \"primary\": {\"token\": \"%X/%X\", \"subscription\": ",
						 LSN_FORMAT_ARGS(det->primary_token));
		escape_json(&buf, det->subscription);
		appendStringInfo(&buf, ", \"applied\": \"%X/%X\"}",
						 LSN_FORMAT_ARGS(det->primary_applied));
	}
	appendStringInfoChar(&buf, '}');

	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
