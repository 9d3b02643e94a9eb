#include "layout.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "kernels.hpp"

namespace pyslice {
namespace {
const double kSqrt3 = std::sqrt(3.0);
Vec2 e1(double isd) { return {isd, 0.0}; }
Vec2 e2(double isd) { return {isd / 2.0, kSqrt3 * isd / 2.0}; }
Vec2 polar(double r, double deg) { return {r * std::cos(deg * kDeg), r * std::sin(deg * kDeg)}; }
}  // namespace

std::vector<Vec2> paper_sites(double isd) {
  return {{0.0, 0.0}, e1(isd), e2(isd), e1(isd) + e2(isd)};
}

std::vector<Vec2> hex_grid_sites(int rings, double isd) {
  if (rings < 0) throw std::invalid_argument("rings must be >= 0");
  std::vector<Vec2> out{{0.0, 0.0}};
  // Axial directions of the triangular lattice, walked around each ring.
  const Vec2 a = e1(isd), b = e2(isd);
  const Vec2 dirs[6] = {b - a, -1.0 * a, -1.0 * b, a - b, a, b};
  for (int r = 1; r <= rings; ++r) {
    Vec2 p = static_cast<double>(r) * a;
    for (const Vec2& d : dirs) {
      for (int step = 0; step < r; ++step) {
        out.push_back(p);
        p = p + d;
      }
    }
  }
  return out;
}

std::vector<Vec2> paper_wrap_vectors(double isd) { return {2.0 * e1(isd), 2.0 * e2(isd)}; }

std::vector<Vec2> hex_wrap_vectors(int rings, double isd) {
  const double r = rings;
  Vec2 t1 = (r + 1.0) * e1(isd) + r * e2(isd);
  const double c = 0.5, s = kSqrt3 / 2.0;  // rotate by 60 degrees
  Vec2 t2{c * t1.x - s * t1.y, s * t1.x + c * t1.y};
  return {t1, t2};
}

Layout::Layout(std::vector<Vec2> sites, double isd, std::vector<Vec2> wrap_vectors)
    : sites_(std::move(sites)), isd_(isd) {
  if (sites_.empty()) throw std::invalid_argument("layout needs at least one site");
  if (!(isd_ > 0.0)) throw std::invalid_argument("isd must be > 0");
  if (!wrap_vectors.empty()) {
    if (wrap_vectors.size() != 2) throw std::invalid_argument("wrap-around needs two tiling vectors");
    for (int i = -1; i <= 1; ++i)
      for (int j = -1; j <= 1; ++j)
        images_.push_back(static_cast<double>(i) * wrap_vectors[0] + static_cast<double>(j) * wrap_vectors[1]);
    for (const Vec2& off : images_) {
      image_x_.push_back(off.x);
      image_y_.push_back(off.y);
    }
  }
  double xmin = std::numeric_limits<double>::infinity(), ymin = xmin;
  double xmax = -xmin, ymax = -xmin;
  for (const Vec2& s : sites_) {
    xmin = std::min(xmin, s.x);
    ymin = std::min(ymin, s.y);
    xmax = std::max(xmax, s.x);
    ymax = std::max(ymax, s.y);
  }
  bin_x0_ = xmin - isd_;
  bin_y0_ = ymin - isd_;
  const double span_x = (xmax - bin_x0_) / isd_, span_y = (ymax - bin_y0_) / isd_;
  // checked in doubles: the casts below overflow (undefined behaviour) for sites 1e300 m apart
  if (!((std::floor(span_x) + 2.0) * (std::floor(span_y) + 2.0) <= 1e7))
    throw std::invalid_argument("layout too sparse for the site index (sites spread over > 1e7 ISD^2)");
  bins_x_ = static_cast<long>(span_x) + 2;
  bins_y_ = static_cast<long>(span_y) + 2;
  bins_.assign(static_cast<size_t>(bins_x_ * bins_y_), {});
  for (int s = 0; s < n_sites(); ++s) {
    long ix = static_cast<long>((sites_[s].x - bin_x0_) / isd_);
    long iy = static_cast<long>((sites_[s].y - bin_y0_) / isd_);
    bins_[static_cast<size_t>(bin_key(ix, iy))].push_back(s);
  }
}

long Layout::bin_key(long ix, long iy) const { return iy * bins_x_ + ix; }

Vec2 Layout::wrapped_displacement(int site, Vec2 p) const {
  Vec2 d = p - sites_[site];
  Vec2 best = d;
  double best_d2 = dot(d, d);
  for (const Vec2& off : images_) {
    Vec2 di = d - off;
    double d2 = dot(di, di);
    if (d2 < best_d2) {
      best_d2 = d2;
      best = di;
    }
  }
  return best;
}

void Layout::displacements(std::size_t n, const int* site, const int* ue, const Vec2* pos, double* dx,
                           double* dy) const {
  const Vec2* sites = sites_.data();
  for (std::size_t c = 0; c < n; ++c) {
    const Vec2 d = pos[ue[c]] - sites[site[c]];
    dx[c] = d.x;
    dy[c] = d.y;
  }
  if (!images_.empty())
    nearest_images(n, static_cast<int>(images_.size()), image_x_.data(), image_y_.data(), dx, dy);
}

bool Layout::contains(Vec2 p) const { return hexagon_of(p) >= 0; }

int Layout::hexagon_of(Vec2 p) const {
  long ix = static_cast<long>(std::floor((p.x - bin_x0_) / isd_));
  long iy = static_cast<long>(std::floor((p.y - bin_y0_) / isd_));
  for (long jy = iy - 1; jy <= iy + 1; ++jy) {
    if (jy < 0 || jy >= bins_y_) continue;
    for (long jx = ix - 1; jx <= ix + 1; ++jx) {
      if (jx < 0 || jx >= bins_x_) continue;
      for (int s : bins_[static_cast<size_t>(bin_key(jx, jy))])
        if (in_hexagon(p - sites_[s])) return s;
    }
  }
  return -1;
}

Vec2 Layout::sample_in_site(int site, Rng& rng) const {
  const int sector = std::min(static_cast<int>(rng.uniform() * kSectors), kSectors - 1);
  const double b = kBoresightDeg[sector];
  const double radius = isd_ / kSqrt3;
  const double u = rng.uniform(), w = rng.uniform();
  return sites_[site] + u * polar(radius, b - 60.0) + w * polar(radius, b + 60.0);
}

bool Layout::segment_inside(Vec2 a, Vec2 b) const {
  const double len = norm(b - a);
  const int n = static_cast<int>(std::ceil(len / (isd_ / 20.0)));
  // Consecutive points are isd/20 apart, so the previous point's hexagon is checked first.
  int hint = -1;
  for (int i = 1; i <= n; ++i) {
    hint = hexagon_of(a + (static_cast<double>(i) / n) * (b - a), hint);
    if (hint < 0) return false;
  }
  return true;
}

Vec2 Layout::sample_in_cell(int cell, double min_dist, Rng& rng) const {
  const int site = cell / kSectors;
  const double b = kBoresightDeg[cell % kSectors];
  const double radius = isd_ / kSqrt3;
  const Vec2 v1 = polar(radius, b - 60.0), v2 = polar(radius, b + 60.0);
  for (;;) {
    const double u = rng.uniform(), w = rng.uniform();
    Vec2 rel = u * v1 + w * v2;
    if (norm(rel) >= min_dist) return sites_[site] + rel;
  }
}

Vec2 Layout::sample_in_area(Rng& rng) const {
  const int site = std::min(static_cast<int>(rng.uniform() * n_sites()), n_sites() - 1);
  return sample_in_site(site, rng);
}

void Layout::sites_in_bins(Vec2 q, double radius, std::vector<int>& out) const {
  long ix0 = static_cast<long>(std::floor((q.x - radius - bin_x0_) / isd_));
  long ix1 = static_cast<long>(std::floor((q.x + radius - bin_x0_) / isd_));
  long iy0 = static_cast<long>(std::floor((q.y - radius - bin_y0_) / isd_));
  long iy1 = static_cast<long>(std::floor((q.y + radius - bin_y0_) / isd_));
  ix0 = std::max(ix0, 0L);
  iy0 = std::max(iy0, 0L);
  ix1 = std::min(ix1, bins_x_ - 1);
  iy1 = std::min(iy1, bins_y_ - 1);
  const double r2 = radius * radius;
  for (long jy = iy0; jy <= iy1; ++jy)
    for (long jx = ix0; jx <= ix1; ++jx)
      for (int s : bins_[static_cast<size_t>(bin_key(jx, jy))]) {
        Vec2 d = q - sites_[s];
        if (dot(d, d) <= r2) out.push_back(s);
      }
}

void Layout::sites_within(Vec2 p, double radius, std::vector<int>& out) const {
  out.clear();
  if (!std::isfinite(radius)) {
    for (int s = 0; s < n_sites(); ++s) out.push_back(s);
    return;
  }
  if (wraps()) {
    // A site is within the radius if one of its images is: query the bins around p shifted by
    // each image offset (slightly widened), then apply the nearest-image test itself.
    const double widened = radius * (1.0 + 1e-9) + 1e-6;
    for (const Vec2& off : images_) sites_in_bins(p - off, widened, out);
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    out.erase(std::remove_if(out.begin(), out.end(), [&](int s) { return !(norm(displacement(s, p)) <= radius); }),
              out.end());
    return;
  }
  sites_in_bins(p, radius, out);
  std::sort(out.begin(), out.end());
}

}  // namespace pyslice
