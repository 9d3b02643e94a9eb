#include "batch.hpp"

#include <algorithm>
#include <exception>
#include <stdexcept>
#include <string>

namespace pyslice {

SimulatorBatch::SimulatorBatch(const SimConfig& config, const std::vector<std::uint64_t>& seeds, int threads)
    : threads_(threads) {
  if (seeds.empty()) throw std::invalid_argument("seeds must hold at least one seed");
  if (threads < 1) throw std::invalid_argument("threads must be >= 1");
  for (std::uint64_t s : seeds) replicas_.push_back(std::make_unique<Simulator>(config, s));
  pool_ = std::make_unique<WorkerPool>(std::min(threads, size()));
}

void SimulatorBatch::reset(const std::vector<std::uint64_t>& seeds) {
  if (seeds.size() != replicas_.size())
    throw std::invalid_argument("seeds must hold one seed per replica (" + std::to_string(replicas_.size()) + ")");
  for (size_t r = 0; r < replicas_.size(); ++r) replicas_[r]->reset(seeds[r]);
}

void SimulatorBatch::step(const double* shares, SharePolicy policy) {
  const int R = size();
  const size_t stride = static_cast<size_t>(replicas_[0]->n_cells()) * replicas_[0]->n_slices();
  if (policy == SharePolicy::Given) {
    if (shares == nullptr) throw std::invalid_argument("shares must be given for the 'given' policy");
    for (int r = 0; r < R; ++r) {
      try {
        replicas_[r]->check_shares(shares + r * stride);
      } catch (const std::invalid_argument& e) {
        throw std::invalid_argument("replica " + std::to_string(r) + ": " + e.what());
      }
    }
  }
  // Replicas are independent and each is stepped whole by one thread: the results do not depend
  // on the thread count or on which thread took which replica.
  pool_->parallel_for(R, [&](int r) { replicas_[r]->step(shares ? shares + r * stride : nullptr, policy); });
}

}  // namespace pyslice
