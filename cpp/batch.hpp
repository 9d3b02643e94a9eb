// Many independent simulator replicas stepped in one call on C++ threads.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "simulator.hpp"
#include "worker_pool.hpp"

namespace pyslice {

class SimulatorBatch {
 public:
  // shared_world: every replica runs the same seed and only the shares differ, so the world half
  // of a step (Simulator::step_world) runs once, in replica 0, and the others adopt it. Results are
  // bit-identical to independent replicas; the followers' own world state goes stale, so their
  // states cannot be read or saved.
  SimulatorBatch(const SimConfig& config, const std::vector<std::uint64_t>& seeds, int threads,
                 bool shared_world = false);
  bool shared_world() const { return shared_world_; }
  int size() const { return static_cast<int>(replicas_.size()); }
  int threads() const { return threads_; }
  Simulator& replica(int r) { return *replicas_[r]; }
  void reset(const std::vector<std::uint64_t>& seeds);
  // shares: [R*K*N] for SharePolicy::Given, else nullptr. All replicas' shares are validated
  // before any replica steps, so a bad input leaves every replica unchanged.
  void step(const double* shares, SharePolicy policy);
  // One policy per replica ([R]); shares [R*K*N] must be given if any replica's policy is Given
  // (the rows of the other replicas are ignored).
  void step(const double* shares, const std::vector<SharePolicy>& policies);
  // Every replica's state: its complete state, or, for a shared world's followers, what their
  // shares decided (Simulator::get_response_state) after the leader's complete state. set_state
  // checks all of them before any replica changes.
  std::vector<std::string> get_state() const;
  void set_state(const std::vector<std::string>& states);

 private:
  void release_follower(size_t r);
  void trim_heap() const;
  std::vector<std::unique_ptr<Simulator>> replicas_;
  int threads_;
  bool shared_world_ = false;
  std::unique_ptr<WorkerPool> pool_;  // threads_ - 1 workers, started once
};

}  // namespace pyslice
