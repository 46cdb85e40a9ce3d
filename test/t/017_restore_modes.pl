# A dump restores completely in every mode: psql -f (each statement its
# own transaction), psql -1 -f (one transaction: the REFRESH of a view made
# maintained in it must not wait for a worker), pg_dump -Fc with
# pg_restore -j 2, and pg_restore into a database of another name on a
# server whose coordinator.database is that name.  Each mode runs several
# times, each restore bounded in time (a deadlock between the restore's
# ALTER TABLE ... ADD PRIMARY KEY and the hydration of the restored views
# lost the key in most runs; psql -1 hung).  After each restore: the
# constraints and indexes, owners and grants of the source database, every
# view maintained with its owner and retain_history, the webhook sources
# still sources (a POST appends, and a view over the source counts it),
# and after random writes every view equals its query.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

# How long one restore may take before it counts as hung.
my $restore_timeout = 120;

my $source = CoordinatorNode->new('restore_source', "coordinator.database = 'src'\n");
my $same_port = PostgreSQL::Test::Cluster::get_free_port();
my $same = CoordinatorNode->new('restore_same', qq{
coordinator.database = 'src'
coordinator.webhook_port = $same_port
coordinator.webhook_listen_address = '127.0.0.1'
});
my $other_port = PostgreSQL::Test::Cluster::get_free_port();
my $other = CoordinatorNode->new('restore_other', qq{
coordinator.database = 'dst'
coordinator.webhook_port = $other_port
coordinator.webhook_listen_address = '127.0.0.1'
});

# roles are not in a database's dump
for my $node ($source, $same, $other)
{
	$node->safe_psql('postgres', 'CREATE ROLE analyst; CREATE ROLE reader');
}

$source->safe_psql('postgres', 'CREATE DATABASE src');
$source->safe_psql('src', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE customers (id int PRIMARY KEY, region text NOT NULL, name text UNIQUE);
	CREATE TABLE orders (id int PRIMARY KEY, customer int NOT NULL REFERENCES customers,
	                     amount numeric CHECK (amount >= 0));
	CREATE INDEX orders_customer ON orders (customer);
	CREATE TABLE notes (id int, note text, CONSTRAINT notes_id_key UNIQUE (id));
	INSERT INTO customers SELECT g, 'r' || g % 5, 'c' || g FROM generate_series(1, 200) g;
	INSERT INTO orders SELECT g, g % 200 + 1, g % 1000 FROM generate_series(1, 20000) g;
	INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 1000) g;
	GRANT SELECT ON orders, customers TO analyst;
	CREATE MATERIALIZED VIEW per_customer WITH (incremental, retain_history = '5 minutes') AS
	    SELECT customer, count(*) AS n, sum(amount) AS total FROM orders GROUP BY customer;
	CREATE UNIQUE INDEX per_customer_customer ON per_customer (customer);
	CREATE MATERIALIZED VIEW per_region WITH (incremental) AS
	    SELECT c.region, count(*) AS n, sum(o.amount) AS total
	      FROM orders o JOIN customers c ON c.id = o.customer GROUP BY c.region;
	GRANT SELECT ON per_region TO reader;
	CREATE MATERIALIZED VIEW n_customers WITH (incremental) AS
	    SELECT count(*) AS c FROM per_customer;
	CREATE MATERIALIZED VIEW big WITH (incremental, retain_history = '1 minute') AS
	    SELECT id, amount FROM orders WHERE amount > 900;
	ALTER MATERIALIZED VIEW big OWNER TO analyst;
	CREATE INDEX big_amount ON big (amount);
	CREATE MATERIALIZED VIEW plain AS SELECT count(*) AS n FROM orders;
	-- a plain materialized view over a maintained view: its REFRESH in a
	-- single-transaction restore reads the view made maintained there
	CREATE MATERIALIZED VIEW plain_over AS SELECT sum(n) AS n FROM per_customer;
	SELECT coordinator.create_webhook_source('events', body_format => 'json',
	                                         include_headers => true);
	INSERT INTO events VALUES ('{"n": 1}', '{}');
	SELECT coordinator.create_secret('shop_key', 'secret');
	SELECT coordinator.create_webhook_source('signed',
	    check_expression => $$coordinator.constant_time_eq(
	        encode(coordinator.hmac(body, shop_key, 'sha256'), 'base64'),
	        headers->>'x-signature')$$,
	    include_headers => true, secrets => '{shop_key}');
	CREATE MATERIALIZED VIEW event_count WITH (incremental) AS
	    SELECT count(*) AS n FROM events;
	GRANT SELECT, INSERT ON events TO reader;
});

my %dump = (
	plain  => $source->basedir . '/src.sql',
	custom => $source->basedir . '/src.dump');
command_ok([ 'pg_dump', '-h', $source->host, '-p', $source->port, '-f', $dump{plain}, 'src' ],
	'pg_dump, plain');
command_ok([ 'pg_dump', '-Fc', '-h', $source->host, '-p', $source->port,
		'-f', $dump{custom}, 'src' ], 'pg_dump -Fc');

# What must come back, as one text per aspect (names, not OIDs).
my %aspects = (
	constraints => q{
		SELECT string_agg(conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid),
		                  E'\n' ORDER BY conrelid::regclass::text, conname)
		  FROM pg_constraint WHERE connamespace = 'public'::regnamespace},
	indexes => q{
		SELECT string_agg(indexdef, E'\n' ORDER BY indexname)
		  FROM pg_indexes WHERE schemaname = 'public'},
	owners_grants => q{
		SELECT string_agg(relname || ' ' || relkind::text || ' ' || relowner::regrole || ' ' ||
		                  coalesce(relacl::text, '-') || ' ' || relreplident::text,
		                  E'\n' ORDER BY relname)
		  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('r', 'm')},
	maintained => q{
		SELECT string_agg(name || ' ' || owner || ' ' || retain_history, E'\n' ORDER BY name::text)
		  FROM coordinator.objects},
	webhooks => q{
		SELECT string_agg(name || ' ' || body_format || ' ' || include_headers || ' ' ||
		                  coalesce(check_expression, '-') || ' ' || secrets::text,
		                  E'\n' ORDER BY name::text)
		  FROM coordinator.webhook_sources},
	data => q{
		SELECT (SELECT count(*) || ' ' || sum(amount) FROM orders) || ' ' ||
		       (SELECT count(*) FROM customers) || ' ' || (SELECT count(*) FROM events) || ' ' ||
		       (SELECT n FROM plain) || ' ' || (SELECT n FROM plain_over)},
);
my %expected = map { $_ => $source->safe_psql('src', $aspects{$_}) } keys %aspects;
like($expected{maintained}, qr/^big analyst 00:01:00$/m, 'the source has a view of another owner');
like($expected{webhooks}, qr/^signed text true .*shop_key/ms, 'and a webhook source with a secret');

# Each view against its query: one number per view and direction, all 0.
my $differences = q{
	SELECT (SELECT count(*) FROM (TABLE per_customer EXCEPT ALL
	          SELECT customer, count(*), sum(amount) FROM orders GROUP BY customer) x)
	    || ' ' || (SELECT count(*) FROM (SELECT customer, count(*), sum(amount) FROM orders
	          GROUP BY customer EXCEPT ALL TABLE per_customer) x)
	    || ' ' || (SELECT count(*) FROM (TABLE per_region EXCEPT ALL
	          SELECT c.region, count(*), sum(o.amount) FROM orders o
	            JOIN customers c ON c.id = o.customer GROUP BY c.region) x)
	    || ' ' || (SELECT count(*) FROM (SELECT c.region, count(*), sum(o.amount) FROM orders o
	            JOIN customers c ON c.id = o.customer GROUP BY c.region
	          EXCEPT ALL TABLE per_region) x)
	    || ' ' || (SELECT count(*) FROM (TABLE n_customers EXCEPT ALL
	          SELECT count(DISTINCT customer) FROM orders) x)
	    || ' ' || (SELECT count(*) FROM (SELECT count(DISTINCT customer) FROM orders
	          EXCEPT ALL TABLE n_customers) x)
	    || ' ' || (SELECT count(*) FROM (TABLE big EXCEPT ALL
	          SELECT id, amount FROM orders WHERE amount > 900) x)
	    || ' ' || (SELECT count(*) FROM (SELECT id, amount FROM orders WHERE amount > 900
	          EXCEPT ALL TABLE big) x)
	    || ' ' || (SELECT count(*) FROM (TABLE event_count EXCEPT ALL
	          SELECT count(*) FROM events) x)
	    || ' ' || (SELECT count(*) FROM (SELECT count(*) FROM events
	          EXCEPT ALL TABLE event_count) x)};
my $no_differences = join ' ', ('0') x 10;

# Random single-row writes that keep every constraint: new customers and
# orders, updates of amounts, of group keys and of regions, deletes.
sub random_writes
{
	my ($seed) = @_;
	srand($seed);
	my @sql;
	for my $i (1 .. 300)
	{
		my $r = rand();
		my $id = 1 + int(rand(20000));
		if ($r < 0.25)
		{
			push @sql, sprintf('INSERT INTO orders VALUES (%d, %d, %d) ON CONFLICT DO NOTHING',
				30000 + $i, 1 + int(rand(200)), int(rand(2000)));
		}
		elsif ($r < 0.5)
		{
			push @sql, sprintf('UPDATE orders SET amount = %d WHERE id = %d', int(rand(2000)), $id);
		}
		elsif ($r < 0.65)
		{
			push @sql, sprintf('UPDATE orders SET customer = %d WHERE id = %d',
				1 + int(rand(200)), $id);
		}
		elsif ($r < 0.75)
		{
			push @sql, sprintf(q{UPDATE customers SET region = 'r%d' WHERE id = %d},
				int(rand(7)), 1 + int(rand(200)));
		}
		elsif ($r < 0.95)
		{
			push @sql, sprintf('DELETE FROM orders WHERE id = %d', $id);
		}
		else
		{
			push @sql, sprintf(q{INSERT INTO events VALUES ('{"n": %d}', '{}')}, $i);
		}
	}
	return join(";\n", @sql) . ";\n";
}

# Run a restore command, at most $restore_timeout seconds; returns
# (exit status or 'timeout', stderr).
sub run_restore
{
	my (@cmd) = @_;
	my ($out, $err) = ('', '');
	my $status = eval {
		IPC::Run::run(\@cmd, '>', \$out, '2>', \$err,
			IPC::Run::timeout($restore_timeout)) ? 0 : $? >> 8;
	};
	return ('timeout', $err) unless defined $status;
	return ($status, $err);
}

# POST body to a webhook source until the status is 200 (the listener may
# be starting), for at most 60 seconds; returns the last status.
sub post_until_ok
{
	my ($url, $body) = @_;
	my $status = '';
	for (1 .. 600)
	{
		my ($out, $err) = ('', '');
		IPC::Run::run([ 'curl', '-s', '--max-time', '60', '-o', '/dev/null', '-w', '%{http_code}',
				'--data-binary', '@-', '-H', 'Content-Type: application/json', $url ],
			'<', \$body, '>', \$out, '2>', \$err);
		$status = $out;
		last if $status eq '200';
		usleep(100_000);
	}
	return $status;
}

my $run = 0;

# Restore with @cmd (the database name is $db) on $node, then check.
sub restore_and_check
{
	my ($mode, $node, $db, @cmd) = @_;
	$run++;
	my $label = "$mode, run $run";

	$node->safe_psql('postgres', "DROP DATABASE IF EXISTS $db");
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	my ($status, $err) = run_restore(@cmd);
	is($status, 0, "$label: the restore ends and succeeds");
	unlike($err, qr/ERROR|WARNING|deadlock/, "$label: without errors or warnings")
	  or diag($err);

	for my $aspect (sort keys %aspects)
	{
		is($node->safe_psql($db, $aspects{$aspect}), $expected{$aspect},
			"$label: $aspect as in the source");
	}

	# every view maintained: strict reads wait for the worker
	is($node->safe_psql($db, $differences), $no_differences,
		"$label: the restored views equal their queries");

	# the webhook source takes POSTs, and the view over it counts them
	my $url = $node->safe_psql($db, q{SELECT coordinator.webhook_url('events')});
	like($url, qr{/api/webhook/$db/public/events$}, "$label: the source has its URL");
	is(post_until_ok($url, '{"posted": true}'), '200', "$label: a POST to the source succeeds");
	is($node->safe_psql($db, q{
		SELECT (SELECT count(*) FROM events WHERE body ? 'posted') || ' ' ||
		       (SELECT n FROM event_count) || ' ' || (SELECT count(*) FROM events)}),
		'1 2 2', "$label: the POST appended a row, which the view counts");

	$node->safe_psql($db, random_writes($run));
	is($node->safe_psql($db, $differences), $no_differences,
		"$label: after random writes the views equal their queries");
	is($node->safe_psql($db, q{SELECT count(*) FROM coordinator.objects WHERE state = 'running'}),
		'5', "$label: all five views run");
}

my @psql = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1');
for (1 .. 3)
{
	restore_and_check('psql -f', $same, 'src',
		@psql, '-h', $same->host, '-p', $same->port, '-f', $dump{plain}, 'src');
}
for (1 .. 3)
{
	restore_and_check('psql -1 -f', $same, 'src',
		@psql, '-1', '-h', $same->host, '-p', $same->port, '-f', $dump{plain}, 'src');
}
for (1 .. 3)
{
	restore_and_check('pg_restore -j 2', $same, 'src',
		'pg_restore', '-j', '2', '-h', $same->host, '-p', $same->port,
		'-d', 'src', $dump{custom});
}
for (1 .. 2)
{
	restore_and_check('pg_restore into another database', $other, 'dst',
		'pg_restore', '-j', '2', '-h', $other->host, '-p', $other->port,
		'-d', 'dst', $dump{custom});
}

$source->stop;
$same->stop;
$other->stop;
done_testing();
