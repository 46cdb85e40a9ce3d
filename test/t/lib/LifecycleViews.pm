# The tables and maintained views that the lifecycle tests (009, 010) share:
# g (groups) and t (rows), and three views over them: a filter with a
# projection (pos), a GROUP BY aggregate (by_grp), a join (named).
package LifecycleViews;

use strict;
use warnings;
use Test::More;

our %VIEWS = (
	pos    => 'SELECT id, grp, amount * 2 AS doubled FROM t WHERE amount >= 0',
	by_grp => 'SELECT grp, count(*) AS n, sum(amount) AS total FROM t GROUP BY grp',
	named  => 'SELECT t.id, g.name, t.amount FROM t JOIN g ON g.grp = t.grp',
);

# Create the extension, the tables with $rows rows of t (ids from
# $first_id + 1) and the views on $node.
sub create
{
	my ($node, $first_id, $rows) = @_;
	my $views = join '', map { "CREATE MATERIALIZED VIEW $_ WITH (incremental) AS $VIEWS{$_};\n" }
	  sort keys %VIEWS;
	$node->safe_psql('postgres', qq{
		CREATE EXTENSION coordinator;
		CREATE TABLE g (grp int PRIMARY KEY, name text);
		INSERT INTO g SELECT i, 'group ' || i FROM generate_series(0, 9) i;
		CREATE TABLE t (id int PRIMARY KEY, grp int, amount int);
		ALTER TABLE g REPLICA IDENTITY FULL;
		ALTER TABLE t REPLICA IDENTITY FULL;
		INSERT INTO t SELECT $first_id + i, i % 10, i % 101 - 50 FROM generate_series(1, $rows) i;
		$views});
}

# Wait until the three views run on $node.
sub wait_running
{
	my ($node) = @_;
	$node->poll_query_until('postgres', q{
		SELECT count(*) = 3 FROM coordinator.objects WHERE state = 'running'})
	  or die 'views not running on ' . $node->name;
}

# Each view equals its query on $node (EXCEPT ALL both ways, as many rows).
# On a primary the reads are strict: they wait for every commit so far.
sub check_views
{
	my ($node, $what) = @_;
	for my $v (sort keys %VIEWS)
	{
		my $q = $VIEWS{$v};
		my ($extra, $missing, $in_view, $in_query) = split /\|/,
		  $node->safe_psql('postgres', qq{
			SET statement_timeout = '10s';
			SELECT (SELECT count(*) FROM (TABLE $v EXCEPT ALL $q) a),
			       (SELECT count(*) FROM ($q EXCEPT ALL TABLE $v) b),
			       (SELECT count(*) FROM $v),
			       (SELECT count(*) FROM ($q) c)});
		is("$extra $missing", '0 0', "$what: $v equals its query");
		is($in_view, $in_query, "$what: $v has as many rows as its query");
	}
}

1;
