# Temporal filters under concurrent writers, checked against their queries.
#
# Every row's time is a whole second plus half a second, and the windows'
# bounds are whole seconds from now(), so rows enter and leave the views
# only at half seconds.  A checker reads each view and its query in one
# statement between two half seconds, just after the first (its read
# starts between x.5 and x.52, and counts if it ends before x+1.5): the
# view's time (at or after its read's start) and the query's now() then
# admit the same rows, and the view must equal the query exactly.
# Two writers insert, move and delete rows meanwhile, except while the
# checker reads (a write committed after the read's timestamp and before
# its snapshot would be in the query and not in the views); rows keep
# entering and leaving the windows as the clock passes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib "$FindBin::Bin/lib";
use CoordinatorNode;

my $node = CoordinatorNode->new('temporal',
	"coordinator.dataflow_workers = 2\nmax_connections = 30\n");
$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE TABLE ev (id int PRIMARY KEY, ts timestamptz NOT NULL, g int);
	ALTER TABLE ev REPLICA IDENTITY FULL;
	CREATE FUNCTION half_second(n int) RETURNS timestamptz LANGUAGE sql AS
	  $$ SELECT date_trunc('second', clock_timestamp()) + n * interval '1 second' + interval '500 ms' $$;
	CREATE FUNCTION fraction() RETURNS float8 LANGUAGE sql AS
	  $$ SELECT extract(epoch FROM t) - floor(extract(epoch FROM t)) FROM clock_timestamp() t $$;
	-- writers write under a shared lock that the checker takes exclusively
	-- while it reads: its snapshot sees no commit that came after its
	-- timestamp (which the views need not reflect)
	CREATE FUNCTION write_one(i int, n int, grp int, gone int) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM pg_advisory_xact_lock_shared(25);
	  INSERT INTO ev VALUES (i, half_second(n), grp)
	    ON CONFLICT (id) DO UPDATE SET ts = excluded.ts, g = excluded.g;
	  IF n < -6 THEN
	    DELETE FROM ev WHERE id = gone;
	  END IF;
	END $$;
	INSERT INTO ev SELECT i, half_second(i % 20 - 10), i % 4 FROM generate_series(1, 400) i;
	CREATE MATERIALIZED VIEW win WITH (incremental) AS
	  SELECT id, g FROM ev WHERE ts > now() - interval '5 seconds' AND ts <= now() + interval '3 seconds';
	CREATE MATERIALIZED VIEW per_g WITH (incremental) AS
	  SELECT g, count(*) AS n, min(ts) AS first FROM ev
	  WHERE ts BETWEEN now() - interval '4 seconds' AND now() GROUP BY g;
});
$node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM coordinator.objects WHERE state = 'running'")
  or die 'views not running';

my $script = $node->basedir . '/writer.sql';
PostgreSQL::Test::Utils::append_to_file($script, q{
\set id random(1, 600)
\set n random(-8, 8)
\set g random(0, 3)
\set id2 random(1, 600)
SELECT write_one(:id, :n, :g, :id2);
});
my $writers = IPC::Run::start(
	[ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '600', '-R', '100', '-f', $script,
	  $node->connstr('postgres') ],
	'>', \my $wout, '2>', \my $werr);

my $samples = $ENV{COORDINATOR_TEMPORAL_SAMPLES} // 30;
my $checker = q{
CREATE FUNCTION check_once() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  missing bigint;
  extra bigint;
  frac float8;
BEGIN
  -- a new second: just after its half second, when the rows of that
  -- half second have just entered or left
  LOOP
    frac := fraction();
    EXIT WHEN frac < 0.5;
    PERFORM pg_sleep(0.01);
  END LOOP;
  LOOP
    frac := fraction();
    EXIT WHEN frac BETWEEN 0.5 AND 0.52;
    -- close to it, spin: the read starts within microseconds of it
    IF frac < 0.49 OR frac > 0.52 THEN
      PERFORM pg_sleep(0.001);
    END IF;
  END LOOP;
  RETURN NULL;
END $$;
};
$node->safe_psql('postgres', $checker);
# one statement per view: the view and its query under one now(); usable
# if it ended before the next half second
my $round = q{
SELECT check_once();
SELECT pg_advisory_lock(25);
SELECT extract(epoch FROM clock_timestamp()) AS t0,
  (SELECT count(*) FROM (SELECT * FROM win EXCEPT ALL
     SELECT id, g FROM ev WHERE ts > now() - interval '5 seconds' AND ts <= now() + interval '3 seconds') x)
  + (SELECT count(*) FROM (SELECT id, g FROM ev WHERE ts > now() - interval '5 seconds' AND ts <= now() + interval '3 seconds'
     EXCEPT ALL SELECT * FROM win) x) AS win_bad,
  (SELECT count(*) FROM (SELECT * FROM per_g EXCEPT ALL
     SELECT g, count(*), min(ts) FROM ev WHERE ts BETWEEN now() - interval '4 seconds' AND now() GROUP BY g) x)
  + (SELECT count(*) FROM (SELECT g, count(*), min(ts) FROM ev WHERE ts BETWEEN now() - interval '4 seconds' AND now() GROUP BY g
     EXCEPT ALL SELECT * FROM per_g) x) AS per_g_bad,
  (SELECT count(*) FROM win) AS rows,
  (SELECT string_agg(id || '@' || to_char(ts, 'SS.MS'), ' ') FROM ev
    WHERE (id, g) IN (SELECT * FROM ((SELECT * FROM win EXCEPT ALL
      SELECT id, g FROM ev WHERE ts > now() - interval '5 seconds' AND ts <= now() + interval '3 seconds')
      UNION ALL (SELECT id, g FROM ev WHERE ts > now() - interval '5 seconds' AND ts <= now() + interval '3 seconds'
      EXCEPT ALL SELECT * FROM win)) d)) AS which,
  to_char(now(), 'SS.US') AS at,
  floor(extract(epoch FROM now()) - 0.5) = floor(extract(epoch FROM clock_timestamp()) - 0.5) AS usable \gset
SELECT pg_advisory_unlock(25);
\echo ROUND :usable :win_bad :per_g_bad :rows
\echo WHICH :at :which
};
my ($out, $err) = ('', '');
IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-v', 'ON_ERROR_STOP=1' ],
	'<', \($round x $samples), '>', \$out, '2>', \$err);
$writers->kill_kill;
$writers->finish;
diag("checker: $err") if $err ne '';

my @rounds = $out =~ /^ROUND (\S+) (\d+) (\d+) (\d+)$/mg;
my ($usable, $bad, $rows) = (0, 0, 0);
my @bad;
while (my ($u, $w, $p, $r) = splice(@rounds, 0, 4))
{
	next unless $u eq 't';
	$usable++;
	$rows += $r;
	if ($w + $p > 0)
	{
		$bad++;
		push @bad, "win $w per_g $p";
		push @bad, $1 if $out =~ /^ROUND \Q$u $w $p $r\E\nWHICH (.*)$/m;
	}
}
cmp_ok($usable, '>=', $samples / 2, "$usable of $samples rounds read between two half seconds");
is($bad, 0, 'every such read saw both views equal to their queries')
  or diag(join("\n", @bad[0 .. ($#bad < 9 ? $#bad : 9)]));
cmp_ok($rows, '>', 0, 'the window held rows');
done_testing();
