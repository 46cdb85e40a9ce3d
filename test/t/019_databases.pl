# Several databases served at once (coordinator.database = ''): one
# coordinator, dataflow worker and replication slot per database with the
# extension; writes in both of two databases while strict reads of both
# see every committed write; a webhook POST lands in the database its URL
# names; DROP EXTENSION in one database leaves the other running; a
# database created after the server started is served without a restart,
# and so is a pg_dump restored into a new database; DROP DATABASE of a
# served database stops its processes; coordinator.max_databases is
# enforced with a clear error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = CoordinatorNode->new('databases', qq{
coordinator.database = ''
coordinator.max_databases = 2
coordinator.webhook_port = $port
coordinator.webhook_listen_address = '127.0.0.1'
});

# POST body to url; returns the HTTP status.
sub post
{
	my ($url, $body) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'curl', '-s', '-S', '--max-time', '60', '-o', '/dev/null', '-w', '%{http_code}',
		'--data-binary', '@-', $url ], '<', \$body, '>', \$out, '2>', \$err);
	return $out;
}

# a table, a maintained view over it, and a webhook source
sub setup_database
{
	my ($db) = @_;
	$node->safe_psql($db, q{
		CREATE EXTENSION coordinator;
		CREATE TABLE orders (id int PRIMARY KEY, customer int, amount int);
		CREATE MATERIALIZED VIEW per_customer WITH (incremental) AS
		    SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer;
		SELECT coordinator.create_webhook_source('events');
	});
}

# "extra missing" rows of the view against its query (a strict read)
sub differences
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT (SELECT count(*) FROM (TABLE per_customer EXCEPT ALL
		          SELECT customer, count(*), sum(amount) FROM orders GROUP BY customer) a)
		    || ' ' || (SELECT count(*) FROM (SELECT customer, count(*), sum(amount)
		          FROM orders GROUP BY customer EXCEPT ALL TABLE per_customer) b)});
}

# our processes connected to database db, by type
sub processes_in
{
	my ($db) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT string_agg(backend_type, ',' ORDER BY backend_type) FROM pg_stat_activity
		 WHERE datname = '$db' AND backend_type LIKE 'coordinator%'});
}

$node->safe_psql('postgres', 'CREATE DATABASE one');
$node->safe_psql('postgres', 'CREATE DATABASE two');
setup_database('one');
setup_database('two');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM pg_stat_activity
	 WHERE backend_type = 'coordinator' AND datname IN ('one', 'two')}),
	'a coordinator in each database with the extension');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_stat_activity
	 WHERE backend_type LIKE 'coordinator%' AND datname NOT IN ('one', 'two')}),
	'0', 'none in a database without it');

# writes in both databases while strict reads of both check the views
my %writers;
for my $db ('one', 'two')
{
	my $base = $db eq 'one' ? 0 : 100000;
	my ($in, $out) = (qq{
		DO \$\$
		BEGIN
		    FOR i IN 1..300 LOOP
		        INSERT INTO orders VALUES ($base + i, i % 7, i);
		        IF i % 3 = 0 THEN
		            UPDATE orders SET amount = amount + 1 WHERE id = $base + i - 1;
		        END IF;
		        COMMIT;
		    END LOOP;
		END \$\$;
		SELECT 'writer done';
	}, '');
	$writers{$db} = IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, $db ],
		'<', \$in, '>', \$out, '2>', \$out);
}
my $mismatches = 0;
for my $round (1 .. 20)
{
	for my $db ('one', 'two')
	{
		$mismatches++ if differences($db) ne '0 0';
	}
}
$_->finish for values %writers;
is($mismatches, 0, 'strict reads of both databases during the writes equal the queries');
is(differences('one'), '0 0', 'database one after the writes');
is(differences('two'), '0 0', 'database two after the writes');
is($node->safe_psql('one', 'SELECT sum(n) FROM per_customer'), '300', 'every write of one');
is($node->safe_psql('two', 'SELECT sum(n) FROM per_customer'), '300', 'every write of two');

# each database has its own replication slot, named after its OID
for my $db ('one', 'two')
{
	my $oid = $node->safe_psql('postgres', "SELECT oid FROM pg_database WHERE datname = '$db'");
	is($node->safe_psql('postgres', qq{
		SELECT string_agg(slot_name, ',') FROM pg_replication_slots WHERE database = '$db'}),
		"coordinator_${oid}_0", "the slot of database $db carries its OID");
}

# the webhook listener serves both databases, each at its own URL
is(post("http://127.0.0.1:$port/api/webhook/one/public/events", 'for one'), '200',
	'a POST to database one');
is(post("http://127.0.0.1:$port/api/webhook/two/public/events", 'for two'), '200',
	'a POST to database two');
is(post("http://127.0.0.1:$port/api/webhook/postgres/public/events", 'nowhere'), '404',
	'a POST to a database without the extension is not found');
is($node->safe_psql('one', 'SELECT string_agg(body, \',\') FROM events'), 'for one',
	'the row of one is in one only');
is($node->safe_psql('two', 'SELECT string_agg(body, \',\') FROM events'), 'for two',
	'the row of two is in two only');

# DROP EXTENSION in one: its processes go, two goes on
$node->safe_psql('one', 'DROP EXTENSION coordinator CASCADE');
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 0 FROM pg_stat_activity
	 WHERE datname = 'one' AND backend_type LIKE 'coordinator%'}),
	'DROP EXTENSION in one stops its coordinator, workers and appender');
$node->safe_psql('two', 'INSERT INTO orders VALUES (999999, 3, 5)');
is(differences('two'), '0 0', 'two is still maintained');
is(post("http://127.0.0.1:$port/api/webhook/two/public/events", 'again'), '200',
	'and still takes POSTs');
is(post("http://127.0.0.1:$port/api/webhook/one/public/events", 'gone'), '404',
	'one no longer does');

# a database created after the server started: served without a restart
$node->safe_psql('postgres', 'CREATE DATABASE three');
setup_database('three');
$node->safe_psql('three', 'INSERT INTO orders SELECT g, g % 5, g FROM generate_series(1, 50) g');
is(differences('three'), '0 0', 'CREATE EXTENSION in a new database: its view is maintained');
is($node->safe_psql('three', q{SELECT state FROM coordinator.objects WHERE name = 'per_customer'::regclass}),
	'running', 'by its own coordinator');

# pg_dump of two restored into a new database: maintained views there
my $dump = $node->basedir . '/two.sql';
$node->command_ok([ 'pg_dump', '-h', $node->host, '-p', $node->port, '-f', $dump, 'two' ],
	'pg_dump of database two');
is(post("http://127.0.0.1:$port/api/webhook/four/public/events", 'x'), '404',
	'before the restore its database is not served');
$node->safe_psql('postgres', 'CREATE DATABASE four');
my ($rc, $stdout, $stderr) = $node->psql('four', undef, extra_params => [ '-f', $dump ]);
like($stderr, qr/coordinator cannot serve database "four": it serves coordinator.max_databases \(2\) databases already/,
	'with coordinator.max_databases databases served, CREATE EXTENSION says so');
$node->safe_psql('postgres', 'DROP DATABASE four');

# DROP DATABASE of a served database: its processes leave it first
ok(processes_in('three') =~ /coordinator dataflow worker/, 'three has its worker');
$node->safe_psql('postgres', 'DROP DATABASE three');
is(processes_in('three'), '', 'DROP DATABASE of a served database succeeds');
$node->safe_psql('postgres', 'DROP DATABASE one');

# now there is room: the restore gives maintained views
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $node->host,
	'-p', $node->port, '-f', $dump, 'restored' ], 'restore of two into database restored');
is(differences('restored'), '0 0', 'the restored view equals its query');
$node->safe_psql('restored', 'INSERT INTO orders VALUES (1000000, 3, 7); DELETE FROM orders WHERE id = 1');
is(differences('restored'), '0 0', 'and is maintained there');
is($node->safe_psql('restored', q{SELECT state FROM coordinator.objects WHERE name = 'per_customer'::regclass}),
	'running', 'by the coordinator of database restored');
is($node->safe_psql('restored', 'SELECT count(*) FROM events'), '2', 'with the webhook rows of two');
is(post("http://127.0.0.1:$port/api/webhook/restored/public/events", 'restored'), '200',
	'and its webhook source takes POSTs at its own URL');
is(differences('two'), '0 0', 'two is unaffected');

$node->stop;
done_testing();
