# Webhook sources over HTTP: status codes (200, 400, 401, 404, 405, 413,
# 429, 503), HMAC validation with the known-answer vector, rows and a
# maintained view that reflect every 200 at once, the owner's rights, the
# listener's restart, and a load test (test/webhook/load.c) whose every
# acknowledged request must be in the table and in a view over it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Socket::INET;
use Time::HiRes qw(usleep);
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = CoordinatorNode->new('webhook', qq{
coordinator.webhook_port = $port
coordinator.webhook_listen_address = '127.0.0.1'
coordinator.webhook_concurrency_limit = 20
coordinator.webhook_body_limit = '4kB'
});
my $base = "http://127.0.0.1:$port/api/webhook/postgres/public";

# POST body to url with headers; returns (status, response body).
sub post
{
	my ($url, $body, @headers) = @_;
	my ($out, $err) = ('', '');
	my @cmd = ('curl', '-s', '-S', '--max-time', '60', '-w', '\n%{http_code}', '--data-binary', '@-',
		(map { ('-H', $_) } @headers), $url);
	IPC::Run::run(\@cmd, '<', \$body, '>', \$out, '2>', \$err);
	my @lines = split /\n/, $out, -1;
	my $status = pop @lines;
	return ($status, join("\n", @lines));
}

# post until the status is $want, for at most 10 seconds
sub post_until
{
	my ($url, $body, $want) = @_;
	my ($status, $text);
	for (1 .. 100)
	{
		($status, $text) = post($url, $body);
		last if $status eq $want;
		usleep(100_000);
	}
	return ($status, $text);
}

sub listener_pid
{
	return $node->safe_psql('postgres', q{
		SELECT pid FROM pg_stat_activity WHERE backend_type = 'coordinator webhook listener'});
}

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'coordinator webhook listener'}),
	'the launcher starts the listener');

my ($status, $body) = post("$base/events", 'x');
is($status, '404', 'before CREATE EXTENSION every source is unknown');

my $signature = 'HA0rQdPkCiNNNAladA0eTI8x5WZp5z8rBawQHiywznI=';
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE ROLE hook_owner;
	GRANT CREATE ON SCHEMA public TO hook_owner;
	SET ROLE hook_owner;
	SELECT coordinator.create_secret('signing_key', 'test_key');
	SELECT coordinator.create_webhook_source('events',
		include_headers => true, exclude_headers => '{authorization}',
		header_columns => '{x-event-type}',
		check_expression => $$coordinator.constant_time_eq(
			encode(coordinator.hmac(body, signing_key, 'sha256'), 'base64'),
			headers->>'x-signature')$$,
		secrets => '{signing_key}');
	ALTER TABLE events ADD COLUMN appended_by name DEFAULT current_user;
	ALTER TABLE events ADD CONSTRAINT short CHECK (length(body) < 100);
	RESET ROLE;
	CREATE MATERIALIZED VIEW events_by_type WITH (incremental) AS
		SELECT x_event_type, count(*) AS n FROM events GROUP BY x_event_type;
});

# --- validation ---
($status, $body) = post("$base/events", 'body=hello world',
	"x-signature: $signature", 'X-Event-Type: greeting', 'Authorization: Bearer s3cret');
is($status, '200', 'a request signed with the known-answer vector is accepted');
is($node->safe_psql('postgres', q{
	SELECT body, x_event_type, headers->>'x-signature', headers ? 'authorization', appended_by
	  FROM events}),
	"body=hello world|greeting|$signature|f|hook_owner",
	'its row: body, header column, headers without the excluded one, appended as the owner');
is($node->safe_psql('postgres', 'SELECT x_event_type, n FROM events_by_type'),
	'greeting|1', 'a strict read of a view over the source reflects the 200 at once');

($status, $body) = post("$base/events", 'body=hello world', 'x-signature: AAAA');
is("$status $body", '400 failed to validate the request', 'a wrong signature gets 400');
($status, $body) = post("$base/events", 'body=hello world');
is($status, '400', 'a missing signature gets 400');
is($node->safe_psql('postgres', 'SELECT count(*) FROM events'), '1', 'and neither is stored');

$node->safe_psql('postgres', q{
	SET ROLE hook_owner; SELECT coordinator.alter_secret('signing_key', 'rotated')});
($status, $body) = post("$base/events", 'body=hello world', "x-signature: $signature");
is($status, '400', 'after rotating the secret the old signature fails');
my $rotated = $node->safe_psql('postgres',
	q{SELECT encode(coordinator.hmac('body=hello world', 'rotated', 'sha256'), 'base64')});
($status, $body) = post("$base/events", 'body=hello world', "x-signature: $rotated");
is($status, '200', 'and the new one passes');

my $long = 'x' x 200;
my $long_sig = $node->safe_psql('postgres',
	qq{SELECT encode(coordinator.hmac('$long', 'rotated', 'sha256'), 'base64')});
($status, $body) = post("$base/events", $long, "x-signature: $long_sig");
is("$status $body", '400 invalid request', 'a row the table refuses gets 400');

# --- requests refused before the database is asked ---
($status, $body) = post("$base/nosuch", 'x');
is("$status $body", '404 not found', 'an unknown source gets 404');
($status) = post("http://127.0.0.1:$port/api/webhook/otherdb/public/events", 'x');
is($status, '404', 'so does another database');
($status) = post("http://127.0.0.1:$port/api/webhook/postgres/events", 'x');
is($status, '404', 'and a path without a schema');
my ($out, $err) = run_command([ 'curl', '-s', '--max-time', '60', '-w', '%{http_code}', '-o', '/dev/null', "$base/events" ]);
is($out, '405', 'GET gets 405');
($status, $body) = post("$base/events", 'x', 'X-A: 1', 'x-a: 2');
is("$status $body", '401 duplicate header names', 'a header name sent twice gets 401');
($status, $body) = post("$base/events", 'y' x 5000);
is("$status $body", '413 request body too large', 'a body over the limit gets 413');
($status) = post("$base/events", 'y' x 5000, 'Transfer-Encoding: chunked');
is($status, '413', 'also when it comes in chunks without a length');

# --- body formats ---
$node->safe_psql('postgres', q{
	SELECT coordinator.create_webhook_source('items', body_format => 'json array');
	SELECT coordinator.create_webhook_source('blobs', body_format => 'bytes');
});
($status) = post("$base/items", '[{"n": 1}, {"n": 2}, 3]');
is($status, '200', 'a JSON array is accepted');
($status) = post("$base/items", '{"n": 4}');
is($status, '200', 'so is a single JSON value');
($status, $body) = post("$base/items", '{"n": ');
is("$status $body", '400 invalid body', 'invalid JSON gets 400');
is($node->safe_psql('postgres', q{SELECT string_agg(body::text, ' ' ORDER BY body::text) FROM items}),
	'3 {"n": 1} {"n": 2} {"n": 4}', 'one row per element of an array');
($status) = post("$base/blobs", "\xff\x00\x01");
is($status, '200', 'bytes are stored as sent');
is($node->safe_psql('postgres', 'SELECT body FROM blobs'), '\xff0001', 'all of them');
($status) = post("$base/events", "\xff\xfe", "x-signature: x");
is($status, '400', 'text that is not valid UTF-8 gets 400');

# --- renames ---
$node->safe_psql('postgres', 'ALTER TABLE items RENAME TO items2');
($status) = post("$base/items", '[]');
is($status, '404', 'after a rename the old URL gets 404');
($status) = post("$base/items2", '[5]');
is($status, '200', 'and the new one works');

# --- 429: more requests in flight than coordinator.webhook_concurrency_limit ---
my @held;
for my $i (1 .. 20)
{
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	  or die "connect: $!";
	print $sock "POST /api/webhook/postgres/public/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab";
	$sock->flush;
	push @held, $sock;
}
# the listener may not have read all 20 when the next request comes: retry
($status, $body) = post_until("$base/blobs", 'c', '429');
is("$status $body", '429 too many requests', 'a request beyond the concurrency limit gets 429');
close($_) for @held;
($status) = post_until("$base/blobs", 'd', '200');
is($status, '200', 'once the others are gone requests are accepted again');

# --- the owner's code: settings it changes end with the request; a slow one is cut off ---
$node->safe_psql('postgres', q{
	SELECT coordinator.create_webhook_source('setter');
	CREATE FUNCTION set_it() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM set_config('application_name', 'leaked', false);
		IF NEW.body = 'slow' THEN PERFORM pg_sleep(60); END IF;
		RETURN NEW;
	END $$;
	CREATE TRIGGER set_it BEFORE INSERT ON setter FOR EACH ROW EXECUTE FUNCTION set_it();
	SELECT coordinator.create_webhook_source('reader');
	ALTER TABLE reader ADD COLUMN app text DEFAULT current_setting('application_name');
});
($status) = post("$base/setter", 'x');
is($status, '200', 'a request whose trigger changes a setting is appended');
($status) = post("$base/reader", 'y');
is($node->safe_psql('postgres', 'SELECT app FROM reader'), '',
	'and the next request does not see the setting');
($status, $body) = post("$base/setter", 'slow');
is("$status $body", '500 internal error', 'a request that runs longer than 5 s gets 500');
is($node->safe_psql('postgres', q{SELECT count(*) FROM setter WHERE body = 'slow'}), '0',
	'and is not appended');

# --- DROP DATABASE waits for every process to absorb a barrier, the listener too ---
$node->safe_psql('postgres', 'CREATE DATABASE scratch');
my ($rc) = $node->psql('postgres', 'DROP DATABASE scratch',
	timeout => $PostgreSQL::Test::Utils::timeout_default);
is($rc, 0, 'DROP DATABASE of another database completes while the listener runs');

# --- a lock held on a source: the request fails after 5 s ---
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE blobs IN ACCESS EXCLUSIVE MODE');
($status, $body) = post("$base/blobs", 'locked out');
is("$status $body", '500 internal error', 'a request that cannot lock its table in 5 s gets 500');
like(slurp_file($node->logfile),
	qr/WARNING:  webhook request to public\.blobs failed with status 500: canceling statement due to statement timeout/,
	'the reason goes to the server log only');
$locker->query_safe('COMMIT');
$locker->quit;
($status) = post("$base/blobs", 'unlocked');
is($status, '200', 'once the lock is gone requests are appended again');

# --- the listener's restart and 503 ---
my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port) or die "connect: $!";
print $sock "POST /api/webhook/postgres/public/blobs HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab";
$sock->flush;
# whether the listener read the first part before the SIGTERM or not, the
# request completes during the shutdown
my $old_pid = listener_pid();
$node->safe_psql('postgres', "SELECT pg_terminate_backend($old_pid)");
print $sock "cd";
$sock->flush;
my $response = join('', <$sock>);
like($response, qr{^HTTP/1\.1 503 }, 'a request completed while the listener shuts down gets 503');
close($sock);
ok($node->poll_query_until('postgres', qq{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE backend_type = 'coordinator webhook listener' AND pid <> $old_pid}),
	'the launcher restarts the listener');
($status) = post_until("$base/blobs", 'e', '200');
is($status, '200', 'which accepts requests again');

# --- load: every 200 is in the table and in a view over it ---
$node->safe_psql('postgres', q{
	SELECT coordinator.create_webhook_source('load', body_format => 'json');
	CREATE MATERIALIZED VIEW load_count WITH (incremental) AS
		SELECT count(*) AS n, count(DISTINCT (body->>'id')::int) AS ids FROM load;
});
my $load = "${PostgreSQL::Test::Utils::tmp_check}/load";
($out, $err) = run_command([ 'cc', '-O2', '-Wall', '-Werror', '-pthread', '-o', $load,
	"$FindBin::Bin/../webhook/load.c" ]);
ok(-x $load, 'the load client builds') or diag($err);
my $acked = "${PostgreSQL::Test::Utils::tmp_check}/acked.txt";
($out, $err) = run_command([ $load, '127.0.0.1', $port, '/api/webhook/postgres/public/load',
	'10', '8', '200000', $acked ]);
like($out, qr/^requests=\d+ ok=\d+ other=0 /, 'every request of the load gets 200') or diag("$out\n$err");
diag("webhook load, 8 connections for 10 s: $out");
my ($ok) = $out =~ /ok=(\d+)/;
$node->safe_psql('postgres', qq{
	CREATE TABLE acked (id int);
	COPY acked FROM '$acked';
});
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM acked a
	 WHERE NOT EXISTS (SELECT 1 FROM load l WHERE (l.body->>'id')::int = a.id)}),
	'0', 'every acknowledged request is in the table');
is($node->safe_psql('postgres', 'SELECT n, ids FROM load_count'), "$ok|$ok",
	'and in the view, once each');

$node->stop;
done_testing();
