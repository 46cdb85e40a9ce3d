/*-------------------------------------------------------------------------
 *
 * target.c
 *	  What a subscription's target names (a relation, or a query to run as
 *	  a transient dataflow), and the shape of its output: its columns, the
 *	  progress column, and the upsert key.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "funcapi.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"

#include "coordinator/catalog.h"
#include "subscriber_internal.h"

/*
 * Does the text read as a query rather than a relation name?  A name has
 * no space or parenthesis outside double quotes.
 */
static bool
is_query_text(const char *text)
{
	bool		quoted = false;

	while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
		text++;
	for (; *text != '\0'; text++)
	{
		if (*text == '"')
			quoted = !quoted;
		else if (!quoted && (isspace((unsigned char) *text) || *text == '(' || *text == ';'))
			return true;
	}
	return false;
}

/* Parse and analyze a subscription's query: one SELECT (querytext.c). */
Query *
SubscribeAnalyzeQuery(const char *text)
{
	return QueryTextAnalyze(text, "a subscription");
}

/* Resolve a target (does not check privileges). */
void
SubscribeResolveTarget(const char *text, SubscribeTarget *target)
{
	memset(target, 0, sizeof(*target));
	if (text == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("what to subscribe to must not be NULL")));
	if (!is_query_text(text))
	{
		RangeVar   *rv = makeRangeVarFromNameList(stringToQualifiedNameList(text));
		Oid			relid = RangeVarGetRelid(rv, AccessShareLock, false);

		if (CatalogHasView(relid))
		{
			Relation	rel = table_open(relid, NoLock);

			target->relid = relid;
			target->name = pstrdup(RelationGetRelationName(rel));
			target->rowdesc = CreateTupleDescCopy(RelationGetDescr(rel));
			table_close(rel, AccessShareLock);
			return;
		}
		target->name = get_rel_name(relid);
		target->query = psprintf("SELECT * FROM %s",
								 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
															target->name));
		UnlockRelationOid(relid, AccessShareLock);
	}
	else
	{
		target->query = pstrdup(text);
		target->name = "query";
	}
	target->rowdesc = ExecCleanTypeFromTL(SubscribeAnalyzeQuery(target->query)->targetList);
}

static void
add_column(TupleDesc desc, int *n, const char *name, Oid type, int32 typmod,
		   Oid collation)
{
	(*n)++;
	TupleDescInitEntry(desc, *n, name, type, typmod, 0);
	TupleDescInitEntryCollation(desc, *n, collation);
}

/* Key columns of rowdesc named in keys; ERRORs on an unknown name. */
AttrNumber *
SubscribeKeyColumns(TupleDesc rowdesc, List *keys)
{
	AttrNumber *cols = palloc(sizeof(AttrNumber) * Max(list_length(keys), 1));
	ListCell   *lc;
	int			n = 0;

	foreach(lc, keys)
	{
		char	   *name = strVal(lfirst(lc));
		AttrNumber	found = InvalidAttrNumber;

		for (int i = 0; i < rowdesc->natts; i++)
		{
			if (!TupleDescAttr(rowdesc, i)->attisdropped &&
				strcmp(NameStr(TupleDescAttr(rowdesc, i)->attname), name) == 0)
				found = i + 1;
		}
		if (found == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("upsert key column \"%s\" is not a column of the subscription", name)));
		cols[n++] = found;
	}
	return cols;
}

bool
SubscribeIsKey(AttrNumber *keys, int nkeys, AttrNumber att)
{
	for (int i = 0; i < nkeys; i++)
	{
		if (keys[i] == att)
			return true;
	}
	return false;
}

/*
 * The output rows: mz_timestamp, [mz_progressed], mz_diff and the columns;
 * with an upsert key, mz_state instead of mz_diff and the key columns
 * first.
 */
TupleDesc
SubscribeOutputDesc(TupleDesc rowdesc, bool progress, List *keys)
{
	int			natts = 0;
	int			n = 0;
	TupleDesc	desc;
	AttrNumber *kcols = SubscribeKeyColumns(rowdesc, keys);

	for (int i = 0; i < rowdesc->natts; i++)
		natts += TupleDescAttr(rowdesc, i)->attisdropped ? 0 : 1;
	desc = CreateTemplateTupleDesc(natts + (progress ? 3 : 2));
	add_column(desc, &n, "mz_timestamp", INT8OID, -1, InvalidOid);
	if (progress)
		add_column(desc, &n, "mz_progressed", BOOLOID, -1, InvalidOid);
	if (keys != NIL)
		add_column(desc, &n, "mz_state", TEXTOID, -1, DEFAULT_COLLATION_OID);
	else
		add_column(desc, &n, "mz_diff", INT8OID, -1, InvalidOid);
	for (int pass = 0; pass < 2; pass++)
	{
		for (int i = 0; i < rowdesc->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(rowdesc, i);

			if (att->attisdropped)
				continue;
			if (keys != NIL && (pass == 0) != SubscribeIsKey(kcols, list_length(keys), i + 1))
				continue;
			if (keys == NIL && pass == 1)
				continue;
			add_column(desc, &n, NameStr(att->attname), att->atttypid,
					   att->atttypmod, att->attcollation);
		}
	}
	return desc;
}

/* The output columns of a subscription to target (for rewrite.c). */
TupleDesc
SubscriptionShape(const char *text, bool progress, List *keys)
{
	SubscribeTarget target;

	SubscribeResolveTarget(text, &target);
	return SubscribeOutputDesc(target.rowdesc, progress, keys);
}

/* The column names of an upsert_key argument (for rewrite.c too). */
List *
SubscriptionKeyList(ArrayType *array)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	List	   *result = NIL;

	deconstruct_array(array, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("upsert key columns must not be NULL")));
		result = lappend(result, makeString(TextDatumGetCString(elems[i])));
	}
	return result;
}
