#include "link_3gpp.hpp"

#include <algorithm>
#include <cmath>

#include "antenna_3gpp.hpp"
#include "geometry.hpp"
#include "pathloss_3gpp.hpp"
#include "rng.hpp"

namespace pyslice {

double link_uniform(std::uint64_t key, int which) {
  std::uint64_t a = mix64(key ^ 0x68e5a17c3b2d9f41ULL);
  for (int i = 0; i < which; ++i) a = mix64(a);
  return static_cast<double>(a >> 11) * 0x1.0p-53;
}

namespace {
// d_2D-in and the penetration loss of an indoor UE's link with indoor distances per link.
void per_link_indoor(std::uint64_t key, O2iModel model, double wall_db, double sigma_db, double& d_in, double& loss) {
  const double u1 = link_uniform(key, 2), u2 = link_uniform(key, 3);
  d_in = kIndoorDistanceMax * (model == O2iModel::Tr38901 ? std::min(u1, u2) : u1);
  loss = wall_db + kIndoorLossDbPerM * d_in;
  if (sigma_db > 0.0) {
    const double r = std::sqrt(-2.0 * std::log(1.0 - link_uniform(key, 4)));  // Box-Muller, 1 - u in (0, 1]
    loss += sigma_db * r * std::cos(2.0 * kPi * link_uniform(key, 5));
  }
}
}  // namespace

void link_gains_3gpp(std::size_t n, const double* dx, const double* dy, const double* z_shadow, const double* z_los,
                     const int* link_ue, const std::uint64_t* link_key, const Link3gppParams& p, const UeRadio& ue,
                     double* distance, double* angle_deg, std::uint8_t* los, double* loss_db, double* gain,
                     double* best_gain, std::uint8_t* best_sector) {
  const AntennaParams& ant = p.antenna;
  const Pathloss3gpp pathloss(p.model, p.h_bs, p.fc_ghz);
  const bool uma = is_uma(p.model);
  // Without mechanical tilt the vertical cut and the column gain are the same for a site's three
  // sectors: computed once per link, only the horizontal cut per sector.
  const bool shared_vertical = ant.three_d && ant.mechanical_tilt_deg == 0.0;
  const double ln10_10 = std::log(10.0) / 10.0;
  for (std::size_t i = 0; i < n; ++i) {
    const int u = link_ue[i];
    const double h_ut = ue.height[u];
    const bool indoor = ue.indoor[u] != 0;
    const double d = std::sqrt(dx[i] * dx[i] + dy[i] * dy[i]);
    const double dc = std::min(std::max(d, p.d_min), p.d_max);
    double d_in = ue.indoor_distance[u], penetration = ue.penetration_db[u];
    if (indoor && p.indoor.distance_per_link)
      per_link_indoor(link_key[i], p.o2i_model, ue.wall_loss_db[u], ue.penetration_sigma_db[u], d_in, penetration);
    const double d_out = p.indoor.los_total_distance ? dc : std::max(dc - d_in, 0.0);
    const double p_los = los_probability_3gpp(p.model, d_out, h_ut);
    const bool is_los = 0.5 * std::erfc(-z_los[i] * 0.7071067811865476) < p_los;
    // h_E only differs from 1 m where C(d, h_UT) > 0 (UMa, h_UT >= 13 m): no draw otherwise.
    const bool draw_h_e = uma && environment_height_c(dc, h_ut) > 0.0;
    const double h_e =
        draw_h_e ? effective_environment_height(p.model, dc, h_ut, link_uniform(link_key[i], 0), link_uniform(link_key[i], 1))
                 : 1.0;
    const double pl = pathloss.loss_db(is_los, dc, h_ut, h_e);
    const double sigma =
        p.shadowing ? shadow_sigma_3gpp_db(p.model, is_los, indoor && !p.indoor.outdoor_shadowing) : 0.0;
    const double loss = pl + penetration + sigma * z_shadow[i];
    const double angle = std::atan2(dy[i], dx[i]) / kDeg;
    distance[i] = d;
    angle_deg[i] = angle;
    los[i] = is_los ? 1 : 0;
    loss_db[i] = loss;
    const double dh = p.h_bs - h_ut;
    double a_v = 0.0, column_db = 0.0;
    if (shared_vertical) {
      const double elevation = std::atan2(dh, d) / kDeg;  // theta - 90
      const double v = elevation / ant.vertical_beamwidth_deg;
      a_v = -std::min(12.0 * v * v, ant.sla_v_db);
      const double column = column_array_gain_cos(-dh / std::sqrt(d * d + dh * dh), ant);
      column_db = column > 1e-30 ? 10.0 * std::log10(column) : -300.0;
    }
    const double theta = shared_vertical || !ant.three_d ? 0.0 : 90.0 + std::atan2(dh, d) / kDeg;
    double best = -1.0;
    std::uint8_t best_s = 0;
    for (int s = 0; s < 3; ++s) {
      double phi = angle - p.boresight_deg[s];
      phi = phi > 180.0 ? phi - 360.0 : (phi < -180.0 ? phi + 360.0 : phi);
      double g_db;
      if (shared_vertical) {
        const double h = phi / ant.beamwidth_deg;
        const double a_h = -std::min(12.0 * h * h, ant.max_attenuation_db);
        g_db = ant.gain_dbi - std::min(-(a_v + a_h), ant.max_attenuation_db) + column_db;
      } else {
        g_db = ant.three_d ? antenna_gain_3gpp_db(theta, phi, ant) : antenna_gain_db(phi, ant);
      }
      const double g = std::exp((g_db - loss) * ln10_10);
      gain[3 * i + s] = g;
      if (g > best) {
        best = g;
        best_s = static_cast<std::uint8_t>(s);
      }
    }
    best_gain[i] = best;
    best_sector[i] = best_s;
  }
}

}  // namespace pyslice
