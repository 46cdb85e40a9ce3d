/*-------------------------------------------------------------------------
 *
 * dataflow.h
 *	  The dataflow: compiled operators over changes, and the view sink.
 *
 * A change flows: decoded source row -> the view's operators (graph.c and
 * one file per operator) -> signed output rows, consolidated per tick (a
 * Z-set: row -> weight) -> sink (sink.c), which applies the weights to the
 * view's heap table.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_DATAFLOW_H
#define COORDINATOR_DATAFLOW_H

#include "access/tupdesc.h"
#include "nodes/plannodes.h"
#include "executor/tuptable.h"
#include "nodes/execnodes.h"
#include "storage/relfilenode.h"
#include "utils/hsearch.h"
#include "utils/relcache.h"
#include "utils/snapshot.h"
#include "access/xlogdefs.h"

#include "coordinator/compile.h"
#include "coordinator/shmem.h"

/*
 * zset.c: a Z-set is a bag of rows with signed weights.  Rows are
 * MinimalTuples in canonical form (varlenas detoasted and decompressed), so
 * two rows are the same row exactly when their bytes are equal.
 */
typedef struct ZRow
{
	MinimalTuple tuple;
	int64		diff;
} ZRow;

typedef struct ZSet
{
	int			nrows;
	int			maxrows;
	ZRow	   *rows;
} ZSet;

extern void ZSetAdd(ZSet *z, MinimalTuple tuple, int64 diff);
extern void ZSetConsolidate(ZSet *z);
extern void ZSetReset(ZSet *z);
extern MinimalTuple RowFromSlot(TupleTableSlot *slot);
extern uint32 RowImageHash(MinimalTuple tuple);
extern bool RowImageEqual(MinimalTuple a, MinimalTuple b);

/*
 * arrangement.c: an indexed, consolidated collection: rows grouped by a key
 * (a hash, and optionally an equality test between rows), each distinct row
 * once with its multiplicity.  Join inputs and reduce inputs live here.
 */
typedef struct ArrGroup ArrGroup;

/*
 * An arranged row: its links and multiplicity, then its MinimalTuple
 * (ArrRowTuple), then in an arrangement that keeps them, its match count
 * (ArrRowMatches: a join's preserved side, the weight of the rows it
 * matches on the other side).
 */
typedef struct ArrRow
{
	struct ArrRow *next;		/* within the group */
	struct ArrRow *prev;
	struct ArrRow *hnext;		/* same bucket of the row table */
	int64		mult;
} ArrRow;

#define ArrRowTuple(r)	((MinimalTuple) ((char *) (r) + sizeof(ArrRow)))
#define ArrRowMatches(r) \
	((int64 *) ((char *) ArrRowTuple(r) + MAXALIGN(ArrRowTuple(r)->t_len)))

/*
 * A group of an arrangement.  The fields from dirty on are a reduce's
 * (ArrangementKeepGroupState); the groups of other arrangements (a join
 * side has a group per key, up to one per row) end before them.
 */
struct ArrGroup
{
	ArrGroup   *hnext;			/* same bucket of the group table */
	uint32		keyhash;
	MinimalTuple keyrow;		/* with an equality test: a row of the key */
	ArrRow	   *rows;
	int64		nrows;			/* distinct rows */
	/* a reduce's groups only */
	bool		dirty;			/* reduce: changed this tick */
	ArrGroup   *next_dirty;
	union
	{
		List	   *rows;		/* reduce: MinimalTuples last emitted */
		MinimalTuple row;		/* reduce of aggregate states: the row last
								 * emitted, or NULL (no List: one per group) */
	}			output;			/* cleared by the reduce before the group
								 * is removed */
	char	   *error;			/* reduce: data error last emitted */
	int			error_code;
	void	   *extra;			/* reduce: aggregates' states, or its rows'
								 * order (roworder.c) */
};

typedef bool (*ArrKeyEqual) (void *arg, MinimalTuple a, MinimalTuple b);
typedef struct SharedArrangement SharedArrangement;

/* larger allocations of an arrangement are palloc'd */
#define ARR_SMALL_LIMIT 1024

/* a chained hash table: buckets, a power of two of them */
typedef struct ArrTable
{
	void	  **buckets;
	uint32		mask;			/* buckets - 1 */
} ArrTable;

typedef struct Arrangement
{
	MemoryContext context;
	ArrTable	groups;			/* key hash -> chain of ArrGroup */
	ArrTable	rows;			/* row hash -> chain of ArrRow */
	ArrKeyEqual key_equal;		/* NULL: the key hash alone groups rows */
	void	   *key_arg;
	bool		matches;		/* rows keep a match count */
	Size		group_size;		/* bytes of an ArrGroup here */
	int64		nrows;
	int64		ngroups;
	Size		tuple_bytes;
	const char *name;			/* what it holds, for introspection */
	int			node;			/* plan node id of its operator */
	SharedArrangement *shared;	/* read by the views that need it (shared.c) */
	/* allocation (arrangement.c): free lists by size / MAXALIGN, a block */
	char	   *block;
	Size		block_left;
	Size		next_block;
	void	   *free[ARR_SMALL_LIMIT / MAXIMUM_ALIGNOF + 1];
} Arrangement;

extern Arrangement *ArrangementCreate(MemoryContext parent, const char *name,
									  ArrKeyEqual key_equal, void *key_arg);
extern void ArrangementKeepMatches(Arrangement *a);
extern void ArrangementKeepGroupState(Arrangement *a);
extern void ArrangementReserve(Arrangement *a, Size nrows);
extern ArrGroup *ArrangementGroup(Arrangement *a, uint32 keyhash,
								  MinimalTuple row, bool create);
extern ArrRow *ArrangementUpdate(Arrangement *a, ArrGroup *group,
								 MinimalTuple row, int64 diff);
extern ArrRow *ArrangementFind(Arrangement *a, MinimalTuple row);
extern void ArrangementRemoveGroup(Arrangement *a, ArrGroup *group);

/*
 * shared.c: an arrangement of a source by a key, one for every view of the
 * worker that needs it.
 */
extern List *SharedSignature(Oid relid, Scan *scan, List *keys, List *hashfns,
							 List *collations);
extern SharedArrangement *SharedArrangementFind(List *signature);
extern Arrangement *SharedArrangementAttach(List *signature, Arrangement *a);
extern void SharedArrangementRelease(SharedArrangement *sa);
extern int	SharedArrangementConsumers(SharedArrangement *sa);
extern void SharedArrangementsNextTick(void);
extern bool SharedArrangementUpdated(SharedArrangement *sa);
extern bool SharedArrangementWasEmpty(SharedArrangement *sa);
extern void SharedArrangementBeginUpdate(SharedArrangement *sa);
extern void SharedArrangementEndUpdate(SharedArrangement *sa);
extern bool SharedArrangementsTorn(void);

/*
 * rowkey.c: some columns of rows, hashed and compared with a plan node's
 * equality operators.
 */
typedef struct RowKey
{
	int			nkeys;
	AttrNumber *keycols;
	FmgrInfo   *eqfns;
	FmgrInfo   *hashfns;		/* fn_oid invalid: the type cannot hash */
	Oid		   *collations;
	TupleTableSlot *slot_a;		/* for comparisons */
	TupleTableSlot *slot_b;
	TupleTableSlot *input;		/* for hashes */
} RowKey;

extern void RowKeyInit(RowKey *key, TupleDesc desc, int ncols, AttrNumber *cols,
					   Oid *operators, Oid *collations);
extern bool RowKeyEqual(void *arg, MinimalTuple a, MinimalTuple b);
extern uint32 RowKeyHash(RowKey *key, MinimalTuple row);
extern void RowKeyDone(RowKey *key);

/*
 * The dataflow of one view: operators built from the view's plan
 * (graph.c), run one tick at a time.  Each operator turns the changes of
 * its inputs in this tick into the change of its output.
 */
typedef struct Dataflow Dataflow;
typedef struct DataflowOp DataflowOp;
typedef struct SubplanResult SubplanResult;

typedef void (*DataflowOpStep) (DataflowOp *op, Dataflow *df);

struct DataflowOp
{
	const char *name;
	TupleDesc	desc;			/* output rows */
	List	   *inputs;			/* DataflowOp * */
	DataflowOpStep step;
	void	   *state;
	uint64		tick;			/* tick whose output is in delta */
	ZSet		delta;			/* output this tick, in the tick context */
	Oid			source;			/* scan: the table */
	List	   *deps;			/* SubplanResults its expressions read */
	Arrangement **traces;		/* with deps: each input's rows so far */
	ZSet	   *override;		/* with deps, or iterated: the inputs a step
								 * reads */
	bool		iterated;		/* stepped once per round of a recursion */
};

struct Dataflow
{
	Oid			view;
	PlannedStmt *plan;
	MemoryContext context;		/* the dataflow's state */
	EState	   *estate;
	List	   *scans;			/* scan Operators */
	List	   *sources;		/* OIDs of the tables read (inputs too) */
	List	   *inputs;			/* OIDs of the maintained views read */
	List	   *subplans;		/* shared CTE operators, by plan id */
	SubplanResult **results;	/* subqueries in expressions, by plan id */
	SubPlan   **initplans;		/* by the PARAM_EXEC ids they set */
	PlanState  *parent;			/* of expressions that run SubPlans */
	List	   *subplan_owners;	/* PlanStates whose subPlan lists may hold
								 * them: parent, the nodes reduces re-run */
	List	   *arrangements;	/* of the stateful operators */
	List	   *joins;			/* join operators, whose inputs may share */
	DataflowOp   *root;
	uint64		tick;
	bool		hydrated;		/* a first tick has run */
	HTAB	   *errors;			/* data error message -> count */
	List	   *temporal;		/* TemporalFilters of its maps */
	List	   *work_tables;	/* recursion.c: of the recursions being built */
};

/* temporal.c: temporal filters, rows entering and leaving with the clock */
typedef struct TemporalFilter TemporalFilter;
extern TimestampTz DataflowClock;	/* the worker's time: its views' */
extern TemporalFilter *TemporalFilterCreate(Dataflow *df, List **qual,
											PlanState *parent);
extern void TemporalFilterBind(TemporalFilter *tf, ExprContext *econtext);
extern bool TemporalInterval(TemporalFilter *tf, ExprContext *econtext,
							 TimestampTz *lo, TimestampTz *hi);
extern void TemporalRoute(TemporalFilter *tf, ZSet *out, MinimalTuple row,
						  int64 diff, TimestampTz lo, TimestampTz hi);
extern void TemporalFire(TemporalFilter *tf, ZSet *out);
extern TimestampTz DataflowNextDue(Dataflow *df);
extern int64 TemporalScheduled(Dataflow *df);

/* graph.c */
extern Dataflow *DataflowCreate(Oid view, PlannedStmt *plan, MemoryContext parent);
extern void DataflowBeginTick(Dataflow *df);
extern void DataflowPush(Dataflow *df, Oid relid, HeapTuple tuple, int64 diff);
extern ZSet *DataflowRun(Dataflow *df);
extern AttrNumber *DataflowResultColumns(Dataflow *df, int *ncolumns);
extern bool DataflowFeedSources(Dataflow *df);
struct RowDelta;
extern void DataflowProject(ZSet *z, AttrNumber *columns, TupleTableSlot *root,
							TupleTableSlot *row, struct RowDelta *delta);
extern DataflowOp *DataflowBuild(Dataflow *df, Plan *plan);
extern void DataflowShare(Dataflow *df);
extern void DataflowUnshare(Dataflow *df);
extern DataflowOp *DataflowOpCreate(Dataflow *df, const char *name, Plan *plan,
								DataflowOpStep step);
extern ZSet *DataflowOpOutput(DataflowOp *op, Dataflow *df);
extern ZSet *DataflowOpInput(DataflowOp *op, Dataflow *df, int n);

/* subplan.c: subqueries in expressions (initPlans, SubPlans) */
extern void SubplansInit(Dataflow *df);
extern List *SubplanDeps(Dataflow *df, Plan *plan);
extern void SubplanDepend(Dataflow *df, DataflowOp *op, Plan *plan, List *deps);
extern void SubplanDependentStep(DataflowOp *op, Dataflow *df);

/* privileges.c: a role's code runs with that role's rights */
typedef struct DataflowSavedUser
{
	Oid			userid;
	int			sec_context;
	int			nestlevel;		/* of the GUCs the code may set */
} DataflowSavedUser;

extern bool DataflowRightsStale(void);
extern void DataflowRightsChecked(void);
extern Oid	DataflowViewOwner(Oid relid);
extern void DataflowBecomeOwner(Oid relid, DataflowSavedUser *saved);
extern void DataflowBecomeUser(Oid userid, DataflowSavedUser *saved);
extern void DataflowRestoreUser(DataflowSavedUser *saved);
extern char *DataflowCheckRights(Oid relid);
extern uint32 DataflowRowSecurity(Oid relid, PlannedStmt *plan);
extern char *DataflowCheckUserRights(Oid userid, List *rtes, List *sources);
extern List *DataflowNamedRelations(Query *query);

/* errors.c: data errors are part of the result, counted like rows */
extern void DataErrorAdd(Dataflow *df, const char *message, int sqlerrcode,
						 int64 diff);
extern ErrorData *DataErrorCatch(Dataflow *df, MemoryContext context,
								 int64 diff);
extern const char *DataflowError(Dataflow *df, int *sqlerrcode);
extern ErrorData *DataflowTrySubtransaction(void (*fn) (void *), void *arg);
extern void DataflowSize(Dataflow *df, int64 *rows, int64 *bytes);
extern Arrangement *DataflowArrange(Dataflow *df, Plan *plan, const char *name,
									ArrKeyEqual key_equal, void *key_arg);

/* progress.c: hydration progress, written by the dataflow worker */
extern void ProgressHydrationBegin(Oid relid);
extern void ProgressHydrationPhase(Oid relid, HydrationPhase phase);
extern void ProgressRowsScanned(Oid relid, int64 rows);
extern void ProgressRowsArranged(Oid relid, int64 rows);
extern void ProgressHydrationEnd(void);

/* cut.c: hydrating a dataflow in a running worker */
/*
 * What an MVCC snapshot saw, kept after the snapshot is gone (it holds
 * nothing back): which top-level transactions were committed for it.
 */
typedef struct SeenXids
{
	TransactionId xmin;
	TransactionId xmax;
	int			xcnt;
	TransactionId *xip;			/* NULL: not set, or no longer needed */
} SeenXids;

extern void CutNoteDecoded(List *xids);
extern Snapshot CutTakeSnapshot(XLogRecPtr *h);
extern void SeenXidsCopy(SeenXids *seen, Snapshot snapshot, MemoryContext context);
extern bool SeenXidsSaw(SeenXids *seen, TransactionId xid);

/* sources.c */
extern void SourcesLock(List *relids);
extern Oid	SourcesRewrittenSince(List *relids, Snapshot snapshot);
extern void SourcesRecordLayouts(List *sources, MemoryContext context);
extern Oid	SourcesLayoutChanged(void);

/* map.c, join.c, reduce.c: the operators */
extern DataflowOp *ScanCreate(Dataflow *df, Scan *plan, Oid relid, bool raw);
extern void ScanPush(DataflowOp *op, Dataflow *df, HeapTuple tuple, int64 diff);
extern DataflowOp *MapCreate(Dataflow *df, Plan *plan, DataflowOp *input);
extern DataflowOp *UnitCreate(Dataflow *df);
extern DataflowOp *UnionCreate(Dataflow *df, Plan *plan, List *inputs);

/* flatmap.c */
extern DataflowOp *FlatMapCreate(Dataflow *df, Plan *plan, DataflowOp *input);
extern DataflowOp *ConstantCreate(Dataflow *df, Plan *plan);
extern DataflowOp *JoinCreate(Dataflow *df, Join *plan, DataflowOp *outer, DataflowOp *inner);
extern void JoinShare(DataflowOp *op, Dataflow *df);
extern void JoinUnshare(DataflowOp *op, Dataflow *df);
extern int	JoinPolarity(DataflowOp *op, int n);
extern DataflowOp *ReduceCreate(Dataflow *df, Plan *plan, DataflowOp *input);

/* recursion.c: WITH RECURSIVE */
extern DataflowOp *RecursionCreate(Dataflow *df, RecursiveUnion *plan);
extern DataflowOp *RecursionWorkTable(Dataflow *df, WorkTableScan *plan);

/* aggregate.c: aggregates kept as per-group states instead of rows */
typedef struct AggStates AggStates;

extern AggStates *AggStatesCreate(AggState *node, int nkeys, AttrNumber *keycols,
								  TupleDesc input, MemoryContext context);
extern void AggStatesUpdate(AggStates *as, ArrGroup *g, MinimalTuple row,
							int64 diff);
extern bool AggStatesEmpty(ArrGroup *g);
extern void AggStatesFree(AggStates *as, ArrGroup *g);
extern TupleTableSlot *AggStatesProject(AggStates *as, ArrGroup *g);

/* numericsum.c: exact, invertible sums of numeric values */
typedef struct NumericSum NumericSum;

extern NumericSum *NumericSumCreate(MemoryContext context, bool squares);
extern void NumericSumAdd(NumericSum *ns, Datum value, int64 diff);
extern bool NumericSumEmpty(NumericSum *ns);
extern Datum NumericSumFinal(NumericSum *ns, bool avg, bool *isnull);
extern Datum NumericSumVariance(NumericSum *ns, bool sample, bool root,
								bool *isnull);
extern void NumericSumFree(NumericSum *ns);

/* extremes.c: the values of a group with their extreme in a btree order */
typedef struct ExtremeOrder ExtremeOrder;
typedef struct ExtremeSet ExtremeSet;

extern ExtremeOrder *ExtremeOrderCreate(Oid sortop, Oid collation, Oid typid,
										MemoryContext context);
extern ExtremeSet *ExtremeSetCreate(ExtremeOrder *order);
extern void ExtremeSetAdd(ExtremeSet *set, Datum value, int64 diff);
extern bool ExtremeSetFirst(ExtremeSet *set, Datum *value);
extern void ExtremeSetFree(ExtremeSet *set);

/* valueset.c: a multiset of values in a btree order */
typedef struct ValueOrder ValueOrder;
typedef struct ValueSet ValueSet;

#define VALUESET_GONE	0x01	/* a class's representative went */
#define VALUESET_CAME	0x02	/* a class's representative came */

extern ValueOrder *ValueOrderCreate(Oid sortop, Oid collation, Oid typid,
									MemoryContext context);
extern ValueSet *ValueSetCreate(ValueOrder *order);
extern int	ValueSetAdd(ValueSet *set, Datum value, int64 diff, Datum *gone,
						Datum *came);
extern void ValueSetRelease(ValueSet *set, Datum value);
extern void ValueSetFree(ValueSet *set);

/* feeder.c: a plan node that returns rows given to it, for reduce */
extern Plan *FeederPlan(TupleDesc desc);
typedef MinimalTuple (*FeederNext) (void *arg, bool restart);

extern Plan *FeederSortedLike(Plan *plan, Plan *feeder);
extern Sort *FeederOrder(Plan *plan);
extern void FeederSetRows(PlanState *top, ZRow *rows, int nrows);
extern void FeederSetSource(PlanState *top, FeederNext next, void *arg);

/* roworder.c: a reduce group's rows in the order its node reads them */
typedef struct RowOrder RowOrder;
typedef struct RowNode RowNode;

extern RowOrder *RowOrderCreate(Sort *sort, TupleDesc desc, MemoryContext context);
extern void RowOrderUpdate(RowOrder *ro, Arrangement *a, ArrGroup *g,
						   MinimalTuple row, int64 diff);
extern void RowOrderFree(RowOrder *ro, ArrGroup *g);
extern void RowOrderFeed(RowOrder *ro, ArrGroup *g);
extern MinimalTuple RowOrderNext(void *arg, bool restart);
extern void RowOrderUpdateNear(RowOrder *ro, Arrangement *a, ArrGroup *g,
							   MinimalTuple row, int64 diff, int radius,
							   List **near, List **gone);
extern void RowOrderFeedRange(RowOrder *ro, RowNode *first, RowNode *last);
extern RowNode *RowOrderStep(RowNode *node, bool forward);
extern void RowOrderReverseTies(RowOrder *ro);
extern RowNode *RowOrderFirst(RowOrder *ro, ArrGroup *g);
extern RowNode *RowOrderLast(RowOrder *ro, ArrGroup *g);
extern RowNode *RowOrderLocate(RowOrder *ro, Arrangement *a, ArrGroup *g,
							   MinimalTuple row);
extern ArrRow *RowNodeRow(RowNode *node);
extern List *RowNodeTakeOutputs(RowNode *node);
extern void RowNodeAddOutput(RowNode *node, MinimalTuple row);
extern MinimalTuple RowNodeLastOutput(RowNode *node);
extern bool RowNodeOutputsEqual(RowNode *node, List *rows);
extern int	RowOrderCompare(const void *a, const void *b, void *arg);

/*
 * window.c: windows recomputed by row: functions that read only the rows
 * near a row, only those before (or, mirrored, after) it, or the same
 * rows for the whole partition
 */
typedef struct WindowPrefix WindowPrefix;
typedef struct WindowRows WindowRows;
typedef struct WindowSpan WindowSpan;

extern int	WindowRadius(WindowAgg *plan);
extern bool WindowFrameless(WindowAgg *plan);
extern int	WindowWideHead(WindowAgg *plan);
extern WindowPrefix *WindowPrefixCreate(WindowAgg *plan);
extern List *WindowPrefixTargetList(WindowAgg *plan);
extern int	WindowPrefixHidden(WindowPrefix *wp);
extern int64 WindowPrefixRadius(WindowPrefix *wp);
extern bool WindowPrefixNeedsPeers(WindowPrefix *wp);
extern WindowAgg *WindowMirror(WindowAgg *plan, Sort **reverse);
extern void WindowPrefixComplete(WindowPrefix *wp, TupleTableSlot *out,
								 TupleTableSlot *prev, bool joined,
								 Datum *values, bool *nulls);

/* windowspan.c: the rows a RANGE or GROUPS frame with offsets holds */
extern bool WindowSpanFrame(WindowAgg *plan);
extern WindowSpan *WindowSpanCreate(WindowAgg *plan, TupleDesc input);
extern int64 WindowSpanGroups(WindowSpan *ws, bool forward, bool reads);
extern bool WindowSpanWithin(WindowSpan *ws, MinimalTuple row, MinimalTuple base,
							 bool forward, bool reads);

/* windowrows.c: a window's rows recomputed by row */
extern WindowRows *WindowRowsCreate(WindowAgg *plan, TupleDesc input,
									TupleDesc output, PlanState *node,
									Arrangement *arr, RowOrder *order);
extern void WindowRowsUpdate(WindowRows *wr, DataflowOp *op, ArrGroup *g,
							 MinimalTuple row, int64 diff, List **retired);
extern void WindowRowsEvaluate(WindowRows *wr, DataflowOp *op, Dataflow *df,
							   ArrGroup *g, List *near, bool whole,
							   List **retired);

/* a Z-set of view rows being consolidated within one tick */
typedef struct RowDelta
{
	TupleDesc	desc;
	TupleTableSlot *compare;	/* for equality checks of equal hashes */
	MemoryContext context;		/* rows; reset by RowDeltaReset */
	HTAB	   *rows;
} RowDelta;

/* sink.c: a view's heap table with an in-memory index of its rows */
typedef struct Sink
{
	RelFileNode node;			/* storage the index describes */
	MemoryContext context;
	HTAB	   *rows;			/* row hash -> TIDs of equal rows */
} Sink;

extern Sink *SinkCreate(void);
extern void SinkBegin(Sink *sink, Relation rel, RowDelta *retract);
extern void SinkEnd(void);
extern void SinkInvalidate(Sink *sink);
extern void SinkClear(Sink *sink, Relation rel);

extern RowDelta *RowDeltaCreate(TupleDesc desc, MemoryContext context);
extern bool RowDeltaConsume(RowDelta *delta, TupleTableSlot *slot);
extern void RowDeltaAdd(RowDelta *delta, TupleTableSlot *slot, int64 weight);
extern void RowDeltaApply(RowDelta *delta, Sink *sink, Relation rel);
extern void RowDeltaReset(RowDelta *delta);
extern void RowDeltaFree(RowDelta *delta);
extern void RowDeltaForEach(RowDelta *delta,
							void (*fn) (void *arg, MinimalTuple row, int64 weight),
							void *arg);

extern uint64 RowHash(TupleDesc desc, Datum *values, bool *isnull);
extern bool RowEqual(TupleDesc desc, Datum *v1, bool *n1, Datum *v2, bool *n2);

#endif							/* COORDINATOR_DATAFLOW_H */
