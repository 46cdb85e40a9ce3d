-- TPC-H data in SQL, after the TPC-H specification's clause 4.2 (database
-- population): the cardinalities of clause 4.2.5 at scale factor :sf, the
-- value rules of clause 4.2.3 that the 22 queries' predicates depend on,
-- and comments cut from a text pool built with the grammar of clause
-- 4.2.2.10.  Reproducible (setseed); each run of the same scale factor
-- gives the same rows.
--
--   psql -v sf=0.1 -f schema.sql -f generate.sql
--
-- Leaves schema tpch_gen with the functions the refresh functions use:
-- tpch_gen.stage_rf1(sf, u) stages new orders and their lineitems in
-- tpch_gen.new_orders / tpch_gen.new_lineitem (set u, 0..999, of new keys
-- in the gaps the sparse order keys leave), tpch_gen.stage_rf2(sf, u) the
-- keys of existing orders to delete in tpch_gen.del_orders (set u, 0..499).
\if :{?sf}
\else
\set sf 0.1
\endif
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET max_parallel_workers_per_gather = 0;
SELECT setseed(0.2024);

CREATE SCHEMA tpch_gen;

-- a random integer in [lo, hi], uniform
CREATE FUNCTION tpch_gen.rnd(lo int, hi int) RETURNS int LANGUAGE sql
	AS $$ SELECT lo + floor(random() * (hi - lo + 1))::int $$;

-- a random amount in [lo, hi] cents, as numeric with two decimals
CREATE FUNCTION tpch_gen.money(lo int, hi int) RETURNS numeric LANGUAGE sql
	AS $$ SELECT round((lo + floor(random() * (hi - lo + 1))::int) / 100.0, 2) $$;

-- a phone number of a nation (clause 4.2.2.9): country code nationkey + 10
CREATE FUNCTION tpch_gen.phone(nationkey int) RETURNS text LANGUAGE sql
	AS $$ SELECT (nationkey + 10)::text || '-' || tpch_gen.rnd(100, 999) || '-'
		|| tpch_gen.rnd(100, 999) || '-' || tpch_gen.rnd(1000, 9999) $$;

-- a random alphanumeric string of lo to hi characters (clause 4.2.2.7)
CREATE FUNCTION tpch_gen.vstring(lo int, hi int) RETURNS text LANGUAGE sql
	AS $$ SELECT left(translate(encode(decode(md5(random()::text) || md5(random()::text), 'hex'), 'base64'),
		'+/', ' ,'), tpch_gen.rnd(lo, hi)) $$;

-- the word lists of the text grammar, each word repeated by its weight
CREATE TABLE tpch_gen.words (kind text PRIMARY KEY, list text[]);
INSERT INTO tpch_gen.words
SELECT kind, array_agg(word ORDER BY ord, rep)
FROM (VALUES
	('noun', 'packages:40 requests:40 accounts:40 deposits:40 foxes:20 ideas:20 theodolites:20 pinto_beans:20 instructions:20 dependencies:10 excuses:10 platelets:10 asymptotes:10 courts:5 dolphins:5 multipliers:1 sauternes:1 warthogs:1 frets:1 dinos:1 attainments:1 somas:1 Tiresias:1 patterns:1 forges:1 braids:1 hockey_players:1 frays:1 warhorses:1 dugouts:1 notornis:1 epitaphs:1 pearls:1 tithes:1 waters:1 orbits:1 gifts:1 sheaves:1 depths:1 sentiments:1 decoys:1 realms:1 pains:1 grouches:1 escapades:1'),
	('verb', 'sleep:20 wake:20 are:20 cajole:20 haggle:20 nag:10 use:10 boost:10 affix:5 detect:5 integrate:5 maintain:1 nod:1 was:1 lose:1 sublate:1 solve:1 thrash:1 promise:1 engage:1 hinder:1 print:1 x-ray:1 breach:1 eat:1 grow:1 impress:1 mold:1 poach:1 serve:1 run:1 dazzle:1 snooze:1 doze:1 unwind:1 kindle:1 play:1 hang:1 believe:1 doubt:1'),
	('adjective', 'furious:1 sly:1 careful:1 blithe:1 quick:1 fluffy:1 slow:1 quiet:1 ruthless:1 thin:1 close:1 dogged:1 daring:1 brave:1 stealthy:1 permanent:1 enticing:1 idle:1 busy:1 regular:50 final:40 ironic:40 even:30 bold:20 silent:10 special:20 pending:20 unusual:20 express:20'),
	('adverb', 'sometimes:1 always:1 never:1 furiously:50 slyly:50 carefully:50 blithely:40 quickly:30 fluffily:20 slowly:1 quietly:1 ruthlessly:1 thinly:1 closely:1 doggedly:1 daringly:1 bravely:1 stealthily:1 permanently:1 enticingly:1 idly:1 busily:1 regularly:1 finally:1 ironically:1 evenly:1 boldly:1 silently:1'),
	('preposition', 'about:50 above:50 according_to:50 across:50 after:50 against:40 along:40 alongside_of:30 among:30 around:20 at:10 atop:1 before:1 behind:1 beneath:1 beside:1 besides:1 between:1 beyond:1 by:1 despite:1 during:1 except:1 for:1 from:1 in_place_of:1 inside:1 instead_of:1 into:1 near:1 of:1 on:1 outside:1 over:1 past:1 since:1 through:1 throughout:1 to:1 toward:1 under:1 until:1 up:1 upon:1 without:1 with:1 within:1'),
	('auxiliary', 'do:1 may:1 might:1 shall:1 will:1 would:1 can:1 could:1 should:1 ought_to:1 must:1 will_have_to:1 shall_have_to:1 could_have_to:1 should_have_to:1 must_have_to:1 need_to:1 try_to:1'),
	('terminator', '.:50 ;:1 ::1 ?:1 !:1 --:1')
) AS lists (kind, spec),
	LATERAL unnest(string_to_array(spec, ' ')) WITH ORDINALITY AS e (entry, ord),
	LATERAL (SELECT replace(left(entry, length(entry) - position(':' IN reverse(entry))), '_', ' ') AS word,
		right(entry, position(':' IN reverse(entry)) - 1)::int AS weight) AS w,
	LATERAL generate_series(1, weight) AS rep
GROUP BY kind;

-- the text pool (clause 4.2.2.10): sentences of the grammar, about 1 MB
CREATE FUNCTION tpch_gen.pool(bytes int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	n text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'noun');
	v text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'verb');
	j text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'adjective');
	d text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'adverb');
	p text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'preposition');
	x text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'auxiliary');
	t text[] := (SELECT list FROM tpch_gen.words WHERE kind = 'terminator');
	parts text[] := '{}';
	sentences text[] := '{}';
	total int := 0;
	s text;
	r float8;
	-- a noun phrase, a verb phrase, a prepositional phrase
	np text; vp text; pp text;
BEGIN
	WHILE total < bytes LOOP
		s := '';
		FOR k IN 1..3 LOOP
			-- noun phrase: N 10, J N 20, J, J N 10, D J N 50
			r := random() * 90;
			np := CASE WHEN r < 10 THEN n[1 + floor(random() * cardinality(n))::int]
				WHEN r < 30 THEN j[1 + floor(random() * cardinality(j))::int] || ' ' || n[1 + floor(random() * cardinality(n))::int]
				WHEN r < 40 THEN j[1 + floor(random() * cardinality(j))::int] || ', ' || j[1 + floor(random() * cardinality(j))::int] || ' ' || n[1 + floor(random() * cardinality(n))::int]
				ELSE d[1 + floor(random() * cardinality(d))::int] || ' ' || j[1 + floor(random() * cardinality(j))::int] || ' ' || n[1 + floor(random() * cardinality(n))::int] END;
			parts[k] := np;
		END LOOP;
		-- verb phrase: V 30, X V 1, V D 40, X V D 1
		r := random() * 72;
		vp := CASE WHEN r < 30 THEN v[1 + floor(random() * cardinality(v))::int]
			WHEN r < 31 THEN x[1 + floor(random() * cardinality(x))::int] || ' ' || v[1 + floor(random() * cardinality(v))::int]
			WHEN r < 71 THEN v[1 + floor(random() * cardinality(v))::int] || ' ' || d[1 + floor(random() * cardinality(d))::int]
			ELSE x[1 + floor(random() * cardinality(x))::int] || ' ' || v[1 + floor(random() * cardinality(v))::int] || ' ' || d[1 + floor(random() * cardinality(d))::int] END;
		pp := p[1 + floor(random() * cardinality(p))::int] || ' the ' || parts[3];
		-- sentence: N V T 3, N V P T 3, N V N T 3, N P V N T 1, N P V P T 1
		r := random() * 11;
		s := CASE WHEN r < 3 THEN parts[1] || ' ' || vp
			WHEN r < 6 THEN parts[1] || ' ' || vp || ' ' || pp
			WHEN r < 9 THEN parts[1] || ' ' || vp || ' ' || parts[2]
			WHEN r < 10 THEN parts[1] || ' ' || pp || ' ' || vp || ' ' || parts[2]
			ELSE parts[1] || ' ' || pp || ' ' || vp || ' ' || p[1 + floor(random() * cardinality(p))::int] || ' the ' || parts[2] END
			|| t[1 + floor(random() * cardinality(t))::int] || ' ';
		total := total + length(s);
		sentences := array_append(sentences, s);
	END LOOP;
	RETURN array_to_string(sentences, '');
END $$;

-- tpch_gen.text(lo, hi): a text string of lo to hi characters (clause
-- 4.2.2.10), a substring of the pool at a random offset.  The pool is a
-- constant of the function's body, so the function inlines into the
-- calling query with the pool as one constant.
SELECT format($f$CREATE FUNCTION tpch_gen.text(lo int, hi int) RETURNS text LANGUAGE sql AS %L$f$,
	format($b$SELECT convert_from(substring(%L::bytea FROM 1 + floor(random() * (%s - hi))::int FOR tpch_gen.rnd(lo, hi)), 'UTF8')$b$,
		convert_to(pool, 'UTF8'), octet_length(pool)))
FROM (SELECT tpch_gen.pool(1000000) AS pool) AS p
\gexec

-- region and nation (clause 4.2.3): the fixed names and the nations' regions
INSERT INTO region
SELECT k - 1, name, tpch_gen.text(31, 115)
FROM unnest(ARRAY['AFRICA', 'AMERICA', 'ASIA', 'EUROPE', 'MIDDLE EAST']) WITH ORDINALITY AS r (name, k);

INSERT INTO nation
SELECT k - 1, name, region, tpch_gen.text(31, 114)
FROM unnest(ARRAY['ALGERIA', 'ARGENTINA', 'BRAZIL', 'CANADA', 'EGYPT', 'ETHIOPIA', 'FRANCE',
		'GERMANY', 'INDIA', 'INDONESIA', 'IRAN', 'IRAQ', 'JAPAN', 'JORDAN', 'KENYA', 'MOROCCO',
		'MOZAMBIQUE', 'PERU', 'CHINA', 'ROMANIA', 'SAUDI ARABIA', 'VIETNAM', 'RUSSIA',
		'UNITED KINGDOM', 'UNITED STATES'],
	ARRAY[0, 1, 1, 1, 4, 0, 3, 3, 2, 2, 4, 4, 2, 4, 0, 0, 0, 1, 2, 3, 4, 2, 3, 3, 1])
	WITH ORDINALITY AS n (name, region, k);

-- part: SF * 200,000; p_name five distinct words of the 92 colours (a
-- random start and four steps of 1..18 around the list), p_type,
-- p_container, p_brand by manufacturer, the retail price rule
INSERT INTO part
SELECT partkey,
	colours[1 + w0 % 92] || ' ' || colours[1 + (w0 + s1) % 92] || ' ' || colours[1 + (w0 + s1 + s2) % 92]
		|| ' ' || colours[1 + (w0 + s1 + s2 + s3) % 92] || ' ' || colours[1 + (w0 + s1 + s2 + s3 + s4) % 92],
	'Manufacturer#' || m,
	'Brand#' || m || tpch_gen.rnd(1, 5),
	(ARRAY['STANDARD', 'SMALL', 'MEDIUM', 'LARGE', 'ECONOMY', 'PROMO'])[tpch_gen.rnd(1, 6)] || ' '
		|| (ARRAY['ANODIZED', 'BURNISHED', 'PLATED', 'POLISHED', 'BRUSHED'])[tpch_gen.rnd(1, 5)] || ' '
		|| (ARRAY['TIN', 'NICKEL', 'BRASS', 'STEEL', 'COPPER'])[tpch_gen.rnd(1, 5)],
	tpch_gen.rnd(1, 50),
	(ARRAY['SM', 'LG', 'MED', 'JUMBO', 'WRAP'])[tpch_gen.rnd(1, 5)] || ' '
		|| (ARRAY['CASE', 'BOX', 'BAG', 'JAR', 'PKG', 'PACK', 'CAN', 'DRUM'])[tpch_gen.rnd(1, 8)],
	(90000 + ((partkey / 10) % 20001) + 100 * (partkey % 1000)) / 100.0,
	tpch_gen.text(5, 22)
FROM (SELECT partkey, tpch_gen.rnd(0, 91) AS w0, tpch_gen.rnd(1, 18) AS s1, tpch_gen.rnd(1, 18) AS s2,
		tpch_gen.rnd(1, 18) AS s3, tpch_gen.rnd(1, 18) AS s4, tpch_gen.rnd(1, 5) AS m
	FROM generate_series(1, (200000 * :sf)::int) AS partkey OFFSET 0) AS p,
	(SELECT string_to_array('almond antique aquamarine azure beige bisque black blanched blue blush brown burlywood burnished chartreuse chiffon chocolate coral cornflower cornsilk cream cyan dark deep dim dodger drab firebrick floral forest frosted gainsboro ghost goldenrod green grey honeydew hot indian ivory khaki lace lavender lawn lemon light lime linen magenta maroon medium metallic midnight mint misty moccasin navajo navy olive orange orchid pale papaya peach peru pink plum powder puff purple red rose rosy royal saddle salmon sandy seashell sienna sky slate smoke snow spring steel tan thistle tomato turquoise violet wheat white yellow', ' ') AS colours) AS c;

-- supplier: SF * 10,000; SF * 5 comments hold 'Customer ... Complaints',
-- SF * 5 others 'Customer ... Recommends' (at least one of each)
INSERT INTO supplier
SELECT suppkey, 'Supplier#' || lpad(suppkey::text, 9, '0'), tpch_gen.vstring(10, 40), nationkey,
	tpch_gen.phone(nationkey), tpch_gen.money(-99999, 999999), tpch_gen.text(25, 100)
FROM (SELECT suppkey, tpch_gen.rnd(0, 24) AS nationkey
	FROM generate_series(1, (10000 * :sf)::int) AS suppkey OFFSET 0) AS s;

WITH chosen AS (
	SELECT s_suppkey, row_number() OVER (ORDER BY random()) AS k
	FROM supplier
)
UPDATE supplier s
SET s_comment = left(left(s_comment, pos) || 'Customer ' || tpch_gen.text(0, 20) || ' '
	|| CASE WHEN c.k <= greatest(1, round(5 * :sf)) THEN 'Complaints' ELSE 'Recommends' END
	|| substr(s_comment, pos + 1), 100)
FROM chosen c, LATERAL (SELECT tpch_gen.rnd(0, 40) AS pos) AS p
WHERE c.s_suppkey = s.s_suppkey AND c.k <= 2 * greatest(1, round(5 * :sf));

-- partsupp: four suppliers per part, by the specification's rule
INSERT INTO partsupp
SELECT partkey, (partkey + (i * (nsupp / 4 + (partkey - 1) / nsupp))) % nsupp + 1,
	tpch_gen.rnd(1, 9999), tpch_gen.money(100, 100000), tpch_gen.text(49, 198)
FROM generate_series(1, (200000 * :sf)::int) AS partkey, generate_series(0, 3) AS i,
	(SELECT (10000 * :sf)::int AS nsupp) AS n;

-- customer: SF * 150,000
INSERT INTO customer
SELECT custkey, 'Customer#' || lpad(custkey::text, 9, '0'), tpch_gen.vstring(10, 40), nationkey,
	tpch_gen.phone(nationkey), tpch_gen.money(-99999, 999999),
	(ARRAY['AUTOMOBILE', 'BUILDING', 'FURNITURE', 'MACHINERY', 'HOUSEHOLD'])[tpch_gen.rnd(1, 5)],
	tpch_gen.text(29, 116)
FROM (SELECT custkey, tpch_gen.rnd(0, 24) AS nationkey
	FROM generate_series(1, (150000 * :sf)::int) AS custkey OFFSET 0) AS c;

-- orders and lineitem, staged by the same function as the new orders of RF1
CREATE UNLOGGED TABLE tpch_gen.o (ok int, custkey int, orderdate date, nlines int,
	priority text, clerk text, comment text);
CREATE UNLOGGED TABLE tpch_gen.new_orders (LIKE orders);
CREATE UNLOGGED TABLE tpch_gen.new_lineitem (LIKE lineitem);
CREATE UNLOGGED TABLE tpch_gen.del_orders (o_orderkey int PRIMARY KEY);

-- Orders i = first + j * step (j from 0 to n - 1) with key (i / 8) * 32 +
-- slot * 8 + i % 8 + 1: the base population uses slot 0, the first 8 keys
-- of every 32 (clause 4.2.3's sparse keys), new orders slot 1.  Customers
-- whose key is a multiple of 3 get no orders; o_orderdate is uniform from
-- 1992-01-01 to 1998-12-31 less 151 days; each order has 1 to 7
-- lineitems, shipped 1 to 121 days after the order, committed 30 to 90
-- days after it, received 1 to 30 days after shipping; return flag R or A
-- if received by 1995-06-17 (the current date), else N; line status O if
-- shipped after it, else F; the order's status F, O or P from its lines'
-- and its total price from its lines.
CREATE FUNCTION tpch_gen.stage_orders(sf numeric, first bigint, step bigint, n bigint, slot int)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	ncust int := (150000 * sf)::int;
	npart int := (200000 * sf)::int;
	nsupp int := (10000 * sf)::int;
	nclerk int := greatest(1, (1000 * sf)::int);
	days int := (date '1998-12-31' - 151) - date '1992-01-01';
BEGIN
	TRUNCATE tpch_gen.o, tpch_gen.new_orders, tpch_gen.new_lineitem;
	INSERT INTO tpch_gen.o
	SELECT (i / 8) * 32 + slot * 8 + i % 8 + 1, (c / 2) * 3 + c % 2 + 1,
		date '1992-01-01' + tpch_gen.rnd(0, days), tpch_gen.rnd(1, 7),
		(ARRAY['1-URGENT', '2-HIGH', '3-MEDIUM', '4-NOT SPECIFIED', '5-LOW'])[tpch_gen.rnd(1, 5)],
		'Clerk#' || lpad(tpch_gen.rnd(1, nclerk)::text, 9, '0'),
		tpch_gen.text(19, 78)
	FROM (SELECT first + j * step AS i, tpch_gen.rnd(0, ncust - ncust / 3 - 1) AS c
		FROM generate_series(0, n - 1) AS j OFFSET 0) AS s;

	INSERT INTO tpch_gen.new_lineitem
	SELECT ok, partkey, (partkey + (si * (nsupp / 4 + (partkey - 1) / nsupp))) % nsupp + 1, ln,
		qty, qty * ((90000 + ((partkey / 10) % 20001) + 100 * (partkey % 1000)) / 100.0),
		discount, tax,
		CASE WHEN shipdate + rdays <= date '1995-06-17' THEN CASE WHEN flag_r THEN 'R' ELSE 'A' END ELSE 'N' END,
		CASE WHEN shipdate > date '1995-06-17' THEN 'O' ELSE 'F' END,
		shipdate, commitdate, shipdate + rdays, instruct, mode, comment
	FROM (SELECT o.ok, ln, tpch_gen.rnd(1, npart) AS partkey, tpch_gen.rnd(0, 3) AS si,
			tpch_gen.rnd(1, 50) AS qty, tpch_gen.rnd(0, 10) / 100.0 AS discount,
			tpch_gen.rnd(0, 8) / 100.0 AS tax, o.orderdate + tpch_gen.rnd(1, 121) AS shipdate,
			o.orderdate + tpch_gen.rnd(30, 90) AS commitdate, tpch_gen.rnd(1, 30) AS rdays,
			random() < 0.5 AS flag_r,
			(ARRAY['DELIVER IN PERSON', 'COLLECT COD', 'NONE', 'TAKE BACK RETURN'])[tpch_gen.rnd(1, 4)] AS instruct,
			(ARRAY['REG AIR', 'AIR', 'RAIL', 'SHIP', 'TRUCK', 'MAIL', 'FOB'])[tpch_gen.rnd(1, 7)] AS mode,
			tpch_gen.text(10, 43) AS comment
		FROM tpch_gen.o AS o, generate_series(1, o.nlines) AS ln OFFSET 0) AS l;

	INSERT INTO tpch_gen.new_orders
	SELECT o.ok, o.custkey, CASE WHEN l.all_f THEN 'F' WHEN l.all_o THEN 'O' ELSE 'P' END,
		l.total, o.orderdate, o.priority, o.clerk, 0, o.comment
	FROM tpch_gen.o AS o
	JOIN (SELECT l_orderkey, bool_and(l_linestatus = 'F') AS all_f, bool_and(l_linestatus = 'O') AS all_o,
			round(sum(l_extendedprice * (1 + l_tax) * (1 - l_discount)), 2) AS total
		FROM tpch_gen.new_lineitem GROUP BY l_orderkey) AS l ON l.l_orderkey = o.ok;
END $$;

-- RF1's rows, set u (0..999): SF * 1,500 new orders spread over the key range
CREATE FUNCTION tpch_gen.stage_rf1(sf numeric, u int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	PERFORM setseed(u / 1000.0);
	PERFORM tpch_gen.stage_orders(sf, u, 1000, (1500 * sf)::int, 1);
END $$;

-- RF2's keys, set u (0..499): SF * 1,500 orders of the base population
CREATE FUNCTION tpch_gen.stage_rf2(sf numeric, u int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	TRUNCATE tpch_gen.del_orders;
	INSERT INTO tpch_gen.del_orders
	SELECT ((500 + u + j * 1000) / 8) * 32 + (500 + u + j * 1000) % 8 + 1
	FROM generate_series(0, (1500 * sf)::int - 1) AS j;
END $$;

SELECT tpch_gen.stage_orders(:sf, 0, 1, (1500000 * :sf)::int, 0);
INSERT INTO orders SELECT * FROM tpch_gen.new_orders ORDER BY o_orderkey;
INSERT INTO lineitem SELECT * FROM tpch_gen.new_lineitem ORDER BY l_orderkey, l_linenumber;
TRUNCATE tpch_gen.o, tpch_gen.new_orders, tpch_gen.new_lineitem;

VACUUM ANALYZE region, nation, part, supplier, partsupp, customer, orders, lineitem;
