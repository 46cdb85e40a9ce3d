/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  Data errors: part of a view's result, not the end of its dataflow.
 *
 * As in Materialize, an error raised while computing a view from its
 * inputs (division by zero, overflow, a failed cast, a scalar subquery
 * with two rows) is data: the operator that raised it counts the message
 * with the weight of the input that caused it, exactly as it would count
 * an output row.  When that input is retracted, the same evaluation
 * raises the same error with the opposite weight and the count returns to
 * zero.  A view whose error collection is not empty reports its first
 * error on read; the dataflow keeps running throughout.
 *
 * Only errors of SQLSTATE classes 21 (cardinality violation) and 22 (data
 * exception) are data; anything else (out of memory, a cancel, an internal
 * error) propagates and fails the view.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/resowner.h"

#include "coordinator/dataflow.h"
#include "coordinator/shmem.h"

typedef struct DataErrorEntry
{
	char		message[VIEW_ERROR_LEN];	/* hash key */
	int			sqlerrcode;
	int64		count;
} DataErrorEntry;

void
DataErrorAdd(Dataflow *df, const char *message, int sqlerrcode, int64 diff)
{
	DataErrorEntry *entry;
	char		key[VIEW_ERROR_LEN];
	bool		found;

	if (df->errors == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = VIEW_ERROR_LEN;
		ctl.entrysize = sizeof(DataErrorEntry);
		ctl.hcxt = df->context;
		df->errors = hash_create("coordinator data errors", 16, &ctl,
								 HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	}
	memset(key, 0, sizeof(key));
	strlcpy(key, message, sizeof(key));
	entry = hash_search(df->errors, key, HASH_ENTER, &found);
	if (!found)
	{
		entry->count = 0;
		entry->sqlerrcode = sqlerrcode;
	}
	entry->count += diff;
	if (entry->count == 0)
		hash_search(df->errors, key, HASH_REMOVE, NULL);
}

/*
 * The error a read of the view reports (NULL if none) and its SQLSTATE.
 * Of several, the first message in byte order, so the answer is stable.
 */
const char *
DataflowError(Dataflow *df, int *sqlerrcode)
{
	HASH_SEQ_STATUS status;
	DataErrorEntry *entry;
	DataErrorEntry *first = NULL;

	if (df->errors == NULL)
		return NULL;
	hash_seq_init(&status, df->errors);
	while ((entry = hash_seq_search(&status)) != NULL)
	{
		if (first == NULL || strcmp(entry->message, first->message) < 0)
			first = entry;
	}
	if (first == NULL)
		return NULL;
	*sqlerrcode = first->sqlerrcode;
	return first->message;
}

/*
 * Call in PG_CATCH, with the context that was current at PG_TRY.  If the
 * error is a data error, clear it, count it with weight diff and return it
 * (in that context); otherwise return NULL and the caller re-throws.
 */
ErrorData *
DataErrorCatch(Dataflow *df, MemoryContext context, int64 diff)
{
	ErrorData  *edata;
	int			category;

	MemoryContextSwitchTo(context);
	edata = CopyErrorData();
	category = ERRCODE_TO_CATEGORY(edata->sqlerrcode);
	if (category != ERRCODE_DATA_EXCEPTION &&
		category != ERRCODE_TO_CATEGORY(ERRCODE_CARDINALITY_VIOLATION))
	{
		FreeErrorData(edata);
		return NULL;
	}
	FlushErrorState();
	DataErrorAdd(df, edata->message, edata->sqlerrcode, diff);
	return edata;
}

/*
 * Run fn(arg) in a subtransaction of the current transaction.  Returns
 * NULL if it succeeded, or its error (the subtransaction rolled back, the
 * error state flushed), allocated in the caller's memory context.
 */
ErrorData *
DataflowTrySubtransaction(void (*fn) (void *), void *arg)
{
	MemoryContext old = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	PG_TRY();
	{
		fn(arg);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(old);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(old);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(old);
		CurrentResourceOwner = owner;
	}
	PG_END_TRY();
	return edata;
}
