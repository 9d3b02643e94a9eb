#!/usr/bin/env bash
# Builds the C++ core with sanitizers and runs the core-facing tests on it.
#   tools/sanitize.sh address,undefined [pytest args...]   # ASan + UBSan
#   tools/sanitize.sh thread [pytest args...]              # TSan: the worker pool and shared worlds
# Needs the package's test dependencies in the current Python (the tests import pyslice's Python
# layer from the source tree; only the core comes from the sanitizer build, kept in build/sanitize-*/
# so a second run rebuilds only what changed). A finding fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-address,undefined}"
shift || true
tag="${kind//,/-}"
out="build/sanitize-$tag"
python -m pip wheel --no-deps --no-build-isolation -q -w "$out/wheel" \
  -C "cmake.define.PYSLICE_SANITIZE=$kind" -C cmake.build-type=RelWithDebInfo -C "build-dir=$out/build" .
rm -rf "$out/core" && mkdir -p "$out/core"
python - "$out" <<'PY'
import pathlib, sys, zipfile
out = pathlib.Path(sys.argv[1])
wheel = sorted((out / "wheel").glob("pyslice-*.whl"))[-1]
with zipfile.ZipFile(wheel) as zf:
    name = next(n for n in zf.namelist() if n.startswith("pyslice/_core."))
    zf.extract(name, out / "core")
PY
core="$(ls "$out"/core/pyslice/_core.*)"
case "$kind" in
  *thread*)
    runtime="$(g++ -print-file-name=libtsan.so) $(g++ -print-file-name=libstdc++.so.6)"
    tests=(tests/test_shared_world.py tests/test_simulator.py tests/test_pickle.py tests/test_vector_env.py)
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
    # TSan cannot start threads in the child of a multi-threaded fork (it dies with exit code 66 by
    # design, "not supported"): the fork test runs in the plain and ASan passes instead
    skip="not memory_growth and not forked_child"
    ;;
  *)
    # libstdc++ right after the runtime: extensions that throw C++ exceptions while they load
    # (matplotlib's) otherwise meet ASan's __cxa_throw interceptor before it has found the real one
    runtime="$(g++ -print-file-name=libasan.so) $(g++ -print-file-name=libstdc++.so.6)"
    tests=(tests/test_simulator.py tests/test_shared_world.py tests/test_core_vs_reference.py
           tests/test_simulator_state.py tests/test_link_update.py tests/test_pickle.py tests/test_env.py
           tests/test_validation.py tests/test_fuzz.py)  # (not test_stream.py: pyarrow under ASan exits at once)
    export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"  # Python itself leaks at exit
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
    skip="not memory_growth"
    ;;
esac
if [ "$#" -gt 0 ]; then tests=("$@"); fi
echo "core: $core ($kind); runtime: $runtime"
PYSLICE_CORE="$core" LD_PRELOAD="$runtime" PYTHONPATH="tools:.${PYTHONPATH:+:$PYTHONPATH}" \
  python -m pytest -q -p core_override -m "not slow" -p no:cacheprovider --capture=sys \
  -k "$skip" "${tests[@]}"
# (--capture=sys: a sanitizer's report goes to file descriptor 2 and must reach the terminal before it
# ends the process; the RSS-growth tests are left out: the sanitizers' quarantine grows RSS by design)
