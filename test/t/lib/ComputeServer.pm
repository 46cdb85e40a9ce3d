# Compute servers in TAP tests (docs/scale-out.md): a primary node and
# compute server nodes set up by scripts/compute_server.sh.
package ComputeServer;

use strict;
use warnings;
use FindBin;
use IPC::Run;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(primary_node compute_server plain_connstr);

# A node that can be a primary: walsenders and slots for subscriptions.
sub primary_node
{
	my ($name) = @_;
	return CoordinatorNode->new($name,
		"max_connections = 40\nmax_wal_senders = 10\nmax_replication_slots = 10\n");
}

# Make $compute a compute server of $primary for @tables, subscription
# $sub (one test), and wait for the initial copy; then dblink there.
sub compute_server
{
	my ($primary, $compute, $sub, @tables) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'bash', "$FindBin::Bin/../../scripts/compute_server.sh",
		$primary->connstr('postgres'), $compute->connstr('postgres'), $sub, @tables ],
		'>', \$out, '2>', \$err);
	like($out, qr/compute server ready/, "scripts/compute_server.sh set up $sub")
	  or diag($err);
	$compute->poll_query_until('postgres',
		"SELECT count(*) = 0 FROM pg_subscription_rel WHERE srsubstate <> 'r'")
	  or die "the initial copy of $sub did not end";
	$compute->safe_psql('postgres', 'CREATE EXTENSION dblink');
}

# $node's connection string to database postgres without quotes, to pass
# to dblink inside a string literal.
sub plain_connstr
{
	my ($node) = @_;
	return 'host=' . $node->host . ' port=' . $node->port . ' dbname=postgres';
}

1;
