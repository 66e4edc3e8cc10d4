# nqmail: one non-recursive makefile.
#   make                 build every program into build/bin
#   make check           install missing packages, build, run every test
#   make setup PREFIX=D  create or upgrade an instance in D
#   make run             demonstration instance in ./run, started on loopback
# Every src/cmd/NAME.c is a program NAME; every src/cmd/NAME.sh a script NAME.
# src/lib and src/mail are linked into libnq.a; layering is cmd -> mail -> lib.

CC      ?= cc
CFLAGS  ?= -O2 -g
XCFLAGS  = -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -Isrc
LDLIBS   = -Wl,--as-needed -lcdb -lcrypt -lssl -lcrypto -lopendkim -lspf2 -lopendmarc -lcurl
B       ?= build
PREFIX  ?= $(CURDIR)/run

LIBSRC  := $(sort $(wildcard src/lib/*.c src/mail/*.c))
CMDSRC  := $(sort $(wildcard src/cmd/*.c))
SCRSRC  := $(sort $(wildcard src/cmd/*.sh))
UNITSRC := $(sort $(wildcard tests/unit/*.c))
FUZZSRC := $(sort $(wildcard tests/fuzz/fuzz-*.c))
HDRS    := $(wildcard src/lib/*.h src/mail/*.h)

LIBOBJ  := $(patsubst src/%.c,$(B)/obj/%.o,$(LIBSRC))
PROGS   := $(patsubst src/cmd/%.c,$(B)/bin/%,$(CMDSRC)) \
           $(patsubst src/cmd/%.sh,$(B)/bin/%,$(SCRSRC))
UNITS   := $(patsubst tests/unit/%.c,$(B)/tests/unit/%.t,$(UNITSRC))
FUZZ    := $(patsubst tests/fuzz/%.c,$(B)/tests/fuzz/%,$(FUZZSRC))

all: $(PROGS) $(UNITS) $(FUZZ)

$(B)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libnq.a: $(LIBOBJ)
	@rm -f $@
	ar rcs $@ $^

$(B)/bin/%: $(B)/obj/cmd/%.o $(B)/libnq.a $(EXTRAOBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(EXTRAOBJ) $(B)/libnq.a $(LDLIBS)

$(B)/obj/asan-options.o: tests/asan-options.c
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/bin/%: src/cmd/%.sh
	@mkdir -p $(dir $@)
	cp $< $@ && chmod 755 $@

$(B)/tests/unit/%.t: tests/unit/%.c tests/unit/tap.h $(B)/libnq.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(B)/libnq.a $(LDLIBS)

# Fuzz targets: with a plain compiler they are linked with a driver that
# replays a corpus (that is what make check does); `make fuzz` builds real
# libFuzzer binaries with clang.
$(B)/tests/fuzz/%: tests/fuzz/%.c tests/fuzz/driver.c $(B)/libnq.a
	@mkdir -p $(dir $@)
	$(CC) $(XCFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/driver.c $(B)/libnq.a $(LDLIBS)

# `make fuzz`: real libFuzzer binaries (clang, ASan, UBSan; undefined
# behaviour aborts) in build-fuzz/fuzz/, linked in parallel.
FUZZBIN   := $(patsubst tests/fuzz/%.c,build-fuzz/fuzz/%,$(FUZZSRC))
FUZZFLAGS  = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined

fuzz:
	$(MAKE) B=build-fuzz CC=clang CFLAGS="$(FUZZFLAGS) -fsanitize=fuzzer-no-link" build-fuzz/libnq.a
	$(MAKE) fuzz-link

fuzz-link: $(FUZZBIN)

build-fuzz/fuzz/%: tests/fuzz/%.c build-fuzz/libnq.a
	@mkdir -p $(dir $@)
	clang $(XCFLAGS) $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< build-fuzz/libnq.a $(LDLIBS)

asan:
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  LDFLAGS="-fsanitize=address,undefined" EXTRAOBJ=build-asan/obj/asan-options.o all

deps:
	@sh scripts/deps.sh

# The three builds use every core (the machine's CI runs plain `make check`).
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

check: deps
	$(MAKE) -j$(JOBS) all
	$(MAKE) -j$(JOBS) asan
	$(MAKE) -j$(JOBS) fuzz
	sh scripts/check.sh

setup: all
	sh scripts/setup.sh "$(PREFIX)" "$(B)"

run: deps all
	sh scripts/run.sh "$(PREFIX)" "$(B)"

# The Debian package, built into build/deb/ (see doc/packaging.md).
deb:
	sh scripts/mkdeb.sh

clean:
	rm -rf build build-asan build-fuzz

.PHONY: all fuzz fuzz-link asan deps check setup run clean deb
.SECONDARY:
