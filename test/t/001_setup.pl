# Setup errors that need a server configured otherwise than the regression
# instance: no preload, wrong wal_level, output plugin not allowed; and a
# coordinator.database created after the server started.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('setup');
$node->init;
$node->append_conf('postgresql.conf', "wal_level = replica\n");
$node->start;

my ($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION coordinator');
isnt($ret, 0, 'CREATE EXTENSION fails without shared_preload_libraries');
like($err, qr/ERROR:  coordinator must be loaded via "shared_preload_libraries"/,
	'the error names shared_preload_libraries');
like($err, qr/HINT:  Add 'coordinator' to shared_preload_libraries in postgresql.conf and restart the server/,
	'the hint says what to set');

$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'coordinator'
coordinator.database = 'later'
});
$node->restart;
($ret, $out, $err) = $node->psql('postgres', 'CREATE EXTENSION coordinator');
isnt($ret, 0, 'CREATE EXTENSION fails with wal_level = replica');
like($err, qr/ERROR:  coordinator requires "wal_level" to be "logical"/, 'the error names wal_level');
like($err, qr/HINT:  Set wal_level = logical in postgresql.conf and restart the server/,
	'the hint says what to set');

# the server has no database "later" yet: the launcher waits for it
ok($node->log_contains('coordinator: waiting for database "later" to exist'),
	'the launcher waits for its database');

my $has_allow_list = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'");
$node->append_conf('postgresql.conf', "wal_level = logical\n");
if ($has_allow_list)
{
	$node->append_conf('postgresql.conf', "output_plugin_libraries = 'pgoutput, test_decoding'\n");
}
$node->restart;
$node->safe_psql('postgres', 'CREATE DATABASE later');
SKIP:
{
	skip 'this server has no output_plugin_libraries', 3 unless $has_allow_list;
	($ret, $out, $err) = $node->psql('later', 'CREATE EXTENSION coordinator');
	isnt($ret, 0, 'CREATE EXTENSION fails when the output plugin is not allowed');
	like($err, qr/ERROR:  coordinator is not allowed as a logical decoding output plugin/,
		'the error names the allow-list');
	like($err, qr/HINT:  Add coordinator to output_plugin_libraries in postgresql.conf/,
		'the hint says what to set');
	$node->append_conf('postgresql.conf',
		"output_plugin_libraries = 'pgoutput, test_decoding, coordinator'\n");
	$node->reload;
}

# with everything set, in the database created after start, views work
$node->safe_psql('later', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE t (a int);
	INSERT INTO t VALUES (1), (2);
	CREATE MATERIALIZED VIEW v WITH (incremental) AS SELECT a * 10 AS a10 FROM t;
});
$node->safe_psql('later', 'INSERT INTO t VALUES (3)');
is($node->safe_psql('later', 'SELECT string_agg(a10::text, \',\' ORDER BY a10) FROM v'),
	'10,20,30', 'a view in the database created after start follows its source');

$node->stop;
done_testing();
