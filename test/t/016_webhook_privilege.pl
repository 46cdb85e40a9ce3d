# The webhook listener runs the code of a source's owner with the owner's
# rights: the CHECK (also its constant parts, which planning folds once per
# listener start and after every change of the table), column defaults,
# triggers and index expressions run as the table's owner, in a
# security-restricted operation, with search_path pg_catalog, pg_temp.  A
# function of the owner's logs who runs it and whether it could read a
# file only superusers may read.
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
my $node = CoordinatorNode->new('webhook_privilege', qq{
coordinator.webhook_port = $port
coordinator.webhook_listen_address = '127.0.0.1'
});
my $base = "http://127.0.0.1:$port/api/webhook/postgres/hooks";

# POST body to url; returns the status.
sub post
{
	my ($url, $body) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'curl', '-s', '-S', '--max-time', '60', '-o', '/dev/null', '-w', '%{http_code}',
		'--data-binary', '@-', $url ], '<', \$body, '>', \$out, '2>', \$err);
	return $out;
}

ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'coordinator webhook listener'}),
	'the launcher starts the listener');

$node->safe_psql('postgres', q{
	CREATE EXTENSION coordinator;
	CREATE ROLE hook_owner;
	CREATE SCHEMA hooks AUTHORIZATION hook_owner;
	CREATE TABLE public.privilege_log (what text, runs_as name, session_user_name name,
		search_path text, read_file text);
	GRANT INSERT ON public.privilege_log TO PUBLIC;
	CREATE FUNCTION public.record(what text) RETURNS void VOLATILE LANGUAGE plpgsql AS $$
	DECLARE
	  outcome text;
	BEGIN
	  BEGIN
	    PERFORM pg_catalog.pg_read_file('postgresql.conf', 0, 1);
	    outcome := 'read';
	  EXCEPTION WHEN insufficient_privilege THEN
	    outcome := 'denied';
	  END;
	  INSERT INTO public.privilege_log VALUES (what, current_user, session_user,
	      pg_catalog.current_setting('search_path'), outcome);
	END $$;

	SET ROLE hook_owner;
	CREATE FUNCTION hooks.c(what text) RETURNS boolean IMMUTABLE LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM public.record(what);
	  RETURN true;
	END $$;
	CREATE FUNCTION hooks.d() RETURNS text VOLATILE LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM public.record('default');
	  RETURN 'd';
	END $$;
	CREATE FUNCTION hooks.i(body text) RETURNS text IMMUTABLE LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM public.record('index');
	  RETURN body;
	END $$;
	CREATE FUNCTION hooks.t() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	  PERFORM public.record('trigger');
	  RETURN NEW;
	END $$;
	SELECT coordinator.create_webhook_source('hooks.folded',
		check_expression => $$hooks.c('constant check') AND body <> ''$$);
	SELECT coordinator.create_webhook_source('hooks.evaluated',
		check_expression => $$hooks.c(body)$$);
	ALTER TABLE hooks.evaluated ADD COLUMN d text DEFAULT hooks.d();
	CREATE INDEX ON hooks.evaluated (hooks.i(body));
	CREATE TRIGGER t BEFORE INSERT ON hooks.evaluated FOR EACH ROW EXECUTE FUNCTION hooks.t();
	RESET ROLE;
	TRUNCATE public.privilege_log;
});

# the listener knows the sources once the catalog says so
my $status;
for (1 .. 100)
{
	$status = post("$base/folded", 'x');
	last if $status eq '200';
	select(undef, undef, undef, 0.1);
}
is($status, '200', 'a POST passes the CHECK with a constant part');
is(post("$base/evaluated", 'evaluated check'), '200', 'a POST passes the CHECK evaluated per request');

is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT format('%s|%s|%s|%s', what, runs_as, search_path, read_file), E'\n')
	  FROM public.privilege_log}),
	join("\n",
		'constant check|hook_owner|pg_catalog, pg_temp|denied',
		'default|hook_owner|pg_catalog, pg_temp|denied',
		'evaluated check|hook_owner|pg_catalog, pg_temp|denied',
		'index|hook_owner|pg_catalog, pg_temp|denied',
		'trigger|hook_owner|pg_catalog, pg_temp|denied'),
	'the CHECK, folded or not, defaults, triggers and index expressions run as the owner, without superuser rights');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM public.privilege_log p
	  JOIN pg_roles r ON r.rolname = p.session_user_name WHERE r.rolsuper}),
	$node->safe_psql('postgres', 'SELECT count(*) FROM public.privilege_log'),
	'the session user stays the listener\'s; the security-restricted operation keeps it out of reach');

# a change of the table plans the CHECK again: as the owner again
$node->safe_psql('postgres', q{
	TRUNCATE public.privilege_log;
	ALTER TABLE hooks.folded ADD COLUMN note text;
});
is(post("$base/folded", 'after a change'), '200', 'a POST after ALTER TABLE');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT format('%s|%s|%s', what, runs_as, read_file), E'\n')
	  FROM public.privilege_log}),
	'constant check|hook_owner|denied',
	'the CHECK planned again after a change of the table runs as the owner');

# a restart of the listener plans it once more
$node->safe_psql('postgres', q{
	TRUNCATE public.privilege_log;
	SELECT pg_terminate_backend(pid) FROM pg_stat_activity
	 WHERE backend_type = 'coordinator webhook listener';
});
for (1 .. 150)
{
	$status = post("$base/folded", 'after a restart');
	last if $status eq '200';
	select(undef, undef, undef, 0.1);
}
is($status, '200', 'a POST after the listener restarted');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT format('%s|%s|%s', what, runs_as, read_file), E'\n')
	  FROM public.privilege_log}),
	'constant check|hook_owner|denied',
	'the CHECK planned by a new listener runs as the owner');

$node->stop;
done_testing();
