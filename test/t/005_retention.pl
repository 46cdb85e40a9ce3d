# What a running coordinator holds back: after 100,000 writes with the views
# caught up, its replication slot retains a bounded amount of WAL, and
# VACUUM removes the dead rows of a source (the worker does not pin the
# data horizon).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('retention');
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE EXTENSION pgstattuple;
	CREATE TABLE t (k int, v int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	CREATE MATERIALIZED VIEW per_k WITH (incremental) AS
	  SELECT k % 100 AS g, count(*) AS n, sum(v) AS total FROM t GROUP BY k % 100;
	CREATE PROCEDURE write_many(n int) LANGUAGE plpgsql AS $$
	BEGIN
	  FOR i IN 1..n LOOP
	    INSERT INTO t VALUES (i, i % 7);
	    COMMIT;
	  END LOOP;
	END $$;
});

# 100,000 single-row transactions
$node->safe_psql('postgres', 'CALL write_many(100000)');
is($node->safe_psql('postgres', 'SELECT sum(n) FROM per_k'), '100000',
	'the view reflects every write (a strict read waits for it)');

# the slot's restart position advances at the next running-transactions
# record (a checkpoint logs one) once the worker has decoded past it
my $bound = 16 * 1024 * 1024;
$node->safe_psql('postgres', 'CHECKPOINT');
$node->safe_psql('postgres', 'INSERT INTO t VALUES (0, 0)');
$node->safe_psql('postgres', 'SELECT count(*) FROM per_k');
ok($node->poll_query_until('postgres', qq{
	SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) < $bound
	  FROM pg_replication_slots WHERE slot_name LIKE 'coordinator%'}),
	'the slot retains less than 16 MB of WAL once the views are caught up');
my $retained = $node->safe_psql('postgres', q{
	SELECT pg_size_pretty(pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn))
	  FROM pg_replication_slots WHERE slot_name LIKE 'coordinator%'});
note("WAL retained by the slot: $retained");

# dead rows of a source go at the next VACUUM
$node->safe_psql('postgres', 'DELETE FROM t WHERE k % 2 = 0');
$node->safe_psql('postgres', 'SELECT count(*) FROM per_k');
$node->safe_psql('postgres', 'VACUUM t');
is($node->safe_psql('postgres', q{SELECT dead_tuple_count FROM pgstattuple('t')}),
	'0', 'VACUUM removes the dead rows of a source while the worker runs');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM ((SELECT * FROM per_k EXCEPT ALL
	  SELECT k % 100, count(*), sum(v) FROM t GROUP BY k % 100) UNION ALL
	 (SELECT k % 100, count(*), sum(v) FROM t GROUP BY k % 100 EXCEPT ALL
	  SELECT * FROM per_k)) d}), '0', 'the view equals its query');

$node->stop;
done_testing();
