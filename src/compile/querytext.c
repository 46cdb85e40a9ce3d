/*-------------------------------------------------------------------------
 *
 * querytext.c
 *	  Queries passed to our functions as text: parse them, and make their
 *	  errors point into the text.
 *
 * coordinator.explain_timestamp('SELECT ...'), create_materialized_view
 * and subscribe take a query as a text argument.  An error found while
 * parsing or analyzing it carries a position in that text, not in the
 * statement the client sent, so, as SPI and PL/pgSQL do, an error context
 * callback turns it into an internal position in an internal query: psql
 * then shows the query text with a caret under the culprit.  A statement
 * other than SELECT is refused with 42809 (wrong_object_type), the code
 * Postgres gives when an object is of the wrong kind for the command; the
 * text is of the wrong kind of statement, and EXPLAIN TIMESTAMP has
 * always answered so.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"

#include "coordinator/compile.h"

/*
 * Error context callback: an error with a position in the query text
 * becomes an internal query with an internal position.  An error raised
 * on a statement built around the text (offset > 0: the text starts at
 * that byte of it, as SPI reports it) is moved into the text when its
 * position falls inside it.
 */
static void
query_text_error_callback(void *arg)
{
	QueryTextContext *ctx = arg;
	int			pos = geterrposition();
	int			internal = getinternalerrposition();

	if (pos > 0)
	{
		errposition(0);
		internalerrposition(pos);
		internalerrquery(ctx->query);
	}
	else if (internal > ctx->offset && ctx->offset > 0)
	{
		internalerrposition(internal - ctx->offset);
		internalerrquery(ctx->query);
	}
}

/*
 * Make errors raised until QueryTextPop point into query.  offset: where
 * query starts in a statement built around it that SPI runs (0 when the
 * text is parsed as it is).  The context lives on the caller's stack.
 */
void
QueryTextPush(QueryTextContext *ctx, const char *query, int offset)
{
	ctx->query = query;
	ctx->offset = offset;
	ctx->callback.callback = query_text_error_callback;
	ctx->callback.arg = ctx;
	ctx->callback.previous = error_context_stack;
	error_context_stack = &ctx->callback;
}

void
QueryTextPop(QueryTextContext *ctx)
{
	Assert(error_context_stack == &ctx->callback);
	error_context_stack = ctx->callback.previous;
}

/*
 * Parse query, which must be one SELECT statement (a WITH or a
 * parenthesized SELECT is one), for the purpose named by what ("EXPLAIN
 * TIMESTAMP", "a subscription").  Errors point into the text.  Returns
 * the raw statement, in the current memory context.
 */
RawStmt *
QueryTextParse(const char *query, const char *what)
{
	QueryTextContext ctx;
	List	   *parsed;
	RawStmt    *raw;

	QueryTextPush(&ctx, query, 0);
	parsed = raw_parser(query, RAW_PARSE_DEFAULT);
	if (list_length(parsed) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the query of %s must be a single statement", what),
				 errdetail("The text holds %d statements.", list_length(parsed)),
				 errhint("Pass one SELECT statement, without a semicolon between statements.")));
	raw = linitial_node(RawStmt, parsed);
	if (!IsA(raw->stmt, SelectStmt) ||
		((SelectStmt *) raw->stmt)->intoClause != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("the query of %s must be a SELECT statement", what),
				 errdetail("The statement is %s.",
						   IsA(raw->stmt, SelectStmt) ? "SELECT INTO" :
						   GetCommandTagName(CreateCommandTag(raw->stmt))),
				 errposition(raw->stmt_location + 1)));
	QueryTextPop(&ctx);
	return raw;
}

/*
 * Parse and analyze query (QueryTextParse) into a SELECT Query, without
 * rewriting it.  Errors point into the text.
 */
Query *
QueryTextAnalyze(const char *query, const char *what)
{
	RawStmt    *raw = QueryTextParse(query, what);
	QueryTextContext ctx;
	Query	   *result;

	QueryTextPush(&ctx, query, 0);
	result = parse_analyze_fixedparams(raw, query, NULL, 0, NULL);
	QueryTextPop(&ctx);
	return result;
}
