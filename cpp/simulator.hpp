// The system-level simulator: one network snapshot per step (docs/model.md section 4).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernels.hpp"
#include "kpi.hpp"
#include "layout.hpp"
#include "load_coupling.hpp"
#include "mobility.hpp"
#include "link_3gpp.hpp"
#include "pathloss.hpp"
#include "pathloss_3gpp.hpp"
#include "rng.hpp"
#include "traffic.hpp"

namespace pyslice {

// The most slices a scenario may have (per-slice scratch arrays live on the stack); the scenario
// validates against the same number (exported as _core.MAX_SLICES).
constexpr int kMaxSlices = 16;
// A share row must sum to 1 within this (paper eq. 1); Python validates with the same number.
constexpr double kShareTolerance = 1e-6;

// Every field is set from the configuration seam (bind_config.cpp: each key is required), so the
// fields carry no defaults of their own (the scenario's are pyslice.sim.scenario's); zero until set,
// which validate() rejects where zero is not allowed.
struct SimConfig {
  std::vector<Vec2> sites;
  double isd{};
  std::vector<Vec2> wrap_vectors;  // empty: no wrap-around
  PropagationParams propagation;
  AntennaParams antenna;
  double tx_power_dbm{};
  int n_prb{};
  double prb_bandwidth_hz{};
  double noise_density_dbm_hz{};
  double noise_figure_db{};
  bool shadowing{};
  double shadow_decorrelation_m{};
  double los_decorrelation_m{};
  double interference_radius_m{};  // <= 0 or inf: no culling
  // > 0: a UE's links are re-evaluated only once its path since the last evaluation reaches this
  // distance (gains held in between); 0: every step (exact).
  double link_update_distance_m{};
  // UEs indoors (3-D 3GPP models only, docs/calibration.md): share, building floor counts
  // N_fl ~ U{min..max} (a UE on floor n_fl ~ U{1..N_fl} at ue height + 3 (n_fl - 1) m), penetration
  // model and, for TR 38.901, the share of high-loss buildings.
  double indoor_ratio{};
  int building_floors_min{};
  int building_floors_max{};
  O2iModel o2i_model{};
  double o2i_high_loss_ratio{};
  IndoorChoices indoor_choices;
  double handover_hysteresis_db{};
  int handover_ttt_steps{};
  double step_seconds{};
  int ues_per_group{};
  std::vector<MobilityParams> mobility;  // [N]
  SliceTraffic traffic;                  // [N]
  MaskParams mask;
  double max_delay_s{};
  DelayModel delay_model{};  // kpi.hpp
  double buffer_s{};  // the finite buffer, in seconds of the slice's service
  bool roam_home_site{};  // UEs stay in their home site's hexagon
  std::vector<double> req_throughput_bps;  // [K*N]
  std::vector<double> req_delay_s;         // [K*N]
  int maxmin_rounds{};
  double tolerance{};
  int max_iterations{};

  int n_slices() const { return static_cast<int>(traffic.demand_bps.size()); }
  // Throws std::invalid_argument naming the field on bad values.
  void validate() const;
};

enum class SharePolicy { Given = 0, Equal = 1, TrafficAware = 2, MaxMin = 3 };
// Their names, in the enum's order (exported as _core.POLICIES, which every layer reads).
inline constexpr const char* kPolicyNames[] = {"given", "equal", "traffic-aware", "max-min"};

// Everything one step reports; arrays are row-major [K*N] unless noted.
struct StepOutputs {
  std::vector<double> throughput, delay, load, demand, served, dropped, backlog, shares;
  std::vector<std::int32_t> users, outage;
  std::vector<double> cell_load;  // [K]
  std::vector<double> sinr_db;    // [U]
  std::vector<double> mask;       // [N]
  int iterations = 0;
  long time = 0;
};

// Per (UE, site) link state tracked along the UEs' paths, flat over UEs: UE u's links are
// [offset[u], offset[u+1]), sorted by site.
struct TrackedLinks {
  std::vector<int> offset{0};
  std::vector<int> site;
  std::vector<double> z_shadow, z_los;  // standard-normal shadowing / LOS processes
  std::vector<double> distance;         // 2-D distance to the (nearest image of the) site
  std::vector<double> angle_deg;        // direction site -> UE in [-180, 180]
  std::vector<std::uint8_t> los;
};

class Simulator {
 public:
  Simulator(SimConfig config, std::uint64_t seed);
  void reset(std::uint64_t seed);
  // shares: [K*N] for SharePolicy::Given (validated), ignored otherwise.
  // step() = check_shares() + step_checked(); step_checked() = step_world() + respond(): the
  // halves are public for SimulatorBatch (which checks every replica's shares before any steps).
  void step(const double* shares, SharePolicy policy);
  void step_checked(const double* shares, SharePolicy policy);
  // The shares-independent half of a step: time, traffic mask, active UEs, mobility, links and
  // handover. Nothing in it depends on the shares of any step.
  void step_world();
  // The shares-dependent half on the current world: shares (not validated here), load coupling,
  // KPIs and outputs.
  void respond(const double* shares, SharePolicy policy);
  // respond() of n simulators that share one world (a leader and its followers, each with its
  // shares[j] and policies[j]), their load couplings solved together: each gets the bits it would
  // get alone (LoadCouplingSolver::solve_prepared_many). Throws if they do not share one world.
  static void respond_many(int n, Simulator* const* sims, const double* const* shares, const SharePolicy* policies);
  // Follows the world of `leader` (a simulator of the same scenario and seed that has just run
  // step_world) in place of advancing its own: respond() then reads the leader's links, serving
  // cells, active UEs and their demand and mask (by reference, nothing is copied) and takes its
  // time. This simulator's own world is then stale, so it must keep following the same leader,
  // which must outlive it (SimulatorBatch shared_world); reset() ends the following.
  void adopt_world(const Simulator& leader);
  // Frees this simulator's own world (UE positions and motion, links, handover state and their
  // scratch): a follower of a shared world reads its leader's and never its own. Only
  // adopt_world() + respond() may follow, until reset() draws a world again; step_world() throws.
  void release_world();
  bool world_released() const { return world_released_; }
  // Builds the shares-independent structure of this step's load coupling (respond() does it when
  // needed; SimulatorBatch calls it on a shared world's leader before its followers respond, and
  // they then solve on the leader's structure, read only).
  void prepare_coupling();

  const SimConfig& config() const { return cfg_; }
  const Layout& layout() const { return layout_; }
  int n_cells() const { return layout_.n_cells(); }
  int n_slices() const { return cfg_.n_slices(); }
  int n_ues() const { return static_cast<int>(slice_.size()); }
  long time() const { return t_; }
  // The last step's outputs, complete: the per-UE SINR is derived on first request after a step
  // (the batch interfaces do not report it, so respond() leaves it to here).
  const StepOutputs& last() const;
  // The same without bringing sinr_db up to date (it may hold an earlier step's values).
  const StepOutputs& last_kpis() const { return out_; }

  // State inspection (for tests, plots and the NumPy reference).
  const std::vector<Vec2>& positions() const { return pos_; }
  const std::vector<int>& home_cell() const { return home_; }
  const std::vector<int>& slice_of() const { return slice_; }
  const std::vector<int>& serving() const { return serving_; }
  const std::vector<std::uint8_t>& active() const { return active_; }
  const TrackedLinks& tracked() const { return tracked_; }
  const LinkTable& links() const { return links_; }
  const std::vector<double>& rho() const { return rho_; }
  const std::vector<double>& backlog() const { return backlog_; }
  // Per-UE radio state of the 3-D models (heights; indoor distance and penetration loss, 0 outdoors).
  const std::vector<double>& ue_height() const { return ue_height_; }
  const std::vector<std::uint8_t>& ue_indoor() const { return ue_indoor_; }
  const std::vector<double>& ue_penetration_db() const { return ue_penetration_db_; }
  const std::vector<double>& ue_indoor_distance() const { return ue_indoor_distance_; }
  double tx_power_w() const { return tx_power_w_[0]; }
  double noise_w() const { return noise_w_; }

  // Per-UE samples of the last step: each UE's flow throughput (bit/s; 0 where it was not served,
  // inactive or in outage, and before the first step or after a restore), and the world's serving cells and activity
  // (the leader's, for a follower).
  std::vector<double> ue_throughput() const;
  const std::vector<int>& serving_now() const { return world().serving_; }
  const std::vector<std::uint8_t>& active_now() const { return world().active_; }

  // Validates a [K*N] share matrix; throws std::invalid_argument.
  void check_shares(const double* shares) const;

  // Complete dynamic state as bytes (checkpoints); set_state restores it exactly, so stepping on
  // gives the same bits as the original. Throws std::invalid_argument for a state of another
  // scenario or a corrupt buffer (the simulator is unchanged then).
  std::string get_state() const;
  void set_state(const std::string& bytes);
  // A shared-world follower's own state, what its shares decided: time, the load warm start, the
  // backlog and the last outputs (its world is the leader's, saved with the leader). After
  // set_response_state the follower must adopt_world() the restored leader before any read.
  std::string get_response_state() const;
  void set_response_state(const std::string& bytes);

 private:
  void drop_ues();
  void advance_mobility_and_links();
  // Advances the AR(1) processes and re-derives the link gains of every UE.
  void update_links(bool fresh);
  // Re-derives which sites each UE tracks (culling radius), carrying the processes of kept links.
  void rebuild_link_structure(bool fresh);
  // Advances the processes of links [first, first + count) and re-derives their gains, in place.
  void evaluate_links(size_t first, size_t count);
  // The same for the m links listed in sel_, through compact copies.
  void evaluate_selected_links(size_t m);
  LinkGainParams link_gain_params() const;
  // Draws every UE's height, indoor state and penetration loss (3-D models) from the seed alone, so
  // set_state re-derives them; outdoors at ue height without loss otherwise.
  void draw_ue_radio();
  // The link kernel of the scenario's model on link_dx_/link_dy_ (writes link_loss_ too).
  void compute_link_gains(size_t n, const double* z_shadow, const double* z_los, const int* link_ue,
                          const std::uint64_t* link_key, double* distance, double* angle_deg, std::uint8_t* los,
                          double* gain, double* best_gain, std::uint8_t* best_sector);
  // The LOS process's AR(1) coefficients ([2 U]: r, then q): the shadowing ones when the
  // decorrelation distances are equal.
  const double* los_coefficients() const;
  void handover();
  void update_active();
  void policy_shares(SharePolicy policy, std::vector<double>& shares);
  void traffic_aware_shares(std::vector<double>& shares) const;
  void maxmin_shares(std::vector<double>& shares);
  CouplingProblem problem(const std::vector<double>& shares) const;
  // respond() = begin_response() (shares, warm start; returns the coupling problem) + the solve +
  // finish_response() (KPIs, backlog, outputs).
  CouplingProblem begin_response(const double* shares, SharePolicy policy);
  void finish_response();
  // The solver holding this step's coupling structure: ours, or the leader's we follow.
  const LoadCouplingSolver& coupling_structure() const;
  // The simulator whose world respond() reads: this one, or the leader it follows.
  const Simulator& world() const { return world_ != nullptr ? *world_ : *this; }

  SimConfig cfg_;
  Layout layout_;
  const Simulator* world_ = nullptr;  // the leader followed (adopt_world), or null
  bool world_released_ = false;       // release_world() freed the own world
  PathlossCoefficients pathloss_;
  Rng rng_;                    // traffic mask
  std::vector<Rng> ue_rng_;    // per UE: drop and mobility
  std::uint64_t seed_key_ = 0;  // keys the counter-based shadowing/LOS innovations
  TrafficMask mask_;
  std::vector<double> tx_power_w_;
  double noise_w_ = 0.0;
  long t_ = 0;

  std::vector<Vec2> pos_;
  std::vector<UeMotion> motion_;
  std::vector<double> motion_scratch_;
  std::vector<int> home_, slice_, group_index_, serving_, ho_candidate_, ho_count_;
  std::vector<std::uint8_t> active_;
  std::vector<double> demand_ue_;
  std::vector<double> ue_height_, ue_indoor_distance_, ue_penetration_db_, ue_wall_loss_db_, ue_penetration_sigma_db_;
  std::vector<std::uint8_t> ue_indoor_;
  TrackedLinks tracked_, tracked_next_;
  LinkTable links_;
  std::vector<double> rho_, backlog_, tau_, moved_;
  std::vector<int> scratch_sites_;
  // Per-link scratch for the vector kernels.
  // Per tracked link: its best sector's gain and index (written with the gains by link_gains);
  // stale after the link structure is rebuilt until the handover recomputes them all.
  std::vector<double> site_best_gain_;
  std::vector<std::uint8_t> site_best_sector_;
  bool site_best_stale_ = true;
  std::vector<double> link_dx_, link_dy_, link_loss_;
  std::vector<std::uint8_t> link_carry_;
  std::vector<int> link_ue_;                // per tracked link: its UE
  std::vector<std::uint64_t> link_key_;     // per tracked link: key of its innovations
  std::vector<double> ar_shadow_, ar_los_;  // per UE: AR(1) r, then sqrt(1 - r^2) ([2 U])
  bool links_static_ = false;               // tracked sites fixed (no culling) and structure built
  bool carry_all_ = false;                  // link_carry_ is all ones
  std::vector<double> since_refresh_;       // per UE: path length since its links were evaluated
  std::vector<double> ar_moved_;            // per UE: path length the AR(1) processes advance over
  std::vector<std::uint8_t> refresh_, structure_changed_;  // per UE, this step
  std::vector<double> gain_next_;           // rebuild scratch
  // Compact copies of the links evaluated in a step where some UEs hold theirs.
  std::vector<int> sel_, sel_ue_, sel_site_;
  std::vector<std::uint64_t> sel_key_;
  std::vector<std::uint8_t> sel_carry_, sel_los_;
  std::vector<double> sel_zs_, sel_zl_, sel_distance_, sel_angle_, sel_gain_, sel_best_gain_;
  std::vector<std::uint8_t> sel_best_sector_;
  std::vector<int> best_cell_;              // per UE: strongest cell this step (handover)
  std::vector<double> best_gain_, serving_gain_;
  // The per-UE SINR of the last step is derived lazily by last() (a const cache fill): the solver
  // still holds that step's structure until the next step.
  mutable std::vector<double> sinr_scratch_;  // per UE: linear SINR of the last step
  mutable bool sinr_stale_ = false;           // out_.sinr_db lags the last step

  mutable LoadCouplingSolver solver_;
  bool coupling_ready_ = false;  // solver_ holds this step's structure (prepare_coupling)
  CouplingResult coupling_;
  mutable StepOutputs out_;
  KpiOutput kpi_;
};

}  // namespace pyslice
