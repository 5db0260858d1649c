# Thin wrapper over meson/ninja for the commands a user types.
# build/        release-ish build (debugoptimized) used by `make run`
# build/asan    ASan+UBSan build used by `make test`
# build/fuzz    clang + libFuzzer build used by `make test` and `make fuzz`
# build/bench   optimised build with the bench/ programs
SHELL := /bin/bash
CONFIG ?= etc/sipwarden.yaml
FUZZ_SECONDS ?= 60
MESON_SETUP = meson setup --wipe

.PHONY: all deps build run test unit fuzz bench format lint clean asan fuzz-build

all: build

deps:
	@scripts/deps.sh

build/build.ninja:
	meson setup build >/dev/null

build: deps build/build.ninja
	ninja -C build

run: build
	@mkdir -p var
	./build/sipwarden -c $(CONFIG)

build/asan/build.ninja:
	CC=gcc meson setup build/asan -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dbuildtype=debug >/dev/null

asan: deps build/asan/build.ninja
	ninja -C build/asan

build/fuzz/build.ninja:
	CC=clang meson setup build/fuzz -Dfuzz=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null

fuzz-build: deps build/fuzz/build.ninja
	ninja -C build/fuzz

# Builds with sanitizers and runs every suite; the last line is "N passed, N failed".
test: deps
	@$(MAKE) --no-print-directory asan fuzz-build
	@tests/run

# Runs every fuzz target for FUZZ_SECONDS each (make fuzz FUZZ_SECONDS=3600).
fuzz: fuzz-build
	@tests/fuzz/run-all $(FUZZ_SECONDS)

build/bench/build.ninja:
	meson setup build/bench -Dbuildtype=release -Dbench=true -Dtests=false >/dev/null

bench: deps build/bench/build.ninja
	SW_DEPS_BENCH=1 scripts/deps.sh
	ninja -C build/bench
	bench/run

format:
	clang-format -i $$(git ls-files 'src/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]')

lint:
	@scripts/lint.sh

clean:
	rm -rf build
