// pybind11 bindings: shape/dtype checks and conversions only; the models live in the other files.
// One bind_* function per topic (bind_config.cpp, bind_radio.cpp, bind_antenna.cpp,
// bind_load_coupling.cpp, bind_simulator.cpp, bind_testing.cpp).
#include "bind_common.hpp"

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
}
