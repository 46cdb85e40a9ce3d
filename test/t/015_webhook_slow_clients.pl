# The webhook listener stays available during a flood of slow clients: 150
# connections that send their headers a byte at a time, more than
# coordinator.webhook_max_connections allows, do not keep 2 valid requests
# from being answered (200) within 5 s, and their rows arrive; the oldest
# slow connections are the ones closed.  Then coordinator.webhook_request_timeout:
# a client that sends its headers, or its body, a byte at a time is closed
# when its time is up, as is one that sends nothing.  Loopback only, every
# loop bounded in time.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IO::Select;
use IO::Socket::INET;
use Time::HiRes qw(time usleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

$SIG{PIPE} = 'IGNORE';

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = CoordinatorNode->new('webhook_slow', qq{
coordinator.webhook_port = $port
coordinator.webhook_listen_address = '127.0.0.1'
coordinator.webhook_concurrency_limit = 20
coordinator.webhook_max_connections = 100
});
my $path = '/api/webhook/postgres/public/events';

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'coordinator webhook listener'}),
	'the launcher starts the listener');
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	SELECT coordinator.create_webhook_source('events');
});

# A connection to the listener, its writes non-blocking.
sub connect_listener
{
	my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port)
	  or die "connect: $!";
	$sock->blocking(0);
	return $sock;
}

# A slow client: what it sends, and how much of it went out.
my $slow_headers = "POST $path HTTP/1.1\r\nHost: x\r\nX-Pad: " . ('a' x 10000);

# Send the next byte of each slow client still open; one the listener closed
# (a write fails, or a read sees the end) is marked closed, with the time.
sub trickle
{
	my ($clients) = @_;
	for my $c (@$clients)
	{
		next if $c->{closed_at};
		my $buf;
		my $n = sysread($c->{sock}, $buf, 4096);
		if ((defined $n && $n == 0) ||
			(!defined $n && !$!{EAGAIN} && !$!{EWOULDBLOCK}))
		{
			$c->{closed_at} = time;
			next;
		}
		my $w = syswrite($c->{sock}, substr($c->{data}, $c->{sent}, 1));
		if (defined $w)
		{
			$c->{sent} += $w;
		}
		elsif (!$!{EAGAIN} && !$!{EWOULDBLOCK})
		{
			$c->{closed_at} = time;
		}
	}
}

# Send each whole request at once, then trickle the slow clients while
# waiting at most $limit seconds for the answers; returns the status lines
# ('' for none) and the seconds it took.
sub post_during
{
	my ($slow, $limit, @bodies) = @_;
	my $start = time;
	my @requests = map {
		my $sock = connect_listener();
		syswrite($sock, "POST $path HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
			  . 'Content-Length: ' . length($_) . "\r\n\r\n$_");
		{ sock => $sock, response => '', done => 0 }
	} @bodies;
	while (time - $start < $limit && grep { !$_->{done} } @requests)
	{
		my $select = IO::Select->new(map { $_->{sock} } grep { !$_->{done} } @requests);
		for my $sock ($select->can_read(0.05))
		{
			my ($r) = grep { $_->{sock} == $sock } @requests;
			my $buf;
			my $n = sysread($sock, $buf, 4096);
			if (defined $n && $n > 0)
			{
				$r->{response} .= $buf;
			}
			elsif (defined $n || (!$!{EAGAIN} && !$!{EWOULDBLOCK}))
			{
				$r->{done} = 1;
			}
		}
		trickle($slow);
	}
	my $took = time - $start;
	close($_->{sock}) for @requests;
	return ([ map { $_->{response} =~ /^(HTTP\/1\.1 \d+)/ ? $1 : '' } @requests ], $took);
}

# --- a flood of slow clients over coordinator.webhook_max_connections ---
my @slow;
for my $i (1 .. 150)
{
	push @slow, { sock => connect_listener(), data => $slow_headers, sent => 0, opened => $i };
	trickle([ $slow[-1] ]);
}
# a second of trickling: the listener has accepted them all
my $flood_start = time;
while (time - $flood_start < 1)
{
	trickle(\@slow);
	usleep(50_000);
}

my ($statuses, $took) = post_during(\@slow, 5, 'valid 1', 'valid 2');
is(join(',', @$statuses), 'HTTP/1.1 200,HTTP/1.1 200',
	'both valid requests get 200 during the flood of slow clients');
cmp_ok($took, '<', 5, 'within 5 s');
diag(sprintf('answered in %.2f s', $took));
is($node->safe_psql('postgres', 'SELECT string_agg(body, \',\' ORDER BY body) FROM events'),
	'valid 1,valid 2', 'their rows are in the table, and nothing of the slow clients');

my @closed = grep { $_->{closed_at} } @slow;
cmp_ok(scalar(@closed), '>=', 150 - 100, 'the slow clients over the limit were closed');
my $newest_closed = (sort { $b <=> $a } map { $_->{opened} } @closed)[0] // 0;
my $oldest_open = (sort { $a <=> $b } map { $_->{opened} } grep { !$_->{closed_at} } @slow)[0] // 151;
cmp_ok($newest_closed, '<', $oldest_open, 'oldest first');
close($_->{sock}) for @slow;

# --- coordinator.webhook_request_timeout ---
$node->safe_psql('postgres', q{
	ALTER SYSTEM SET coordinator.webhook_request_timeout = '1s';
	SELECT pg_reload_conf();
});
my @timed = (
	{ sock => connect_listener(), data => $slow_headers, sent => 0, what => 'headers' },
	{ sock => connect_listener(),
	  data => "POST $path HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" . ('b' x 5000),
	  sent => 0, what => 'body' },
	{ sock => connect_listener(), data => '', sent => 0, what => 'nothing' });
# the body client sends its headers at once
syswrite($timed[1]{sock}, substr($timed[1]{data}, 0, 60));
$timed[1]{sent} = 60;
my $timed_start = time;
while (time - $timed_start < 6 && grep { !$_->{closed_at} } @timed)
{
	trickle(\@timed);
	usleep(100_000);
}
for my $c (@timed)
{
	ok($c->{closed_at} && $c->{closed_at} - $timed_start < 5,
		"a client sending $c->{what} slowly is closed once its time is up");
}
close($_->{sock}) for @timed;
($statuses) = post_during([], 5, 'valid 3');
is($statuses->[0], 'HTTP/1.1 200', 'a valid request still gets 200');

$node->stop;
done_testing();
