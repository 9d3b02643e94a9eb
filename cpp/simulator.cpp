#include "simulator.hpp"

#include "kernels.hpp"
#include "serialize.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>

namespace pyslice {
namespace {

void require(bool ok, const std::string& field, const std::string& range) {
  if (!ok) throw std::invalid_argument(field + " must be " + range);
}

bool finite_positive(double v) { return std::isfinite(v) && v > 0.0; }

double dbm_to_w(double dbm) { return std::pow(10.0, (dbm - 30.0) / 10.0); }

}  // namespace

void SimConfig::validate() const {
  require(!sites.empty(), "sites", "a non-empty list of [x, y] positions");
  for (const Vec2& s : sites) require(std::isfinite(s.x) && std::isfinite(s.y), "sites", "finite");
  require(finite_positive(isd), "isd_m", "> 0");
  require(wrap_vectors.empty() || wrap_vectors.size() == 2, "wrap_vectors_m", "empty or two vectors");
  require(finite_positive(propagation.fc_ghz), "carrier_ghz", "> 0");
  require(std::isfinite(propagation.h_ut) && propagation.h_ut > 1.0, "ue_height_m", "> 1");
  require(std::isfinite(propagation.h_bs) && propagation.h_bs > propagation.h_ut, "bs_height_m", "> ue_height_m");
  require(finite_positive(propagation.d_min), "min_distance_m", "> 0");
  // UEs are dropped in their sector rhombus at least d_min from the site: beyond isd / 2 that leaves
  // (almost) no room, and the rejection sampling of the drop would not end.
  require(propagation.d_min <= isd / 2.0, "min_distance_m", "<= isd_m / 2");
  require(std::isfinite(propagation.d_max) && propagation.d_max > propagation.d_min, "max_distance_m",
          "> min_distance_m");
  require(finite_positive(antenna.beamwidth_deg), "antenna_beamwidth_deg", "> 0");
  require(std::isfinite(antenna.gain_dbi) && std::isfinite(antenna.max_attenuation_db) &&
              antenna.max_attenuation_db >= 0.0,
          "antenna", "finite with max_attenuation_db >= 0");
  require(std::isfinite(tx_power_dbm), "tx_power_dbm", "finite");
  require(n_prb >= 1, "n_prb", ">= 1");
  require(finite_positive(prb_bandwidth_hz), "prb_bandwidth_hz", "> 0");
  require(std::isfinite(noise_density_dbm_hz) && std::isfinite(noise_figure_db), "noise", "finite");
  require(finite_positive(shadow_decorrelation_m), "shadow_decorrelation_m", "> 0");
  require(finite_positive(los_decorrelation_m), "los_decorrelation_m", "> 0");
  require(!std::isnan(interference_radius_m), "interference_radius_m", "> 0 or inf");
  require(std::isfinite(link_update_distance_m) && link_update_distance_m >= 0.0, "link_update_distance_m",
          ">= 0 and finite");
  const bool three_d = is_3gpp_3d(propagation.model);
  require(std::isfinite(indoor_ratio) && indoor_ratio >= 0.0 && indoor_ratio <= 1.0, "indoor_ratio", "in [0, 1]");
  require(three_d || indoor_ratio == 0.0, "indoor_ratio", "0 unless the path-loss model is a 3-D 3GPP model");
  require(three_d || !antenna.three_d, "antenna_model", "'sector' unless the path-loss model is a 3-D 3GPP model");
  require(building_floors_min >= 1 && building_floors_max >= building_floors_min && building_floors_max <= 200,
          "building_floors", "1 <= min <= max <= 200");
  require(std::isfinite(o2i_high_loss_ratio) && o2i_high_loss_ratio >= 0.0 && o2i_high_loss_ratio <= 1.0,
          "o2i_high_loss_ratio", "in [0, 1]");
  if (antenna.three_d) {
    require(finite_positive(antenna.vertical_beamwidth_deg), "antenna_vertical_beamwidth_deg", "> 0");
    require(std::isfinite(antenna.sla_v_db) && antenna.sla_v_db >= 0.0, "antenna_sla_v_db", ">= 0");
    require(antenna.elements >= 1 && antenna.elements <= 64, "antenna_elements", "in [1, 64]");
    require(finite_positive(antenna.element_spacing_wl), "antenna_element_spacing_wl", "> 0");
    require(std::isfinite(antenna.electrical_tilt_deg) && std::fabs(antenna.electrical_tilt_deg) <= 90.0,
            "antenna_electrical_tilt_deg", "in [-90, 90]");
    require(std::isfinite(antenna.mechanical_tilt_deg) && std::fabs(antenna.mechanical_tilt_deg) <= 90.0,
            "antenna_mechanical_tilt_deg", "in [-90, 90]");
  }
  require(std::isfinite(handover_hysteresis_db) && handover_hysteresis_db >= 0.0, "handover_hysteresis_db", ">= 0");
  require(handover_ttt_steps >= 1, "handover_ttt_steps", ">= 1");
  require(finite_positive(step_seconds), "step_seconds", "> 0");
  require(ues_per_group >= 0, "max_ues_per_slice", ">= 0");
  const int N = n_slices();
  require(N >= 1 && N <= kMaxSlices, "slices", "between 1 and " + std::to_string(kMaxSlices));
  require(traffic.flow_bits.size() == static_cast<size_t>(N) && mobility.size() == static_cast<size_t>(N),
          "slices", "consistent (one demand, flow size and mobility per slice)");
  for (int n = 0; n < N; ++n) {
    const std::string f = "slices[" + std::to_string(n) + "].";
    require(std::isfinite(traffic.demand_bps[n]) && traffic.demand_bps[n] >= 0.0, f + "demand_bps", ">= 0");
    require(finite_positive(traffic.flow_bits[n]), f + "flow_size_bits", "> 0");
    require(finite_positive(mobility[n].v_min), f + "speed_min_mps", "> 0");
    require(std::isfinite(mobility[n].v_max) && mobility[n].v_max >= mobility[n].v_min, f + "speed_max_mps",
            ">= speed_min_mps");
    require(std::isfinite(mobility[n].pause_s) && mobility[n].pause_s >= 0.0, f + "pause_s", ">= 0");
  }
  require(mask.base.size() == static_cast<size_t>(N), "mask", "one base/amplitude/phase per slice");
  for (double v : mask.trace) require(std::isfinite(v) && v >= 0.0 && v <= 1.0, "mask trace", "values in [0, 1]");
  require(finite_positive(mask.period_steps), "mask_period_steps", "> 0");
  // delays >= 1 ps (scenario.MIN_DELAY_S): flow sizes divided by them stay finite
  require(std::isfinite(max_delay_s) && max_delay_s >= 1e-12, "max_delay_s", ">= 1e-12 and finite");
  require(std::isfinite(buffer_s) && buffer_s > 0.0, "buffer_s", "> 0 and finite");
  const size_t KN = sites.size() * kSectors * static_cast<size_t>(N);
  require(req_throughput_bps.size() == KN && req_delay_s.size() == KN, "requirements", "[K, N] matrices");
  for (size_t i = 0; i < KN; ++i)
    require(finite_positive(req_throughput_bps[i]) && std::isfinite(req_delay_s[i]) && req_delay_s[i] >= 1e-12,
            "requirements", "throughputs > 0, delays >= 1e-12, finite");
  require(maxmin_rounds >= 1, "maxmin_rounds", ">= 1");
  require(finite_positive(tolerance), "tolerance", "> 0");
  require(max_iterations >= 1, "max_iterations", ">= 1");
}

Simulator::Simulator(SimConfig config, std::uint64_t seed)
    : cfg_((config.validate(), std::move(config))),
      layout_(cfg_.sites, cfg_.isd, cfg_.wrap_vectors),
      pathloss_(cfg_.propagation),
      mask_(cfg_.mask) {
  tx_power_w_.assign(layout_.n_cells(), dbm_to_w(cfg_.tx_power_dbm) / cfg_.n_prb);
  noise_w_ = dbm_to_w(cfg_.noise_density_dbm_hz + 10.0 * std::log10(cfg_.prb_bandwidth_hz) + cfg_.noise_figure_db);
  reset(seed);
}

void Simulator::reset(std::uint64_t seed) {
  rng_.reseed(seed);
  seed_key_ = mix64(seed ^ 0x5851f42d4c957f2dULL);
  t_ = 0;
  const int K = n_cells(), N = n_slices();
  rho_.assign(K, 0.0);
  backlog_.assign(static_cast<size_t>(K) * N, 0.0);
  tau_.assign(N, 0.0);
  mask_.reset(rng_);
  drop_ues();
  out_ = StepOutputs{};
  sinr_stale_ = false;
  world_ = nullptr;
  world_released_ = false;
  coupling_ready_ = false;
}

void Simulator::drop_ues() {
  const int K = n_cells(), N = n_slices(), G = cfg_.ues_per_group;
  const int U = K * N * G;
  pos_.resize(U);
  motion_.resize(U);
  home_.resize(U);
  slice_.resize(U);
  group_index_.resize(U);
  serving_.assign(U, 0);
  ho_candidate_.assign(U, -1);
  ho_count_.assign(U, 0);
  active_.assign(U, 0);
  demand_ue_.assign(U, 0.0);
  ue_rng_.assign(U, Rng(0));
  moved_.assign(U, 0.0);
  since_refresh_.assign(U, 0.0);
  ar_moved_.assign(U, 0.0);
  refresh_.assign(U, 1);
  ar_shadow_.assign(2 * static_cast<size_t>(U), 0.0);
  ar_los_.assign(2 * static_cast<size_t>(U), 0.0);
  for (int k = 0; k < K; ++k)
    for (int n = 0; n < N; ++n)
      for (int i = 0; i < G; ++i) {
        const int u = (k * N + n) * G + i;
        home_[u] = k;
        slice_[u] = n;
        group_index_[u] = i;
        ue_rng_[u].reseed(mix64(seed_key_ + static_cast<std::uint64_t>(u)));
        pos_[u] = layout_.sample_in_cell(k, cfg_.propagation.d_min, ue_rng_[u]);
        init_motion(motion_[u], pos_[u], cfg_.roam_home_site ? k / kSectors : -1, cfg_.mobility[n], layout_,
                    ue_rng_[u]);
      }
  draw_ue_radio();
  update_links(true);
  // Initial association: strongest cell (RSRP).
  for (int u = 0; u < U; ++u) {
    int best = -1;
    double best_gain = -1.0;
    for (int j = links_.offset[u]; j < links_.offset[u + 1]; ++j)
      if (links_.gain[j] > best_gain) {
        best_gain = links_.gain[j];
        best = links_.cell[j];
      }
    serving_[u] = best < 0 ? home_[u] : best;
  }
}

void Simulator::draw_ue_radio() {
  const int U = n_ues();
  const double h_ut = cfg_.propagation.h_ut;
  ue_height_.assign(U, h_ut);
  ue_indoor_distance_.assign(U, 0.0);
  ue_penetration_db_.assign(U, 0.0);
  ue_wall_loss_db_.assign(U, 0.0);
  ue_penetration_sigma_db_.assign(U, 0.0);
  ue_indoor_.assign(U, 0);
  if (!is_3gpp_3d(cfg_.propagation.model) || !(cfg_.indoor_ratio > 0.0)) return;
  // A stream of its own per UE (not the UE's mobility stream), keyed by the seed and the UE.
  const std::uint64_t key = mix64(seed_key_ ^ 0x1d00d5eed0f10012ULL);
  const int floors_lo = cfg_.building_floors_min, floors_span = cfg_.building_floors_max - floors_lo + 1;
  for (int u = 0; u < U; ++u) {
    Rng r(mix64(key + static_cast<std::uint64_t>(u)));
    if (!(r.uniform() < cfg_.indoor_ratio)) continue;
    const int floors = floors_lo + std::min(floors_span - 1, static_cast<int>(r.uniform() * floors_span));
    const int floor = 1 + std::min(floors - 1, static_cast<int>(r.uniform() * floors));
    const bool tr38901 = cfg_.o2i_model == O2iModel::Tr38901;
    const double d_in = tr38901 ? kIndoorDistanceMax * std::min(r.uniform(), r.uniform())
                                : kIndoorDistanceMax * r.uniform();
    const bool high_loss = tr38901 && r.uniform() < cfg_.o2i_high_loss_ratio;
    const double sigma = o2i_sigma_db(cfg_.o2i_model, high_loss);
    ue_indoor_[u] = 1;
    ue_height_[u] = h_ut + 3.0 * (floor - 1);
    ue_indoor_distance_[u] = d_in;
    ue_wall_loss_db_[u] = o2i_wall_loss_db(cfg_.o2i_model, high_loss, cfg_.propagation.fc_ghz);
    ue_penetration_sigma_db_[u] = sigma;
    ue_penetration_db_[u] = ue_wall_loss_db_[u] + kIndoorLossDbPerM * d_in + (sigma > 0.0 ? sigma * r.normal() : 0.0);
  }
}

void Simulator::compute_link_gains(size_t n, const double* z_shadow, const double* z_los, const int* link_ue,
                                   const std::uint64_t* link_key, double* distance, double* angle_deg,
                                   std::uint8_t* los, double* gain, double* best_gain, std::uint8_t* best_sector) {
  link_loss_.resize(n);
  if (!is_3gpp_3d(cfg_.propagation.model)) {
    link_gains(n, link_dx_.data(), link_dy_.data(), z_shadow, z_los, link_gain_params(), distance, angle_deg, los,
               link_loss_.data(), gain, best_gain, best_sector);
    return;
  }
  const Link3gppParams p{cfg_.propagation.model,
                         cfg_.propagation.fc_ghz,
                         cfg_.propagation.h_bs,
                         cfg_.propagation.d_min,
                         cfg_.propagation.d_max,
                         cfg_.antenna,
                         cfg_.shadowing,
                         {kBoresightDeg[0], kBoresightDeg[1], kBoresightDeg[2]},
                         cfg_.o2i_model,
                         cfg_.indoor_choices};
  const UeRadio ue{ue_height_.data(),       ue_indoor_distance_.data(), ue_penetration_db_.data(),
                   ue_indoor_.data(),       ue_wall_loss_db_.data(),    ue_penetration_sigma_db_.data()};
  link_gains_3gpp(n, link_dx_.data(), link_dy_.data(), z_shadow, z_los, link_ue, link_key, p, ue, distance, angle_deg,
                  los, link_loss_.data(), gain, best_gain, best_sector);
}

void Simulator::rebuild_link_structure(bool fresh) {
  const double radius = cfg_.interference_radius_m > 0.0 ? cfg_.interference_radius_m
                                                          : std::numeric_limits<double>::infinity();
  const TrackedLinks& old = tracked_;
  TrackedLinks& nw = tracked_next_;
  nw.offset.assign(1, 0);
  nw.site.clear();
  nw.z_shadow.clear();
  nw.z_los.clear();
  nw.distance.clear();
  nw.angle_deg.clear();
  nw.los.clear();
  gain_next_.clear();
  link_carry_.clear();
  link_ue_.clear();
  link_key_.clear();
  const int U = n_ues();
  const bool hold = cfg_.link_update_distance_m > 0.0 && !fresh;
  structure_changed_.assign(U, fresh ? 1 : 0);
  for (int u = 0; u < U; ++u) {
    layout_.sites_within(pos_[u], radius, scratch_sites_);
    int j = fresh ? 0 : old.offset[u];
    const int end = fresh ? 0 : old.offset[u + 1];
    if (static_cast<int>(scratch_sites_.size()) != end - j) structure_changed_[u] = 1;
    const std::uint64_t ue_key = mix64(seed_key_ ^ mix64(static_cast<std::uint64_t>(u) << 24));
    for (int site : scratch_sites_) {
      while (j < end && old.site[j] < site) ++j;
      const bool carry = j < end && old.site[j] == site;
      if (!carry) structure_changed_[u] = 1;
      nw.site.push_back(site);
      // A kept link keeps its processes and, with lazy evaluation, its geometry and gains until
      // the UE's links are next evaluated (in exact mode they are all re-evaluated below).
      nw.z_shadow.push_back(carry ? old.z_shadow[j] : 0.0);
      nw.z_los.push_back(carry ? old.z_los[j] : 0.0);
      if (hold) {
        nw.distance.push_back(carry ? old.distance[j] : 0.0);
        nw.angle_deg.push_back(carry ? old.angle_deg[j] : 0.0);
        nw.los.push_back(carry ? old.los[j] : 0);
        for (int s = 0; s < kSectors; ++s) gain_next_.push_back(carry ? links_.gain[kSectors * j + s] : 0.0);
      }
      link_carry_.push_back(carry ? 1 : 0);
      link_ue_.push_back(u);
      // Innovations keyed by (seed, UE, site, step): a UE's shadowing does not depend on which
      // other links are tracked (culling radius) or on the order replicas are stepped in.
      link_key_.push_back(mix64(ue_key ^ static_cast<std::uint64_t>(site)));
    }
    nw.offset.push_back(static_cast<int>(nw.site.size()));
  }
  const size_t n = nw.site.size();
  if (hold) {
    links_.gain.swap(gain_next_);
  } else {
    nw.distance.resize(n);
    nw.angle_deg.resize(n);
    nw.los.resize(n);
    links_.gain.resize(kSectors * n);
  }
  site_best_gain_.resize(n);
  site_best_sector_.resize(n);
  site_best_stale_ = true;
  links_.cell.resize(kSectors * n);
  for (size_t i = 0; i < n; ++i)
    for (int s = 0; s < kSectors; ++s) links_.cell[kSectors * i + s] = nw.site[i] * kSectors + s;
  links_.offset.resize(nw.offset.size());
  for (size_t u = 0; u < nw.offset.size(); ++u) links_.offset[u] = kSectors * nw.offset[u];
  std::swap(tracked_, tracked_next_);
  // Without culling every UE tracks every site, so the structure never changes again.
  links_static_ = !std::isfinite(radius);
  links_.full_cells = links_static_ ? n_cells() : 0;
  carry_all_ = false;
}

void Simulator::update_links(bool fresh) {
  const bool rebuilt = fresh || !links_static_;
  if (rebuilt) {
    rebuild_link_structure(fresh);
  } else if (!carry_all_) {
    link_carry_.assign(tracked_.site.size(), 1);
    carry_all_ = true;
  }
  TrackedLinks& tl = tracked_;
  const int U = n_ues();
  // Which UEs have their links evaluated this step: all of them in exact mode; with a link update
  // distance, those whose path since their last evaluation reached it (or whose tracked sites
  // changed). ar_moved_ is the path length the AR(1) processes advance over.
  const double update_distance = cfg_.link_update_distance_m;
  int n_refresh = 0;
  for (int u = 0; u < U; ++u) {
    since_refresh_[u] += moved_[u];
    const bool due = fresh || !(update_distance > 0.0) || since_refresh_[u] >= update_distance ||
                     (rebuilt && structure_changed_[u]);
    refresh_[u] = due ? 1 : 0;
    ar_moved_[u] = since_refresh_[u];
    if (due) {
      since_refresh_[u] = 0.0;
      ++n_refresh;
    }
  }
  if (n_refresh == 0) return;
  ar_coefficients(static_cast<size_t>(U), ar_moved_.data(), cfg_.shadow_decorrelation_m, ar_shadow_.data(),
                  ar_shadow_.data() + U);
  if (cfg_.los_decorrelation_m != cfg_.shadow_decorrelation_m)
    ar_coefficients(static_cast<size_t>(U), ar_moved_.data(), cfg_.los_decorrelation_m, ar_los_.data(),
                    ar_los_.data() + U);
  // Runs of consecutive UEs being evaluated are done in place (with lazy evaluation, the fast
  // slices' UEs are evaluated every step and sit in runs of a group); the links of scattered UEs
  // are gathered into compact copies first.
  const size_t n = tl.site.size();
  if (n_refresh == U) {
    evaluate_links(0, n);
    return;
  }
  constexpr int kMinRunLinks = 32;
  sel_.resize(n);
  size_t m = 0;
  for (int u = 0; u < U;) {
    if (!refresh_[u]) {
      ++u;
      continue;
    }
    int end = u;
    while (end < U && refresh_[end]) ++end;
    const int first = tl.offset[u], last = tl.offset[end];
    if (last - first >= kMinRunLinks) {
      evaluate_links(static_cast<size_t>(first), static_cast<size_t>(last - first));
    } else {
      for (int i = first; i < last; ++i) sel_[m++] = i;
    }
    u = end;
  }
  if (m > 0) evaluate_selected_links(m);
}

const double* Simulator::los_coefficients() const {
  return cfg_.los_decorrelation_m == cfg_.shadow_decorrelation_m ? ar_shadow_.data() : ar_los_.data();
}

LinkGainParams Simulator::link_gain_params() const {
  return LinkGainParams{&pathloss_,
                        cfg_.propagation.d_min,
                        cfg_.propagation.d_max,
                        cfg_.antenna.gain_dbi,
                        cfg_.antenna.beamwidth_deg,
                        cfg_.antenna.max_attenuation_db,
                        cfg_.shadowing,
                        {kBoresightDeg[0], kBoresightDeg[1], kBoresightDeg[2]}};
}

void Simulator::evaluate_links(size_t first, size_t count) {
  TrackedLinks& tl = tracked_;
  const int U = n_ues();
  const double* r_shadow = ar_shadow_.data();
  const double* r_los = los_coefficients();
  ar1_update_keyed(count, link_key_.data() + first, static_cast<std::uint64_t>(t_), link_ue_.data() + first,
                   r_shadow, r_shadow + U, r_los, r_los + U, link_carry_.data() + first, tl.z_shadow.data() + first,
                   tl.z_los.data() + first);
  link_dx_.resize(count);
  link_dy_.resize(count);
  const size_t sites_per_ue = static_cast<size_t>(layout_.n_sites());
  if (layout_.wraps()) {
    layout_.displacements(count, tl.site.data() + first, link_ue_.data() + first, pos_.data(), link_dx_.data(),
                          link_dy_.data());
  } else if (links_static_ && first % sites_per_ue == 0 && count % sites_per_ue == 0) {
    // Every UE links to every site in site order: no index lookups.
    const Vec2* pos = pos_.data();
    const Vec2* sites = layout_.sites().data();
    const size_t S = sites_per_ue, u0 = first / S, n_ue = count / S;
    double* dx = link_dx_.data();
    double* dy = link_dy_.data();
    for (size_t u = 0; u < n_ue; ++u)
      for (size_t s = 0; s < S; ++s) {
        dx[u * S + s] = pos[u0 + u].x - sites[s].x;
        dy[u * S + s] = pos[u0 + u].y - sites[s].y;
      }
  } else {
    // Plain differences, in a loop without calls or branches (SIMD lanes).
    const Vec2* pos = pos_.data();
    const Vec2* sites = layout_.sites().data();
    const int* ue = link_ue_.data() + first;
    const int* site = tl.site.data() + first;
    double* dx = link_dx_.data();
    double* dy = link_dy_.data();
    for (size_t c = 0; c < count; ++c) {
      dx[c] = pos[ue[c]].x - sites[site[c]].x;
      dy[c] = pos[ue[c]].y - sites[site[c]].y;
    }
  }
  // (pointer arithmetic, not &v[first]: at a zero count the vectors may be empty)
  compute_link_gains(count, tl.z_shadow.data() + first, tl.z_los.data() + first, link_ue_.data() + first,
                     link_key_.data() + first, tl.distance.data() + first, tl.angle_deg.data() + first,
                     tl.los.data() + first, links_.gain.data() + kSectors * first, site_best_gain_.data() + first,
                     site_best_sector_.data() + first);
}

void Simulator::evaluate_selected_links(size_t m) {
  TrackedLinks& tl = tracked_;
  const int U = n_ues();
  sel_key_.resize(m);
  sel_ue_.resize(m);
  sel_site_.resize(m);
  sel_carry_.resize(m);
  sel_zs_.resize(m);
  sel_zl_.resize(m);
  link_dx_.resize(m);
  link_dy_.resize(m);
  for (size_t c = 0; c < m; ++c) {
    const int i = sel_[c];
    sel_key_[c] = link_key_[i];
    sel_ue_[c] = link_ue_[i];
    sel_carry_[c] = link_carry_[i];
    sel_zs_[c] = tl.z_shadow[i];
    sel_zl_[c] = tl.z_los[i];
    sel_site_[c] = tl.site[i];
  }
  layout_.displacements(m, sel_site_.data(), sel_ue_.data(), pos_.data(), link_dx_.data(), link_dy_.data());
  const double* r_shadow = ar_shadow_.data();
  const double* r_los = los_coefficients();
  ar1_update_keyed(m, sel_key_.data(), static_cast<std::uint64_t>(t_), sel_ue_.data(), r_shadow, r_shadow + U, r_los,
                   r_los + U, sel_carry_.data(), sel_zs_.data(), sel_zl_.data());
  sel_distance_.resize(m);
  sel_angle_.resize(m);
  sel_los_.resize(m);
  sel_gain_.resize(kSectors * m);
  sel_best_gain_.resize(m);
  sel_best_sector_.resize(m);
  compute_link_gains(m, sel_zs_.data(), sel_zl_.data(), sel_ue_.data(), sel_key_.data(), sel_distance_.data(),
                     sel_angle_.data(), sel_los_.data(), sel_gain_.data(), sel_best_gain_.data(),
                     sel_best_sector_.data());
  for (size_t c = 0; c < m; ++c) {
    const int i = sel_[c];
    tl.z_shadow[i] = sel_zs_[c];
    tl.z_los[i] = sel_zl_[c];
    tl.distance[i] = sel_distance_[c];
    tl.angle_deg[i] = sel_angle_[c];
    tl.los[i] = sel_los_[c];
    for (int s = 0; s < kSectors; ++s) links_.gain[kSectors * static_cast<size_t>(i) + s] = sel_gain_[kSectors * c + s];
    site_best_gain_[i] = sel_best_gain_[c];
    site_best_sector_[i] = sel_best_sector_[c];
  }
}

void Simulator::handover() {
  const double hysteresis = std::pow(10.0, cfg_.handover_hysteresis_db / 10.0);
  const int U = n_ues();
  const int full = links_.full_cells;
  best_cell_.resize(U);
  best_gain_.resize(U);
  serving_gain_.resize(U);
  if (full > 0) {
    // Best of each site's 3 sectors (contiguous triples), then the best site per UE: the first
    // maximum over the UE's cells, as one scan would give, with a quarter of the strided loads.
    const int S = full / kSectors;
    if (site_best_stale_) {
      // After a rebuild, links not evaluated since hold gains from before it.
      const size_t n_links = static_cast<size_t>(U) * S;
      const double* g = links_.gain.data();
      for (size_t i = 0; i < n_links; ++i) {
        const double g0 = g[kSectors * i], g1 = g[kSectors * i + 1], g2 = g[kSectors * i + 2];
        const bool one = g1 > g0;
        const double b01 = one ? g1 : g0;
        const bool two = g2 > b01;
        site_best_gain_[i] = two ? g2 : b01;
        site_best_sector_[i] = two ? 2 : (one ? 1 : 0);
      }
      site_best_stale_ = false;
    }
    row_argmax(static_cast<size_t>(U), S, site_best_gain_.data(), best_cell_.data(), best_gain_.data());
    for (int u = 0; u < U; ++u) {
      const int site = best_cell_[u];
      best_cell_[u] = site < 0 ? -1 : site * kSectors + site_best_sector_[static_cast<size_t>(u) * S + site];
      serving_gain_[u] = links_.gain[static_cast<size_t>(u) * full + serving_[u]];
    }
  } else {
    for (int u = 0; u < U; ++u) {
      int best = -1;
      double best_gain = -1.0, serving_gain = -1.0;
      for (int j = links_.offset[u]; j < links_.offset[u + 1]; ++j) {
        const double g = links_.gain[j];
        if (g > best_gain) {
          best_gain = g;
          best = links_.cell[j];
        }
        if (links_.cell[j] == serving_[u]) serving_gain = g;
      }
      best_cell_[u] = best;
      best_gain_[u] = best_gain;
      serving_gain_[u] = serving_gain;
    }
  }
  // A3 with time-to-trigger, without branches (which cell is best flips unpredictably at cell
  // borders): a UE whose serving site was culled re-establishes on the best cell at once; a better
  // cell (by the hysteresis) must stay the candidate for handover_ttt_steps steps in a row.
  const int ttt = cfg_.handover_ttt_steps;
  for (int u = 0; u < U; ++u) {
    const int best = best_cell_[u], serving = serving_[u], candidate = ho_candidate_[u];
    const double serving_gain = serving_gain_[u];
    const bool valid = best >= 0;
    const bool lost = serving_gain < 0.0;
    const bool better = !lost & (best != serving) & (best_gain_[u] > serving_gain * hysteresis);
    const int count = candidate == best ? ho_count_[u] + 1 : 1;
    const bool switch_now = lost | (better & (count >= ttt));
    const bool wait = better & !switch_now;
    serving_[u] = valid & switch_now ? best : serving;
    ho_candidate_[u] = valid ? (wait ? best : -1) : candidate;
    ho_count_[u] = valid ? (wait ? count : 0) : ho_count_[u];
  }
}

void Simulator::update_active() {
  const int G = cfg_.ues_per_group, N = n_slices();
  int n_active[kMaxSlices];
  for (int n = 0; n < N; ++n) n_active[n] = static_cast<int>(std::lround(tau_[n] * G));
  for (int u = 0; u < n_ues(); ++u) {
    const int n = slice_[u];
    active_[u] = group_index_[u] < n_active[n] ? 1 : 0;
    demand_ue_[u] = active_[u] ? cfg_.traffic.demand_bps[n] : 0.0;
  }
}

void Simulator::check_shares(const double* shares) const {
  const int K = n_cells(), N = n_slices();
  for (int k = 0; k < K; ++k) {
    double sum = 0.0;
    for (int n = 0; n < N; ++n) {
      const double a = shares[k * N + n];
      if (!std::isfinite(a)) {
        std::ostringstream msg;
        msg << "shares[" << k << ", " << n << "] must be finite, got " << a;
        throw std::invalid_argument(msg.str());
      }
      if (a < 0.0) {
        std::ostringstream msg;
        msg << "shares[" << k << ", " << n << "] must be >= 0, got " << a;
        throw std::invalid_argument(msg.str());
      }
      sum += a;
    }
    if (std::fabs(sum - 1.0) > kShareTolerance) {
      std::ostringstream msg;
      msg << "shares row " << k << " must sum to 1 (tolerance " << kShareTolerance << "), got " << sum;
      throw std::invalid_argument(msg.str());
    }
  }
}

CouplingProblem Simulator::problem(const std::vector<double>& shares) const {
  const Simulator& w = world();
  CouplingProblem p;
  p.n_cells = n_cells();
  p.n_slices = n_slices();
  p.links = &w.links_;
  p.serving = w.serving_.data();
  p.slice_of = slice_.data();
  p.demand = w.demand_ue_.data();
  p.active = w.active_.data();
  p.tx_power_w = tx_power_w_.data();
  p.shares = shares.data();
  p.noise_w = noise_w_;
  p.prb_bandwidth_hz = cfg_.prb_bandwidth_hz;
  p.n_prb = cfg_.n_prb;
  p.tol = cfg_.tolerance;
  p.max_iter = cfg_.max_iterations;
  return p;
}

void Simulator::traffic_aware_shares(std::vector<double>& shares) const {
  const Simulator& w = world();
  const int K = n_cells(), N = n_slices();
  shares.assign(static_cast<size_t>(K) * N, 0.0);
  for (int u = 0; u < n_ues(); ++u)
    if (w.active_[u]) shares[static_cast<size_t>(w.serving_[u]) * N + slice_[u]] += cfg_.traffic.demand_bps[slice_[u]];
  for (int k = 0; k < K; ++k) {
    double total = 0.0;
    for (int n = 0; n < N; ++n) total += shares[k * N + n];
    for (int n = 0; n < N; ++n) shares[k * N + n] = total > 0.0 ? shares[k * N + n] / total : 1.0 / N;
  }
}

void Simulator::maxmin_shares(std::vector<double>& shares) {
  const int K = n_cells(), N = n_slices();
  const size_t KN = static_cast<size_t>(K) * N;
  const double mb = cfg_.n_prb * cfg_.prb_bandwidth_hz;
  traffic_aware_shares(shares);
  CouplingResult trial;
  std::vector<double> sum_se(KN), sum_inv_se(KN), n_served(KN), n_users(KN);
  const Simulator& w = world();
  for (int round = 0; round < cfg_.maxmin_rounds; ++round) {
    trial.rho = rho_;
    solver_.solve_prepared(problem(shares), trial, coupling_structure());
    std::fill(sum_se.begin(), sum_se.end(), 0.0);
    std::fill(sum_inv_se.begin(), sum_inv_se.end(), 0.0);
    std::fill(n_served.begin(), n_served.end(), 0.0);
    std::fill(n_users.begin(), n_users.end(), 0.0);
    for (int u = 0; u < n_ues(); ++u) {
      if (!w.active_[u]) continue;
      const size_t ks = static_cast<size_t>(w.serving_[u]) * N + slice_[u];
      n_users[ks] += 1.0;
      if (trial.outage[u] || !(trial.se[u] > 0.0)) continue;
      n_served[ks] += 1.0;
      sum_se[ks] += trial.se[u];
      sum_inv_se[ks] += 1.0 / trial.se[u];
    }
    for (int k = 0; k < K; ++k) {
      double sum_x = 0.0, sum_c = 0.0;
      double c[kMaxSlices];
      for (int n = 0; n < N; ++n) {
        const size_t ks = static_cast<size_t>(k) * N + n;
        c[n] = 0.0;
        if (n_served[ks] > 0.0) {
          const double mean_se = sum_se[ks] / n_served[ks];
          const double mean_inv = sum_inv_se[ks] / n_served[ks];
          c[n] = std::max(cfg_.req_throughput_bps[ks] / (mb * mean_se),
                          cfg_.traffic.flow_bits[n] * mean_inv / (mb * cfg_.req_delay_s[ks]));
        }
        sum_x += trial.x[ks];
        sum_c += c[n];
      }
      double* a = &shares[static_cast<size_t>(k) * N];
      if (sum_x >= 1.0) {
        for (int n = 0; n < N; ++n) a[n] = trial.x[k * N + n] / sum_x;
        continue;
      }
      const double s = sum_c > 0.0 ? std::min(1.0, (1.0 - sum_x) / sum_c) : 0.0;
      double used = 0.0;
      int with_users = 0;
      for (int n = 0; n < N; ++n) {
        a[n] = trial.x[k * N + n] + s * c[n];
        used += a[n];
        if (n_users[static_cast<size_t>(k) * N + n] > 0.0) ++with_users;
      }
      const double spare = std::max(0.0, 1.0 - used);
      for (int n = 0; n < N; ++n) {
        const bool gets = with_users == 0 || n_users[static_cast<size_t>(k) * N + n] > 0.0;
        if (gets) a[n] += spare / (with_users == 0 ? N : with_users);
      }
      double total = 0.0;
      for (int n = 0; n < N; ++n) total += a[n];
      for (int n = 0; n < N; ++n) a[n] /= total;
    }
  }
}

void Simulator::policy_shares(SharePolicy policy, std::vector<double>& shares) {
  const int K = n_cells(), N = n_slices();
  switch (policy) {
    case SharePolicy::Equal:
      shares.assign(static_cast<size_t>(K) * N, 1.0 / N);
      break;
    case SharePolicy::TrafficAware:
      traffic_aware_shares(shares);
      break;
    case SharePolicy::MaxMin:
      maxmin_shares(shares);
      break;
    case SharePolicy::Given:
      break;
  }
}

void Simulator::advance_mobility_and_links() {
  const double dt = cfg_.step_seconds;
  advance_motions(static_cast<size_t>(n_ues()), pos_.data(), motion_.data(), slice_.data(), cfg_.mobility.data(),
                  layout_, dt, ue_rng_.data(), moved_.data(), motion_scratch_);
  update_links(false);
}

void Simulator::step(const double* shares, SharePolicy policy) {
  if (policy == SharePolicy::Given) {
    if (shares == nullptr) throw std::invalid_argument("shares must be given for the 'given' policy");
    check_shares(shares);
  }
  step_checked(shares, policy);
}

void Simulator::step_checked(const double* shares, SharePolicy policy) {
  step_world();
  respond(shares, policy);
}

void Simulator::step_world() {
  if (world_released_) throw std::logic_error("this simulator's world was released (a shared world's follower)");
  coupling_ready_ = false;
  // (1) time and traffic mask
  ++t_;
  mask_.advance(t_, rng_, tau_.data());
  update_active();
  // (2)-(4) mobility, shadowing/LOS, gains, handover
  advance_mobility_and_links();
  handover();
}

void Simulator::adopt_world(const Simulator& leader) {
  world_ = &leader;
  t_ = leader.t_;
}

namespace {
template <class T>
void free_vector(std::vector<T>& v) {
  std::vector<T>().swap(v);
}
}  // namespace

void Simulator::release_world() {
  for (auto* v : {&motion_scratch_, &ue_height_, &ue_indoor_distance_, &ue_penetration_db_, &ue_wall_loss_db_,
                  &ue_penetration_sigma_db_, &demand_ue_, &link_dx_, &link_dy_, &link_loss_, &ar_shadow_, &ar_los_,
                  &since_refresh_, &ar_moved_, &gain_next_, &sel_zs_, &sel_zl_, &sel_distance_, &sel_angle_,
                  &sel_gain_, &sel_best_gain_, &best_gain_, &serving_gain_, &site_best_gain_, &moved_})
    free_vector(*v);
  for (auto* v : {&home_, &group_index_, &serving_, &ho_candidate_, &ho_count_, &scratch_sites_, &link_ue_, &sel_,
                  &sel_ue_, &best_cell_})
    free_vector(*v);
  for (auto* v : {&active_, &ue_indoor_, &link_carry_, &refresh_, &structure_changed_, &sel_carry_, &sel_los_,
                  &sel_best_sector_, &site_best_sector_})
    free_vector(*v);
  free_vector(pos_);
  free_vector(motion_);
  free_vector(ue_rng_);
  free_vector(link_key_);
  free_vector(sel_key_);
  tracked_ = TrackedLinks{};
  tracked_next_ = TrackedLinks{};
  links_ = LinkTable{};
  world_released_ = true;
}

void Simulator::respond(const double* shares, SharePolicy policy) {
  Simulator* self = this;
  respond_many(1, &self, &shares, &policy);
}

void Simulator::respond_many(int n, Simulator* const* sims, const double* const* shares, const SharePolicy* policies) {
  if (n <= 0) return;
  std::vector<CouplingProblem> problems;
  problems.reserve(static_cast<size_t>(n));
  std::vector<const CouplingProblem*> problem_of(static_cast<size_t>(n));
  std::vector<CouplingResult*> results(static_cast<size_t>(n));
  std::vector<LoadCouplingSolver*> solvers(static_cast<size_t>(n));
  const LoadCouplingSolver& structure = sims[0]->coupling_structure();
  for (int j = 0; j < n; ++j)
    if (&sims[j]->coupling_structure() != &structure)
      throw std::invalid_argument("respond_many: the simulators must share one world");
  for (int j = 0; j < n; ++j) {
    problems.push_back(sims[j]->begin_response(shares[j], policies[j]));
    problem_of[j] = &problems[j];
    results[j] = &sims[j]->coupling_;
    solvers[j] = &sims[j]->solver_;
  }
  // (6) load coupling, warm-started from the previous step, all replicas on one structure
  LoadCouplingSolver::solve_prepared_many(n, problem_of.data(), results.data(), solvers.data(), structure);
  for (int j = 0; j < n; ++j) sims[j]->finish_response();
}

CouplingProblem Simulator::begin_response(const double* shares, SharePolicy policy) {
  const size_t KN = static_cast<size_t>(n_cells()) * n_slices();
  if (world_ == nullptr && !coupling_ready_) prepare_coupling();
  // (5) shares
  std::vector<double>& a = out_.shares;
  if (policy == SharePolicy::Given)
    a.assign(shares, shares + KN);
  else
    policy_shares(policy, a);
  coupling_.rho = rho_;
  return problem(a);
}

void Simulator::finish_response() {
  const int K = n_cells(), N = n_slices();
  const Simulator& w = world();
  const std::vector<double>& a = out_.shares;
  rho_ = coupling_.rho;
  // (7) KPIs and backlog
  KpiInput in;
  in.n_cells = K;
  in.n_slices = N;
  in.n_ues = n_ues();
  in.serving = w.serving_.data();
  in.slice_of = slice_.data();
  in.active = w.active_.data();
  in.outage = coupling_.outage.data();
  in.se = coupling_.se.data();
  in.shares = a.data();
  in.x = coupling_.x.data();
  in.traffic = &cfg_.traffic;
  in.step_seconds = cfg_.step_seconds;
  in.max_delay_s = cfg_.max_delay_s;
  in.delay_model = cfg_.delay_model;
  in.buffer_s = cfg_.buffer_s;
  in.n_prb = cfg_.n_prb;
  in.prb_bandwidth_hz = cfg_.prb_bandwidth_hz;
  compute_slice_kpis(in, backlog_, kpi_);
  out_.throughput = kpi_.throughput;
  out_.delay = kpi_.delay;
  out_.load = kpi_.load;
  out_.demand = kpi_.demand;
  out_.served = kpi_.served;
  out_.dropped = kpi_.dropped;
  out_.users = kpi_.users;
  out_.outage = kpi_.outage;
  out_.backlog = backlog_;
  out_.cell_load = rho_;
  out_.iterations = coupling_.iterations;
  out_.mask = w.tau_;
  out_.time = t_;
  sinr_stale_ = true;  // derived on request: last()
  coupling_ready_ = false;
}

void Simulator::prepare_coupling() {
  std::vector<double> none;  // the structure does not read the shares
  solver_.prepare(problem(none));
  coupling_ready_ = true;
}

const LoadCouplingSolver& Simulator::coupling_structure() const {
  return world_ != nullptr ? world_->solver_ : solver_;
}

const StepOutputs& Simulator::last() const {
  if (sinr_stale_) {
    std::vector<double>& sinr = sinr_scratch_;
    solver_.sinr_after_solve(problem(out_.shares), rho_, sinr);
    out_.sinr_db.resize(sinr.size());
    to_db(sinr.size(), sinr.data(), out_.sinr_db.data());
    for (size_t u = 0; u < sinr.size(); ++u)
      if (!(sinr[u] > 0.0)) out_.sinr_db[u] = -std::numeric_limits<double>::infinity();
    sinr_stale_ = false;
  }
  return out_;
}

}  // namespace pyslice

namespace pyslice {
namespace {
constexpr std::uint64_t kStateMagic = 0x70797331696365ULL;  // "pyslice"
constexpr std::uint32_t kStateVersion = 4;  // 3: UeMotion padded to 64 bytes; 4: sealed (checksum)
constexpr std::uint64_t kResponseMagic = 0x70797331696372ULL;  // a follower's response state

std::uint64_t config_fingerprint(const Simulator& s) {
  std::uint64_t h = mix64(static_cast<std::uint64_t>(s.n_cells()));
  h = mix64(h ^ static_cast<std::uint64_t>(s.n_slices()));
  h = mix64(h ^ static_cast<std::uint64_t>(s.n_ues()));
  h = mix64(h ^ static_cast<std::uint64_t>(s.layout().n_sites()));
  return h;
}

void put_outputs(Writer& w, const StepOutputs& o) {
  for (const auto* v : {&o.throughput, &o.delay, &o.load, &o.demand, &o.served, &o.backlog, &o.shares,
                        &o.cell_load, &o.sinr_db, &o.mask})
    w.put_vector(*v);
  w.put_vector(o.users);
  w.put_vector(o.outage);
  w.put(o.iterations);
  w.put(o.time);
}

// Every output is empty (no step yet) or of its field's size: a state's outputs are read back
// into arrays of those shapes.
bool outputs_fit(const StepOutputs& o, size_t K, size_t N, size_t U) {
  auto fits = [](size_t n, size_t want) { return n == 0 || n == want; };
  for (const auto* v : {&o.throughput, &o.delay, &o.load, &o.demand, &o.served, &o.backlog, &o.shares})
    if (!fits(v->size(), K * N)) return false;
  return fits(o.users.size(), K * N) && fits(o.outage.size(), K * N) && fits(o.cell_load.size(), K) &&
         fits(o.sinr_db.size(), U) && fits(o.mask.size(), N);
}

StepOutputs get_outputs(Reader& r) {
  StepOutputs o;
  for (auto* v : {&o.throughput, &o.delay, &o.load, &o.demand, &o.served, &o.backlog, &o.shares, &o.cell_load,
                  &o.sinr_db, &o.mask})
    *v = r.get_vector<double>();
  o.users = r.get_vector<std::int32_t>();
  o.outage = r.get_vector<std::int32_t>();
  o.iterations = r.get<int>();
  o.time = r.get<long>();
  return o;
}
}  // namespace

std::string Simulator::get_state() const {
  Writer w;
  w.put(kStateMagic);
  w.put(kStateVersion);
  w.put(config_fingerprint(*this));
  w.put(t_);
  w.put(seed_key_);
  w.put(rng_.state());
  std::vector<Rng::State> ue_states;
  for (const Rng& r : ue_rng_) ue_states.push_back(r.state());
  w.put_vector(ue_states);
  w.put_vector(mask_.noise_state());
  w.put_vector(pos_);
  w.put_vector(motion_);
  w.put_vector(serving_);
  w.put_vector(ho_candidate_);
  w.put_vector(ho_count_);
  w.put_vector(active_);
  w.put_vector(demand_ue_);
  w.put_vector(tracked_.offset);
  w.put_vector(tracked_.site);
  w.put_vector(tracked_.z_shadow);
  w.put_vector(tracked_.z_los);
  w.put_vector(tracked_.distance);
  w.put_vector(tracked_.angle_deg);
  w.put_vector(tracked_.los);
  w.put_vector(links_.offset);
  w.put_vector(links_.cell);
  w.put_vector(links_.gain);
  w.put_vector(rho_);
  w.put_vector(backlog_);
  w.put_vector(tau_);
  w.put_vector(moved_);
  w.put_vector(since_refresh_);
  put_outputs(w, last());
  return w.sealed();
}

void Simulator::set_state(const std::string& bytes) {
  Reader r(bytes);
  if (r.get<std::uint64_t>() != kStateMagic) throw std::invalid_argument("not a pyslice simulator state");
  if (r.get<std::uint32_t>() != kStateVersion) throw std::invalid_argument("simulator state of another version");
  if (r.get<std::uint64_t>() != config_fingerprint(*this))
    throw std::invalid_argument("simulator state belongs to a scenario of another size");
  r.unseal("simulator state");
  // Read everything into temporaries first: a corrupt buffer leaves the simulator unchanged.
  const long t = r.get<long>();
  const std::uint64_t seed_key = r.get<std::uint64_t>();
  const Rng::State rng_state = r.get<Rng::State>();
  const auto ue_states = r.get_vector<Rng::State>();
  const auto noise = r.get_vector<double>();
  auto pos = r.get_vector<Vec2>();
  auto motion = r.get_vector<UeMotion>();
  auto serving = r.get_vector<int>();
  auto ho_candidate = r.get_vector<int>();
  auto ho_count = r.get_vector<int>();
  auto active = r.get_vector<std::uint8_t>();
  auto demand = r.get_vector<double>();
  TrackedLinks tracked;
  tracked.offset = r.get_vector<int>();
  tracked.site = r.get_vector<int>();
  tracked.z_shadow = r.get_vector<double>();
  tracked.z_los = r.get_vector<double>();
  tracked.distance = r.get_vector<double>();
  tracked.angle_deg = r.get_vector<double>();
  tracked.los = r.get_vector<std::uint8_t>();
  LinkTable links;
  links.offset = r.get_vector<int>();
  links.cell = r.get_vector<int>();
  links.gain = r.get_vector<double>();
  auto rho = r.get_vector<double>();
  auto backlog = r.get_vector<double>();
  auto tau = r.get_vector<double>();
  auto moved = r.get_vector<double>();
  auto since_refresh = r.get_vector<double>();
  StepOutputs out = get_outputs(r);
  const size_t U = static_cast<size_t>(n_ues()), K = static_cast<size_t>(n_cells()), N = static_cast<size_t>(n_slices());
  const bool sizes_ok = r.done() && ue_states.size() == U && noise.size() == N && pos.size() == U &&
                        motion.size() == U && serving.size() == U && ho_candidate.size() == U &&
                        ho_count.size() == U && active.size() == U && demand.size() == U &&
                        tracked.offset.size() == U + 1 && links.offset.size() == U + 1 && rho.size() == K &&
                        backlog.size() == K * N && tau.size() == N && moved.size() == U && since_refresh.size() == U &&
                        tracked.site.size() == static_cast<size_t>(tracked.offset.back()) &&
                        links.cell.size() == static_cast<size_t>(links.offset.back()) &&
                        links.gain.size() == links.cell.size() && outputs_fit(out, K, N, U);
  if (!sizes_ok) throw std::invalid_argument("simulator state is inconsistent with this scenario");
  for (int s : serving)
    if (s < 0 || static_cast<size_t>(s) >= K) throw std::invalid_argument("simulator state is corrupt (serving cell)");
  t_ = t;
  seed_key_ = seed_key;
  rng_.set_state(rng_state);
  for (size_t u = 0; u < U; ++u) ue_rng_[u].set_state(ue_states[u]);
  mask_.set_noise_state(noise);
  pos_ = std::move(pos);
  motion_ = std::move(motion);
  serving_ = std::move(serving);
  ho_candidate_ = std::move(ho_candidate);
  ho_count_ = std::move(ho_count);
  active_ = std::move(active);
  demand_ue_ = std::move(demand);
  tracked_ = std::move(tracked);
  links_static_ = false;  // link keys and UE indices are rebuilt on the next step
  links_ = std::move(links);
  rho_ = std::move(rho);
  backlog_ = std::move(backlog);
  tau_ = std::move(tau);
  moved_ = std::move(moved);
  since_refresh_ = std::move(since_refresh);
  out_ = std::move(out);
  dropped_traffic(cfg_.delay_model, out_.demand, out_.served, out_.dropped);  // derived, not stored
  sinr_stale_ = false;
  coupling_ready_ = false;
  draw_ue_radio();  // a function of the seed alone
}

std::vector<double> Simulator::ue_throughput() const {
  const size_t U = static_cast<size_t>(n_ues());
  std::vector<double> out(U, 0.0);
  const std::vector<double>& rate = kpi_.scratch_throughput;
  const std::vector<int>& group = kpi_.scratch_group;
  if (rate.size() != U || group.size() != U) return out;  // no step since construction or a restore
  for (size_t u = 0; u < U; ++u)
    if (group[u] >= 0) out[u] = rate[u];
  return out;
}

std::string Simulator::get_response_state() const {
  Writer w;
  w.put(kResponseMagic);
  w.put(kStateVersion);
  w.put(config_fingerprint(*this));
  w.put(t_);
  w.put_vector(rho_);
  w.put_vector(backlog_);
  put_outputs(w, last());
  return w.sealed();
}

void Simulator::set_response_state(const std::string& bytes) {
  Reader r(bytes);
  if (r.get<std::uint64_t>() != kResponseMagic) throw std::invalid_argument("not a shared-world follower's state");
  if (r.get<std::uint32_t>() != kStateVersion) throw std::invalid_argument("follower state of another version");
  if (r.get<std::uint64_t>() != config_fingerprint(*this))
    throw std::invalid_argument("follower state belongs to a scenario of another size");
  r.unseal("follower state");
  const long t = r.get<long>();
  auto rho = r.get_vector<double>();
  auto backlog = r.get_vector<double>();
  StepOutputs out = get_outputs(r);
  const size_t K = static_cast<size_t>(n_cells()), N = static_cast<size_t>(n_slices());
  const bool sizes_ok = r.done() && rho.size() == K && backlog.size() == K * N &&
                        outputs_fit(out, K, N, static_cast<size_t>(n_ues()));
  if (!sizes_ok) throw std::invalid_argument("follower state is inconsistent with this scenario");
  t_ = t;
  rho_ = std::move(rho);
  backlog_ = std::move(backlog);
  out_ = std::move(out);
  dropped_traffic(cfg_.delay_model, out_.demand, out_.served, out_.dropped);  // derived, not stored
  sinr_stale_ = false;
  coupling_ready_ = false;
}

}  // namespace pyslice
