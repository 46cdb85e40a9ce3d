# SUBSCRIBE from a libpq client while a writer runs: test/subscribe/replay.c
# consumes a view through a cursor and a query through the polling form,
# replays the diffs and compares with the view and the query at the last
# progress.  Then: a subscriber's session ending frees its subscription.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('subscribe');
$node->safe_psql('postgres', 'CREATE EXTENSION coordinator');

# build the client with the server's libpq
my $includedir = `pg_config --includedir`;
my $libdir = `pg_config --libdir`;
chomp($includedir, $libdir);
my $replay = "${PostgreSQL::Test::Utils::tmp_check}/replay";
my ($out, $err) = run_command([ 'cc', '-Wall', '-Werror', '-o', $replay,
	"$FindBin::Bin/../subscribe/replay.c", "-I$includedir", "-L$libdir", '-lpq' ]);
ok(-x $replay, 'the libpq client builds') or diag($err);

my $connstr = $node->connstr('postgres');
($out, $err) = run_command([ $replay, $connstr, '8' ]);
like($out, qr/^ok view: [1-9][0-9]* changes/m,
	'replaying the subscriptions gives the view and the query')
  or diag("$out\n$err");
note($out);

# a session that ends frees its subscriptions
my $bg = $node->background_psql('postgres');
$bg->query_safe(q{SELECT coordinator.subscribe_open('rp_v')});
is($node->safe_psql('postgres', 'SELECT count(*) FROM coordinator.subscriptions'),
	'1', 'an open polling subscription is listed');
$node->safe_psql('postgres', q{
	SELECT pg_terminate_backend(pid) FROM coordinator.subscriptions});
ok($node->poll_query_until('postgres',
		'SELECT count(*) = 0 FROM coordinator.subscriptions'),
	'the subscription ends with its session');
eval { $bg->quit; };

$node->stop;
done_testing();
