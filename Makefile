# The two commands a user needs: `make run` and `make test`. Everything else is for developers.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan fuzz bench demo package fresh-check clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

# Starts the console on the default data directory; headless when there is no display.
run: build
	@bash scripts/run.sh $(BUILD)/archivist $(ARGS)

test: build
	cd $(BUILD) && QT_QPA_PLATFORM=offscreen ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DARCHIVIST_SANITIZE=ON -DARCHIVIST_BENCH=OFF
	cmake --build $(BUILD_ASAN) -j $(JOBS)
	cd $(BUILD_ASAN) && QT_QPA_PLATFORM=offscreen ASAN_OPTIONS=detect_leaks=0 \
	  UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j $(JOBS)

# libFuzzer targets, FUZZ_SECONDS each; new interesting inputs are kept in tests/fuzz/corpus/.
# clang and its fuzzer runtime come only with this target (install-deps' fuzz group).
fuzz:
	@bash scripts/install-deps.sh main fuzz
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DARCHIVIST_FUZZ=ON -DARCHIVIST_BUILD_UI=OFF -DARCHIVIST_BENCH=OFF
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $$(cd tests/fuzz && ls fuzz_*.cpp | sed 's/\.cpp//')
	@set -e; for f in tests/fuzz/fuzz_*.cpp; do n=$$(basename $$f .cpp); s=$${n#fuzz_}; \
	  mkdir -p tests/fuzz/corpus/$$s; echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $(BUILD_FUZZ)/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 tests/fuzz/corpus/$$s; done

bench: build
	@bash bench/run.sh $(BUILD)

# A real relay on 127.0.0.1 seeded with events, and archivist archiving it (docs/demo.md).
demo: build
	bash scripts/demo.sh $(BUILD)

package: build
	cd $(BUILD) && cpack -G DEB

# The two commands on a clean Debian 12 root (downloads a system; needs root): docs/testing.md.
fresh-check:
	bash scripts/fresh-check.sh $(ARGS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
