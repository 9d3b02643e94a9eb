// Test hooks (pyslice._core.testing): kernels the tests compare with tests/reference.py, kept out of
// the public module.
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "kernels.hpp"

namespace pyslice::bind {

void bind_testing(py::module_& m) {
  py::module_ testing = m.def_submodule("testing", "Hooks for pyslice's tests (not public API).");
  testing.def("normal_innovations",
        [](py::array_t<std::uint64_t, py::array::c_style | py::array::forcecast> keys, std::uint64_t t) {
          if (keys.ndim() != 1) value_error("keys must have shape (n,), got " + shape_str(keys));
          const py::ssize_t n = keys.shape(0);
          py::array_t<double> ws(n), wl(n);
          const std::vector<int> ue(static_cast<size_t>(n), 0);
          const std::vector<std::uint8_t> carry(static_cast<size_t>(n), 0);
          const double r = 0.0, q = 1.0;
          {
            py::gil_scoped_release release;
            ar1_update_keyed(static_cast<std::size_t>(n), keys.data(), t, ue.data(), &r, &q, &r, &q, carry.data(),
                             ws.mutable_data(), wl.mutable_data());
          }
          return py::make_tuple(ws, wl);
        },
        py::arg("keys"), py::arg("t"));
  testing.def("elementary_function",
        [](const std::string& name, py::handle a_obj, py::handle b_obj) {
          DArray a = checked(a_obj, "a", {-1});
          check_finite(a, "a");
          const py::ssize_t n = a.shape(0);
          std::vector<double> b(static_cast<size_t>(n), 0.0);
          if (name == "atan2") {
            DArray bb = checked(b_obj, "b", {n});
            check_finite(bb, "b");
            std::copy(bb.data(), bb.data() + n, b.begin());
          }
          if ((name == "log" || name == "log10") && n > 0 &&
              !(*std::min_element(a.data(), a.data() + n) >= std::numeric_limits<double>::min()))
            value_error(name + " needs a >= 2.2250738585072014e-308 (normal, positive)");
          if ((name == "sin_turns" || name == "cos_turns") && n > 0 &&
              (*std::min_element(a.data(), a.data() + n) < 0.0 || *std::max_element(a.data(), a.data() + n) >= 1.0))
            value_error(name + " needs a in [0, 1)");
          py::array_t<double> out(n);
          if (!elementary_function(name, static_cast<size_t>(n), a.data(), b.data(), out.mutable_data()))
            value_error("name must be one of 'exp', 'log', 'log10', 'atan2', 'sin_turns', 'cos_turns', got '" + name + "'");
          return out;
        },
        py::arg("name"), py::arg("a"), py::arg("b") = py::none());
}

}  // namespace pyslice::bind
