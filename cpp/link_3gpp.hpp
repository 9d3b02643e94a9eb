// The per-link kernel of the 3-D 3GPP models (pathloss_3gpp.hpp, antenna_3gpp.hpp): the same
// outputs as kernels.hpp's link_gains for the 2-D models, from per-UE heights and indoor states.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pathloss.hpp"

namespace pyslice {

// Per-UE radio state of the 3-D models, indexed by UE (docs/calibration.md): height, indoor
// distance d_2D-in (0 outdoors), penetration loss PL_tw + PL_in + N(0, sigma_P) (0 outdoors).
struct UeRadio {
  const double* height;
  const double* indoor_distance;
  const double* penetration_db;
  const std::uint8_t* indoor;
};

struct Link3gppParams {
  PathlossModel model;
  double fc_ghz, h_bs, d_min, d_max;
  AntennaParams antenna;
  bool shadowing;
  double boresight_deg[3];
};

// For n (UE, site) links of UEs link_ue with displacements (dx, dy) site -> UE, standard-normal
// shadowing / LOS states and per-link keys (which fix each link's effective environment height):
// writes distance (2-D), angle (deg), los (Phi(z_L) < P_LOS(d_2D-out, h_UT)), loss_db (basic path
// loss + penetration + sigma z_S), gain[3 n] (linear, with the antenna towards each sector) and
// best_gain / best_sector as link_gains does.
void link_gains_3gpp(std::size_t n, const double* dx, const double* dy, const double* z_shadow, const double* z_los,
                     const int* link_ue, const std::uint64_t* link_key, const Link3gppParams& p, const UeRadio& ue,
                     double* distance, double* angle_deg, std::uint8_t* los, double* loss_db, double* gain,
                     double* best_gain, std::uint8_t* best_sector);

// The uniform in [0, 1) that fixes link `key`'s effective environment height (u1; u2 from mix64 again).
double environment_height_uniform(std::uint64_t key, int which);

}  // namespace pyslice
