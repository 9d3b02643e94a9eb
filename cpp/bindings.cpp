// pybind11 bindings: shape/dtype checks and conversions only; the models live in the other files.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstring>
#include <string>

#include "batch.hpp"
#include "kernels.hpp"
#include "layout.hpp"
#include "load_coupling.hpp"
#include "outputs.hpp"
#include "antenna_3gpp.hpp"
#include "pathloss.hpp"
#include "pathloss_3gpp.hpp"
#include "simulator.hpp"

namespace py = pybind11;
using namespace pyslice;

namespace {

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

[[noreturn]] void value_error(const std::string& msg) { throw py::value_error(msg); }
[[noreturn]] void type_error(const std::string& msg) { throw py::type_error(msg); }

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

DArray as_doubles(const py::handle& obj, const std::string& name) {
  py::array raw = py::array::ensure(obj);
  if (!raw) value_error(name + " must be array-like of numbers");
  if (raw.dtype().kind() == 'O' || raw.dtype().kind() == 'U' || raw.dtype().kind() == 'S')
    throw py::type_error(name + " must be numeric, got dtype " + std::string(py::str(raw.dtype())));
  return DArray::ensure(raw);
}

DArray checked(const py::handle& obj, const std::string& name, std::vector<py::ssize_t> shape) {
  DArray a = as_doubles(obj, name);
  bool ok = a.ndim() == static_cast<py::ssize_t>(shape.size());
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || a.shape(i) == shape[i];
  if (!ok) {
    std::string want = "(";
    for (size_t i = 0; i < shape.size(); ++i)
      want += (i ? ", " : "") + (shape[i] < 0 ? std::string("*") : std::to_string(shape[i]));
    want += shape.size() == 1 ? ",)" : ")";
    value_error(name + " must have shape " + want + ", got " + shape_str(a));
  }
  return a;
}

std::vector<double> to_vector(const DArray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

std::vector<Vec2> to_points(const DArray& a, const std::string& name) {
  if (a.ndim() != 2 || (a.size() > 0 && a.shape(1) != 2)) value_error(name + " must have shape (n, 2)");
  std::vector<Vec2> out;
  for (py::ssize_t i = 0; i < a.shape(0); ++i) out.push_back({a.at(i, 0), a.at(i, 1)});
  return out;
}

py::array_t<double> points_array(const std::vector<Vec2>& pts) {
  py::array_t<double> out({static_cast<py::ssize_t>(pts.size()), py::ssize_t{2}});
  auto m = out.mutable_unchecked<2>();
  for (size_t i = 0; i < pts.size(); ++i) {
    m(i, 0) = pts[i].x;
    m(i, 1) = pts[i].y;
  }
  return out;
}

template <typename T>
py::array_t<T> array_of(const std::vector<T>& v, std::vector<py::ssize_t> shape) {
  py::array_t<T> out(shape);
  if (!v.empty()) std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

// ---- The configuration seam -------------------------------------------------------------------
// The core's configuration as Python hands it over, listed once: every key with its kind and where
// it goes in SimConfig. The parser walks this table, `_core.CONFIG_KEYS` exports it, and
// pyslice.sim.core_config builds exactly these keys (tested). A new parameter is one row here.
struct ConfigDraft {  // SimConfig plus the per-slice mobility columns, assembled after the table
  SimConfig c;
  std::vector<double> mobility, speed_min, speed_max, pause;
};
using ConfigSetter = void (*)(ConfigDraft&, const py::handle&, const char*);
struct ConfigKey {
  const char* name;
  const char* kind;  // "float", "int", "bool", "floats" (an array, flattened) or "points" ((n, 2))
  ConfigSetter set;
};
#define PYSLICE_FLOAT(key, field) {key, "float", [](ConfigDraft& d, const py::handle& v, const char*) { d.field = v.cast<double>(); }}
#define PYSLICE_INT(key, field) {key, "int", [](ConfigDraft& d, const py::handle& v, const char*) { d.field = v.cast<int>(); }}
#define PYSLICE_FLOATS(key, field) \
  {key, "floats", [](ConfigDraft& d, const py::handle& v, const char* k) { d.field = to_vector(as_doubles(v, k)); }}
#define PYSLICE_POINTS(key, field) \
  {key, "points", [](ConfigDraft& d, const py::handle& v, const char* k) { d.field = to_points(as_doubles(v, k), k); }}
const ConfigKey kConfigKeys[] = {
    PYSLICE_POINTS("sites", c.sites),
    PYSLICE_FLOAT("isd_m", c.isd),
    PYSLICE_POINTS("wrap_vectors", c.wrap_vectors),
    {"pathloss_model", "int",
     [](ConfigDraft& d, const py::handle& v, const char*) {
       const int model = v.cast<int>();
       if (model < 0 || model > 5)
         value_error("pathloss_model must be 0 (winner+), 1 (3gpp-36.814-uma), 2 (3gpp-36.873-uma), "
                     "3 (3gpp-36.873-umi), 4 (3gpp-38.901-uma) or 5 (3gpp-38.901-umi)");
       d.c.propagation.model = static_cast<PathlossModel>(model);
     }},
    PYSLICE_FLOAT("carrier_ghz", c.propagation.fc_ghz),
    PYSLICE_FLOAT("bs_height_m", c.propagation.h_bs),
    PYSLICE_FLOAT("ue_height_m", c.propagation.h_ut),
    PYSLICE_FLOAT("min_distance_m", c.propagation.d_min),
    PYSLICE_FLOAT("max_distance_m", c.propagation.d_max),
    PYSLICE_FLOAT("antenna_gain_dbi", c.antenna.gain_dbi),
    PYSLICE_FLOAT("antenna_beamwidth_deg", c.antenna.beamwidth_deg),
    PYSLICE_FLOAT("antenna_max_attenuation_db", c.antenna.max_attenuation_db),
    {"antenna_model", "int",
     [](ConfigDraft& d, const py::handle& v, const char*) {
       const int model = v.cast<int>();
       if (model != 0 && model != 1) value_error("antenna_model must be 0 (sector) or 1 (3gpp-3d)");
       d.c.antenna.three_d = model == 1;
     }},
    PYSLICE_FLOAT("antenna_vertical_beamwidth_deg", c.antenna.vertical_beamwidth_deg),
    PYSLICE_FLOAT("antenna_sla_v_db", c.antenna.sla_v_db),
    PYSLICE_INT("antenna_elements", c.antenna.elements),
    PYSLICE_FLOAT("antenna_element_spacing_wl", c.antenna.element_spacing_wl),
    PYSLICE_FLOAT("antenna_electrical_tilt_deg", c.antenna.electrical_tilt_deg),
    PYSLICE_FLOAT("antenna_mechanical_tilt_deg", c.antenna.mechanical_tilt_deg),
    PYSLICE_FLOAT("indoor_ratio", c.indoor_ratio),
    PYSLICE_INT("building_floors_min", c.building_floors_min),
    PYSLICE_INT("building_floors_max", c.building_floors_max),
    {"o2i_model", "int",
     [](ConfigDraft& d, const py::handle& v, const char*) {
       const int model = v.cast<int>();
       if (model != 0 && model != 1) value_error("o2i_model must be 0 (3gpp-36.873) or 1 (3gpp-38.901)");
       d.c.o2i_model = static_cast<O2iModel>(model);
     }},
    PYSLICE_FLOAT("o2i_high_loss_ratio", c.o2i_high_loss_ratio),
    {"indoor_los_total_distance", "bool",
     [](ConfigDraft& d, const py::handle& v, const char*) { d.c.indoor_choices.los_total_distance = v.cast<bool>(); }},
    {"indoor_distance_per_link", "bool",
     [](ConfigDraft& d, const py::handle& v, const char*) { d.c.indoor_choices.distance_per_link = v.cast<bool>(); }},
    {"o2i_outdoor_shadowing", "bool",
     [](ConfigDraft& d, const py::handle& v, const char*) { d.c.indoor_choices.outdoor_shadowing = v.cast<bool>(); }},
    PYSLICE_FLOAT("tx_power_dbm", c.tx_power_dbm),
    PYSLICE_INT("n_prb", c.n_prb),
    PYSLICE_FLOAT("prb_bandwidth_hz", c.prb_bandwidth_hz),
    PYSLICE_FLOAT("noise_density_dbm_hz", c.noise_density_dbm_hz),
    PYSLICE_FLOAT("noise_figure_db", c.noise_figure_db),
    {"shadowing", "bool", [](ConfigDraft& d, const py::handle& v, const char*) { d.c.shadowing = v.cast<bool>(); }},
    PYSLICE_FLOAT("shadow_decorrelation_m", c.shadow_decorrelation_m),
    PYSLICE_FLOAT("los_decorrelation_m", c.los_decorrelation_m),
    PYSLICE_FLOAT("interference_radius_m", c.interference_radius_m),
    PYSLICE_FLOAT("link_update_distance_m", c.link_update_distance_m),
    PYSLICE_FLOAT("handover_hysteresis_db", c.handover_hysteresis_db),
    PYSLICE_INT("handover_ttt_steps", c.handover_ttt_steps),
    PYSLICE_FLOAT("step_seconds", c.step_seconds),
    PYSLICE_INT("ues_per_group", c.ues_per_group),
    PYSLICE_FLOATS("demand_bps", c.traffic.demand_bps),
    PYSLICE_FLOATS("flow_size_bits", c.traffic.flow_bits),
    PYSLICE_FLOATS("mobility", mobility),
    PYSLICE_FLOATS("speed_min_mps", speed_min),
    PYSLICE_FLOATS("speed_max_mps", speed_max),
    PYSLICE_FLOATS("pause_s", pause),
    PYSLICE_FLOATS("mask_base", c.mask.base),
    PYSLICE_FLOATS("mask_amplitude", c.mask.amplitude),
    PYSLICE_FLOATS("mask_phase", c.mask.phase),
    PYSLICE_FLOAT("mask_period_steps", c.mask.period_steps),
    PYSLICE_FLOAT("mask_ar", c.mask.ar),
    PYSLICE_FLOAT("mask_noise_std", c.mask.noise_std),
    PYSLICE_FLOATS("mask_trace", c.mask.trace),
    PYSLICE_FLOAT("max_delay_s", c.max_delay_s),
    PYSLICE_FLOAT("buffer_s", c.buffer_s),
    {"roaming", "int",
     [](ConfigDraft& d, const py::handle& v, const char*) {
       const int roaming = v.cast<int>();
       if (roaming != 0 && roaming != 1) value_error("roaming must be 0 (network) or 1 (home-site)");
       d.c.roam_home_site = roaming == 1;
     }},
    PYSLICE_FLOATS("req_throughput_bps", c.req_throughput_bps),
    PYSLICE_FLOATS("req_delay_s", c.req_delay_s),
    PYSLICE_INT("maxmin_rounds", c.maxmin_rounds),
    PYSLICE_FLOAT("tolerance", c.tolerance),
    PYSLICE_INT("max_iterations", c.max_iterations),
};
#undef PYSLICE_FLOAT
#undef PYSLICE_INT
#undef PYSLICE_FLOATS
#undef PYSLICE_POINTS

SimConfig config_from_dict(const py::dict& d) {
  for (auto item : d) {
    const std::string key = py::str(item.first);
    bool known = false;
    for (const ConfigKey& k : kConfigKeys) known = known || key == k.name;
    if (!known) value_error("unknown core config key '" + key + "'");
  }
  ConfigDraft draft;
  for (const ConfigKey& k : kConfigKeys) {
    if (!d.contains(k.name)) value_error(std::string("core config is missing key '") + k.name + "'");
    k.set(draft, d[k.name], k.name);
  }
  SimConfig& c = draft.c;
  const size_t N = c.traffic.demand_bps.size();
  if (draft.mobility.size() != N || draft.speed_min.size() != N || draft.speed_max.size() != N ||
      draft.pause.size() != N)
    value_error("mobility, speed_min_mps, speed_max_mps and pause_s need one value per slice");
  for (size_t n = 0; n < N; ++n) {
    const double mob = draft.mobility[n];
    if (mob != 0.0 && mob != 1.0) value_error("mobility must be 0 (random-waypoint) or 1 (gauss-markov)");
    c.mobility.push_back({static_cast<MobilityModel>(static_cast<int>(mob)), draft.speed_min[n], draft.speed_max[n],
                          draft.pause[n]});
  }
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    value_error(std::string("core config: ") + e.what());
  }
  return draft.c;
}

SharePolicy policy_from_int(int p) {
  if (p < 0 || p > 3) value_error("policy must be 0 (given), 1 (equal), 2 (traffic-aware) or 3 (max-min)");
  return static_cast<SharePolicy>(p);
}

std::vector<py::ssize_t> extent_shape(Extent e, py::ssize_t K, py::ssize_t N, py::ssize_t U) {
  switch (e) {
    case Extent::CellSlice: return {K, N};
    case Extent::Cell: return {K};
    case Extent::Slice: return {N};
    default: return {U};
  }
}

py::dict result_dict(const Simulator& sim) {
  const StepOutputs& o = sim.last();
  const py::ssize_t K = sim.n_cells(), N = sim.n_slices(), U = sim.n_ues();
  py::dict r;
  for (const OutputField& f : kOutputFields) {
    const auto shape = extent_shape(f.extent, K, N, U);
    if (f.f64)
      r[f.name] = array_of(o.*f.f64, shape);
    else
      r[f.name] = array_of(o.*f.i32, shape);
  }
  r["iterations"] = o.iterations;
  r["time"] = o.time;
  return r;
}

py::dict state_dict(const Simulator& sim) {
  const py::ssize_t U = sim.n_ues(), S = sim.layout().n_sites(), K = sim.n_cells(), N = sim.n_slices();
  py::array_t<double> zs({U, S}), zl({U, S});
  py::array_t<std::int8_t> los({U, S});
  auto ms = zs.mutable_unchecked<2>();
  auto ml = zl.mutable_unchecked<2>();
  auto mlos = los.mutable_unchecked<2>();
  for (py::ssize_t u = 0; u < U; ++u)
    for (py::ssize_t s = 0; s < S; ++s) {
      ms(u, s) = std::nan("");
      ml(u, s) = std::nan("");
      mlos(u, s) = -1;
    }
  const TrackedLinks& tl = sim.tracked();
  for (py::ssize_t u = 0; u < U; ++u)
    for (int j = tl.offset[u]; j < tl.offset[u + 1]; ++j) {
      ms(u, tl.site[j]) = tl.z_shadow[j];
      ml(u, tl.site[j]) = tl.z_los[j];
      mlos(u, tl.site[j]) = static_cast<std::int8_t>(tl.los[j]);
    }
  std::vector<std::uint8_t> act = sim.active();
  py::dict st;
  st["time"] = sim.time();
  st["positions"] = points_array(sim.positions());
  st["home_cell"] = array_of(sim.home_cell(), {U});
  st["slice_of"] = array_of(sim.slice_of(), {U});
  st["serving"] = array_of(sim.serving(), {U});
  st["active"] = array_of(act, {U}).attr("astype")("bool");
  st["shadow_z"] = zs;
  st["los_z"] = zl;
  st["los"] = los;
  st["rho"] = array_of(sim.rho(), {K});
  st["backlog"] = array_of(sim.backlog(), {K, N});
  st["ue_height"] = array_of(sim.ue_height(), {U});
  st["indoor"] = array_of(sim.ue_indoor(), {U}).attr("astype")("bool");
  st["penetration_db"] = array_of(sim.ue_penetration_db(), {U});
  st["indoor_distance_m"] = array_of(sim.ue_indoor_distance(), {U});
  return st;
}

py::array_t<double> dense_gains(const Simulator& sim) {
  const py::ssize_t K = sim.n_cells(), U = sim.n_ues();
  py::array_t<double> g({K, U});
  auto m = g.mutable_unchecked<2>();
  for (py::ssize_t k = 0; k < K; ++k)
    for (py::ssize_t u = 0; u < U; ++u) m(k, u) = 0.0;
  const LinkTable& lt = sim.links();
  for (py::ssize_t u = 0; u < U; ++u)
    for (int j = lt.offset[u]; j < lt.offset[u + 1]; ++j) m(lt.cell[j], u) = lt.gain[j];
  return g;
}

// The path-loss models by name, in the order of the PathlossModel enum (pyslice.sim.core_config
// reads the same list as _core.PATHLOSS_MODELS).
const char* const kPathlossModelNames[] = {"winner+",         "3gpp-36.814-uma", "3gpp-36.873-uma",
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

template <typename F>
py::array_t<double> map_array(const DArray& in, F fn) {
  py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
  const double* src = in.data();
  double* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < in.size(); ++i) dst[i] = fn(src[i], i);
  return out;
}

void check_finite(const DArray& a, const std::string& name) {
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.data()[i])) value_error(name + " must be finite (found NaN or inf)");
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "pyslice C++ core: multi-cell slicing system-level simulator";

  m.def("paper_sites", [](double isd) { return points_array(paper_sites(isd)); }, py::arg("isd_m") = 500.0);
  m.def("hex_grid_sites", [](int rings, double isd) {
        if (rings < 0) value_error("rings must be >= 0");
        return points_array(hex_grid_sites(rings, isd));
      }, py::arg("rings"), py::arg("isd_m") = 500.0);
  m.def("paper_wrap_vectors", [](double isd) { return points_array(paper_wrap_vectors(isd)); },
        py::arg("isd_m") = 500.0);
  m.def("hex_wrap_vectors", [](int rings, double isd) { return points_array(hex_wrap_vectors(rings, isd)); },
        py::arg("rings"), py::arg("isd_m") = 500.0);
  m.attr("MAX_SLICES") = kMaxSlices;
  {
    py::list names;
    for (const char* name : kPathlossModelNames) names.append(name);
    m.attr("PATHLOSS_MODELS") = py::tuple(names);
  }
  {
    py::list keys;  // (key, kind) of every core config key, in the table's order
    for (const ConfigKey& k : kConfigKeys) keys.append(py::make_tuple(k.name, k.kind));
    m.attr("CONFIG_KEYS") = py::tuple(keys);
  }
  m.attr("SHARE_TOLERANCE") = kShareTolerance;
  {
    py::list fields;  // (name, extent, dtype, in_batch) of every array output, in the table's order
    for (const OutputField& f : kOutputFields)
      fields.append(py::make_tuple(f.name, extent_name(f.extent), f.f64 ? "float64" : "int32", f.in_batch));
    m.attr("OUTPUT_FIELDS") = py::tuple(fields);
  }
  m.attr("BORESIGHTS_DEG") = py::make_tuple(kBoresightDeg[0], kBoresightDeg[1], kBoresightDeg[2]);
#ifdef __FMA__
  m.attr("BUILT_WITH_FMA") = true;  // simd_math.hpp's exp reduces its argument with fmas
#else
  m.attr("BUILT_WITH_FMA") = false;
#endif

  // The radio defaults are PropagationParams{} and AntennaParams{} (pathloss.hpp): one definition,
  // also exported for pyslice.sim.radio and the scenario's defaults.
  const PropagationParams kProp{};
  const AntennaParams kAnt{};
  m.attr("PROPAGATION_DEFAULTS") = py::dict(py::arg("fc_ghz") = kProp.fc_ghz, py::arg("h_bs") = kProp.h_bs,
                                            py::arg("h_ut") = kProp.h_ut, py::arg("d_min") = kProp.d_min,
                                            py::arg("d_max") = kProp.d_max);
  m.attr("ANTENNA_DEFAULTS") = py::dict(
      py::arg("gain_dbi") = kAnt.gain_dbi, py::arg("beamwidth_deg") = kAnt.beamwidth_deg,
      py::arg("max_attenuation_db") = kAnt.max_attenuation_db, py::arg("vertical_beamwidth_deg") = kAnt.vertical_beamwidth_deg,
      py::arg("sla_v_db") = kAnt.sla_v_db, py::arg("elements") = kAnt.elements,
      py::arg("element_spacing_wl") = kAnt.element_spacing_wl, py::arg("electrical_tilt_deg") = kAnt.electrical_tilt_deg,
      py::arg("mechanical_tilt_deg") = kAnt.mechanical_tilt_deg);
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
  // Test hooks: kernels the tests compare with tests/reference.py, kept out of the public module
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
  m.def("spectral_efficiency",
        [](py::handle sinr) {
          DArray s = as_doubles(sinr, "sinr");
          for (py::ssize_t i = 0; i < s.size(); ++i)
            if (std::isnan(s.data()[i])) value_error("sinr must not be NaN (+inf is allowed: it gives the 4.4 cap)");
          return map_array(s, [](double v, py::ssize_t) { return spectral_efficiency(v); });
        },
        py::arg("sinr"));

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

  py::class_<Simulator>(m, "Simulator")
      .def(py::init([](const py::dict& cfg, std::uint64_t seed) {
             return std::make_unique<Simulator>(config_from_dict(cfg), seed);
           }),
           py::arg("config"), py::arg("seed"))
      .def("reset", &Simulator::reset, py::arg("seed"), py::call_guard<py::gil_scoped_release>())
      .def("step",
           [](Simulator& sim, py::handle shares_obj, int policy) {
             const SharePolicy pol = policy_from_int(policy);
             std::vector<double> sh;
             if (pol == SharePolicy::Given) {
               DArray a = checked(shares_obj, "shares", {sim.n_cells(), sim.n_slices()});
               sh = to_vector(a);
             }
             py::gil_scoped_release release;
             sim.step(sh.empty() ? nullptr : sh.data(), pol);
           },
           py::arg("shares"), py::arg("policy") = 0)
      .def("result", &result_dict)
      .def("state", &state_dict)
      .def("get_state", [](const Simulator& s) { return py::bytes(s.get_state()); })
      .def("set_state", [](Simulator& s, const py::bytes& b) { s.set_state(std::string(b)); }, py::arg("state"))
      .def("gains", &dense_gains)
      .def("site_positions", [](const Simulator& s) { return points_array(s.layout().sites()); })
      .def_property_readonly("n_cells", &Simulator::n_cells)
      .def_property_readonly("n_slices", &Simulator::n_slices)
      .def_property_readonly("n_ues", &Simulator::n_ues)
      .def_property_readonly("time", &Simulator::time)
      .def_property_readonly("tx_power_w", &Simulator::tx_power_w)
      .def_property_readonly("noise_w", &Simulator::noise_w)
      .def("contains", [](const Simulator& s, double x, double y) { return s.layout().contains({x, y}); });

  py::class_<SimulatorBatch>(m, "SimulatorBatch")
      .def(py::init([](const py::dict& cfg, const std::vector<std::uint64_t>& seeds, int threads, bool shared_world) {
             return std::make_unique<SimulatorBatch>(config_from_dict(cfg), seeds, threads, shared_world);
           }),
           py::arg("config"), py::arg("seeds"), py::arg("threads") = 1, py::arg("shared_world") = false)
      .def_property_readonly("shared_world", &SimulatorBatch::shared_world)
      .def("reset", &SimulatorBatch::reset, py::arg("seeds"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("size", &SimulatorBatch::size)
      .def_property_readonly("threads", &SimulatorBatch::threads)
      .def("step",
           [](SimulatorBatch& b, py::handle shares_obj, py::handle policy, py::dict out) {
             const py::ssize_t R = b.size(), K = b.replica(0).n_cells(), N = b.replica(0).n_slices();
             // one policy code for all replicas, or one per replica
             std::vector<SharePolicy> pols;
             if (py::isinstance<py::int_>(policy)) {
               pols.assign(R, policy_from_int(policy.cast<int>()));
             } else {
               std::vector<int> codes;
               try {
                 codes = policy.cast<std::vector<int>>();
               } catch (const py::cast_error&) {
                 type_error("policy must be an int or a sequence of one int per replica");
               }
               if (static_cast<py::ssize_t>(codes.size()) != R)
                 value_error("policy must hold one code per replica (" + std::to_string(R) + "), got " +
                             std::to_string(codes.size()));
               for (int c : codes) pols.push_back(policy_from_int(c));
             }
             const bool any_given = std::find(pols.begin(), pols.end(), SharePolicy::Given) != pols.end();
             std::vector<double> sh;
             if (any_given) sh = to_vector(checked(shares_obj, "shares", {R, K, N}));
             // Output buffers, each checked once against its field of the table (outputs.hpp)
             struct Target {
               void* ptr;
               const OutputField* field;  // nullptr: the iterations buffer
             };
             std::vector<Target> targets;
             for (auto item : out) {
               const std::string name = py::str(item.first);
               const OutputField* field = nullptr;
               for (const OutputField& f : kOutputFields)
                 if (f.in_batch && name == f.name) field = &f;
               if (!field && name != "iterations") value_error("unknown output '" + name + "'");
               py::array arr = py::reinterpret_borrow<py::array>(item.second);
               const bool want_int = !field || field->i32;
               const bool ok_dtype = want_int ? arr.dtype().is(py::dtype::of<std::int32_t>())
                                              : arr.dtype().is(py::dtype::of<double>());
               if (!ok_dtype || !(arr.flags() & py::array::c_style) || !arr.writeable())
                 value_error("output '" + name + "' must be a writeable C-contiguous " +
                             (want_int ? "int32" : "float64") + " array");
               std::vector<py::ssize_t> shape{R};
               if (field)
                 for (py::ssize_t d : extent_shape(field->extent, K, N, 0)) shape.push_back(d);
               bool ok = arr.ndim() == static_cast<py::ssize_t>(shape.size());
               for (size_t d = 0; ok && d < shape.size(); ++d) ok = arr.shape(d) == shape[d];
               if (!ok) value_error("output '" + name + "' has the wrong shape " + shape_str(arr));
               targets.push_back({arr.mutable_data(), field});
             }
             {
               py::gil_scoped_release release;
               b.step(sh.empty() ? nullptr : sh.data(), pols);
               for (py::ssize_t r = 0; r < R; ++r) {
                 const StepOutputs& o = b.replica(static_cast<int>(r)).last_kpis();
                 for (const Target& t : targets) {
                   if (!t.field) {
                     static_cast<std::int32_t*>(t.ptr)[r] = o.iterations;
                   } else if (t.field->f64) {
                     const std::vector<double>& v = o.*(t.field->f64);
                     std::memcpy(static_cast<double*>(t.ptr) + r * v.size(), v.data(), v.size() * sizeof(double));
                   } else {
                     const std::vector<std::int32_t>& v = o.*(t.field->i32);
                     std::memcpy(static_cast<std::int32_t*>(t.ptr) + r * v.size(), v.data(), v.size() * sizeof(std::int32_t));
                   }
                 }
               }
             }
           },
           py::arg("shares"), py::arg("policy"), py::arg("out"))
      .def("result", [](SimulatorBatch& b, int r) {
        if (r < 0 || r >= b.size()) value_error("replica index out of range");
        return result_dict(b.replica(r));
      }, py::arg("replica"))
      .def("state", [](SimulatorBatch& b, int r) {
        if (r < 0 || r >= b.size()) value_error("replica index out of range");
        if (b.shared_world() && r > 0) value_error("a shared-world batch's world is replica 0's: read state(0)");
        return state_dict(b.replica(r));
      }, py::arg("replica"))
      .def("get_state", [](SimulatorBatch& b) {
        if (b.shared_world()) value_error("a shared-world batch cannot be saved (its followers' worlds are not kept)");
        py::list out;
        for (int r = 0; r < b.size(); ++r) out.append(py::bytes(b.replica(r).get_state()));
        return out;
      })
      .def("set_state", [](SimulatorBatch& b, const std::vector<std::string>& states) {
        if (b.shared_world()) value_error("a shared-world batch cannot be restored (its followers' worlds are not kept)");
        if (static_cast<int>(states.size()) != b.size())
          value_error("set_state needs one state per replica (" + std::to_string(b.size()) + ")");
        // Validate every replica's state on a scratch copy first so a bad one changes nothing.
        for (int r = 0; r < b.size(); ++r) {
          Simulator scratch(b.replica(r).config(), 0);
          scratch.set_state(states[r]);
        }
        for (int r = 0; r < b.size(); ++r) b.replica(r).set_state(states[r]);
      }, py::arg("states"));
}
