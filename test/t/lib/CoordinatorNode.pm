# A started PostgreSQL::Test::Cluster node configured to run the coordinator:
# preloaded, logical WAL, coordinator.database = 'postgres', the output
# plugin allowed on servers that have output_plugin_libraries (15.19+), and
# the extra postgresql.conf lines given.
package CoordinatorNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;

sub new
{
	my ($class, $name, $extra_conf) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);

	$node->init;
	$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'coordinator'
wal_level = logical
coordinator.database = 'postgres'
max_worker_processes = 16
} . ($extra_conf // ''));
	$node->start;
	if ($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_settings WHERE name = 'output_plugin_libraries'"))
	{
		$node->append_conf('postgresql.conf',
			"output_plugin_libraries = 'pgoutput, test_decoding, coordinator'\n");
		$node->restart;
	}
	return $node;
}

1;
