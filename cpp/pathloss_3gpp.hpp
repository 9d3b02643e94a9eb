// The 3-D 3GPP propagation models used by the calibration (docs/calibration.md): TR 36.873
// 3D-UMa / 3D-UMi (Tables 7.2-1, 7.2-2) and TR 38.901 UMa / UMi street canyon (Tables 7.4.1-1,
// 7.4.2-1), with 3-D distances, the UE-height dependence, the effective environment height of UMa
// and the outdoor-to-indoor penetration loss (TR 36.873 Table 7.2-1, TR 38.901 section 7.4.3).
// Distances in m, heights in m, fc in GHz, losses in dB.
#pragma once

#include "pathloss.hpp"

namespace pyslice {

// True for the 3-D 3GPP models (PathlossModel values >= 2), which need the per-UE height, indoor
// state and 3-D distance of link_3gpp.hpp.
inline bool is_3gpp_3d(PathlossModel m) { return static_cast<int>(m) >= static_cast<int>(PathlossModel::Uma36873); }
// The two macro (UMa) models, whose breakpoint depends on the effective environment height.
inline bool is_uma(PathlossModel m) { return m == PathlossModel::Uma36873 || m == PathlossModel::Uma38901; }

// LOS probability at the outdoor 2-D distance d2d_out for a UE at height h_ut (1 up to 18 m).
double los_probability_3gpp(PathlossModel m, double d2d_out, double h_ut);

// C(d2D, hUT) of the UMa breakpoint rule (36.873 Table 7.2-1 note, 38.901 Table 7.4.1-1 note 1).
double environment_height_c(double d2d, double h_ut);
// Effective environment height h_E: 1 m with probability 1 / (1 + C), else uniform over
// {12, 15, ..., h_ut - 1.5} (UMa); always 1 m for UMi. u1, u2 in [0, 1) choose the draw.
double effective_environment_height(PathlossModel m, double d2d, double h_ut, double u1, double u2);

// Basic path loss PL_b (no penetration loss, no shadowing) of a LOS or NLOS link: d2d is the 2-D
// distance BS-UE (outdoor plus indoor part), the 3-D distance follows from the heights.
double pathloss_3gpp_db(PathlossModel m, bool los, double d2d, double h_bs, double h_ut, double h_e, double fc_ghz);

// The same with the model's constants folded once (the link kernel's form): the LOS branch is
// a + b1 log10(d3D) + 20 log10(fc) below the breakpoint d'BP = 4 (h_BS - h_E)(h_UT - h_E) fc / c and
// a + 40 log10(d3D) + 20 log10(fc) - bp_slope log10(d'BP^2 + (h_BS - h_UT)^2) beyond it; NLOS is
// max(LOS, nlos_a + nlos_b log10(d3D) - nlos_h (h_UT - 1.5)).
struct Pathloss3gpp {
  Pathloss3gpp(PathlossModel m, double h_bs, double fc_ghz);
  double loss_db(bool los, double d2d, double h_ut, double h_e) const;
  double h_bs, fc_hz, f_term;
  bool fixed_h_e;  // UMi: h_E = 1 m
  double los_a, los_b1, bp_slope;
  double nlos_a, nlos_b, nlos_h;
};

// Shadow-fading standard deviation of an outdoor LOS / NLOS link or of an indoor (O2I) UE's link.
double shadow_sigma_3gpp_db(PathlossModel m, bool los, bool indoor);

// Outdoor-to-indoor penetration models: TR 36.873 (20 dB wall + 0.5 dB/m, d_in ~ U(0, 25)) and
// TR 38.901 section 7.4.3 low-loss / high-loss buildings (d_in = min of two U(0, 25)).
enum class O2iModel { Tr36873 = 0, Tr38901 = 1 };
// Mean wall loss PL_tw (dB) of a building of the model; high_loss selects 38.901's high-loss building.
double o2i_wall_loss_db(O2iModel m, bool high_loss, double fc_ghz);
// Standard deviation sigma_P (dB) of the penetration loss (0 for 36.873, whose O2I shadowing covers it).
double o2i_sigma_db(O2iModel m, bool high_loss);
// Indoor loss per metre of indoor distance (dB/m).
constexpr double kIndoorLossDbPerM = 0.5;
// Upper end of the indoor-distance draw (m).
constexpr double kIndoorDistanceMax = 25.0;

}  // namespace pyslice
