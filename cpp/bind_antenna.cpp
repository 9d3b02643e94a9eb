// The antenna patterns, the per-link kernel on explicit links and the spectral efficiency.
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "antenna_3gpp.hpp"
#include "kernels.hpp"
#include "layout.hpp"

namespace pyslice::bind {

void bind_antenna_and_links(py::module_& m) {
  const PropagationParams kProp{};
  const AntennaParams kAnt{};
  m.def("antenna_gain_3gpp_db",
        [](py::handle theta, py::handle phi, double g, double bw_h, double am, double bw_v, double sla_v, int elements,
           double spacing, double etilt, double mtilt) {
          AntennaParams a;
          a.gain_dbi = g;
          a.beamwidth_deg = bw_h;
          a.max_attenuation_db = am;
          a.three_d = true;
          a.vertical_beamwidth_deg = bw_v;
          a.sla_v_db = sla_v;
          a.elements = elements;
          a.element_spacing_wl = spacing;
          a.electrical_tilt_deg = etilt;
          a.mechanical_tilt_deg = mtilt;
          for (double v : {g, bw_h, am, bw_v, sla_v, spacing, etilt, mtilt})
            if (!std::isfinite(v)) value_error("antenna parameters must be finite");
          if (!(bw_h > 0.0) || !(bw_v > 0.0)) value_error("beamwidths must be > 0");
          if (!(am >= 0.0) || !(sla_v >= 0.0)) value_error("max_attenuation_db and sla_v_db must be >= 0");
          if (elements < 1 || elements > 64) value_error("elements must be in [1, 64]");
          if (!(spacing > 0.0)) value_error("element_spacing_wl must be > 0");
          DArray tt = as_doubles(theta, "theta_deg");
          DArray pp = as_doubles(phi, "phi_deg");
          check_finite(tt, "theta_deg");
          check_finite(pp, "phi_deg");
          if (tt.size() != pp.size()) value_error("theta_deg and phi_deg must have the same shape");
          const double* pv = pp.data();
          return map_array(tt, [&](double t, py::ssize_t i) { return antenna_gain_3gpp_db(t, pv[i], a); });
        },
        py::arg("theta_deg"), py::arg("phi_deg"), py::arg("gain_dbi"), py::arg("beamwidth_deg"),
        py::arg("max_attenuation_db"), py::arg("vertical_beamwidth_deg"), py::arg("sla_v_db"), py::arg("elements"),
        py::arg("element_spacing_wl"), py::arg("electrical_tilt_deg"), py::arg("mechanical_tilt_deg"));
  m.def("antenna_gain_db",
        [](py::handle phi, double g, double bw, double am) {
          AntennaParams a{g, bw, am};
          DArray pp = as_doubles(phi, "phi_deg");
          check_finite(pp, "phi_deg");
          return map_array(pp, [&](double v, py::ssize_t) { return antenna_gain_db(v, a); });
        },
        py::arg("phi_deg"), py::arg("gain_dbi") = kAnt.gain_dbi, py::arg("beamwidth_deg") = kAnt.beamwidth_deg,
        py::arg("max_attenuation_db") = kAnt.max_attenuation_db);
  m.def("link_gains",
        [](py::handle dx_obj, py::handle dy_obj, py::handle zs_obj, py::handle zl_obj, double fc, double h_bs,
           double h_ut, const std::string& model, double dmin, double dmax, double g, double bw, double am,
           bool shadowing) {
          DArray dx = checked(dx_obj, "dx", {-1});
          const py::ssize_t n = dx.shape(0);
          DArray dy = checked(dy_obj, "dy", {n});
          DArray zs = checked(zs_obj, "shadow_z", {n});
          DArray zl = checked(zl_obj, "los_z", {n});
          check_finite(dx, "dx");
          check_finite(dy, "dy");
          check_finite(zs, "shadow_z");
          check_finite(zl, "los_z");
          if (!(bw > 0.0) || !std::isfinite(bw)) value_error("beamwidth_deg must be finite and > 0");
          if (!(am >= 0.0) || !std::isfinite(am)) value_error("max_attenuation_db must be finite and >= 0");
          if (!std::isfinite(g)) value_error("gain_dbi must be finite");
          const PathlossCoefficients coeff(propagation(fc, h_bs, h_ut, model, dmin, dmax));
          const LinkGainParams params{&coeff, dmin, dmax, g, bw, am, shadowing,
                                      {kBoresightDeg[0], kBoresightDeg[1], kBoresightDeg[2]}};
          py::array_t<double> distance(n), angle(n), loss(n), gain(std::vector<py::ssize_t>{n, kSectors});
          py::array_t<std::uint8_t> los(n);
          std::vector<double> best_gain(static_cast<size_t>(n));
          std::vector<std::uint8_t> best_sector(static_cast<size_t>(n));
          {
            py::gil_scoped_release release;
            link_gains(static_cast<std::size_t>(n), dx.data(), dy.data(), zs.data(), zl.data(), params,
                       distance.mutable_data(), angle.mutable_data(), los.mutable_data(), loss.mutable_data(),
                       gain.mutable_data(), best_gain.data(), best_sector.data());
          }
          py::dict out;
          out["distance"] = distance;
          out["angle_deg"] = angle;
          out["los"] = los;
          out["loss_db"] = loss;
          out["gain"] = gain;
          return out;
        },
        py::arg("dx"), py::arg("dy"), py::arg("shadow_z"), py::arg("los_z"), py::arg("fc_ghz") = kProp.fc_ghz,
        py::arg("h_bs") = kProp.h_bs, py::arg("h_ut") = kProp.h_ut, py::arg("model") = "winner+",
        py::arg("d_min") = kProp.d_min, py::arg("d_max") = kProp.d_max, py::arg("gain_dbi") = kAnt.gain_dbi,
        py::arg("beamwidth_deg") = kAnt.beamwidth_deg, py::arg("max_attenuation_db") = kAnt.max_attenuation_db,
        py::arg("shadowing") = true);
  m.def("spectral_efficiency",
        [](py::handle sinr) {
          DArray s = as_doubles(sinr, "sinr");
          for (py::ssize_t i = 0; i < s.size(); ++i)
            if (std::isnan(s.data()[i])) value_error("sinr must not be NaN (+inf is allowed: it gives the 4.4 cap)");
          return map_array(s, [](double v, py::ssize_t) { return spectral_efficiency(v); });
        },
        py::arg("sinr"));
}

}  // namespace pyslice::bind
