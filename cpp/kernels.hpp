// Vectorisable inner loops over flat arrays. kernels.cpp is compiled with -ffast-math (and linked
// with glibc's libmvec where available) so that exp/log/atan2/erfc/sincos run on SIMD lanes; the
// functions here take and return only finite values and do no NaN/inf checks of their own.
#pragma once
#include <cstddef>
#include <cstdint>

#include "pathloss.hpp"

namespace pyslice {

struct LinkGainParams {
  const PathlossCoefficients* pathloss;
  double d_min, d_max;
  double antenna_gain_dbi, beamwidth_deg, max_attenuation_db;
  bool shadowing;
  double boresight_deg[3];
};

// Gudmundson AR(1) update of the shadowing and LOS processes of n links:
//   z <- carry ? r z + sqrt(1 - r^2) w : w,  r = exp(-moved / d_cor),
// with (w_s, w_l) standard normals from the uniforms (u1 in (0, 1], u2 in [0, 1)) by Box-Muller.
void ar1_update(std::size_t n, const double* u1, const double* u2, const double* moved, const std::uint8_t* carry,
                double shadow_dcor, double los_dcor, double* z_shadow, double* z_los);

// Geometry, LOS state, path loss, shadowing and the 3 sector gains of n (UE, site) links from
// the displacements (dx, dy) site -> UE. Writes distance, angle (deg), los (0/1), loss_db
// (path loss + shadowing) and gain[3 n] (linear, sector s of link i at 3 i + s).
void link_gains(std::size_t n, const double* dx, const double* dy, const double* z_shadow, const double* z_los,
                const LinkGainParams& p, double* distance, double* angle_deg, double* los, double* loss_db,
                double* gain);

// out[j] = rho[cell[j]] * pg[j].
void gather_scale(std::size_t n, const int* cell, const double* rho, const double* pg, double* out);

// se[i] = truncated Shannon of signal[i] / interference[i] (0 below -10 dB, capped at 4.4).
void spectral_efficiency_batch(std::size_t n, const double* signal, const double* interference, double* se);

}  // namespace pyslice
