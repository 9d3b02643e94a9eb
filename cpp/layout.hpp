// Hexagonal multi-site layout: site positions, sector geometry, the network area (union of the
// sites' hexagons), uniform drops, wrap-around images and a spatial index of sites.
#pragma once
#include <cmath>
#include <vector>

#include "geometry.hpp"
#include "rng.hpp"

namespace pyslice {

constexpr int kSectors = 3;
constexpr double kBoresightDeg[kSectors] = {30.0, 150.0, 270.0};

// The 4-site rhombus of the paper: 0, e1, e2, e1 + e2.
std::vector<Vec2> paper_sites(double isd);
// All lattice points within `rings` hexagonal rings of the origin, ring by ring.
std::vector<Vec2> hex_grid_sites(int rings, double isd);
// Tiling vectors for wrap-around.
std::vector<Vec2> paper_wrap_vectors(double isd);
std::vector<Vec2> hex_wrap_vectors(int rings, double isd);

// True if rel lies in the lattice's Voronoi hexagon centred at the origin, whose opposite edges
// are 2 h apart: |rel . u| <= h for u at 0, 60 and 120 degrees. Non-short-circuit &: one
// predictable branch at the caller instead of three, and none in SIMD loops.
inline bool in_centered_hexagon(Vec2 rel, double h) {
  const double c = 0.5, s = 0.8660254037844386;
  return (std::fabs(rel.x) <= h) & (std::fabs(c * rel.x + s * rel.y) <= h) & (std::fabs(-c * rel.x + s * rel.y) <= h);
}

class Layout {
 public:
  // `wrap_vectors` empty: no wrap-around; otherwise exactly two tiling vectors.
  Layout(std::vector<Vec2> sites, double isd, std::vector<Vec2> wrap_vectors);

  int n_sites() const { return static_cast<int>(sites_.size()); }
  int n_cells() const { return kSectors * n_sites(); }
  const std::vector<Vec2>& sites() const { return sites_; }
  double isd() const { return isd_; }
  bool wraps() const { return !images_.empty(); }

  // Displacement site -> p, using the nearest wrap-around image when wrapping.
  Vec2 displacement(int site, Vec2 p) const {
    return images_.empty() ? p - sites_[site] : wrapped_displacement(site, p);
  }
  // displacement(site[c], pos[ue[c]]) for c < n, into (dx[c], dy[c]): the same values, in blocks
  // of links whose images are compared without branches.
  void displacements(std::size_t n, const int* site, const int* ue, const Vec2* pos, double* dx, double* dy) const;
  // True iff p lies in the hexagon of some site.
  bool contains(Vec2 p) const;
  // Uniform point in cell k's sector rhombus at least `min_dist` from its site.
  Vec2 sample_in_cell(int cell, double min_dist, Rng& rng) const;
  // Uniform point in the network area.
  Vec2 sample_in_area(Rng& rng) const;
  // Index of the site whose hexagon contains p, or -1 outside the network area.
  int hexagon_of(Vec2 p) const;
  // Same, trying site `hint` first (a UE's hexagon rarely changes between steps).
  int hexagon_of(Vec2 p, int hint) const {
    if (hint >= 0 && hint < n_sites() && in_hexagon(p - sites_[hint])) return hint;
    return hexagon_of(p);
  }
  // Half the distance between opposite edges of a site's hexagon, with the tolerance in_hexagon uses.
  double hexagon_half_width() const { return isd_ / 2.0 * (1.0 + 1e-12); }
  // Uniform point in site s's hexagon.
  Vec2 sample_in_site(int site, Rng& rng) const;
  // True if points every isd/20 along the segment a-b lie in the network area.
  bool segment_inside(Vec2 a, Vec2 b) const;
  // Sites whose (nearest-image) distance to p is at most `radius` (all sites if radius is inf).
  void sites_within(Vec2 p, double radius, std::vector<int>& out) const;

 private:
  bool in_hexagon(Vec2 rel) const { return in_centered_hexagon(rel, hexagon_half_width()); }
  Vec2 wrapped_displacement(int site, Vec2 p) const;
  // Appends the sites whose own (unwrapped) position is within `radius` of q, via the bins.
  void sites_in_bins(Vec2 q, double radius, std::vector<int>& out) const;
  long bin_key(long ix, long iy) const;
  std::vector<Vec2> sites_;
  double isd_;
  std::vector<Vec2> images_;  // image offsets (incl. 0) when wrapping
  std::vector<double> image_x_, image_y_;  // the same, as two arrays (for nearest_images)
  // Spatial index: sites binned on a square grid of side isd.
  double bin_x0_ = 0.0, bin_y0_ = 0.0;
  long bins_x_ = 1, bins_y_ = 1;
  std::vector<std::vector<int>> bins_;
};

}  // namespace pyslice
