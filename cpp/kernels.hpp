// Vectorisable inner loops over flat arrays. kernels.cpp is compiled with -ffast-math; its loops
// use the branch-free elementary functions of simd_math.hpp (and libmvec, where glibc has it, for
// the rare exact LOS decisions); the functions here take and return only finite values and do no
// NaN/inf checks of their own.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "pathloss.hpp"

namespace pyslice {

struct LinkGainParams {
  const PathlossCoefficients* pathloss;
  double d_min, d_max;
  double antenna_gain_dbi, beamwidth_deg, max_attenuation_db;
  bool shadowing;
  double boresight_deg[3];
};

// AR(1) coefficients of UEs that moved `moved` metres: r = exp(-moved / d_cor), q = sqrt(1 - r^2).
void ar_coefficients(std::size_t n, const double* moved, double d_cor, double* r, double* q);

// Gudmundson AR(1) update of the shadowing and LOS processes of n links of UEs link_ue:
//   z <- carry ? r z + q w : w   (r, q of the link's UE, from ar_coefficients),
// with (w_s, w_l) standard normals drawn by Box-Muller from the two 32-bit halves of one
// counter-based hash a = mix64(key ^ t): u1 = ((a >> 32) + 1) 2^-32 in (0, 1], u2 = (a mod 2^32) 2^-32
// (normals reach 6.66 sigma, beyond any shadowing or LOS threshold that matters).
// Passing the shadowing coefficient arrays as the LOS ones too (equal decorrelation distances)
// takes a faster path.
void ar1_update_keyed(std::size_t n, const std::uint64_t* key, std::uint64_t t, const int* link_ue,
                      const double* r_shadow, const double* q_shadow, const double* r_los, const double* q_los,
                      const std::uint8_t* carry, double* z_shadow, double* z_los);

// Geometry, LOS state, path loss, shadowing and the 3 sector gains of n (UE, site) links from
// the displacements (dx, dy) site -> UE. Writes distance, angle (deg), los (0/1), loss_db
// (path loss + shadowing), gain[3 n] (linear, sector s of link i at 3 i + s) and, for the
// handover, best_gain[i] / best_sector[i]: the largest of link i's 3 gains and the first sector
// holding it.
void link_gains(std::size_t n, const double* dx, const double* dy, const double* z_shadow, const double* z_los,
                const LinkGainParams& p, double* distance, double* angle_deg, std::uint8_t* los, double* loss_db,
                double* gain, double* best_gain, std::uint8_t* best_sector);

// Nearest wrap-around image of n displacements, in place: (dx[c], dy[c]) becomes (dx[c] - ox[j], dy[c] -
// oy[j]) for the first of the n_images offsets j whose squared length is strictly below that of the
// displacement itself and of every offset before j (unchanged if none is).
void nearest_images(std::size_t n, int n_images, const double* ox, const double* oy, double* dx, double* dy);

// Sparse rows: out[i] = init + sum_{j in [off[i], off[i+1])} rho[cell[j]] * pg[j], j ascending.
void sparse_row_sums(std::size_t n, const int* off, const int* cell, const double* pg, const double* rho,
                     double init, double* out);

// out[k * ld + i] = scale[k] * x[row[i] * m + k] for i < n, k < m: the rows `row` of the row-major
// [*, m] matrix x, scaled per column and transposed into m rows of stride ld; row_sum[i] = the sum
// of the values stored for i, in ascending k.
void transpose_scaled(std::size_t n, int m, const double* x, const int* row, const double* scale, double* out,
                      std::size_t ld, double* row_sum);

// For each row r of the row-major [n, m] matrix x: index[r] = the first column holding the row's
// maximum (-1 if no entry exceeds -1) and value[r] = that maximum (-1 if none).
void row_argmax(std::size_t n, int m, const double* x, int* index, double* value);

// For each of R weight rows a[r * m .. r * m + m): out[r][i] = init + sum_k a[r * m + k] * x[k * ld + i]
// over k = 0..m-1 in ascending order (rows of zero weight skipped: they add nothing). One pass over
// the rows of x, blockwise, each piece of a row loaded once for up to 4 weight rows; a weight row's
// sums are the same bits whatever R and its place in the batch. Each row of x must be readable
// (finite) up to n rounded up to a multiple of 8, i.e. ld >= that.
void weighted_row_sums(std::size_t n, int m, int R, const double* a, const double* x, std::size_t ld, double init,
                       double* const* out);

// out[i] = 10 log10(x[i]) for x[i] > 0 (x[i] <= 0 gives -3000: callers map it to -inf).
void to_db(std::size_t n, const double* x, double* out);

// se[i] = truncated Shannon of signal[i] / interference[i] (0 below -10 dB, capped at 4.4); returns sum_i weight[i] / se[i]
// (the share a group of served UEs needs; summed on SIMD lanes, so in no fixed order).
double needed_share(std::size_t n, const double* weight, const double* signal, const double* interference, double* se);

// out[i] = the inline elementary function `name` of simd_math.hpp, as the kernels compile it:
// "exp", "log", "log10" (of a), "atan2" (a = y, b = x), "sin_turns"/"cos_turns" (sin/cos of 2 pi a,
// a in [0, 1)). Returns false for an unknown name. For tests and benchmarks.
bool elementary_function(const std::string& name, std::size_t n, const double* a, const double* b, double* out);

}  // namespace pyslice
