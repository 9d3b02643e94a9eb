#include "antenna_3gpp.hpp"

#include <algorithm>
#include <cmath>

#include "geometry.hpp"

namespace pyslice {

double element_gain_3gpp_db(double theta_deg, double phi_deg, const AntennaParams& a) {
  const double phi = std::remainder(phi_deg, 360.0);
  const double v = (theta_deg - 90.0) / a.vertical_beamwidth_deg;
  const double h = phi / a.beamwidth_deg;
  const double a_v = -std::min(12.0 * v * v, a.sla_v_db);
  const double a_h = -std::min(12.0 * h * h, a.max_attenuation_db);
  return a.gain_dbi - std::min(-(a_v + a_h), a.max_attenuation_db);
}

double column_array_gain(double theta_deg, const AntennaParams& a) {
  return column_array_gain_cos(std::cos(theta_deg * kDeg), a);
}

double column_array_gain_cos(double cos_theta, const AntennaParams& a) {
  const int k = a.elements;
  if (k <= 1) return 1.0;
  // cos(theta_etilt) with theta_etilt = 90 + tilt.
  const double cos_tilt = -std::sin(a.electrical_tilt_deg * kDeg);
  // Phase step between adjacent elements: psi = 2 pi d_V (cos theta - cos theta_etilt); the sum of
  // K unit phasors has |.|^2 = sin^2(K psi / 2) / sin^2(psi / 2), and the weights add 1 / K.
  const double psi = 2.0 * kPi * a.element_spacing_wl * (cos_theta - cos_tilt);
  const double den = std::sin(0.5 * psi);
  if (std::fabs(den) < 1e-12) return static_cast<double>(k);  // the beam peak (or a grating lobe)
  const double num = std::sin(0.5 * k * psi);
  return num * num / (den * den) / k;
}

double antenna_gain_3gpp_db(double theta_deg, double phi_deg, const AntennaParams& a) {
  double theta = theta_deg, phi = phi_deg;
  if (a.mechanical_tilt_deg != 0.0) {
    // TR 38.901 eqs. 7.1-7 and 7.1-8 with bearing 0 (phi is already off boresight), downtilt beta
    // and slant 0: the direction in the panel's own coordinates.
    const double b = a.mechanical_tilt_deg * kDeg, t = theta_deg * kDeg, p = phi_deg * kDeg;
    const double c = std::cos(b) * std::cos(t) + std::sin(b) * std::cos(p) * std::sin(t);
    theta = std::acos(std::max(-1.0, std::min(1.0, c))) / kDeg;
    phi = std::atan2(std::sin(t) * std::sin(p), std::cos(b) * std::sin(t) * std::cos(p) - std::sin(b) * std::cos(t)) /
          kDeg;
  }
  const double column = column_array_gain(theta, a);
  return element_gain_3gpp_db(theta, phi, a) + (column > 1e-30 ? 10.0 * std::log10(column) : -300.0);
}

double zenith_angle_deg(double d2d, double h_bs, double h_ut) {
  return 90.0 + std::atan2(h_bs - h_ut, d2d) / kDeg;
}

}  // namespace pyslice
