/*-------------------------------------------------------------------------
 *
 * source.c
 *	  coordinator.create_webhook_source: a table that receives HTTP POSTs.
 *
 * The table has column body (text, jsonb or bytea), column headers (jsonb,
 * when include_headers) and one nullable text column per header named in
 * header_columns.  It is an ordinary table owned by the caller: maintained
 * views read it like any other, and the listener appends to it with the
 * owner's rights.
 *
 * The CHECK expression is parsed on its own (it must be exactly one
 * expression, so its text cannot reshape a query around it), analyzed with
 * body, headers and the named secrets as parameters, and stored analyzed,
 * as Postgres stores a CHECK constraint: functions and operators are fixed
 * at creation whatever search_path says later, and the table depends on
 * them.  It must be boolean, must read the request, may not contain
 * subqueries, and may call only IMMUTABLE functions apart from now().
 * The table does not depend on the extension's own functions (hmac,
 * constant_time_eq): they live exactly as long as the catalog row that
 * holds the CHECK, and a dependency on them would let DROP EXTENSION ...
 * CASCADE drop the user's table with its rows.
 *
 * What becomes of sources when the extension goes: outlive.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parse_coerce.h"
#include "parser/parse_collate.h"
#include "parser/parse_expr.h"
#include "parser/parse_node.h"
#include "parser/parser.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/formatting.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/varlena.h"

#include "coordinator/coordinator.h"
#include "coordinator/coordinator.h"
#include "coordinator/webhook.h"

PG_FUNCTION_INFO_V1(coordinator_create_webhook_source);
PG_FUNCTION_INFO_V1(coordinator_make_webhook_source);
PG_FUNCTION_INFO_V1(coordinator_webhook_url);

static const char *const body_format_names[] = {
	[WEBHOOK_BODY_TEXT] = "text",
	[WEBHOOK_BODY_JSON] = "json",
	[WEBHOOK_BODY_JSON_ARRAY] = "json array",
	[WEBHOOK_BODY_BYTES] = "bytes",
};

WebhookBodyFormat
WebhookParseBodyFormat(const char *format)
{
	for (int i = 0; i < lengthof(body_format_names); i++)
	{
		if (pg_strcasecmp(format, body_format_names[i]) == 0)
			return (WebhookBodyFormat) i;
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid webhook body format \"%s\"", format),
			 errhint("Use text, json, json array or bytes.")));
	return WEBHOOK_BODY_TEXT;	/* keep compiler quiet */
}

const char *
WebhookBodyFormatName(WebhookBodyFormat format)
{
	return body_format_names[format];
}

/* The column a header is stored in: lower case, [a-z0-9_] kept, others _. */
char *
WebhookHeaderColumnName(const char *header)
{
	char	   *name = pstrdup(header);

	for (char *p = name; *p; p++)
	{
		*p = pg_ascii_tolower((unsigned char) *p);
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
			*p = '_';
	}
	return name;
}

/* An HTTP field name is a token (RFC 9110 5.1): visible ASCII, no separators. */
static bool
is_header_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
	{
		unsigned char c = (unsigned char) *s;

		if (c <= 32 || c >= 127 || strchr("\"(),/:;<=>?@[\\]{}", c) != NULL)
			return false;
	}
	return true;
}

/* The elements of a text[] argument, lower case if asked; NULLs refused. */
static List *
text_array_list(ArrayType *array, const char *argname, bool lower)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not contain NULL", argname)));
		s = TextDatumGetCString(elems[i]);
		if (lower)
			s = asc_tolower(s, strlen(s));
		if (list_member(result, makeString(s)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s names \"%s\" twice", argname, s)));
		result = lappend(result, makeString(s));
	}
	return result;
}

static List *
header_list(ArrayType *array, const char *argname)
{
	List	   *headers = text_array_list(array, argname, true);
	ListCell   *lc;

	foreach(lc, headers)
	{
		if (!is_header_token(strVal(lfirst(lc))))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("\"%s\" in %s is not an HTTP header name", strVal(lfirst(lc)), argname)));
	}
	return headers;
}

/* List of String nodes to a List of char *, for CatalogWebhook. */
static List *
string_values(List *strings)
{
	List	   *result = NIL;
	ListCell   *lc;

	foreach(lc, strings)
		result = lappend(result, strVal(lfirst(lc)));
	return result;
}

/* ---- the CHECK expression ---- */

typedef struct CheckScope
{
	Oid			body_type;
	List	   *secrets;		/* String nodes */
} CheckScope;

static Node *
make_param(int paramid, Oid type, int location)
{
	Param	   *param = makeNode(Param);

	param->paramkind = PARAM_EXTERN;
	param->paramid = paramid;
	param->paramtype = type;
	param->paramtypmod = -1;
	param->paramcollid = get_typcollation(type);
	param->location = location;
	return (Node *) param;
}

/* body, headers and the secrets are the only names a CHECK can use. */
static Node *
check_columnref(ParseState *pstate, ColumnRef *cref)
{
	CheckScope *scope = pstate->p_ref_hook_state;
	const char *name;
	ListCell   *lc;

	if (list_length(cref->fields) != 1 || !IsA(linitial(cref->fields), String))
		return NULL;
	name = strVal(linitial(cref->fields));
	if (strcmp(name, "body") == 0)
		return make_param(WEBHOOK_PARAM_BODY, scope->body_type, cref->location);
	if (strcmp(name, "headers") == 0)
		return make_param(WEBHOOK_PARAM_HEADERS, JSONBOID, cref->location);
	foreach(lc, scope->secrets)
	{
		if (strcmp(name, strVal(lfirst(lc))) == 0)
			return make_param(WEBHOOK_FIRST_SECRET_PARAM + foreach_current_index(lc),
							  TEXTOID, cref->location);
	}
	return NULL;
}

static bool
not_deterministic(Oid funcid, void *context)
{
	if (funcid == F_NOW || func_volatile(funcid) == PROVOLATILE_IMMUTABLE)
		return false;
	*(Oid *) context = funcid;
	return true;
}

/* Refuse what could answer differently for the same request, apart from now(). */
static bool
check_deterministic_walker(Node *node, void *context)
{
	Oid			funcid = InvalidOid;

	if (node == NULL)
		return false;
	if (check_functions_in_node(node, not_deterministic, &funcid))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("webhook CHECK expressions do not support function %s",
						format_procedure(funcid)),
				 errdetail("Apart from now(), only IMMUTABLE functions are allowed; %s is %s.",
						   format_procedure(funcid),
						   func_volatile(funcid) == PROVOLATILE_STABLE ? "STABLE" : "VOLATILE")));
	if (IsA(node, SQLValueFunction) &&
		((SQLValueFunction *) node)->op >= SVFOP_CURRENT_ROLE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("webhook CHECK expressions do not support CURRENT_USER, CURRENT_SCHEMA and similar value functions")));
	if (IsA(node, NextValueExpr))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("webhook CHECK expressions do not support sequence functions")));
	return expression_tree_walker(node, check_deterministic_walker, context);
}

static bool
reads_request_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) &&
		(((Param *) node)->paramid == WEBHOOK_PARAM_BODY ||
		 ((Param *) node)->paramid == WEBHOOK_PARAM_HEADERS))
		return true;
	return expression_tree_walker(node, reads_request_walker, context);
}

typedef struct CheckErrorContext
{
	const char *source;
	const char *sql;			/* "SELECT <check_expression>" */
} CheckErrorContext;

/*
 * Errors point into the CHECK expression as parsed, not into the calling
 * statement, as errors in a SQL function's body do.
 */
static void
check_error_callback(void *arg)
{
	CheckErrorContext *ctx = arg;
	int			position = geterrposition();

	if (position > 0)
	{
		errposition(0);
		internalerrposition(position);
		internalerrquery(ctx->sql);
	}
	errcontext("CHECK expression of webhook source \"%s\"", ctx->source);
}

/*
 * Analyze the CHECK expression text: a boolean expression over body,
 * headers and secrets.  Returns the analyzed expression.
 */
static Node *
analyze_check(const char *source, const char *text, WebhookBodyFormat format,
			  List *secrets)
{
	ErrorContextCallback errcallback;
	CheckErrorContext errctx;
	List	   *parsed;
	SelectStmt *select = NULL;
	ParseState *pstate;
	CheckScope	scope;
	Node	   *expr;

	errctx.source = source;
	errctx.sql = psprintf("SELECT %s", text);
	errcallback.callback = check_error_callback;
	errcallback.arg = &errctx;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	parsed = raw_parser(errctx.sql, RAW_PARSE_DEFAULT);
	if (list_length(parsed) == 1 &&
		IsA(linitial_node(RawStmt, parsed)->stmt, SelectStmt))
		select = (SelectStmt *) linitial_node(RawStmt, parsed)->stmt;
	if (select == NULL || select->op != SETOP_NONE ||
		list_length(select->targetList) != 1 ||
		select->distinctClause || select->intoClause || select->fromClause ||
		select->whereClause || select->groupClause || select->havingClause ||
		select->windowClause || select->valuesLists || select->sortClause ||
		select->limitOffset || select->limitCount || select->lockingClause ||
		select->withClause ||
		linitial_node(ResTarget, select->targetList)->name != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("check_expression must be a single expression")));

	scope.body_type = format == WEBHOOK_BODY_BYTES ? BYTEAOID : TEXTOID;
	scope.secrets = secrets;
	pstate = make_parsestate(NULL);
	pstate->p_sourcetext = errctx.sql;
	pstate->p_pre_columnref_hook = check_columnref;
	pstate->p_ref_hook_state = &scope;

	expr = transformExpr(pstate, linitial_node(ResTarget, select->targetList)->val,
						 EXPR_KIND_CHECK_CONSTRAINT);
	expr = coerce_to_boolean(pstate, expr, "CHECK");
	assign_expr_collations(pstate, expr);
	free_parsestate(pstate);

	(void) check_deterministic_walker(expr, NULL);
	if (!reads_request_walker(expr, NULL))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("check_expression does not read the request"),
				 errhint("A CHECK must use body or headers.")));

	error_context_stack = errcallback.previous;
	return expr;
}

/* Does the current role own a secret of this name?  (Row-level security applies.) */
static void
require_secret(const char *name)
{
	Oid			types[2] = {OIDOID, TEXTOID};
	Datum		values[2] = {ObjectIdGetDatum(GetUserId()), CStringGetTextDatum(name)};

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM coordinator.secrets "
							  "WHERE owner OPERATOR(pg_catalog.=) $1 AND name OPERATOR(pg_catalog.=) $2",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read coordinator.secrets");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("secret \"%s\" does not exist", name),
				 errhint("Create it with coordinator.create_secret(name, value).")));
	SPI_finish();
}

/* The type column body has for a body format. */
static Oid
body_type(WebhookBodyFormat format)
{
	return format == WEBHOOK_BODY_TEXT ? TEXTOID :
		format == WEBHOOK_BODY_BYTES ? BYTEAOID : JSONBOID;
}

/*
 * An existing table can become a source if it is an ordinary permanent
 * table of the current user, not a source yet, with the columns
 * create_webhook_source would have given it (more columns are fine: the
 * listener leaves them to their defaults).
 */
static void
check_existing_table(Oid relid, const CatalogWebhook *source, List *columns)
{
	const char *relname = get_rel_name(relid);
	ListCell   *lc;

	if (get_rel_relkind(relid) != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", relname),
				 errdetail("Only ordinary tables can be webhook sources.")));
	if (get_rel_persistence(relid) == RELPERSISTENCE_TEMP)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("webhook sources cannot be temporary tables"),
				 errdetail("The listener appends to the table from a session of its own.")));
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, OBJECT_TABLE, relname);
	if (WebhookCatalogHas(relid))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("table \"%s\" is already a webhook source", relname)));

	foreach(lc, columns)
	{
		const char *column = strVal(lfirst(lc));
		AttrNumber	attnum = get_attnum(relid, column);
		Oid			expected;
		Oid			actual;

		expected = foreach_current_index(lc) == 0 ? body_type(source->body_format) :
			source->include_headers && foreach_current_index(lc) == 1 ? JSONBOID : TEXTOID;
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("table \"%s\" has no column \"%s\"", relname, column),
					 errdetail("A webhook source with these arguments stores the request in column \"%s\" of type %s.",
							   column, format_type_be(expected))));
		actual = get_atttype(relid, attnum);
		if (actual != expected)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of table \"%s\" is of type %s, not %s",
							column, relname, format_type_be(actual), format_type_be(expected))));
	}
}

/*
 * The table does not depend on the extension's own functions in its
 * CHECK: they go only with the extension, which takes the CHECK with it,
 * and DROP EXTENSION ... CASCADE must not drop the table through them.
 */
static bool
forget_extension_function(Oid funcid, void *context)
{
	Oid			relid = *(Oid *) context;

	if (getExtensionOfObject(ProcedureRelationId, funcid) ==
		get_extension_oid(COORDINATOR_NAME, false))
		deleteDependencyRecordsForSpecific(RelationRelationId, relid, DEPENDENCY_NORMAL,
										   ProcedureRelationId, funcid);
	return false;
}

static bool
forget_extension_functions_walker(Node *node, void *context)
{
	if (node == NULL)
		return false;
	(void) check_functions_in_node(node, forget_extension_function, context);
	return expression_tree_walker(node, forget_extension_functions_walker, context);
}

/*
 * coordinator.create_webhook_source(name, ...) and
 * coordinator.make_webhook_source(source, ...): the arguments after the
 * first are the same, (body_format, include_headers, exclude_headers,
 * header_columns, check_expression, secrets).  With make_existing the
 * first argument is the table to make a source (an OID, maybe of nothing);
 * otherwise the name of the table to create.
 * A restore (restoring) defines a source as the dump saved it: secrets are
 * not in a dump, so those the CHECK reads need not exist yet (the listener
 * answers 404 until the table's owner creates them again).
 */
static Oid
define_source(FunctionCallInfo fcinfo, bool make_existing, bool restoring)
{
	static const char *const argnames[] = {
		"name", "body_format", "include_headers", "exclude_headers",
		"header_columns", "check_expression", "secrets"
	};
	CatalogWebhook source;
	List	   *exclude;
	List	   *headers;
	List	   *secrets;
	List	   *columns;
	char	   *check_text = NULL;
	Node	   *check = NULL;
	Oid			nspid;
	char	   *relname;
	ListCell   *lc;
	char	   *url;
	Oid			existing = InvalidOid;

	/* the listener serves coordinator.database only */
	CoordinatorCheckSetup();
	for (int i = 0; i < lengthof(argnames); i++)
	{
		if (i != 5 && PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("%s must not be NULL", i == 0 && make_existing ? "source" : argnames[i])));
	}

	if (make_existing)
	{
		existing = PG_GETARG_OID(0);
		relname = get_rel_name(existing);
		nspid = get_rel_namespace(existing);
		if (relname == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("relation with OID %u does not exist", existing)));
	}
	else
	{
		RangeVar   *rv = makeRangeVarFromNameList(textToQualifiedNameList(PG_GETARG_TEXT_PP(0)));

		relname = rv->relname;
		nspid = RangeVarGetCreationNamespace(rv);
		if (isAnyTempNamespace(nspid))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("webhook sources cannot be temporary tables"),
					 errdetail("The listener appends to the table from a session of its own.")));
	}

	memset(&source, 0, sizeof(source));
	source.body_format = WebhookParseBodyFormat(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	source.include_headers = PG_GETARG_BOOL(2);
	exclude = header_list(PG_GETARG_ARRAYTYPE_P(3), "exclude_headers");
	headers = header_list(PG_GETARG_ARRAYTYPE_P(4), "header_columns");
	secrets = text_array_list(PG_GETARG_ARRAYTYPE_P(6), "secrets", false);
	if (exclude != NIL && !source.include_headers)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exclude_headers needs include_headers")));

	/* Column names: body, headers, then one per header column, all distinct. */
	columns = list_make1(makeString("body"));
	if (source.include_headers)
		columns = lappend(columns, makeString("headers"));
	foreach(lc, headers)
	{
		char	   *column = WebhookHeaderColumnName(strVal(lfirst(lc)));

		if (list_member(columns, makeString(column)))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("header \"%s\" would be stored in column \"%s\", which already exists",
							strVal(lfirst(lc)), column),
					 errdetail("A header's column is its name in lower case with characters other than letters, digits and _ replaced by _.")));
		columns = lappend(columns, makeString(column));
	}

	foreach(lc, secrets)
	{
		const char *name = strVal(lfirst(lc));

		if (strcmp(name, "body") == 0 || strcmp(name, "headers") == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a secret named \"%s\" cannot be used in a CHECK expression", name),
					 errdetail("body and headers name the request.")));
		if (!restoring)
			require_secret(name);
	}

	if (!PG_ARGISNULL(5))
	{
		check_text = text_to_cstring(PG_GETARG_TEXT_PP(5));
		check = analyze_check(relname, check_text, source.body_format, secrets);
	}
	else if (secrets != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("secrets are only read by a check_expression")));

	if (make_existing)
	{
		check_existing_table(existing, &source, columns);
		source.relid = existing;
	}
	else
	{
		StringInfoData sql;

		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE TABLE %s (body %s NOT NULL",
						 quote_qualified_identifier(get_namespace_name(nspid), relname),
						 source.body_format == WEBHOOK_BODY_TEXT ? "pg_catalog.text" :
						 source.body_format == WEBHOOK_BODY_BYTES ? "pg_catalog.bytea" :
						 "pg_catalog.jsonb");
		if (source.include_headers)
			appendStringInfoString(&sql, ", headers pg_catalog.jsonb NOT NULL");
		for_each_from(lc, columns, source.include_headers ? 2 : 1)
			appendStringInfo(&sql, ", %s pg_catalog.text", quote_identifier(strVal(lfirst(lc))));
		appendStringInfoChar(&sql, ')');

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute(sql.data, false, 0) != SPI_OK_UTILITY)
			elog(ERROR, "could not create table for webhook source");
		SPI_finish();
		CommandCounterIncrement();
		source.relid = get_relname_relid(relname, nspid);
	}

	if (check != NULL)
	{
		ObjectAddress table;

		ObjectAddressSet(table, RelationRelationId, source.relid);
		recordDependencyOnExpr(&table, check, NIL, DEPENDENCY_NORMAL);
		CommandCounterIncrement();
		(void) forget_extension_functions_walker(check, &source.relid);
		source.check_plan = nodeToString(check);
	}
	source.exclude_headers = string_values(exclude);
	source.header_columns = string_values(headers);
	source.secrets = string_values(secrets);
	WebhookCatalogInsert(&source, check_text);

	url = WebhookUrl(get_database_name(MyDatabaseId), get_namespace_name(nspid), relname);
	if (url != NULL)
		ereport(NOTICE,
				(errmsg("URL to POST data is '%s'", url)));
	else
		ereport(NOTICE,
				(errmsg("webhook source \"%s\" accepts no requests while coordinator.webhook_port is 0",
						relname),
				 errhint("Set coordinator.webhook_port in postgresql.conf and restart the server.")));
	return source.relid;
}

/*
 * coordinator.create_webhook_source(name, body_format, include_headers,
 *     exclude_headers, header_columns, check_expression, secrets) RETURNS regclass
 */
Datum
coordinator_create_webhook_source(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(define_source(fcinfo, false, false));
}

/*
 * coordinator.make_webhook_source(source regclass, body_format, ...)
 *     RETURNS regclass: an existing table becomes a source, e.g. again
 * after DROP EXTENSION and CREATE EXTENSION.  Its rows stay.
 */
Datum
coordinator_make_webhook_source(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("source must not be NULL")));
	PG_RETURN_OID(define_source(fcinfo, true, false));
}

/*
 * Make table relid a webhook source again, as a dump saved it: values and
 * nulls are a row of coordinator.webhook_options, whose columns after the
 * first are make_webhook_source's arguments (see restore.c).
 */
void
WebhookRestoreSource(Oid relid, Datum *values, bool *nulls)
{
	LOCAL_FCINFO(fcinfo, 7);

	InitFunctionCallInfoData(*fcinfo, NULL, 7, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = ObjectIdGetDatum(relid);
	fcinfo->args[0].isnull = false;
	for (int i = 1; i < 7; i++)
	{
		fcinfo->args[i].value = values[i];
		fcinfo->args[i].isnull = nulls[i];
	}
	(void) define_source(fcinfo, true, true);
}

/* coordinator.webhook_url(source regclass) RETURNS text */
Datum
coordinator_webhook_url(PG_FUNCTION_ARGS)
{
	Oid			relid = PG_GETARG_OID(0);
	char	   *relname = get_rel_name(relid);
	char	   *nspname = get_namespace_name(get_rel_namespace(relid));
	char	   *url;

	/* no such relation (or dropped meanwhile): no URL */
	if (relname == NULL || nspname == NULL)
		PG_RETURN_NULL();
	if (!WebhookCatalogHas(relid))
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("table \"%s\" is not a webhook source", relname),
				 errhint("coordinator.make_webhook_source('%s') makes it one, if it has a column body; coordinator.create_webhook_source(name) creates a new one.",
						 quote_qualified_identifier(nspname, relname))));
	url = WebhookUrl(get_database_name(MyDatabaseId), nspname, relname);
	if (url == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(url));
}
