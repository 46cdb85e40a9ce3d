# The manual's examples: every ```sql and ```sh block of README.md and
# docs/*.md runs against a server with the extension, and an ```output block
# that follows one is compared with what it printed (the format is described
# in docs/README.md).  Each file runs in one psql session, in order, from a
# clean state: a new database "postgres" with the extension created, and no
# roles but the bootstrap superuser, and no other database but the
# templates.  Every database with the extension is served.  The webhook
# listener is on 127.0.0.1 port 6876, the port the examples POST to.
#
# COORDINATOR_DOCS=docs/history.md (names separated by spaces) runs only
# those files.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use IO::Socket::INET;
use Time::HiRes qw(usleep);
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $root = "$FindBin::Bin/../..";
my $webhook_port = 6876;
my $block_timeout = 60;

# Fenced blocks of a markdown file, in order: {lang, text, line}.  A fence may
# be indented (inside a list item); its indentation is removed from the
# block's lines.
sub parse_blocks
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "could not open $file: $!";
	my @lines = <$fh>;
	close($fh);

	my @blocks;
	my $i = 0;
	while ($i < @lines)
	{
		if ($lines[$i] =~ /^(\s*)```\s*([\w-]*)\s*$/)
		{
			my ($indent, $lang, $start) = (length($1), $2, $i + 1);
			my @text;
			my $closed = 0;
			for ($i++; $i < @lines; $i++)
			{
				if ($lines[$i] =~ /^\s*```\s*$/)
				{
					$closed = 1;
					last;
				}
				my $line = $lines[$i];
				$line =~ s/^ {0,$indent}//;
				push @text, $line;
			}
			die "$file:$start: unterminated ``` block\n" unless $closed;
			# blank lines only since the previous block: "directly followed"
			my $adjacent = @blocks && $blocks[-1]{end} == $start - 1 - count_blank_before(\@lines, $start - 1);
			push @blocks, { lang => $lang, text => join('', @text), line => $start,
				end => $i + 1, adjacent => $adjacent };
		}
		$i++;
	}
	return @blocks;
}

# How many blank lines come right before line index $idx.
sub count_blank_before
{
	my ($lines, $idx) = @_;
	my $n = 0;
	$n++ while $idx - 1 - $n >= 0 && $lines->[$idx - 1 - $n] =~ /^\s*$/;
	return $n;
}

# Output as compared: trailing whitespace of every line and trailing blank
# lines removed.
sub normalize
{
	my ($text) = @_;
	my @lines = map { s/\s+$//r } split(/\n/, $text, -1);
	pop @lines while @lines && $lines[-1] eq '';
	return join("\n", @lines);
}

die "port $webhook_port is in use (is the demo server running? bash scripts/demo.sh stop)\n"
  unless IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => $webhook_port,
	Proto => 'tcp', ReuseAddr => 1, Listen => 1);

my $node = CoordinatorNode->new('docs', qq{
coordinator.database = ''
coordinator.webhook_port = $webhook_port
coordinator.webhook_listen_address = '127.0.0.1'
});
# psql and the sh blocks connect to the test server
$ENV{PGHOST} = $node->host;
$ENV{PGPORT} = $node->port;
$ENV{PGDATABASE} = 'postgres';
$ENV{PGUSER} = scalar(getpwuid($<));

# A new database "postgres" with the extension, no other database or role,
# and the coordinator serving it; with $listener, once the webhook listener (one
# for the server, connected to no database) accepts connections.
sub clean_state
{
	my ($listener) = @_;
	my $roles = $node->safe_psql('template1',
		"SELECT string_agg(quote_ident(rolname), ', ') FROM pg_roles WHERE oid >= 16384");
	foreach my $db (split /\n/, $node->safe_psql('template1',
		"SELECT quote_ident(datname) FROM pg_database WHERE NOT datistemplate"))
	{
		$node->safe_psql('template1', "DROP DATABASE $db WITH (FORCE)");
	}
	$node->safe_psql('template1', "DROP ROLE $roles") if $roles ne '';
	$node->safe_psql('template1', 'CREATE DATABASE postgres');
	$node->safe_psql('postgres', 'CREATE EXTENSION coordinator');
	# the launcher records the new database's OID, which subscriptions check,
	# when it starts the coordinator there (at most once a second)
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'coordinator' AND datname = 'postgres'})
	  or die 'the coordinator did not start';
	return unless $listener;
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 1 FROM pg_stat_activity
		 WHERE backend_type = 'coordinator webhook listener' AND datname IS NULL})
	  or die 'the webhook listener did not start';
	# its process runs before its socket listens: connect until it accepts
	for (1 .. 100)
	{
		return if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $webhook_port,
			Proto => 'tcp');
		usleep(100_000);
	}
	die "the webhook listener does not accept connections on port $webhook_port";
}

# Compare a block's output with its ```output block, or check that it ran
# without an error.
sub check_block
{
	my ($name, $got, $expected, $failed) = @_;
	if (defined $expected)
	{
		is(normalize($got), normalize($expected), "$name: output as shown");
	}
	else
	{
		ok(!$failed, "$name: runs without an error") or diag($got);
	}
}

my @files = $ENV{COORDINATOR_DOCS}
  ? split(' ', $ENV{COORDINATOR_DOCS})
  : ('README.md', map { s{^\Q$root\E/}{}r } sort glob("$root/docs/*.md"));

foreach my $file (@files)
{
	my @blocks = parse_blocks("$root/$file");
	my $runnable = grep { $_->{lang} eq 'sql' || $_->{lang} eq 'sh' } @blocks;
	next unless $runnable;

	clean_state(scalar grep { $_->{lang} eq 'sh' } @blocks);
	my ($in, $out) = ('', '');
	my $timeout = IPC::Run::timeout($block_timeout);
	my $psql = IPC::Run::start(['psql', '-X', '-q', '-d', 'postgres'],
		'<', \$in, '>&', \$out, $timeout);
	my $n = 0;
	my $stuck = 0;

	for (my $b = 0; $b < @blocks; $b++)
	{
		my $block = $blocks[$b];
		my $lang = $block->{lang};
		my $name = "$file:$block->{line}";
		if ($lang eq 'text' || $lang eq 'ini')
		{
			next;
		}
		if ($lang eq 'output')
		{
			fail("$name: an output block follows no sql or sh block");
			next;
		}
		if ($lang ne 'sql' && $lang ne 'sh')
		{
			fail("$name: a block of language '$lang' (use sql, sh, output, text or ini)");
			next;
		}
		my $expected;
		if ($b + 1 < @blocks && $blocks[$b + 1]{lang} eq 'output' && $blocks[$b + 1]{adjacent})
		{
			$expected = $blocks[++$b]{text};
		}

		my ($got, $failed);
		if ($lang eq 'sql')
		{
			my $marker = '@@docs-block-' . ++$n . '@@';
			$in .= $block->{text} . "\n\\echo $marker\n";
			$timeout->start($block_timeout);
			eval { $psql->pump until $out =~ /^\Q$marker\E$/m; };
			if ($out =~ s/^(.*?)^\Q$marker\E\n//ms)
			{
				$got = $1;
			}
			else
			{
				fail("$name: psql did not finish the block in $block_timeout s");
				diag($out);
				$stuck = 1;
				last;
			}
			$failed = $got =~ /^(ERROR|FATAL|PANIC):/m;
		}
		else
		{
			my $rc = IPC::Run::run(['bash', '-c', $block->{text}], '<', \undef, '>&', \$got,
				IPC::Run::timeout($block_timeout));
			$failed = !$rc;
		}
		check_block($name, $got, $expected, $failed);
	}
	if ($stuck)
	{
		$psql->kill_kill;
		next;
	}
	$in .= "\\q\n";
	$timeout->start($block_timeout);
	$psql->finish;
}

$node->stop;
done_testing();
