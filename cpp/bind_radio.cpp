// The radio model's functions: path loss, shadowing sigma, LOS probability, O2I, 3GPP model names.
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "pathloss_3gpp.hpp"

namespace pyslice::bind {

// The path-loss models by name, in the order of the PathlossModel enum (pyslice.sim.core_config
// reads the same list as _core.PATHLOSS_MODELS).
const char* const kPathlossModelNames[6] = {"winner+",         "3gpp-36.814-uma", "3gpp-36.873-uma",
                                           "3gpp-36.873-umi", "3gpp-38.901-uma", "3gpp-38.901-umi"};

PathlossModel pathloss_model_named(const std::string& model) {
  std::string allowed;
  int i = 0;
  for (const char* name : kPathlossModelNames) {
    if (model == name) return static_cast<PathlossModel>(i);
    allowed += std::string(i ? ", " : "") + "'" + name + "'";
    ++i;
  }
  value_error("model must be one of " + allowed + ", got '" + model + "'");
}

PropagationParams propagation(double fc, double h_bs, double h_ut, const std::string& model, double dmin,
                              double dmax) {
  PropagationParams p;
  p.model = pathloss_model_named(model);
  if (!(fc > 0.0) || !std::isfinite(fc)) value_error("fc_ghz must be finite and > 0");
  if (!(h_ut > 1.0) || !std::isfinite(h_ut)) value_error("h_ut must be finite and > 1");
  // The 3-D models hold for UEs above the BS too (UMi: BS at 10 m, UEs up to 22.5 m).
  if (is_3gpp_3d(p.model) ? !(h_bs > 1.0) : !(h_bs > h_ut)) value_error("h_bs must be finite and > h_ut (3-D 3GPP models: > 1)");
  if (!std::isfinite(h_bs)) value_error("h_bs must be finite and > h_ut");
  if (!(dmin > 0.0) || !(dmax > dmin) || !std::isfinite(dmax)) value_error("need 0 < d_min < d_max < inf");
  p.fc_ghz = fc;
  p.h_bs = h_bs;
  p.h_ut = h_ut;
  p.d_min = dmin;
  p.d_max = dmax;
  return p;
}

void bind_pathloss(py::module_& m) {
  const PropagationParams kProp{};
  // pathloss_db and shadow_sigma_db: the same validation and per-link loop around the model (the
  // 2-D models' coefficients folded once per call), evaluated at the clamped 2-D distance; the 3-D
  // models take the UE height, the effective environment height h_e and an indoor flag (O2I sigma).
  using LinkFn = double (*)(const PropagationParams&, const PathlossCoefficients&, double, bool, double, bool);
  auto per_link = [](LinkFn fn) {
    return [fn](py::handle d, py::handle los, double fc, double h_bs, double h_ut, const std::string& model,
                double dmin, double dmax, double h_e, bool indoor) {
      const PropagationParams p = propagation(fc, h_bs, h_ut, model, dmin, dmax);
      if (!std::isfinite(h_e) || !(h_e >= 0.0) || !(h_e < h_ut)) value_error("h_e must be finite, >= 0 and < h_ut");
      const PathlossCoefficients c(p);
      DArray dd = as_doubles(d, "d_m");
      check_finite(dd, "d_m");
      DArray ll = as_doubles(los, "los");
      check_finite(ll, "los");
      if (ll.size() != 1 && ll.size() != dd.size()) value_error("los must be a scalar or match d_m's shape");
      const double* lp = ll.data();
      const bool scalar = ll.size() == 1;
      return map_array(dd, [&](double v, py::ssize_t i) {
        return fn(p, c, clamp_distance(v, p), lp[scalar ? 0 : i] != 0.0, h_e, indoor);
      });
    };
  };
  const LinkFn loss = [](const PropagationParams& p, const PathlossCoefficients& c, double dc, bool is_los, double h_e,
                         bool) {
    if (is_3gpp_3d(p.model)) return pathloss_3gpp_db(p.model, is_los, dc, p.h_bs, p.h_ut, h_e, p.fc_ghz);
    return c.loss_db(std::log10(dc), dc < c.breakpoint, is_los);
  };
  const LinkFn sigma = [](const PropagationParams& p, const PathlossCoefficients& c, double dc, bool is_los, double,
                          bool indoor) {
    if (is_3gpp_3d(p.model)) return shadow_sigma_3gpp_db(p.model, is_los, indoor);
    return c.sigma_db(dc < c.breakpoint, is_los);
  };
  m.def("pathloss_db", per_link(loss), py::arg("d_m"), py::arg("los"), py::arg("fc_ghz") = kProp.fc_ghz,
        py::arg("h_bs") = kProp.h_bs, py::arg("h_ut") = kProp.h_ut, py::arg("model") = "winner+",
        py::arg("d_min") = kProp.d_min, py::arg("d_max") = kProp.d_max, py::arg("h_e") = 1.0,
        py::arg("indoor") = false);
  m.def("shadow_sigma_db", per_link(sigma), py::arg("d_m"), py::arg("los"),
        py::arg("fc_ghz") = kProp.fc_ghz, py::arg("h_bs") = kProp.h_bs, py::arg("h_ut") = kProp.h_ut,
        py::arg("model") = "winner+", py::arg("d_min") = kProp.d_min, py::arg("d_max") = kProp.d_max,
        py::arg("h_e") = 1.0, py::arg("indoor") = false);
  m.def("los_probability",
        [kProp](py::handle d, double dmin, double dmax, const std::string& model, double h_ut) {
          const PropagationParams p = propagation(kProp.fc_ghz, std::max(kProp.h_bs, h_ut + 1.0), h_ut, model, dmin, dmax);
          DArray dd = as_doubles(d, "d_m");
          check_finite(dd, "d_m");
          if (is_3gpp_3d(p.model))
            return map_array(dd, [&](double v, py::ssize_t) { return los_probability_3gpp(p.model, v, h_ut); });
          return map_array(dd, [&](double v, py::ssize_t) { return los_probability(v, p); });
        },
        py::arg("d_m"), py::arg("d_min") = kProp.d_min, py::arg("d_max") = kProp.d_max, py::arg("model") = "winner+",
        py::arg("h_ut") = kProp.h_ut);
  m.def("environment_height_c",
        [](py::handle d, double h_ut) {
          DArray dd = as_doubles(d, "d_m");
          check_finite(dd, "d_m");
          return map_array(dd, [&](double v, py::ssize_t) { return environment_height_c(v, h_ut); });
        },
        py::arg("d_m"), py::arg("h_ut"));
  m.def("o2i_wall_loss_db",
        [](const std::string& model, bool high_loss, double fc) {
          if (!(fc > 0.0) || !std::isfinite(fc)) value_error("fc_ghz must be finite and > 0");
          if (model == "3gpp-36.873") return o2i_wall_loss_db(O2iModel::Tr36873, high_loss, fc);
          if (model == "3gpp-38.901") return o2i_wall_loss_db(O2iModel::Tr38901, high_loss, fc);
          value_error("model must be '3gpp-36.873' or '3gpp-38.901', got '" + model + "'");
        },
        py::arg("model"), py::arg("high_loss"), py::arg("fc_ghz"));
}

}  // namespace pyslice::bind
