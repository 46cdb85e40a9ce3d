# Progress on an idle server: with nothing written, a subscriber still gets
# progress rows about once a second (the worker writes a WAL record of its
# own while it has subscribers).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('idle_progress', "autovacuum = off\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (k int);
	ALTER TABLE t REPLICA IDENTITY FULL;
	INSERT INTO t VALUES (1);
	CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT k FROM t;
	SELECT count(*) FROM v;
});

# a polling subscription with progress, in one session
my $out = $node->safe_psql('postgres', q{
	SELECT coordinator.subscribe_open('v', snapshot => false, progress => true) AS id \gset
	SELECT count(*) FROM (SELECT coordinator.subscribe_fetch(:id, 1, '0s')) s;
	SELECT pg_sleep(3.5);
	CREATE TEMP TABLE later AS SELECT coordinator.subscribe_fetch(:id, 100, '0s');
	SELECT count(*) >= 2, bool_and(mz_progressed), count(DISTINCT mz_timestamp) = count(*)
	  FROM later;
});
my @lines = grep { $_ ne '' } split /\n/, $out;
is($lines[0], '1', 'the first row (progress at the start) comes at once');
is($lines[1], 't|t|t',
	'3.5 s later, with nothing written, distinct progress rows have come');

$node->stop;
done_testing();
