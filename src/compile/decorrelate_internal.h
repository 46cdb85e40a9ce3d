/*-------------------------------------------------------------------------
 *
 * decorrelate_internal.h
 *	  What decorrelate.c shares with lateral.c: the correlation of a
 *	  subquery by equalities with its outer query.
 *
 *-------------------------------------------------------------------------
 */
#ifndef COORDINATOR_DECORRELATE_INTERNAL_H
#define COORDINATOR_DECORRELATE_INTERNAL_H

#include "nodes/parsenodes.h"

/* the equalities that correlate a subquery, split by side */
typedef struct Correlation
{
	List	   *inner;			/* expressions of the subquery */
	List	   *outer;			/* expressions of the outer query, level 1 */
	List	   *equalities;		/* the OpExprs, copied */
	List	   *rest;			/* the other conjuncts of its WHERE */
} Correlation;

extern bool DecorrelateSplit(Query *sub, Correlation *corr);
extern bool DecorrelateRefersOutside(Node *node, void *context);
extern List *DecorrelateJoinQuals(Correlation *corr, Index rtindex,
								  AttrNumber first_key);

#endif							/* COORDINATOR_DECORRELATE_INTERNAL_H */
