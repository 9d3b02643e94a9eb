#include "pathloss_3gpp.hpp"

#include <algorithm>
#include <cmath>

namespace pyslice {
namespace {
// The documents' propagation velocity (TR 38.901 Table 7.4.1-1 note 1: c = 3.0 x 10^8 m/s).
constexpr double kSpeedOfLight = 3.0e8;
}  // namespace

double los_probability_3gpp(PathlossModel m, double d2d_out, double h_ut) {
  if (d2d_out <= 18.0) return 1.0;
  const double near = 18.0 / d2d_out;
  if (!is_uma(m)) return near + std::exp(-d2d_out / 36.0) * (1.0 - near);
  // UMa: 36.873 Table 7.2-2 writes (min(18/d, 1)(1 - e^(-d/63)) + e^(-d/63))(1 + C(d, hUT)) and
  // 38.901 Table 7.4.2-1 the same product with C'(hUT)(5/4)(d/100)^3 e^(-d/150): equal for d > 18 m.
  const double base = near + std::exp(-d2d_out / 63.0) * (1.0 - near);
  return base * (1.0 + environment_height_c(d2d_out, h_ut));
}

double environment_height_c(double d2d, double h_ut) {
  if (h_ut < 13.0 || d2d <= 18.0) return 0.0;
  const double g = 1.25 * std::pow(d2d / 100.0, 3.0) * std::exp(-d2d / 150.0);
  return std::pow((std::min(h_ut, 23.0) - 13.0) / 10.0, 1.5) * g;
}

double effective_environment_height(PathlossModel m, double d2d, double h_ut, double u1, double u2) {
  if (!is_uma(m)) return 1.0;
  const double c = environment_height_c(d2d, h_ut);
  if (u1 * (1.0 + c) < 1.0) return 1.0;
  // {12, 15, ..., h_ut - 1.5}: C > 0 only for h_ut >= 13, so the set has at least one value.
  const int n = std::max(1, static_cast<int>(std::floor((h_ut - 1.5 - 12.0) / 3.0 + 1e-9)) + 1);
  const int i = std::min(n - 1, static_cast<int>(u2 * n));
  return 12.0 + 3.0 * i;
}

Pathloss3gpp::Pathloss3gpp(PathlossModel m, double h_bs_m, double fc_ghz)
    : h_bs(h_bs_m), fc_hz(fc_ghz * 1e9), f_term(20.0 * std::log10(fc_ghz)), fixed_h_e(!is_uma(m)) {
  const double lf = std::log10(fc_ghz);
  los_a = 28.0;
  los_b1 = 22.0;
  bp_slope = 9.0;
  switch (m) {
    case PathlossModel::Uma36873: {  // TR 36.873 Table 7.2-1, W = h = 20 m
      const double w = 20.0, h = 20.0, lh = std::log10(h_bs), r = h / h_bs, l17 = std::log10(17.625);
      nlos_b = 43.42 - 3.1 * lh;
      nlos_a = 161.04 - 7.1 * std::log10(w) + 7.5 * std::log10(h) - (24.37 - 3.7 * r * r) * lh - 3.0 * nlos_b +
               20.0 * lf - (3.2 * l17 * l17 - 4.97);
      nlos_h = 0.6;
      break;
    }
    case PathlossModel::Umi36873:  // TR 36.873 Table 7.2-1
      nlos_b = 36.7;
      nlos_a = 22.7 + 26.0 * lf;
      nlos_h = 0.3;
      break;
    case PathlossModel::Uma38901:  // TR 38.901 Table 7.4.1-1
      nlos_b = 39.08;
      nlos_a = 13.54 + 20.0 * lf;
      nlos_h = 0.6;
      break;
    default:  // Umi38901 (TR 38.901 Table 7.4.1-1); callers check is_3gpp_3d first
      los_a = 32.4;
      los_b1 = 21.0;
      bp_slope = 9.5;
      nlos_b = 35.3;
      nlos_a = 22.4 + 21.3 * lf;
      nlos_h = 0.3;
      break;
  }
}

double Pathloss3gpp::loss_db(bool los, double d2d, double h_ut, double h_e) const {
  const double dh = h_bs - h_ut;
  const double lg3 = 0.5 * std::log10(d2d * d2d + dh * dh);
  const double he = fixed_h_e ? 1.0 : h_e;
  const double d_bp = 4.0 * (h_bs - he) * (h_ut - he) * fc_hz / kSpeedOfLight;
  const double pl_los = d2d <= d_bp ? los_a + los_b1 * lg3 + f_term
                                    : los_a + 40.0 * lg3 + f_term - bp_slope * std::log10(d_bp * d_bp + dh * dh);
  if (los) return pl_los;
  return std::max(pl_los, nlos_a + nlos_b * lg3 - nlos_h * (h_ut - 1.5));
}

double pathloss_3gpp_db(PathlossModel m, bool los, double d2d, double h_bs, double h_ut, double h_e, double fc_ghz) {
  return Pathloss3gpp(m, h_bs, fc_ghz).loss_db(los, d2d, h_ut, h_e);
}

double shadow_sigma_3gpp_db(PathlossModel m, bool los, bool indoor) {
  // O2I: 7 dB in 36.873 Table 7.2-1 and in 38.901 Table 7.5-6 (the penetration loss's own sigma_P
  // comes on top in 38.901, o2i_sigma_db).
  if (indoor) return 7.0;
  switch (m) {
    case PathlossModel::Uma36873: return los ? 4.0 : 6.0;
    case PathlossModel::Umi36873: return los ? 3.0 : 4.0;
    case PathlossModel::Uma38901: return los ? 4.0 : 6.0;
    case PathlossModel::Umi38901: return los ? 4.0 : 7.82;
    default: return 0.0;
  }
}

double o2i_wall_loss_db(O2iModel m, bool high_loss, double fc_ghz) {
  if (m == O2iModel::Tr36873) return 20.0;
  // 38.901 Table 7.4.3-1 materials, Table 7.4.3-2 building mixes.
  const double glass = 2.0 + 0.2 * fc_ghz, irr_glass = 23.0 + 0.3 * fc_ghz, concrete = 5.0 + 4.0 * fc_ghz;
  const double window = high_loss ? irr_glass : glass;
  const double share_window = high_loss ? 0.7 : 0.3;
  return 5.0 - 10.0 * std::log10(share_window * std::pow(10.0, -window / 10.0) +
                                 (1.0 - share_window) * std::pow(10.0, -concrete / 10.0));
}

double o2i_sigma_db(O2iModel m, bool high_loss) {
  if (m == O2iModel::Tr36873) return 0.0;
  return high_loss ? 6.5 : 4.4;
}

}  // namespace pyslice
