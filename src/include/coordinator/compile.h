/*-------------------------------------------------------------------------
 *
 * compile.h
 *	  Compile an analyzed Query into a dataflow plan, or refuse it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_COMPILE_H
#define COORDINATOR_COMPILE_H

#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/relcache.h"

/*
 * The plan of a view: the PlannedStmt Postgres's planner made for its
 * query, checked to contain only nodes the dataflow maintains, the tables
 * it scans, the maintained views it scans as inputs, and the relations its
 * query names (they differ for a partitioned table, named, whose
 * partitions are scanned).  Stored in the catalog with nodeToString.
 */
typedef struct CompiledView
{
	PlannedStmt *plan;
	List	   *sources;		/* OIDs of the tables scanned */
	List	   *inputs;			/* OIDs of the maintained views scanned */
	List	   *tables;			/* OIDs of the relations named (the catalog's) */
} CompiledView;

extern CompiledView *CompileView(Query *query, const char *source_text,
								 bool check_rights, List *inputs);
extern void CompileRefuse(const char *construct, int location) pg_attribute_noreturn();

extern int	CompileErrposition(int location);

/* temporal.c: temporal filters (now() in WHERE) */
typedef struct TemporalCondition
{
	Expr	   *clause;			/* the comparison */
	Expr	   *row_side;		/* its side without the clock */
	Expr	   *clock_side;		/* its side that grows with the clock */
	bool		until;			/* holds until its bound, not from it */
} TemporalCondition;

extern bool TemporalIsClock(Node *node);
extern bool TemporalContainsClock(Node *node);
extern bool TemporalMatch(Node *clause, TemporalCondition *t);
extern List *TemporalConditionsOf(Query *query);
extern bool TemporalStableAllowed(Oid funcid);
extern void TemporalRefuse(Node *clock) pg_attribute_noreturn();
extern void TemporalCheckPlanNode(Plan *plan, Node *other_expressions);
extern Expr *TemporalReplaceClock(Expr *expr, int paramid);

/* plancheck.c: every plan node has an operator */
extern void CompileCheckPlan(PlannedStmt *stmt, Plan *plan, List **scans);
extern Query *CompileStoredQuery(Relation rel);
extern char *CompiledViewToString(CompiledView *view);
extern PlannedStmt *CompiledPlanFromString(const char *plan);

/* recursion.c: WITH RECURSIVE's recursive term */
extern void CompileCheckRecursion(PlannedStmt *stmt, RecursiveUnion *ru);

/* decorrelate.c: correlated scalar subqueries become joins */
extern void CompileDecorrelate(Query *query);

/* lateral.c: LATERAL subqueries over tables become joins */
extern void CompileDecorrelateLateral(Query *query);

/* groupingsets.c: GROUPING SETS as a UNION ALL of a GROUP BY per set */
extern void CompileExpandGroupingSets(Query *query);

/* rowsecurity.c: policies as the view's owner sees them */
extern void CompileRowSecurity(Query *query, Oid reader);

/* prune.c: columns a join arranges but never reads become NULL */
extern void CompilePruneColumns(PlannedStmt *stmt);

/* querytext.c: queries passed as text */
typedef struct QueryTextContext
{
	ErrorContextCallback callback;
	const char *query;
	int			offset;			/* where query starts in the statement run */
} QueryTextContext;

extern void QueryTextPush(QueryTextContext *ctx, const char *query, int offset);
extern void QueryTextPop(QueryTextContext *ctx);
extern RawStmt *QueryTextParse(const char *query, const char *what);
extern Query *QueryTextAnalyze(const char *query, const char *what);

#endif							/* COORDINATOR_COMPILE_H */
