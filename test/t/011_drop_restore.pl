# DROP DATABASE of coordinator.database and pg_dump/restore: our processes
# leave the database so that it can be dropped (and come back when the drop
# fails); a dump restored into a new database gives maintained views again,
# with their options, owners, indexes and views over views.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;
use IPC::Run;

my $node = CoordinatorNode->new('drop_restore', "coordinator.database = 'app'\n");

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
	CREATE EXTENSION coordinator;
	CREATE ROLE analyst;
	CREATE TABLE orders (id int PRIMARY KEY, customer int, amount numeric);
	ALTER TABLE orders REPLICA IDENTITY FULL;
	INSERT INTO orders SELECT g, g % 10, g FROM generate_series(1, 1000) g;
	GRANT SELECT ON orders TO analyst;
	CREATE MATERIALIZED VIEW per_customer WITH (incremental, retain_history = '5 minutes') AS
	    SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer;
	CREATE INDEX per_customer_customer ON per_customer (customer);
	CREATE MATERIALIZED VIEW customers WITH (incremental) AS SELECT count(*) AS c FROM per_customer;
	CREATE MATERIALIZED VIEW big WITH (incremental) AS SELECT id, amount FROM orders WHERE amount > 900;
	ALTER MATERIALIZED VIEW big OWNER TO analyst;
	CREATE MATERIALIZED VIEW plain AS SELECT count(*) AS n FROM orders;
});

# the views against their queries: one line per view, "extra missing"
sub differences
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT (SELECT count(*) FROM (TABLE per_customer EXCEPT ALL
		          SELECT customer, count(*), sum(amount) FROM orders GROUP BY customer) a)
		    || ' ' || (SELECT count(*) FROM (SELECT customer, count(*), sum(amount) FROM orders
		          GROUP BY customer EXCEPT ALL TABLE per_customer) b)
		    || ' ' || (SELECT count(*) FROM (TABLE customers EXCEPT ALL
		          SELECT count(DISTINCT customer) FROM orders) c)
		    || ' ' || (SELECT count(*) FROM (TABLE big EXCEPT ALL
		          SELECT id, amount FROM orders WHERE amount > 900) d)
		    || ' ' || (SELECT count(*) FROM (SELECT id, amount FROM orders WHERE amount > 900
		          EXCEPT ALL TABLE big) e)});
}

is(differences('app'), '0 0 0 0 0', 'the views equal their queries');

sub our_processes
{
	return $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity
		 WHERE backend_type IN ('coordinator', 'coordinator dataflow worker')});
}

# DROP DATABASE fails while another session is in the database; our
# processes come back afterwards and the views go on
my ($in, $out) = ('', '');
my $session = IPC::Run::start(
	[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, 'app' ],
	'<', \$in, '>', \$out, '2>', \$out);
$in .= "SELECT 'connected';\n";
$session->pump until $out =~ /connected/;
my ($rc, $stdout, $stderr) = $node->psql('postgres', 'DROP DATABASE app');
isnt($rc, 0, 'DROP DATABASE fails while a session is connected');
like($stderr, qr/is being accessed by other users/, 'with Postgres\'s error');
$in .= "\\q\n";
$session->finish;
$node->poll_query_until('app', q{
	SELECT count(*) = 3 FROM coordinator.objects WHERE state = 'running'})
  or die 'views did not come back after the failed DROP DATABASE';
$node->safe_psql('app', 'INSERT INTO orders VALUES (1001, 42, 1001)');
is(differences('app'), '0 0 0 0 0', 'after the failed drop the views are maintained');

# pg_dump, then DROP DATABASE succeeds while the coordinator runs
my $dump = $node->basedir . '/app.sql';
command_ok([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-f', $dump, 'app' ],
	'pg_dump of a database with maintained views');
cmp_ok(our_processes(), '>', 0, 'the coordinator and its worker run in app');
$node->safe_psql('postgres', 'DROP DATABASE app');
is(our_processes(), '0', 'DROP DATABASE app succeeds; our processes left it');
is($node->safe_psql('postgres', 'SELECT count(*) FROM pg_replication_slots'), '0',
	'no replication slot is left');
ok($node->log_contains('waiting for database "app" to exist'),
	'the launcher waits for the database to exist again');

# restore into a new database of the same name
$node->safe_psql('postgres', 'CREATE DATABASE app');
command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port,
		'-f', $dump, 'app' ], 'the dump restores');
is($node->safe_psql('app', q{
	SELECT string_agg(name || ' ' || owner || ' ' || retain_history, ', ' ORDER BY name::text)
	  FROM coordinator.objects}),
	'big analyst 00:00:01, customers postgres 00:00:01, per_customer postgres 00:05:00',
	'the maintained views are back with their owners and options');
is($node->safe_psql('app', q{
	SELECT relname FROM pg_class WHERE oid = 'per_customer_customer'::regclass}),
	'per_customer_customer', 'with their indexes');
is($node->safe_psql('app', q{
	SELECT count(*) FROM coordinator.objects WHERE name = 'plain'::regclass}),
	'0', 'a plain materialized view stays plain');
$node->poll_query_until('app', q{
	SELECT count(*) = 3 FROM coordinator.objects WHERE state = 'running'})
  or die 'restored views did not start';
is(differences('app'), '0 0 0 0 0', 'the restored views equal their queries');
$node->safe_psql('app', q{
	INSERT INTO orders SELECT g, g % 17, g FROM generate_series(2000, 2100) g;
	UPDATE orders SET amount = amount + 1000 WHERE id < 50;
	DELETE FROM orders WHERE id BETWEEN 500 AND 520;
});
is(differences('app'), '0 0 0 0 0', 'and are maintained after writes');

$node->stop;
done_testing();
