# Rows moving between partitions under concurrent writers: three sessions
# move accounts between partitions (UPDATE of the partition key, across a
# LIST level, a HASH level below it and the DEFAULT partition) and
# transfer balances between accounts of different partitions (4,000
# transactions each, 2 ms apart), while a
# fourth creates and drops an empty partition (each time the worker
# rebuilds its views).  Every committed state has 1,000 accounts holding
# 100,000 in all, so every strict read of the views during the writes
# must show exactly that: a row seen twice or not at all at a commit
# shows up as another count or total.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('partition_moves');
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE accounts (id int, region int, balance int) PARTITION BY LIST (region);
	CREATE TABLE accounts_r0 PARTITION OF accounts FOR VALUES IN (0) PARTITION BY HASH (id);
	CREATE TABLE accounts_r0_a PARTITION OF accounts_r0 FOR VALUES WITH (MODULUS 2, REMAINDER 0);
	CREATE TABLE accounts_r0_b PARTITION OF accounts_r0 FOR VALUES WITH (MODULUS 2, REMAINDER 1);
	CREATE TABLE accounts_r1 PARTITION OF accounts FOR VALUES IN (1);
	CREATE TABLE accounts_r2 PARTITION OF accounts FOR VALUES IN (2);
	CREATE TABLE accounts_other PARTITION OF accounts DEFAULT;
	INSERT INTO accounts SELECT i, i % 4, 100 FROM generate_series(1, 1000) i;
	CREATE MATERIALIZED VIEW totals WITH (incremental) AS
	    SELECT count(*) AS n, sum(balance) AS total FROM accounts;
	CREATE MATERIALIZED VIEW per_region WITH (incremental) AS
	    SELECT region, count(*) AS n, sum(balance) AS total FROM accounts GROUP BY region;
});
is($node->safe_psql('postgres', 'SELECT n || \' \' || total FROM totals'), '1000 100000',
	'the views start from the table');

# writers: a move or a transfer per transaction; a deadlock or a row moved
# under a concurrent update rolls that one back
my %sessions;
for my $w (1 .. 3)
{
	my ($in, $out) = (qq{
		SELECT setseed(0.$w);
		DO \$\$
		DECLARE a int; b int;
		BEGIN
		    FOR i IN 1..4000 LOOP
		        a := 1 + floor(random() * 1000)::int;
		        b := 1 + floor(random() * 1000)::int;
		        BEGIN
		            IF i % 2 = 0 THEN
		                UPDATE accounts SET region = (ARRAY[0, 1, 2, 3, 7])[1 + floor(random() * 5)::int]
		                 WHERE id = a;
		            ELSE
		                UPDATE accounts SET balance = balance - 5 WHERE id = least(a, b);
		                UPDATE accounts SET balance = balance + 5, region = (region + 1) % 4
		                 WHERE id = greatest(a, b);
		            END IF;
		        EXCEPTION WHEN deadlock_detected OR serialization_failure THEN
		            NULL;
		        END;
		        COMMIT;
		        PERFORM pg_sleep(0.002);
		    END LOOP;
		END \$\$;
		SELECT 'writer done';
	}, '');
	$sessions{"writer $w"} = [ IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, 'postgres' ],
		'<', \$in, '>', \$out, '2>', \$out), \$out ];
}
{
	my ($in, $out) = (q{
		DO $$
		BEGIN
		    FOR i IN 1..10 LOOP
		        CREATE TABLE accounts_r9 PARTITION OF accounts FOR VALUES IN (9);
		        COMMIT;
		        PERFORM pg_sleep(0.3);
		        DROP TABLE accounts_r9;
		        COMMIT;
		        PERFORM pg_sleep(0.3);
		    END LOOP;
		END $$;
		SELECT 'ddl done';
	}, '');
	$sessions{ddl} = [ IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, 'postgres' ],
		'<', \$in, '>', \$out, '2>', \$out), \$out ];
}

# the checker: strict reads, each in a session of its own
my ($reads, $wrong) = (0, 0);
my $running = 1;
my $deadline = time() + 600;
while ($running && time() < $deadline)
{
	my $seen = $node->safe_psql('postgres', q{
		SELECT t.n || ' ' || t.total || ' ' || (SELECT sum(n) || ' ' || sum(total) FROM per_region)
		  FROM totals t});
	$reads++;
	if ($seen ne '1000 100000 1000 100000')
	{
		$wrong++;
		diag("read $reads saw $seen");
	}
	# feed the sessions their input and take their output, without
	# waiting; a session is done when it says so
	$_->[0]->pump_nb for values %sessions;
	$running = grep { ${ $_->[1] } !~ /done/ } values %sessions;
}
for my $name (sort keys %sessions)
{
	$sessions{$name}[0]->finish;
	like(${ $sessions{$name}[1] }, qr/done/, "$name ran to its end");
	unlike(${ $sessions{$name}[1] }, qr/ERROR/, "$name had no error");
}
cmp_ok($reads, ">=", 20, "the checker read during the writes ($reads reads)");
is($wrong, 0, 'every strict read saw 1,000 accounts holding 100,000');

is($node->safe_psql('postgres', q{
	SELECT (SELECT count(*) FROM (TABLE per_region EXCEPT ALL
	          SELECT region, count(*), sum(balance) FROM accounts GROUP BY region) a)
	    || ' ' || (SELECT count(*) FROM (SELECT region, count(*), sum(balance)
	          FROM accounts GROUP BY region EXCEPT ALL TABLE per_region) b)}),
	'0 0', 'per_region equals its query after the writes');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM accounts_other}), '>', 0,
	'rows moved into the DEFAULT partition');

$node->stop;
done_testing();
