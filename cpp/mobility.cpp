#include "mobility.hpp"

#include <algorithm>
#include <cmath>

namespace pyslice {

Vec2 pick_waypoint(Vec2 from, int region, const Layout& layout, Rng& rng) {
  if (region >= 0) return layout.sample_in_site(region, rng);
  for (int attempt = 0; attempt < 16; ++attempt) {
    const Vec2 target = layout.sample_in_area(rng);
    if (layout.segment_inside(from, target)) return target;
  }
  const int site = layout.hexagon_of(from);
  return site >= 0 ? layout.sample_in_site(site, rng) : layout.sample_in_area(rng);
}

void init_motion(UeMotion& m, Vec2 pos, int region, const MobilityParams& p, const Layout& layout, Rng& rng) {
  m.speed = rng.uniform(p.v_min, p.v_max);
  m.pause_left = 0.0;
  m.region = region;
  if (p.model == MobilityModel::RandomWaypoint) {
    m.target = pick_waypoint(pos, region, layout, rng);
  } else {
    m.heading = rng.uniform(-kPi, kPi);
    m.mean_heading = m.heading;
  }
}

namespace {

double advance_waypoint(Vec2& pos, UeMotion& m, const MobilityParams& p, const Layout& layout, double dt, Rng& rng) {
  double time_left = dt, travelled = 0.0;
  // Bounded loop: each pass either ends the step or reaches a waypoint / finishes a pause.
  for (int guard = 0; guard < 64 && time_left > 0.0; ++guard) {
    if (m.pause_left > 0.0) {
      const double wait = std::min(m.pause_left, time_left);
      m.pause_left -= wait;
      time_left -= wait;
      continue;
    }
    const Vec2 to_target = m.target - pos;
    const double dist = norm(to_target);
    const double reach = m.speed * time_left;
    if (reach < dist) {
      const Vec2 next = pos + (reach / dist) * to_target;
      const int next_site = layout.hexagon_of(next, m.site_hint);
      if (next_site < 0) {
        // The leg grazes a notch of the area: turn towards a point of the current hexagon.
        const int site = layout.hexagon_of(pos, m.site_hint);
        m.target = site >= 0 ? layout.sample_in_site(site, rng) : layout.sample_in_area(rng);
        continue;
      }
      pos = next;
      m.site_hint = next_site;
      travelled += reach;
      break;
    }
    pos = m.target;
    travelled += dist;
    time_left -= dist / m.speed;
    m.pause_left = p.pause_s;
    m.target = pick_waypoint(pos, m.region, layout, rng);
    m.speed = rng.uniform(p.v_min, p.v_max);
  }
  return travelled;
}

double advance_gauss_markov(Vec2& pos, UeMotion& m, const MobilityParams& p, const Layout& layout, double dt,
                            Rng& rng) {
  const double a = kGaussMarkovMemory;
  const double s = std::sqrt(1.0 - a * a);
  const double mean_speed = 0.5 * (p.v_min + p.v_max);
  const double speed_std = 0.25 * (p.v_max - p.v_min);
  m.speed = a * m.speed + (1.0 - a) * mean_speed + s * speed_std * rng.normal();
  m.speed = std::min(std::max(m.speed, p.v_min), p.v_max);
  m.heading = a * m.heading + (1.0 - a) * m.mean_heading + s * (kPi / 4.0) * rng.normal();
  const double step = m.speed * dt;
  const Vec2 next{pos.x + step * std::cos(m.heading), pos.y + step * std::sin(m.heading)};
  const int next_site = layout.hexagon_of(next, m.site_hint);
  if (next_site < 0 || (m.region >= 0 && next_site != m.region)) {
    // Refuse the move and turn around: the UE stays inside the network area.
    m.heading += kPi;
    m.mean_heading += kPi;
    return 0.0;
  }
  pos = next;
  m.site_hint = next_site;
  return step;
}

}  // namespace

double advance_motion(Vec2& pos, UeMotion& m, const MobilityParams& p, const Layout& layout, double dt, Rng& rng) {
  if (p.model == MobilityModel::RandomWaypoint) return advance_waypoint(pos, m, p, layout, dt, rng);
  return advance_gauss_markov(pos, m, p, layout, dt, rng);
}

namespace {

// The first leg of advance_waypoint for every UE: a UE that is not pausing, does not reach its
// waypoint and stays in its hint's hexagon gets its next position and walks_on[u] = the distance
// walked (its whole step); the others get -1. No branches, no masked loads (the hint is clamped,
// not selected), so the loop runs on SIMD lanes.
void walk_on_pass(std::size_t n, const Vec2* __restrict pos, const UeMotion* __restrict motion,
                  const int* __restrict slice_of, const MobilityParams* __restrict params, const Vec2* __restrict sites,
                  int n_sites, double half_width, double dt, double* __restrict next_x, double* __restrict next_y,
                  double* __restrict walks_on) {
  for (std::size_t u = 0; u < n; ++u) {
    const UeMotion& m = motion[u];
    const double px = pos[u].x, py = pos[u].y;
    const double tx = m.target.x - px, ty = m.target.y - py;
    const double dist = std::sqrt(tx * tx + ty * ty);
    const double reach = m.speed * dt;
    const double f = reach / dist;
    const double nx = px + f * tx, ny = py + f * ty;
    const int hint = m.site_hint;
    const bool hint_ok = (hint >= 0) & (hint < n_sites);
    const int h = std::min(std::max(hint, 0), n_sites - 1);
    const bool walking = (params[slice_of[u]].model == MobilityModel::RandomWaypoint) & !(m.pause_left > 0.0);
    const bool inside = in_centered_hexagon(Vec2{nx - sites[h].x, ny - sites[h].y}, half_width);
    next_x[u] = nx;
    next_y[u] = ny;
    walks_on[u] = (walking & (reach < dist) & hint_ok & inside) ? reach : -1.0;
  }
}

}  // namespace

void advance_motions(std::size_t n, Vec2* pos, UeMotion* motion, const int* slice_of, const MobilityParams* params,
                     const Layout& layout, double dt, Rng* rng, double* moved, std::vector<double>& scratch) {
  scratch.resize(3 * n);
  double* next_x = scratch.data();
  double* next_y = next_x + n;
  double* walks_on = next_y + n;
  walk_on_pass(n, pos, motion, slice_of, params, layout.sites().data(), layout.n_sites(), layout.hexagon_half_width(),
               dt, next_x, next_y, walks_on);
  for (std::size_t u = 0; u < n; ++u) {
    if (walks_on[u] >= 0.0) {
      pos[u] = Vec2{next_x[u], next_y[u]};
      moved[u] = walks_on[u];
    } else {
      moved[u] = advance_motion(pos[u], motion[u], params[slice_of[u]], layout, dt, rng[u]);
    }
  }
}

}  // namespace pyslice
