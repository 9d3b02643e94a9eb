// The Simulator class: construction, steps, results, state, gains.
#include "bind_common.hpp"

#include <algorithm>
#include <iterator>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "batch.hpp"
#include "outputs.hpp"

namespace pyslice::bind {

SharePolicy policy_from_int(int p) {
  if (p < 0 || p >= static_cast<int>(std::size(kPolicyNames)))
    value_error("policy must index _core.POLICIES (0 = given, 1 = equal, ...), got " + std::to_string(p));
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

py::dict ue_samples(const Simulator& sim) {
  const py::ssize_t U = sim.n_ues();
  py::dict d;
  d["sinr_db"] = array_of(sim.last().sinr_db, {U});
  d["throughput"] = array_of(sim.ue_throughput(), {U});
  d["serving"] = array_of(sim.serving_now(), {U});
  d["active"] = array_of(sim.active_now(), {U}).attr("astype")("bool");
  return d;
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

void bind_simulator(py::module_& m) {
  {
    py::list names;
    for (const char* name : kPolicyNames) names.append(name);
    m.attr("POLICIES") = py::tuple(names);
  }
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
      .def("ue_samples", &ue_samples)
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
}

// One step of every replica, the outputs written into the caller's arrays (checked against the
// output table once per call).
void batch_step(SimulatorBatch& b, py::handle shares_obj, py::handle policy, py::dict out) {
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
}

void bind_batch(py::module_& m) {
  py::class_<SimulatorBatch>(m, "SimulatorBatch")
      .def(py::init([](const py::dict& cfg, const std::vector<std::uint64_t>& seeds, int threads, bool shared_world) {
             return std::make_unique<SimulatorBatch>(config_from_dict(cfg), seeds, threads, shared_world);
           }),
           py::arg("config"), py::arg("seeds"), py::arg("threads") = 1, py::arg("shared_world") = false)
      .def_property_readonly("shared_world", &SimulatorBatch::shared_world)
      .def("reset", &SimulatorBatch::reset, py::arg("seeds"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("size", &SimulatorBatch::size)
      .def_property_readonly("threads", &SimulatorBatch::threads)
      .def("step", &batch_step, py::arg("shares"), py::arg("policy"), py::arg("out"))
      .def("result", [](SimulatorBatch& b, int r) {
        if (r < 0 || r >= b.size()) value_error("replica index out of range");
        return result_dict(b.replica(r));
      }, py::arg("replica"))
      .def("ue_samples", [](SimulatorBatch& b, int r) {
        if (r < 0 || r >= b.size()) value_error("replica index out of range");
        return ue_samples(b.replica(r));
      }, py::arg("replica"))
      .def("state", [](SimulatorBatch& b, int r) {
        if (r < 0 || r >= b.size()) value_error("replica index out of range");
        if (b.shared_world() && r > 0) value_error("a shared-world batch's world is replica 0's: read state(0)");
        return state_dict(b.replica(r));
      }, py::arg("replica"))
      .def("get_state", [](const SimulatorBatch& b) {
        py::list out;
        for (const std::string& s : b.get_state()) out.append(py::bytes(s));
        return out;
      })
      .def("set_state", &SimulatorBatch::set_state, py::arg("states"));
}

}  // namespace pyslice::bind
