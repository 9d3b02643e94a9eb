// The per-link kernel of the 3-D 3GPP models (pathloss_3gpp.hpp, antenna_3gpp.hpp): the same
// outputs as kernels.hpp's link_gains for the 2-D models, from per-UE heights and indoor states.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pathloss.hpp"
#include "pathloss_3gpp.hpp"

namespace pyslice {

// Per-UE radio state of the 3-D models, indexed by UE (docs/calibration.md): height, indoor
// distance d_2D-in (0 outdoors), penetration loss PL_tw + PL_in + N(0, sigma_P) (0 outdoors), and
// the UE's building: wall loss PL_tw and sigma_P (for indoor distances drawn per link).
struct UeRadio {
  const double* height;
  const double* indoor_distance;
  const double* penetration_db;
  const std::uint8_t* indoor;
  const double* wall_loss_db;
  const double* penetration_sigma_db;
};

// How the documents' open points are modelled (SimConfig; docs/calibration.md, "ablations").
struct IndoorChoices {
  bool los_total_distance = false;  // an indoor UE's P_LOS at d_2D instead of d_2D-out
  bool distance_per_link = false;   // d_2D-in and the penetration's random part drawn per link
  bool outdoor_shadowing = false;   // indoor UEs' shadowing: the outdoor LOS/NLOS sigma, not the O2I one
};

struct Link3gppParams {
  PathlossModel model;
  double fc_ghz, h_bs, d_min, d_max;
  AntennaParams antenna;
  bool shadowing;
  double boresight_deg[3];
  O2iModel o2i_model;
  IndoorChoices indoor;
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

// Uniforms in [0, 1) fixed per link by its key: `which` 0 and 1 choose the effective environment
// height, 2 and 3 the indoor distance, 4 and 5 the penetration's normal (per-link indoor distances).
double link_uniform(std::uint64_t key, int which);

}  // namespace pyslice
