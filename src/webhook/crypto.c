/*-------------------------------------------------------------------------
 *
 * crypto.c
 *	  HMAC and constant-time comparison for webhook CHECK expressions.
 *
 * coordinator.hmac(data, key, type) has pgcrypto's and Materialize's
 * signature and uses the server's own HMAC (common/hmac.h, OpenSSL when
 * the server is built with it).  coordinator.constant_time_eq compares
 * signatures without leaking, through its running time, how many leading
 * bytes matched.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/hmac.h"
#include "common/md5.h"
#include "common/sha1.h"
#include "common/sha2.h"
#include "fmgr.h"
#include "utils/builtins.h"

PG_FUNCTION_INFO_V1(coordinator_hmac);
PG_FUNCTION_INFO_V1(coordinator_constant_time_eq);

typedef struct HmacAlgorithm
{
	const char *name;
	pg_cryptohash_type type;
	int			length;
} HmacAlgorithm;

static const HmacAlgorithm algorithms[] = {
	{"md5", PG_MD5, MD5_DIGEST_LENGTH},
	{"sha1", PG_SHA1, SHA1_DIGEST_LENGTH},
	{"sha224", PG_SHA224, PG_SHA224_DIGEST_LENGTH},
	{"sha256", PG_SHA256, PG_SHA256_DIGEST_LENGTH},
	{"sha384", PG_SHA384, PG_SHA384_DIGEST_LENGTH},
	{"sha512", PG_SHA512, PG_SHA512_DIGEST_LENGTH},
};

static const HmacAlgorithm *
find_algorithm(const char *name)
{
	for (int i = 0; i < lengthof(algorithms); i++)
	{
		if (pg_strcasecmp(name, algorithms[i].name) == 0)
			return &algorithms[i];
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unsupported HMAC algorithm \"%s\"", name),
			 errhint("Use one of md5, sha1, sha224, sha256, sha384, sha512.")));
	return NULL;				/* keep compiler quiet */
}

/*
 * coordinator.hmac(data text|bytea, key text|bytea, type text) RETURNS bytea.
 * text and bytea arguments share this function: both are varlenas whose
 * bytes are hashed as they are (text in the database encoding).
 */
Datum
coordinator_hmac(PG_FUNCTION_ARGS)
{
	bytea	   *data = PG_GETARG_BYTEA_PP(0);
	bytea	   *key = PG_GETARG_BYTEA_PP(1);
	char	   *type = text_to_cstring(PG_GETARG_TEXT_PP(2));
	const HmacAlgorithm *alg = find_algorithm(type);
	pg_hmac_ctx *ctx = pg_hmac_create(alg->type);
	bytea	   *result = palloc(VARHDRSZ + alg->length);

	if (ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_hmac_init(ctx, (uint8 *) VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)) < 0 ||
		pg_hmac_update(ctx, (uint8 *) VARDATA_ANY(data), VARSIZE_ANY_EXHDR(data)) < 0 ||
		pg_hmac_final(ctx, (uint8 *) VARDATA(result), alg->length) < 0)
	{
		const char *msg = pstrdup(pg_hmac_error(ctx));

		pg_hmac_free(ctx);
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not compute %s HMAC: %s", alg->name, msg)));
	}
	pg_hmac_free(ctx);
	SET_VARSIZE(result, VARHDRSZ + alg->length);
	PG_RETURN_BYTEA_P(result);
}

/*
 * coordinator.constant_time_eq(a, b) for text and bytea: equal lengths
 * and bytes.  The time taken depends on the lengths only.
 */
Datum
coordinator_constant_time_eq(PG_FUNCTION_ARGS)
{
	bytea	   *a = PG_GETARG_BYTEA_PP(0);
	bytea	   *b = PG_GETARG_BYTEA_PP(1);
	size_t		alen = VARSIZE_ANY_EXHDR(a);
	size_t		blen = VARSIZE_ANY_EXHDR(b);
	const volatile unsigned char *pa = (const unsigned char *) VARDATA_ANY(a);
	const volatile unsigned char *pb = (const unsigned char *) VARDATA_ANY(b);
	unsigned char diff = 0;

	if (alen != blen)
		PG_RETURN_BOOL(false);
	for (size_t i = 0; i < alen; i++)
		diff |= pa[i] ^ pb[i];
	PG_RETURN_BOOL(diff == 0);
}
