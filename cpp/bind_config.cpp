// The configuration seam (one table of keys) and the constants the core exports.
#include "bind_common.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "layout.hpp"
#include "outputs.hpp"

namespace pyslice::bind {
namespace {

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
    {"delay_model", "int",
     [](ConfigDraft& d, const py::handle& v, const char*) {
       const int model = v.cast<int>();
       if (model < 0 || model >= static_cast<int>(std::size(kDelayModelNames)))
         value_error("delay_model must index _core.DELAY_MODELS, got " + std::to_string(model));
       d.c.delay_model = static_cast<DelayModel>(model);
     }},
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

}  // namespace

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

void bind_config(py::module_& m) {
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
    py::list names;
    for (const char* name : kDelayModelNames) names.append(name);
    m.attr("DELAY_MODELS") = py::tuple(names);
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
}

}  // namespace pyslice::bind
