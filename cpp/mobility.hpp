// UE mobility inside the network area: random waypoint and Gauss-Markov, per-slice speeds.
#pragma once
#include <vector>

#include "geometry.hpp"
#include "layout.hpp"
#include "rng.hpp"

namespace pyslice {

enum class MobilityModel { RandomWaypoint = 0, GaussMarkov = 1 };

struct MobilityParams {  // set from the configuration seam (no defaults of its own; see SimConfig)
  MobilityModel model{};
  double v_min{};
  double v_max{};
  double pause_s{};
};

// Per-UE kinematic state (one struct per UE; the simulator keeps them in a vector).
struct UeMotion {
  Vec2 target;          // random waypoint: current waypoint
  double speed = 0.0;   // m/s
  double pause_left = 0.0;
  double heading = 0.0;       // Gauss-Markov: current heading (rad)
  double mean_heading = 0.0;  // Gauss-Markov: mean heading (rad)
  int site_hint = -1;         // hexagon the UE was last seen in (speeds up area checks)
  int region = -1;            // site whose hexagon confines the UE, -1: the whole network area
  // Unused: makes the struct 8 doubles, a group the vectoriser can load on SIMD lanes
  // (advance_motions). Zero, so that states serialise to the same bytes.
  double padding = 0.0;
};
static_assert(sizeof(UeMotion) == 64, "advance_motions loads UeMotion as groups of 8 doubles");

constexpr double kGaussMarkovMemory = 0.85;

void init_motion(UeMotion& m, Vec2 pos, int region, const MobilityParams& p, const Layout& layout, Rng& rng);
// Random-waypoint destination: uniform over the network area, redrawn (up to 16 times) while the
// straight leg from `from` would cross outside the (possibly non-convex) area; else a point of the
// hexagon holding `from` (convex, so the leg stays inside).
// With region >= 0 the destination is uniform in that site's hexagon.
Vec2 pick_waypoint(Vec2 from, int region, const Layout& layout, Rng& rng);
// Moves `pos` by one step of dt seconds; returns the distance travelled.
double advance_motion(Vec2& pos, UeMotion& m, const MobilityParams& p, const Layout& layout, double dt, Rng& rng);
// advance_motion for UEs 0..n-1 (UE u with params[slice_of[u]] and rng[u]), distances travelled
// into moved[u]. A random-waypoint UE that walks on towards its waypoint inside its hexagon
// (nearly every UE in nearly every step) is moved by one pass without branches (SIMD lanes), with
// advance_motion's arithmetic; the others take advance_motion itself. `scratch` is working memory.
void advance_motions(std::size_t n, Vec2* pos, UeMotion* motion, const int* slice_of, const MobilityParams* params,
                     const Layout& layout, double dt, Rng* rng, double* moved, std::vector<double>& scratch);

}  // namespace pyslice
