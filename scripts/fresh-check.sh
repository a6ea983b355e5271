#!/usr/bin/env bash
# The README's two commands on a fresh Debian 12, for real: builds a clean bookworm root with only a
# base toolchain (build-essential, cmake, git, make, ca-certificates), puts this repository's
# current commit in it (or, with --worktree, the working tree with its uncommitted changes), and
# runs `make test` there as a new user would — install-deps, configure, build, the whole suite —
# then `make run ARGS="--no-seed-relays --duration 5"` headless. Exit 0 only if every test passed,
# none was skipped, and make run exited 0. Not part of `make test`: it downloads a system.
#
# Usage: sudo scripts/fresh-check.sh [--worktree] [--extras] [--derive] [--keep] [--rebuild-base]
#   --worktree      copy the working tree (uncommitted and untracked files too) instead of HEAD
#   --extras        also `make package` (and check its Depends), `make demo`, `make fuzz`
#   --derive        also run scripts/derive-deps.py in the root (which package each file came from)
#   --keep          keep the root afterwards (its path is printed) for a look inside
#   --rebuild-base  bootstrap the base root again instead of using the cached one
# Environment: FRESH_CACHE (default ~/.cache/archivist/fresh-check: base root tarball and logs),
#              FRESH_WORK (default /var/tmp: where the root is unpacked; needs ~5 GB),
#              FRESH_JOBS (default nproc) and FRESH_FUZZ_SECONDS (default 10).
# See docs/testing.md ("Fresh-machine check") for what it does, how long it takes, its last result.
set -euo pipefail
{ # the whole script is read before it runs: editing this file meanwhile cannot change a running check
REPO=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${FRESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/archivist/fresh-check}
WORKBASE=${FRESH_WORK:-/var/tmp}
JOBS=${FRESH_JOBS:-$(nproc)}
FUZZ_SECONDS=${FRESH_FUZZ_SECONDS:-10}
SUITE=bookworm
# The base toolchain the issue's "fresh machine" has; everything else must come from install-deps.
BASE_INCLUDE=build-essential,cmake,git,make,ca-certificates

worktree=0 extras=0 derive=0 keep=0 rebuild=0
for a in "$@"; do
    case $a in
        --worktree) worktree=1 ;;
        --extras) extras=1 ;;
        --derive) derive=1 ;;
        --keep) keep=1 ;;
        --rebuild-base) rebuild=1 ;;
        -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "fresh-check: unknown option '$a' (--help)" >&2; exit 2 ;;
    esac
done
if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "fresh-check: needs root (chroot and mounts)" >&2; exit 2; }
    exec sudo --preserve-env=FRESH_CACHE,FRESH_WORK,FRESH_JOBS,FRESH_FUZZ_SECONDS,http_proxy,https_proxy,no_proxy \
        bash "$0" "$@"
fi

START=$(date +%s)
say() { printf 'fresh-check [%s]: %s\n' "$(date -u -d "@$(($(date +%s) - START))" +%H:%M:%S)" "$*"; }
die() { say "FAIL: $*"; exit 1; }

bash "$REPO/scripts/install-deps.sh" fresh-check
mkdir -p "$CACHE/logs"

# --- the base root: bookworm from the mirror this machine's apt uses, cached as a tarball --------
# Debian's bookworm entries of this machine, nothing else: deb822 (*.sources) and one-line (*.list).
host_sources_deb822() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [[ -f $f ]] || continue
        awk 'BEGIN { RS = ""; ORS = "\n\n" }
             /(^|\n)Suites:[^\n]*bookworm/ && !/(^|\n)Enabled: *no/ {
                 out = ""; n = split($0, lines, "\n")
                 for (i = 1; i <= n; i++) {
                     if (lines[i] ~ /^#/) continue
                     if (lines[i] ~ /^Suites:/) {
                         m = split(lines[i], w, /[ \t]+/); s = "Suites:"
                         for (j = 2; j <= m; j++) if (w[j] ~ /^bookworm(-updates|-security)?$/) s = s " " w[j]
                         lines[i] = s
                     }
                     out = out lines[i] "\n"
                 }
                 sub(/\n$/, "", out); print out
             }' "$f"
    done
}
host_sources_oneline() {
    local f
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        grep -E '^deb[[:space:]]+(\[[^]]*\][[:space:]]+)?[^[:space:]]+[[:space:]]+bookworm(-updates|-security)?[[:space:]]' "$f" || true
    done
}
host_sources_deb822 >"$CACHE/host.sources"
host_sources_oneline >"$CACHE/host.list"
mirrors=()
for f in "$CACHE/host.sources" "$CACHE/host.list"; do grep -q . "$f" && mirrors+=("$f"); done
if ((${#mirrors[@]} == 0)); then  # no bookworm entry on this machine: Debian's own registry
    printf 'deb http://deb.debian.org/debian %s main\ndeb http://deb.debian.org/debian %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
        "$SUITE" "$SUITE" "$SUITE" >"$CACHE/host.list"
    mirrors=("$CACHE/host.list")
fi
key=$( { cat "${mirrors[@]}"; echo "$SUITE minbase $BASE_INCLUDE"; mmdebstrap --version; } | sha256sum | cut -c1-12)
base=$CACHE/$SUITE-minbase-$key.tar
if [[ $rebuild -eq 1 || ! -s $base ]]; then
    say "bootstrapping a clean $SUITE root (minbase + $BASE_INCLUDE) from: $(grep -ohE 'https?://[^ ]+' "${mirrors[@]}" | sort -u | xargs)"
    rm -f "$base.part"  # a file: --format=tar
    mmdebstrap --quiet --format=tar --variant=minbase --include="$BASE_INCLUDE" "$SUITE" "$base.part" "${mirrors[@]}" \
        >"$CACHE/logs/mmdebstrap.log" 2>&1 || { tail -n 30 "$CACHE/logs/mmdebstrap.log"; die "mmdebstrap failed"; }
    mv "$base.part" "$base"
else
    say "base root: $base (cached $(date -u -r "$base" +%Y-%m-%d); --rebuild-base renews it)"
fi

# --- a pristine copy of it, with mounts that are always undone ----------------------------------
ROOT=$(mktemp -d "$WORKBASE/archivist-fresh.XXXXXX")
mounts_under() {  # mount points at or below $ROOT, deepest first
    awk -v r="$ROOT" '$5 == r || index($5, r "/") == 1 { print length($5), $5 }' /proc/self/mountinfo |
        sort -rn | cut -d' ' -f2-
}
cleanup() {
    local rc=$? p m left
    trap - EXIT INT TERM HUP
    set +e
    # Processes still running inside the root (a server a failed test left behind) hold mounts.
    for p in /proc/[0-9]*; do
        [[ $(readlink "$p/root" 2>/dev/null) == "$ROOT" ]] && kill -KILL "${p#/proc/}" 2>/dev/null
    done
    for m in $(mounts_under); do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
    left=$(mounts_under)
    if [[ -n $left ]]; then
        say "still mounted, so $ROOT is NOT removed: $left"
    elif [[ $keep -eq 1 ]]; then
        say "kept the root: $ROOT (chroot $ROOT bash; rm -rf it when done)"
    else
        rm -rf --one-file-system "$ROOT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

say "unpacking the base root into $ROOT"
tar --numeric-owner -xpf "$base" -C "$ROOT"
mount -t proc proc "$ROOT/proc"
mount --bind /dev "$ROOT/dev"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$ROOT/dev/shm"
# The machine's network settings, nothing of its packages: name resolution, and the certificate
# authorities it trusts beyond Debian's (where a proxy inspects TLS, npm needs them as it does here).
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
grep -qw localhost "$ROOT/etc/hosts" 2>/dev/null || printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >>"$ROOT/etc/hosts"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d" && chmod 755 "$ROOT/usr/sbin/policy-rc.d"  # no daemons start
extra_cas=$(find /usr/local/share/ca-certificates -name '*.crt' 2>/dev/null | wc -l)
if ((extra_cas)); then
    cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/"
    chroot "$ROOT" update-ca-certificates >/dev/null 2>&1
fi

# --- the source: the current commit, or the working tree ----------------------------------------
commit=$(git -C "$REPO" rev-parse HEAD)
src=$ROOT/root/archivist
git clone -q --no-checkout "$REPO" "$src"
git -C "$src" checkout -q --detach "$commit"
label=$(git -C "$REPO" rev-parse --short HEAD)
if [[ $worktree -eq 1 ]]; then
    (cd "$REPO" && git ls-files -z -co --exclude-standard | while IFS= read -r -d '' f; do
        if [[ -e $f || -L $f ]]; then printf '%s\0' "$f"; fi; done | tar --null -T - -cf -) | tar -xf - -C "$src"
    (cd "$REPO" && git ls-files -z -d) | (cd "$src" && xargs -0 -r rm -f --)
    n=$(cd "$REPO" && git status --porcelain | wc -l)
    label="$label+worktree($n changed)"
fi
say "source: $label"

# --- inside: as a user would -------------------------------------------------------------------
in_root() {
    local -a env=(HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
                  LANG=C.UTF-8 TERM=dumb)
    local v
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY; do
        if [[ -n ${!v:-} ]]; then env+=("$v=${!v}"); fi
    done
    chroot "$ROOT" /usr/bin/env -i "${env[@]}" bash -c "cd /root/archivist && $1"
}
# in_root in the background and waited for, so that Ctrl-C or a TERM reaches our trap at once
# (bash runs traps only between foreground commands). Appends the output to $2; returns its status.
run_in_root() {
    in_root "$1" >>"$2" 2>&1 </dev/null &
    wait $!
}
log=$CACHE/logs/fresh-check-$(date -u +%Y%m%dT%H%M%SZ)-${commit:0:8}.log
say "make test (JOBS=$JOBS) — full output in $log"
t0=$(date +%s)
set +e
run_in_root "make test JOBS=$JOBS" "$log"
test_rc=$?
set -e
test_s=$(($(date +%s) - t0))
failures=()
fail() { say "FAILED: $*"; failures+=("$*"); }
summary=$(grep -E '^[0-9]+% tests passed|^Total Test time' "$log" || true)
ntests=$(grep -oE 'tests failed out of [0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
if [[ -z $summary ]]; then  # install-deps, configure or the build failed: nothing else can run
    echo "    --- last lines of the log ---"
    tail -n 40 "$log" | sed 's/^/    /'
    die "make test exited $test_rc after $((test_s / 60)) min $((test_s % 60)) s, before any test ran"
fi
echo "$summary" | sed 's/^/    /'
if ((test_rc != 0)); then
    grep -A 100 -E '^The following tests (FAILED|did not run)' "$log" | grep -E '^The following|^[[:space:]]*[0-9]+ - ' |
        sed 's/^/    /' || true
    fail "make test exited $test_rc after $((test_s / 60)) min $((test_s % 60)) s"
    # A timing-sensitive test can fail when the machine is loaded: run the failed ones again, alone,
    # to tell a flaky test from a broken one. The check fails either way.
    say "re-running the failed tests alone (ctest --rerun-failed -j1)"
    run_in_root "cd build && QT_QPA_PLATFORM=offscreen ctest --rerun-failed --output-on-failure -j1" "$log.rerun" &&
        say "  … they pass when run alone: timing-sensitive under load (log: $log.rerun)" ||
        say "  … they fail alone too (log: $log.rerun)"
    grep -E '^[0-9]+% tests passed|Test +#' "$log.rerun" | sed 's/^/    /' || true
else
    say "make test passed in $((test_s / 60)) min $((test_s % 60)) s"
fi
# A test may pass while skipping a case (QSKIP) for a missing tool: that is a failure here.
skips=$(grep -E '^SKIP +:' "$src/build/Testing/Temporary/LastTest.log" || true)
if [[ -n $skips ]]; then echo "$skips" | sed 's/^/    /'; fail "test cases were skipped (above)"; fi

say 'make run ARGS="--no-seed-relays --duration 5" (headless: no display in the root)'
: >"$log.run"
run_in_root 'timeout 300 make run ARGS="--no-seed-relays --duration 5"' "$log.run" && run_rc=0 || run_rc=$?
sed 's/^/    /' "$log.run" | tail -n 8
if ((run_rc != 0)); then
    fail "make run exited $run_rc"
elif ! grep -q 'starting headless' "$log.run"; then
    fail "make run did not start headless"
else
    say "make run exited 0"
fi

if [[ $extras -eq 1 ]]; then
    say "make package"
    if run_in_root "make package JOBS=$JOBS" "$log"; then
        deb=$(ls "$src"/build/archivist_*.deb | head -n 1)
        depends=$(dpkg-deb -f "$deb" Depends)
        echo "    $(basename "$deb"): Depends: $depends"
        [[ $depends == *qt6-translations-l10n* ]] || fail "the .deb does not depend on qt6-translations-l10n"
    else
        fail "make package (see $log)"
    fi
    say "make demo (headless, 10 s)"
    run_in_root "DEMO_DURATION_S=10 make demo JOBS=$JOBS" "$log" || fail "make demo (see $log)"
    say "make fuzz (FUZZ_SECONDS=$FUZZ_SECONDS)"
    run_in_root "make fuzz JOBS=$JOBS FUZZ_SECONDS=$FUZZ_SECONDS" "$log" || fail "make fuzz (see $log)"
    grep -E '^== fuzz_|^Done [0-9]+ runs' "$log" | sed 's/^/    /' || true
fi
if [[ $derive -eq 1 ]]; then
    say "scripts/derive-deps.py (which Debian package each file the build and the tests use comes from)"
    : >"$log.derive"
    fuzz_build=""
    [[ -d $src/build-fuzz ]] && fuzz_build="--fuzz-build build-fuzz"
    run_in_root "python3 scripts/derive-deps.py build --markdown $fuzz_build" "$log.derive" ||
        fail "derive-deps: something needed is not installed by install-deps (below)"
    sed 's/^/    /' "$log.derive"
fi

total=$(($(date +%s) - START))
took="$((total / 60)) min $((total % 60)) s in all"
if ((${#failures[@]})); then
    say "FAIL: $label — $took:"
    printf '    - %s\n' "${failures[@]}"
    exit 1
fi
say "PASS: $label — make test: $ntests of $ntests tests passed, no case skipped; make run exit 0$(
    [[ $extras -eq 1 ]] && echo '; package, demo, fuzz ok'); $took"
exit 0
}
