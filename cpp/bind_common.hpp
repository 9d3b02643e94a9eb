// Shared by the binding files: array conversion and checks (shapes, dtypes, finiteness) that raise
// ValueError/TypeError naming the argument, and the bind_* functions each file defines.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "geometry.hpp"
#include "pathloss.hpp"
#include "simulator.hpp"

namespace pyslice::bind {

namespace py = pybind11;

using DArray = py::array_t<double, py::array::c_style | py::array::forcecast>;
using IArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

[[noreturn]] inline void value_error(const std::string& msg) { throw py::value_error(msg); }
[[noreturn]] inline void type_error(const std::string& msg) { throw py::type_error(msg); }

inline std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t i = 0; i < a.ndim(); ++i) s += (i ? ", " : "") + std::to_string(a.shape(i));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

inline DArray as_doubles(const py::handle& obj, const std::string& name) {
  py::array raw = py::array::ensure(obj);
  if (!raw) value_error(name + " must be array-like of numbers");
  if (raw.dtype().kind() == 'O' || raw.dtype().kind() == 'U' || raw.dtype().kind() == 'S')
    throw py::type_error(name + " must be numeric, got dtype " + std::string(py::str(raw.dtype())));
  DArray a = DArray::ensure(raw);  // null (error cleared) when the cast fails: structured dtypes, warnings as errors
  if (!a)
    throw py::type_error(name + " must be convertible to float64, got dtype " + std::string(py::str(raw.dtype())));
  return a;
}

inline DArray checked(const py::handle& obj, const std::string& name, std::vector<py::ssize_t> shape) {
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

inline std::vector<double> to_vector(const DArray& a) { return std::vector<double>(a.data(), a.data() + a.size()); }

inline std::vector<Vec2> to_points(const DArray& a, const std::string& name) {
  if (a.ndim() != 2 || (a.size() > 0 && a.shape(1) != 2)) value_error(name + " must have shape (n, 2)");
  std::vector<Vec2> out;
  for (py::ssize_t i = 0; i < a.shape(0); ++i) out.push_back({a.at(i, 0), a.at(i, 1)});
  return out;
}

inline py::array_t<double> points_array(const std::vector<Vec2>& pts) {
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
  if (!v.empty() && static_cast<py::ssize_t>(v.size()) != out.size())
    throw std::logic_error("internal: an output of " + std::to_string(v.size()) + " values for an array of " +
                           std::to_string(out.size()));
  if (v.empty())  // before the first step: zeros, not whatever the allocation held
    std::memset(out.mutable_data(), 0, static_cast<size_t>(out.size()) * sizeof(T));
  else
    std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(T));
  return out;
}

template <typename F>
py::array_t<double> map_array(const DArray& in, F fn) {
  py::array_t<double> out(std::vector<py::ssize_t>(in.shape(), in.shape() + in.ndim()));
  const double* src = in.data();
  double* dst = out.mutable_data();
  for (py::ssize_t i = 0; i < in.size(); ++i) dst[i] = fn(src[i], i);
  return out;
}

inline void check_finite(const DArray& a, const std::string& name) {
  for (py::ssize_t i = 0; i < a.size(); ++i)
    if (!std::isfinite(a.data()[i])) value_error(name + " must be finite (found NaN or inf)");
}

// The path-loss models by name, in the order of the PathlossModel enum (bind_radio.cpp).
extern const char* const kPathlossModelNames[6];

// The core's configuration from the dict pyslice.sim.core_config builds (bind_config.cpp).
SimConfig config_from_dict(const py::dict& d);
// The path-loss model of a name (bind_radio.cpp) and the propagation parameters of the radio functions.
PathlossModel pathloss_model_named(const std::string& model);
PropagationParams propagation(double fc, double h_bs, double h_ut, const std::string& model, double dmin,
                              double dmax);

// One function per topic, called by PYBIND11_MODULE (bindings.cpp).
void bind_config(py::module_& m);
void bind_pathloss(py::module_& m);
void bind_antenna_and_links(py::module_& m);
void bind_load_coupling(py::module_& m);
void bind_testing(py::module_& m);
void bind_simulator(py::module_& m);
void bind_batch(py::module_& m);

}  // namespace pyslice::bind
