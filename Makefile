# The two commands of the README: `make demo` and `make test`. Both install what is missing from
# Debian packages first, then build.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)

.PHONY: all deps build test demo bench sim-long chaos clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD_DIR)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD_DIR)/Makefile
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

demo: build
	bash scripts/demo.sh $(BUILD_DIR)/claud

# Full-size benchmarks (make test runs them at a smoke size).
bench: build
	CLAUD_BENCH_ROUNDS=20 $(BUILD_DIR)/bench/failover_bench
	CLAUD_BENCH_WRITES=5000 $(BUILD_DIR)/bench/commit_bench
	CLAUD_BENCH_ROUNDS=10 $(BUILD_DIR)/bench/reschedule_bench
	$(BUILD_DIR)/bench/placement_bench
	CLAUD_BENCH_LIVE_JOBS=10000 CLAUD_BENCH_ENDED_JOBS=100000 $(BUILD_DIR)/bench/snapshot_bench
	CLAUD_BENCH_JOBS=10000 $(BUILD_DIR)/bench/throughput_bench
	CLAUD_BENCH_JOBS=2000 $(BUILD_DIR)/bench/events_bench

# Long random simulator sweeps (make test runs 3000 fixed seeds per master count).
sim-long: build
	cmake --build $(BUILD_DIR) --target sim-long

# The chaos suite for longer (make test runs it for 30 s); CLAUD_CHAOS_SEED replays a run, and
# CLAUD_CHAOS_TLS=1 runs it over mutual TLS.
chaos: build
	CLAUD_CHAOS_S=$${CLAUD_CHAOS_S:-300} $(BUILD_DIR)/tests/proc/chaos_test

clean:
	rm -rf $(BUILD_DIR)
