#include "pathloss.hpp"

#include <algorithm>
#include <cmath>

namespace pyslice {
namespace {
constexpr double kSpeedOfLight = 299792458.0;
}

double clamp_distance(double d, const PropagationParams& p) { return std::min(std::max(d, p.d_min), p.d_max); }

double breakpoint_distance(const PropagationParams& p) {
  return 4.0 * (p.h_bs - 1.0) * (p.h_ut - 1.0) * (p.fc_ghz * 1e9) / kSpeedOfLight;
}

PathlossCoefficients::PathlossCoefficients(const PropagationParams& p) {
  breakpoint = breakpoint_distance(p);
  const double hbs = p.h_bs - 1.0, hut = p.h_ut - 1.0;
  if (p.model == PathlossModel::WinnerPlusC2) {
    los_near_a = 39.0 + 20.0 * std::log10(p.fc_ghz / 5.0);
    los_near_b = 26.0;
    los_far_a = 13.47 - 14.0 * std::log10(hbs) - 14.0 * std::log10(hut) + 6.0 * std::log10(p.fc_ghz / 5.0);
    los_far_b = 40.0;
    nlos_a = 34.46 + 5.83 * std::log10(p.h_bs) + 23.0 * std::log10(p.fc_ghz / 5.0);
    nlos_b = 44.9 - 6.55 * std::log10(p.h_bs);
    sigma_los_near = 4.0;
    sigma_los_far = 6.0;
    sigma_nlos = 8.0;
  } else {
    los_near_a = 28.0 + 20.0 * std::log10(p.fc_ghz);
    los_near_b = 22.0;
    los_far_a = 7.8 - 18.0 * std::log10(hbs) - 18.0 * std::log10(hut) + 2.0 * std::log10(p.fc_ghz);
    los_far_b = 40.0;
    const double w = 20.0, h = 20.0;
    const double lh = std::log10(p.h_bs);
    const double t = std::log10(11.75 * p.h_ut);
    nlos_b = 43.42 - 3.1 * lh;
    nlos_a = 161.04 - 7.1 * std::log10(w) + 7.5 * std::log10(h) - (24.37 - 3.7 * (h / p.h_bs) * (h / p.h_bs)) * lh -
             3.0 * nlos_b + 20.0 * std::log10(p.fc_ghz) - (3.2 * t * t - 4.97);
    sigma_los_near = 4.0;
    sigma_los_far = 4.0;
    sigma_nlos = 6.0;
  }
}

double los_probability(double d, const PropagationParams& p) {
  return los_probability_at(clamp_distance(d, p), [](double x) { return std::exp(x); });
}

double antenna_gain_db(double phi_deg, const AntennaParams& a) {
  double phi = std::remainder(phi_deg, 360.0);  // in [-180, 180]
  const double r = phi / a.beamwidth_deg;
  return a.gain_dbi - std::min(12.0 * r * r, a.max_attenuation_db);
}

double spectral_efficiency(double sinr) {
  if (!(sinr >= kOutageSinr)) return 0.0;
  return std::min(kSeEfficiency * std::log2(1.0 + sinr), kSeMax);
}

}  // namespace pyslice
