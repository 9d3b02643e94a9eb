// solve_load_coupling: the slice-aware load-coupling fixed point on explicit gains.
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "load_coupling.hpp"

namespace pyslice::bind {

void bind_load_coupling(py::module_& m) {
  m.def("solve_load_coupling",
        [](py::handle gain_obj, py::handle serving_obj, py::handle slice_obj, py::handle demand_obj,
           py::handle shares_obj, py::handle tx_obj, double noise_w, double prb_bw, int n_prb, py::handle rho0_obj,
           double tol, int max_iter, const std::string& matrix) {
          if (matrix != "auto" && matrix != "dense" && matrix != "sparse")
            value_error("interference_matrix must be 'auto', 'dense' or 'sparse', got '" + matrix + "'");
          DArray gain = as_doubles(gain_obj, "gain");
          if (gain.ndim() != 2) value_error("gain must have shape (K, U), got " + shape_str(gain));
          const py::ssize_t K = gain.shape(0), U = gain.shape(1);
          check_finite(gain, "gain");
          DArray shares = as_doubles(shares_obj, "shares");
          if (shares.ndim() != 2 || shares.shape(0) != K)
            value_error("shares must have shape (K=" + std::to_string(K) + ", N), got " + shape_str(shares));
          const py::ssize_t N = shares.shape(1);
          IArray serving = IArray::ensure(py::array::ensure(serving_obj));
          IArray slice_of = IArray::ensure(py::array::ensure(slice_obj));
          if (!serving || serving.ndim() != 1 || serving.shape(0) != U)
            value_error("serving must have shape (U=" + std::to_string(U) + ",)");
          if (!slice_of || slice_of.ndim() != 1 || slice_of.shape(0) != U)
            value_error("slice_of must have shape (U=" + std::to_string(U) + ",)");
          DArray demand = checked(demand_obj, "demand", {U});
          check_finite(demand, "demand");
          DArray tx = as_doubles(tx_obj, "tx_power_w");
          if (!(tx.size() == 1 || (tx.ndim() == 1 && tx.shape(0) == K)))
            value_error("tx_power_w must be a scalar or have shape (K=" + std::to_string(K) + ",)");
          check_finite(tx, "tx_power_w");
          if (!(noise_w > 0.0) || !std::isfinite(noise_w)) value_error("noise_w must be finite and > 0");
          if (!(prb_bw > 0.0) || !std::isfinite(prb_bw)) value_error("prb_bandwidth_hz must be finite and > 0");
          if (n_prb < 1) value_error("n_prb must be >= 1");
          if (!(tol > 0.0)) value_error("tol must be > 0");
          if (max_iter < 1) value_error("max_iter must be >= 1");
          std::vector<int> serv(U), sl(U);
          for (py::ssize_t u = 0; u < U; ++u) {
            serv[u] = static_cast<int>(serving.data()[u]);
            sl[u] = static_cast<int>(slice_of.data()[u]);
            if (serv[u] < 0 || serv[u] >= K) value_error("serving values must be in [0, K-1]");
            if (sl[u] < 0 || sl[u] >= N) value_error("slice_of values must be in [0, N-1]");
            if (demand.data()[u] < 0.0) value_error("demand must be >= 0");
          }
          for (py::ssize_t i = 0; i < gain.size(); ++i)
            if (gain.data()[i] < 0.0) value_error("gain must be >= 0");
          for (py::ssize_t k = 0; k < K; ++k) {
            double sum = 0.0;
            for (py::ssize_t n = 0; n < N; ++n) {
              const double a = shares.at(k, n);
              if (!std::isfinite(a) || a < 0.0) value_error("shares must be finite and >= 0");
              sum += a;
            }
            if (std::fabs(sum - 1.0) > kShareTolerance)
              value_error("shares rows must sum to 1 (tolerance " + std::to_string(kShareTolerance) + ")");
          }
          std::vector<double> txv(K);
          for (py::ssize_t k = 0; k < K; ++k) txv[k] = tx.data()[tx.size() == 1 ? 0 : k];
          CouplingResult res;
          if (rho0_obj.is_none()) {
            res.rho.assign(K, 0.0);
          } else {
            DArray rho0 = checked(rho0_obj, "rho0", {K});
            check_finite(rho0, "rho0");
            res.rho = to_vector(rho0);
            for (double v : res.rho)
              if (v < 0.0 || v > 1.0) value_error("rho0 must lie in [0, 1]");
          }
          const LinkTable lt = LinkTable::from_dense(gain.data(), static_cast<int>(K), static_cast<int>(U));
          std::vector<double> sh = to_vector(shares);
          CouplingProblem p;
          p.n_cells = static_cast<int>(K);
          p.n_slices = static_cast<int>(N);
          p.links = &lt;
          p.serving = serv.data();
          p.slice_of = sl.data();
          p.demand = demand.data();
          p.tx_power_w = txv.data();
          p.shares = sh.data();
          p.noise_w = noise_w;
          p.prb_bandwidth_hz = prb_bw;
          p.n_prb = n_prb;
          p.tol = tol;
          p.max_iter = max_iter;
          if (matrix == "dense")
            p.matrix = InterferenceMatrix::Dense;
          else if (matrix == "sparse")
            p.matrix = InterferenceMatrix::Sparse;
          LoadCouplingSolver solver;
          {
            py::gil_scoped_release release;
            solver.solve(p, res);
          }
          return py::make_tuple(array_of(res.rho, {K}), array_of(res.x, {K, N}), res.iterations);
        },
        py::arg("gain"), py::arg("serving"), py::arg("slice_of"), py::arg("demand"), py::arg("shares"),
        py::arg("tx_power_w"), py::arg("noise_w"), py::arg("prb_bandwidth_hz"), py::arg("n_prb"),
        py::arg("rho0") = py::none(), py::arg("tol") = 1e-6, py::arg("max_iter") = 200,
        py::arg("interference_matrix") = "auto");
}

}  // namespace pyslice::bind
