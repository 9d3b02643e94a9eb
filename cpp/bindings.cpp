// pybind11 bindings: shape/dtype checks and conversions only; the models live in the other files.
// One bind_* function per topic (bind_config.cpp, bind_radio.cpp, bind_antenna.cpp,
// bind_load_coupling.cpp, bind_simulator.cpp, bind_testing.cpp).
#include "bind_common.hpp"
#include "kernel_levels.hpp"

#ifndef PYSLICE_BUILD_FLAVOUR
#define PYSLICE_BUILD_FLAVOUR "unknown"
#endif
#ifndef PYSLICE_COMPILER
#define PYSLICE_COMPILER "unknown"
#endif
#ifndef PYSLICE_PROCESSOR
#define PYSLICE_PROCESSOR "unknown"
#endif

PYBIND11_MODULE(_core, m) {
  using namespace pyslice::bind;
  m.doc() = "pyslice C++ core: multi-cell slicing system-level simulator";
  bind_config(m);
  bind_pathloss(m);
  bind_antenna_and_links(m);
  bind_testing(m);
  bind_load_coupling(m);
  bind_simulator(m);
  bind_batch(m);
  m.def("build_info", [] {
    const pyslice::KernelChoice& k = pyslice::kernel_choice();
    py::dict d;
    d["build"] = PYSLICE_BUILD_FLAVOUR;
    d["compiler"] = PYSLICE_COMPILER;
    d["processor"] = PYSLICE_PROCESSOR;
    d["simd_level"] = k.level;
    d["simd_reason"] = k.reason;
    d["simd_levels_compiled"] = k.compiled;
    d["simd_levels_cpu"] = k.cpu;
    return d;
  }, "How this core was built and which SIMD level of its kernels runs (and why).");
}
