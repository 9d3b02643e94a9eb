#include "batch.hpp"

#include <algorithm>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <exception>
#include <stdexcept>
#include <string>

namespace pyslice {

namespace {
void check_shared_seeds(const std::vector<std::uint64_t>& seeds) {
  for (std::uint64_t s : seeds)
    if (s != seeds[0]) throw std::invalid_argument("a shared-world batch needs the same seed for every replica");
}
}  // namespace

SimulatorBatch::SimulatorBatch(const SimConfig& config, const std::vector<std::uint64_t>& seeds, int threads,
                               bool shared_world)
    : threads_(threads), shared_world_(shared_world) {
  if (seeds.empty()) throw std::invalid_argument("seeds must hold at least one seed");
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  if (shared_world) check_shared_seeds(seeds);
  for (std::uint64_t s : seeds) {
    replicas_.push_back(std::make_unique<Simulator>(config, s));
    release_follower(replicas_.size() - 1);  // at once: the next follower reuses its memory
  }
  trim_heap();
  pool_ = std::make_unique<WorkerPool>(std::min(threads, size()));
}

void SimulatorBatch::release_follower(size_t r) {
  // a shared world's followers read replica 0's world: theirs would only take memory
  if (shared_world_ && r > 0) replicas_[r]->release_world();
}

void SimulatorBatch::trim_heap() const {
#if defined(__GLIBC__)
  if (shared_world_ && replicas_.size() > 1) malloc_trim(0);  // glibc keeps freed heap memory: hand it back
#endif
}

void SimulatorBatch::reset(const std::vector<std::uint64_t>& seeds) {
  if (seeds.size() != replicas_.size())
    throw std::invalid_argument("seeds must hold one seed per replica (" + std::to_string(replicas_.size()) + ")");
  if (shared_world_) check_shared_seeds(seeds);
  for (size_t r = 0; r < replicas_.size(); ++r) {
    replicas_[r]->reset(seeds[r]);
    release_follower(r);
  }
  trim_heap();
}

void SimulatorBatch::step(const double* shares, SharePolicy policy) {
  step(shares, std::vector<SharePolicy>(replicas_.size(), policy));
}

void SimulatorBatch::step(const double* shares, const std::vector<SharePolicy>& policies) {
  const int R = size();
  if (policies.size() != replicas_.size())
    throw std::invalid_argument("policies must hold one policy per replica (" + std::to_string(R) + ")");
  const size_t stride = static_cast<size_t>(replicas_[0]->n_cells()) * replicas_[0]->n_slices();
  for (int r = 0; r < R; ++r) {
    if (policies[r] != SharePolicy::Given) continue;
    if (shares == nullptr) throw std::invalid_argument("shares must be given for the 'given' policy");
    try {
      replicas_[r]->check_shares(shares + r * stride);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("replica " + std::to_string(r) + ": " + e.what());
    }
  }
  auto own = [&](int r) { return policies[r] == SharePolicy::Given ? shares + r * stride : nullptr; };
  if (shared_world_) {
    // one world for all; each replica then responds to its own shares on it (the leader's world
    // is only read while the replicas respond)
    replicas_[0]->step_world();
    replicas_[0]->prepare_coupling();
    // Each thread takes a contiguous run of replicas and solves their load couplings together
    // (every interferer block streamed once for the run); a replica's bits do not depend on the run.
    const int runs = std::min(threads_, R);
    pool_->parallel_for(runs, [&](int run) {
      const int first = static_cast<int>(static_cast<long>(R) * run / runs);
      const int last = static_cast<int>(static_cast<long>(R) * (run + 1) / runs);
      std::vector<Simulator*> sims;
      std::vector<const double*> given;
      for (int r = first; r < last; ++r) {
        if (r > 0) replicas_[r]->adopt_world(*replicas_[0]);
        sims.push_back(replicas_[r].get());
        given.push_back(own(r));
      }
      Simulator::respond_many(last - first, sims.data(), given.data(), policies.data() + first);
    });
    return;
  }
  // Replicas are independent and each is stepped whole by one thread: the results do not depend
  // on the thread count or on which thread took which replica. (The shares were checked above.)
  pool_->parallel_for(R, [&](int r) { replicas_[r]->step_checked(own(r), policies[r]); });
}

std::vector<std::string> SimulatorBatch::get_state() const {
  std::vector<std::string> out;
  for (size_t r = 0; r < replicas_.size(); ++r)
    out.push_back(shared_world_ && r > 0 ? replicas_[r]->get_response_state() : replicas_[r]->get_state());
  return out;
}

void SimulatorBatch::set_state(const std::vector<std::string>& states) {
  if (states.size() != replicas_.size())
    throw std::invalid_argument("set_state needs one state per replica (" + std::to_string(replicas_.size()) + ")");
  {
    // Check every state on a scratch simulator first, so a bad one changes nothing.
    Simulator scratch(replicas_[0]->config(), 0);
    long leader_time = 0;
    for (size_t r = 0; r < states.size(); ++r) {
      try {
        if (shared_world_ && r > 0) {
          scratch.set_response_state(states[r]);
          if (scratch.time() != leader_time)  // a follower responds to the leader's world of its own time
            throw std::invalid_argument("follower state of time " + std::to_string(scratch.time()) +
                                        ", the leader's is " + std::to_string(leader_time));
        } else {
          scratch.set_state(states[r]);
          leader_time = scratch.time();
        }
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("replica " + std::to_string(r) + ": " + e.what());
      }
    }
  }
  for (size_t r = 0; r < replicas_.size(); ++r) {
    if (shared_world_ && r > 0) {
      replicas_[r]->set_response_state(states[r]);
      replicas_[r]->adopt_world(*replicas_[0]);  // the restored leader's world, as after a step
    } else {
      replicas_[r]->set_state(states[r]);
    }
  }
  trim_heap();
}

}  // namespace pyslice
