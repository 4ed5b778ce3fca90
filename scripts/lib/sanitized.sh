# The sanitized half of scripts/test (docs/security.md "Fuzzing and sanitizers"): one clang build
# in build-sanitize/ with AddressSanitizer, UndefinedBehaviorSanitizer and libFuzzer's coverage
# instrumentation serves both the fuzz targets (fuzz/) and a second stack of sanitized binaries.
# Sourced by scripts/test after its own steps; uses its counters (passed, failed), filter and helpers.

STREAMBED_SANITIZE_DIR=${STREAMBED_SANITIZE_DIR:-$STREAMBED_ROOT/build-sanitize}
# Seconds each fuzz target runs over its corpus in CI; longer runs: docs/security.md.
STREAMBED_FUZZ_SECONDS=${STREAMBED_FUZZ_SECONDS:-4}
# The contract suites that run against the sanitized stack (measured in docs/security.md).
STREAMBED_SANITIZE_SUITES=${STREAMBED_SANITIZE_SUITES:-contracts/}

build_sanitized() {
    step "Building with clang, ASan and UBSan in ${STREAMBED_SANITIZE_DIR#$STREAMBED_ROOT/}"
    local log=$STREAMBED_SANITIZE_DIR.log
    mkdir -p "$STREAMBED_SANITIZE_DIR"
    # -O1: the sanitizers' advice (readable stacks, a fraction of -O0's slowness). Warnings are
    # GCC's business (the shipped build has -Werror); clang's own stay warnings here.
    if ! { CC=clang CXX=clang++ cmake -S "$STREAMBED_ROOT" -B "$STREAMBED_SANITIZE_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g" \
        -DSTREAMBED_SANITIZE=ON -DSTREAMBED_FUZZ=ON -DSTREAMBED_WERROR=OFF \
        && cmake --build "$STREAMBED_SANITIZE_DIR" -j "$(nproc)"; } >"$log" 2>&1; then
        tail -30 "$log" >&2
        fail "the sanitized build failed; the whole log is in $log"
    fi
}

# Reports go to files (log_path), so that a report from any process, forked workers included, is
# found afterwards. Leaks are checked where a process exits normally.
sanitizer_env() {  # sanitizer_env <folder for reports>
    export ASAN_OPTIONS="log_path=$1/asan:detect_leaks=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
    export UBSAN_OPTIONS="log_path=$1/ubsan:print_stacktrace=1:halt_on_error=1"
    export LSAN_OPTIONS="suppressions=$STREAMBED_ROOT/scripts/lib/lsan.supp:print_suppressions=0"
}

# Counts each report file as one failure and shows it.
count_sanitizer_reports() {  # count_sanitizer_reports <folder> <what>
    local f found=0
    for f in "$1"/asan.* "$1"/ubsan.*; do
        [ -e "$f" ] || continue
        found=$((found + 1))
        echo "    sanitizer report from $2: $f"
        sed -n '1,60p' "$f" | sed 's/^/      /'
    done
    failed=$((failed + found))
    [ $found -eq 0 ] && { passed=$((passed + 1)); echo "    no sanitizer report from $2"; }
    return 0
}

run_fuzzers() {
    step "Fuzzing: each target ${STREAMBED_FUZZ_SECONDS}s over fuzz/corpus/<target>/"
    local reports=$STREAMBED_ROOT/.run/fuzz
    rm -rf "$reports"
    mkdir -p "$reports"
    local t bin out
    for bin in "$STREAMBED_SANITIZE_DIR"/fuzz/*_fuzz; do
        t=$(basename "$bin" _fuzz)
        out=$reports/$t
        mkdir -p "$out/new"
        # New inputs go to a scratch folder first (the committed corpus is read only); a crash
        # leaves its input in $out for the report.
        if (cd "$out" && ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$STREAMBED_FUZZ_SECONDS" -timeout=10 \
            -rss_limit_mb=2048 -print_final_stats=1 "$out/new" "$STREAMBED_ROOT/fuzz/corpus/$t") >"$out/log" 2>&1; then
            passed=$((passed + 1))
            echo "    ok - $t: $(sed -nE 's/^stat::number_of_executed_units: *([0-9]+)/\1/p' "$out/log") runs, $(ls "$out/new" | wc -l) new inputs"
        else
            failed=$((failed + 1))
            echo "    not ok - $t: see $out/log"
            grep -E 'ERROR|invariant|SUMMARY|runtime error' "$out/log" | head -10 | sed 's/^/      /'
        fi
    done
}

run_sanitized() {
    step "Unit tests under ASan and UBSan (ctest in ${STREAMBED_SANITIZE_DIR#$STREAMBED_ROOT/})"
    local reports=$STREAMBED_ROOT/.run/sanitize-units
    rm -rf "$reports"
    mkdir -p "$reports"
    local log=$reports/ctest.log
    set +e
    (sanitizer_env "$reports" && cd "$STREAMBED_SANITIZE_DIR" && ctest --output-on-failure --timeout 300) >"$log" 2>&1
    set -e
    local total bad
    total=$(sed -nE 's/.* tests failed out of ([0-9]+).*/\1/p' "$log")
    bad=$(sed -nE 's/.* ([0-9]+) tests failed out of.*/\1/p' "$log")
    if [ -z "$total" ]; then
        cat "$log"
        failed=$((failed + 1))
    else
        [ "$bad" = 0 ] || sed -n '/The following tests FAILED/,$p' "$log"
        passed=$((passed + total - bad))
        failed=$((failed + bad))
        echo "    $((total - bad)) of $total unit tests passed"
    fi
    count_sanitizer_reports "$reports" "the unit tests"

    # A second stack on its own ports and run folder, of sanitized binaries.
    local base
    base=$(free_port_base)
    export STREAMBED_RUN_DIR=$STREAMBED_ROOT/.run/san-$base
    export STREAMBED_HTTP_PORT=$base STREAMBED_HTTPS_PORT=$((base + 1)) STREAMBED_GATEWAY_PORT=$((base + 2))
    unset STREAMBED_API_KEY STREAMBED_API_SECRET
    rm -rf "$STREAMBED_RUN_DIR"
    mkdir -p "$STREAMBED_RUN_DIR/logs"
    STREAMBED_RUN_DIR=$(cd "$STREAMBED_RUN_DIR" && pwd)
    # Beside logs/, not in it: tests/contracts/operations.test.mjs reads every file of logs/.
    local san_reports=$STREAMBED_RUN_DIR/sanitizers
    mkdir -p "$san_reports"
    chmod 777 "$san_reports"
    sanitizer_env "$san_reports"
    STREAMBED_BUILD_DIR=$STREAMBED_SANITIZE_DIR
    step "A stack of sanitized binaries on 127.0.0.1:$base"
    stack_start
    export STREAMBED_TEST_REPORTS=$STREAMBED_RUN_DIR/reports
    mkdir -p "$STREAMBED_TEST_REPORTS"
    export STREAMBED_URL STREAMBED_API_KEY STREAMBED_API_SECRET STREAMBED_BUILD_DIR STREAMBED_RUN_DIR
    export STREAMBED_WS_URL=ws://127.0.0.1:$STREAMBED_HTTP_PORT STREAMBED_HTTPS_URL=https://127.0.0.1:$STREAMBED_HTTPS_PORT
    local suite
    for suite in $STREAMBED_SANITIZE_SUITES; do
        filter=$suite
        run_node_tests "sanitized-${suite//\//-}" "$STREAMBED_ROOT/tests/${suite%%/*}"
    done
    # Stopping normally lets each process run its leak check at exit; then any report counts.
    stack_stop >/dev/null 2>&1 || true
    count_sanitizer_reports "$san_reports" "the sanitized stack"
    run_log_audit  # scripts/test: no 500 and no error in this stack's logs either
}
