// Large-scale propagation: WINNER+ C2 / ITU-R UMa path loss, LOS probability, shadowing sigma,
// the 3-sector antenna pattern and truncated-Shannon spectral efficiency.
#pragma once
#include <cmath>

#include "radio_constants.hpp"

namespace pyslice {

// 0-1: the 2-D models of this file; 2-5: the 3-D 3GPP models of pathloss_3gpp.hpp.
enum class PathlossModel { WinnerPlusC2 = 0, Uma36814 = 1, Uma36873 = 2, Umi36873 = 3, Uma38901 = 4, Umi38901 = 5 };

struct PropagationParams {
  PathlossModel model = PathlossModel::WinnerPlusC2;
  double fc_ghz = 2.6;
  double h_bs = 25.0;
  double h_ut = 1.5;
  double d_min = 35.0;
  double d_max = 5000.0;
};

double clamp_distance(double d, const PropagationParams& p);

// LOS probability (WINNER+ C2 and 36.814 UMa alike) at a clamped distance dc, with exp supplied by
// the caller (std::exp, or simd::exp in the vectorised link kernel): the one definition of P_LOS.
template <class Exp>
inline double los_probability_at(double dc, Exp exp_fn) {
  const double e = exp_fn(-dc / 63.0);
  return (18.0 / dc < 1.0 ? 18.0 / dc : 1.0) * (1.0 - e) + e;
}

// The model's constants folded once: PL = a + b * log10(d) per branch, plus the breakpoint. The one
// definition of the path-loss and shadowing formulas (the link kernel and the bound functions use it).
struct PathlossCoefficients {
  explicit PathlossCoefficients(const PropagationParams& p);
  // Path loss (dB) from lg = log10(clamped distance) and the branch (near: below the breakpoint).
  double loss_db(double lg, bool near, bool los) const {
    return los ? (near ? los_near_a + los_near_b * lg : los_far_a + los_far_b * lg) : nlos_a + nlos_b * lg;
  }
  double sigma_db(bool near, bool los) const { return los ? (near ? sigma_los_near : sigma_los_far) : sigma_nlos; }
  double breakpoint;
  double los_near_a, los_near_b, los_far_a, los_far_b, nlos_a, nlos_b;
  double sigma_los_near, sigma_los_far, sigma_nlos;
};
double breakpoint_distance(const PropagationParams& p);
// P_LOS at 2-D distance d (clamped to [d_min, d_max]).
double los_probability(double d, const PropagationParams& p);

struct AntennaParams {
  double gain_dbi = 14.0;
  double beamwidth_deg = 70.0;  // horizontal 3 dB beamwidth
  double max_attenuation_db = 25.0;
  // The 3GPP 3-D element (TR 36.873 Table 7.1-1, TR 38.901 Table 7.3-1) in a vertical column of
  // `elements` elements mapped to one port (antenna_3gpp.hpp); off: the horizontal pattern above.
  bool three_d = false;
  double vertical_beamwidth_deg = 65.0;
  double sla_v_db = 30.0;                // side-lobe level limit of the vertical cut
  int elements = 1;                      // K elements per column (one port)
  double element_spacing_wl = 0.5;       // vertical spacing d_V in wavelengths
  double electrical_tilt_deg = 0.0;      // downtilt of the column's beam below the horizon
  double mechanical_tilt_deg = 0.0;      // downtilt of the whole panel
};
// Horizontal sector pattern; phi in degrees (any value, wrapped to [-180, 180]).
double antenna_gain_db(double phi_deg, const AntennaParams& a);

// Truncated Shannon (3GPP TR 36.942 A.1), bit/s/Hz; 0 below -10 dB (radio_constants.hpp).
double spectral_efficiency(double sinr);

}  // namespace pyslice
