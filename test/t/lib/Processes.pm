# Processes of a node seen from /proc: the children of the postmaster, and
# whether a process is still alive (a zombie is not).
package Processes;

use strict;
use warnings;
use Exporter 'import';

our @EXPORT = qw(children_of alive);

# processes whose parent is $ppid (not zombies)
sub children_of
{
	my ($ppid) = @_;
	my @kids;
	opendir(my $dh, '/proc') or die $!;
	for my $pid (grep { /^\d+$/ } readdir $dh)
	{
		open(my $fh, '<', "/proc/$pid/stat") or next;
		my $stat = <$fh>;
		close $fh;
		push @kids, $pid
		  if defined $stat && $stat =~ /\)\s+([^Z\s])\s+(\d+)/ && $2 == $ppid;
	}
	closedir $dh;
	return @kids;
}

# is process $pid running (not gone, not a zombie)?
sub alive
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my $stat = <$fh>;
	close $fh;
	return defined $stat && $stat !~ /\)\s+Z\s/;
}

1;
