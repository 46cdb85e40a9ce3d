/*-------------------------------------------------------------------------
 *
 * arrangement.c
 *	  Arrangements: the state of stateful operators, rows indexed by key.
 *
 * An arrangement holds a consolidated collection (each distinct row once,
 * with its multiplicity), grouped by key: a join finds the rows that can
 * match a key, a reduce finds the rows of a group.  Two hash tables index
 * it: key hash -> groups, and row hash -> rows, so that applying a change
 * to one row costs O(1) whatever the size of its group.
 *
 * Groups are told apart by an equality test on the key columns when the
 * owner provides one (a reduce: groups follow the type's equality, as in
 * GROUP BY); without one, rows with the same key hash form one group and
 * the owner tests candidate matches itself (a join evaluates its clauses).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "coordinator/dataflow.h"

typedef struct GroupSlot
{
	uint32		keyhash;		/* hash key */
	ArrGroup   *groups;
} GroupSlot;

typedef struct RowSlot
{
	uint32		rowhash;		/* hash key */
	ArrRow	   *rows;
} RowSlot;

static HTAB *
uint32_table(const char *name, Size entrysize, MemoryContext context)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(uint32);
	ctl.entrysize = entrysize;
	ctl.hcxt = context;
	return hash_create(name, 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

Arrangement *
ArrangementCreate(MemoryContext parent, const char *name,
				  ArrKeyEqual key_equal, void *key_arg)
{
	MemoryContext context = AllocSetContextCreate(parent, "coordinator arrangement",
												  ALLOCSET_DEFAULT_SIZES);
	Arrangement *a = MemoryContextAllocZero(context, sizeof(Arrangement));

	MemoryContextSetIdentifier(context, name);
	a->context = context;
	a->groups = uint32_table("coordinator arrangement groups", sizeof(GroupSlot), context);
	a->rows = uint32_table("coordinator arrangement rows", sizeof(RowSlot), context);
	a->key_equal = key_equal;
	a->key_arg = key_arg;
	return a;
}

/*
 * The group of row, whose key hashes to keyhash; created empty if it does
 * not exist and create is true, else NULL.
 */
ArrGroup *
ArrangementGroup(Arrangement *a, uint32 keyhash, MinimalTuple row, bool create)
{
	GroupSlot  *slot;
	ArrGroup   *g;
	bool		found;

	slot = hash_search(a->groups, &keyhash, create ? HASH_ENTER : HASH_FIND, &found);
	if (slot == NULL)
		return NULL;
	if (!found)
		slot->groups = NULL;
	for (g = slot->groups; g != NULL; g = g->hnext)
	{
		if (a->key_equal == NULL || a->key_equal(a->key_arg, g->keyrow, row))
			return g;
	}
	if (!create)
		return NULL;
	g = MemoryContextAllocZero(a->context, sizeof(ArrGroup));
	g->keyhash = keyhash;
	if (a->key_equal != NULL)
	{
		/* the group's key, kept while the group exists even if empty */
		g->keyrow = (MinimalTuple) MemoryContextAlloc(a->context, row->t_len);
		memcpy(g->keyrow, row, row->t_len);
	}
	g->hnext = slot->groups;
	slot->groups = g;
	return g;
}

/*
 * Add diff to the multiplicity of row in group.  Returns the row's entry,
 * or NULL if its multiplicity fell to zero (the entry is then freed).  The
 * row is copied into the arrangement when first seen.
 */
ArrRow *
ArrangementUpdate(Arrangement *a, ArrGroup *group, MinimalTuple row, int64 diff)
{
	uint32		rowhash = RowImageHash(row);
	RowSlot    *slot;
	ArrRow	   *r;
	ArrRow	  **link;
	bool		found;

	slot = hash_search(a->rows, &rowhash, HASH_ENTER, &found);
	if (!found)
		slot->rows = NULL;
	for (link = &slot->rows; (r = *link) != NULL; link = &r->hnext)
	{
		if (r->group == group && RowImageEqual(r->tuple, row))
			break;
	}

	if (r == NULL)
	{
		r = MemoryContextAllocZero(a->context, sizeof(ArrRow));
		r->tuple = (MinimalTuple) MemoryContextAlloc(a->context, row->t_len);
		memcpy(r->tuple, row, row->t_len);
		r->rowhash = rowhash;
		r->group = group;
		r->hnext = slot->rows;
		slot->rows = r;
		r->next = group->rows;
		if (group->rows != NULL)
			group->rows->prev = r;
		group->rows = r;
		group->nrows++;
		a->nrows++;
		a->tuple_bytes += row->t_len;
		link = &slot->rows;
	}

	r->mult += diff;
	if (r->mult != 0)
		return r;

	/* unlink from the row hash chain */
	for (link = &slot->rows; *link != r; link = &(*link)->hnext)
		;
	*link = r->hnext;
	if (slot->rows == NULL)
		hash_search(a->rows, &rowhash, HASH_REMOVE, NULL);
	/* and from its group */
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		group->rows = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	group->nrows--;
	a->nrows--;
	a->tuple_bytes -= r->tuple->t_len;
	pfree(r->tuple);
	pfree(r);
	return NULL;
}

/* Forget an empty group. */
void
ArrangementRemoveGroup(Arrangement *a, ArrGroup *group)
{
	GroupSlot  *slot;
	ArrGroup  **link;

	Assert(group->rows == NULL);
	slot = hash_search(a->groups, &group->keyhash, HASH_FIND, NULL);
	if (slot == NULL)
		return;
	for (link = &slot->groups; *link != NULL; link = &(*link)->hnext)
	{
		if (*link == group)
		{
			*link = group->hnext;
			break;
		}
	}
	if (slot->groups == NULL)
		hash_search(a->groups, &group->keyhash, HASH_REMOVE, NULL);
	if (group->output != NIL)
		list_free_deep(group->output);
	if (group->error != NULL)
		pfree(group->error);
	if (group->keyrow != NULL)
		pfree(group->keyrow);
	pfree(group);
}
