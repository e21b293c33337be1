#!/usr/bin/env bash
# The second set-up command (README), also what CI runs: installs what the
# tests need, builds with ASan/UBSan, runs every test and a bounded fuzzing
# run, and ends with one summary line "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
. scripts/deps.sh
qmgr_install_packages "${QMGR_BUILD_PACKAGES[@]}" "${QMGR_RUN_PACKAGES[@]}" \
	"${QMGR_TEST_PACKAGES[@]}" || exit 1
# Integration tests boot real guests through the system libvirtd.
bash scripts/libvirt-up.sh || exit 1
FUZZ_SECONDS=${QMGR_FUZZ_SECONDS:-60}
status=0

if [ ! -f build-test/build.ninja ]; then
	# with the desktop template (Firefox ESR, yad): test desktop-firefox
	# runs GTK apps in disposables end to end
	meson setup build-test -Db_sanitize=address,undefined -Db_lundef=false \
		-Ddesktop_template=true \
		--buildtype=debugoptimized || exit 1
fi
ninja -C build-test || exit 1
meson test -C build-test --print-errorlogs --num-processes 2 || status=1

if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang-14 meson setup build-fuzz -Dfuzzers=true -Dtests=false \
		-Dtemplates=false \
		-Db_sanitize=address,undefined -Db_lundef=false \
		--buildtype=debugoptimized || exit 1
fi
ninja -C build-fuzz || exit 1
# Each fuzzer runs for a bounded time on a copy of its seed corpus; the
# script prints one line per fuzzer ("NAME: OK, ..." or "NAME: FAILED ...").
bash tests/fuzz/run-fuzzers.sh build-fuzz "$FUZZ_SECONDS" | tee build-fuzz/fuzz.log
[ "${PIPESTATUS[0]}" = 0 ] || status=1

# One closing line over both runs, counted from meson's own logs.
/usr/bin/python3 - build-test/meson-logs/testlog.json build-fuzz/fuzz.log \
	<<'PY' || status=1
import json, sys
passed = failed = skipped = 0
try:
    lines = open(sys.argv[1]).read().splitlines()
except OSError:
    lines = []
    failed += 1
for line in lines:
    r = json.loads(line)
    if "result" not in r:
        continue
    res = r["result"]
    # TAP tests count their cases; a crashed or timed-out program counts
    # as one more failure on top of the cases it reported.
    out = r.get("stdout") or ""
    oks = sum(1 for l in out.splitlines() if l.startswith("ok "))
    bad = sum(1 for l in out.splitlines() if l.startswith("not ok "))
    if oks + bad > 0:
        passed += oks
        failed += bad
        if res not in ("OK", "EXPECTEDFAIL", "SKIP") and bad == 0:
            failed += 1
    elif res in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif res == "SKIP":
        skipped += 1
    else:
        failed += 1
# fuzzers: one test each
try:
    for line in open(sys.argv[2]):
        name, _, rest = line.partition(": ")
        if not name.startswith("fuzz-"):
            continue
        if rest.startswith("OK"):
            passed += 1
        else:
            failed += 1
except OSError:
    failed += 1
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
exit $status
