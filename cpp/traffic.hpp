// Traffic masks tau_n(t) in [0, 1] per slice: a seeded daily-like profile with AR(1) noise, or a
// user-supplied trace repeated cyclically.
#pragma once
#include <vector>

#include "rng.hpp"

namespace pyslice {

struct MaskParams {  // set from the configuration seam (no defaults of its own; see SimConfig)
  std::vector<double> base, amplitude, phase;  // [N]
  double period_steps{};
  double ar{};
  double noise_std{};
  std::vector<double> trace;  // [T*N] row-major; empty: generated
};

class TrafficMask {
 public:
  TrafficMask() = default;
  explicit TrafficMask(MaskParams params);
  int n_slices() const { return n_; }
  // Draws the stationary AR state; call at reset.
  void reset(Rng& rng);
  // Writes tau(t) for all slices into out[N]; advances the AR noise (generated masks only).
  void advance(long t, Rng& rng, double* out);
  const std::vector<double>& noise_state() const { return noise_; }
  void set_noise_state(const std::vector<double>& s) { noise_ = s; }

 private:
  MaskParams p_;
  int n_ = 0;
  std::vector<double> noise_;
};

}  // namespace pyslice
