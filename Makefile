# coordinator: Materialize's adapter as a PostgreSQL 15 extension.
EXTENSION = coordinator
MODULE_big = coordinator
DATA = coordinator--0.1.sql
PGFILEDESC = "coordinator - incrementally maintained views"

OBJS = \
	src/coordinator.o \
	src/ipc/shmem.o \
	src/ipc/databases.o \
	src/ipc/subscriptions.o \
	src/ipc/processes.o \
	src/ipc/setup.o \
	src/coordinator/launcher.o \
	src/coordinator/coordinator.o \
	src/capture/plugin.o \
	src/capture/decoder.o \
	src/catalog/catalog.o \
	src/compile/compile.o \
	src/compile/decorrelate.o \
	src/compile/plancheck.o \
	src/compile/prune.o \
	src/compile/temporal.o \
	src/compile/recursion.o \
	src/compile/rowsecurity.o \
	src/compile/groupingsets.o \
	src/compile/lateral.o \
	src/compile/querytext.o \
	src/timestamp/wait.o \
	src/timestamp/transaction.o \
	src/timestamp/timeline.o \
	src/timestamp/selection.o \
	src/timestamp/explain.o \
	src/timestamp/history.o \
	src/timestamp/holds.o \
	src/timestamp/pause.o \
	src/timestamp/primary.o \
	src/dataflow/worker.o \
	src/dataflow/views.o \
	src/dataflow/hydrate.o \
	src/dataflow/tick.o \
	src/dataflow/publish.o \
	src/dataflow/compaction.o \
	src/dataflow/zset.o \
	src/dataflow/arrangement.o \
	src/dataflow/shared.o \
	src/dataflow/errors.o \
	src/dataflow/graph.o \
	src/dataflow/map.o \
	src/dataflow/temporal.o \
	src/dataflow/flatmap.o \
	src/dataflow/join.o \
	src/dataflow/recursion.o \
	src/dataflow/rowkey.o \
	src/dataflow/window.o \
	src/dataflow/windowprefix.o \
	src/dataflow/windowresume.o \
	src/dataflow/windowrows.o \
	src/dataflow/windowspan.o \
	src/dataflow/windowwide.o \
	src/dataflow/reduce.o \
	src/dataflow/aggregate.o \
	src/dataflow/numericsum.o \
	src/dataflow/valueset.o \
	src/dataflow/extremes.o \
	src/dataflow/feeder.o \
	src/dataflow/roworder.o \
	src/dataflow/subplan.o \
	src/dataflow/sink.o \
	src/dataflow/cut.o \
	src/dataflow/sources.o \
	src/dataflow/privileges.o \
	src/dataflow/progress.o \
	src/dataflow/sender.o \
	src/subscribe/subscriber.o \
	src/subscribe/target.o \
	src/subscribe/emit.o \
	src/subscribe/functions.o \
	src/subscribe/rewrite.o \
	src/commands/utility.o \
	src/commands/functions.o \
	src/commands/reads.o \
	src/commands/introspection.o \
	src/commands/as_of.o \
	src/commands/explain_dataflow.o \
	src/commands/restore.o \
	src/commands/source_ddl.o \
	src/webhook/crypto.o \
	src/webhook/source.o \
	src/webhook/stored.o \
	src/webhook/outlive.o \
	src/webhook/append.o \
	src/webhook/secrets.o \
	src/webhook/listener.o \
	src/webhook/relay.o

PG_CPPFLAGS = -I$(srcdir)/src/include
SHLIB_LINK = -lmicrohttpd

# Minor releases of 15 from 15.19 on mark a hashed SubPlan's table stale with
# a flag of their own instead of reading its plan's chgParam (subplan.c).
PG_CONFIG ?= pg_config
ifneq ($(shell grep -s hashtablestale $(shell $(PG_CONFIG) --includedir-server)/nodes/execnodes.h),)
PG_CPPFLAGS += -DHAVE_SUBPLAN_HASHTABLESTALE
endif
PG_CFLAGS = -Wall -Wextra -Werror -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare

REGRESS = setup create_view dml types arrangements shared refused dependencies transactions function_form truncate ddl injection errors partitions functions_in_from lateral grouping_sets isolation_guc timestamps temporal subscribe history webhook security least_privilege row_security hostile random_dml window_orderings window_frames aggregate_states introspection differential differential_partitions differential_functions differential_stacked differential_recursive differential_windows recursive
REGRESS_OPTS = --temp-instance=./tmp_check_regress --temp-config=./test/regress.conf --outputdir=./output_regress --load-extension=coordinator

ISOLATION = concurrent_reads create_during_writes linearizable subscribe read_holds concurrent_ddl stale_snapshot lock_waits head_of_line introspect_waits
ISOLATION_OPTS = --temp-instance=./tmp_check_iso --temp-config=./test/isolation.conf --load-extension=coordinator \
	--inputdir=./test/isolation --outputdir=./output_iso

# specs that need two dataflow workers, in an instance of their own
ISOLATION_WORKERS = one_timestamp
ISOLATION_WORKERS_OPTS = --temp-instance=./tmp_check_iso_workers --temp-config=./test/isolation_workers.conf \
	--load-extension=coordinator --inputdir=./test/isolation --outputdir=./output_iso_workers

TAP_TESTS = 1
PROVE_TESTS = test/t/*.pl

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS does not track header dependencies: rebuild everything when one changes
# (a stale object would disagree with the others on the shared memory layout).
$(OBJS): $(wildcard $(srcdir)/src/include/coordinator/*.h) $(wildcard $(srcdir)/src/*/*_internal.h)

# Each harness on its own, so scripts/test.sh can count and summarize them.
.PHONY: check-regress check-isolation check-isolation-workers check-tap
check-regress:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
check-isolation:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
check-isolation-workers:
	$(pg_isolation_regress_installcheck) $(ISOLATION_WORKERS_OPTS) $(ISOLATION_WORKERS)
check-tap:
	$(prove_installcheck)

EXTRA_CLEAN = output_regress output_iso output_iso_workers tmp_check tmp_check_regress tmp_check_iso tmp_check_iso_workers
