#include "traffic.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "geometry.hpp"

namespace pyslice {

TrafficMask::TrafficMask(MaskParams params) : p_(std::move(params)) {
  n_ = static_cast<int>(p_.base.size());
  if (p_.amplitude.size() != static_cast<size_t>(n_) || p_.phase.size() != static_cast<size_t>(n_))
    throw std::invalid_argument("mask parameters need one value per slice");
  if (!p_.trace.empty() && (n_ == 0 || p_.trace.size() % static_cast<size_t>(n_) != 0))
    throw std::invalid_argument("mask trace must have N columns");
  noise_.assign(n_, 0.0);
}

void TrafficMask::reset(Rng& rng) {
  if (!p_.trace.empty()) return;
  for (int n = 0; n < n_; ++n) noise_[n] = p_.noise_std * rng.normal();
}

void TrafficMask::advance(long t, Rng& rng, double* out) {
  if (!p_.trace.empty()) {
    const long rows = static_cast<long>(p_.trace.size()) / n_;
    const long row = ((t - 1) % rows + rows) % rows;
    for (int n = 0; n < n_; ++n) out[n] = p_.trace[static_cast<size_t>(row * n_ + n)];
    return;
  }
  const double innovation = std::sqrt(std::max(0.0, 1.0 - p_.ar * p_.ar)) * p_.noise_std;
  for (int n = 0; n < n_; ++n) {
    noise_[n] = p_.ar * noise_[n] + innovation * rng.normal();
    const double profile =
        p_.base[n] + p_.amplitude[n] * std::sin(2.0 * kPi * (static_cast<double>(t) / p_.period_steps + p_.phase[n]));
    out[n] = std::min(1.0, std::max(0.0, profile + noise_[n]));
  }
}

}  // namespace pyslice
