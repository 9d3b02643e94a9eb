#include "worker_pool.hpp"

#include <chrono>
#include <new>

#include <unistd.h>

namespace pyslice {
namespace {
// How long an idle worker polls for the next job before sleeping: back-to-back calls (a training
// loop stepping a batch) then start without a futex wake-up, which costs tens of microseconds.
constexpr std::chrono::microseconds kSpin{200};
}  // namespace

WorkerPool::WorkerPool(int threads) : owner_(getpid()) { start_workers(threads); }

void WorkerPool::start_workers(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

void WorkerPool::restart_after_fork() {
  const int threads = this->threads();
  // The thread objects name threads of the parent: leak them (destroying or joining them is not
  // possible), and rebuild the primitives a parent thread may have held at the fork.
  new std::vector<std::thread>(std::move(workers_));
  workers_.clear();
  new (&mutex_) std::mutex();
  new (&start_) std::condition_variable();
  new (&done_) std::condition_variable();
  generation_.store(0);
  busy_ = 0;
  stop_ = false;
  owner_ = getpid();
  start_workers(threads);
}

WorkerPool::~WorkerPool() {
  if (getpid() != owner_) {
    new std::vector<std::thread>(std::move(workers_));  // a forked child's copy: nothing to stop
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void WorkerPool::run_share(int thread) {
  // Static contiguous shares: thread t takes items [n t / T, n (t + 1) / T).
  const int T = threads();
  const int first = static_cast<int>(static_cast<long>(n_items_) * thread / T);
  const int last = static_cast<int>(static_cast<long>(n_items_) * (thread + 1) / T);
  for (int i = first; i < last; ++i) {
    try {
      (*task_)(i);
    } catch (...) {
      errors_[i] = std::current_exception();
    }
  }
}

void WorkerPool::worker_loop(int thread) {
  long seen = 0;
  for (;;) {
    const auto spin_until = std::chrono::steady_clock::now() + kSpin;
    while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < spin_until) {
    }
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_.wait(lock, [&] { return generation_.load() != seen; });
      if (stop_) return;
      seen = generation_.load();
    }
    run_share(thread);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--busy_ == 0) done_.notify_one();
    }
  }
}

void WorkerPool::parallel_for(int n, const std::function<void(int)>& task) {
  if (getpid() != owner_) restart_after_fork();
  errors_.assign(n, nullptr);
  task_ = &task;
  n_items_ = n;
  if (workers_.empty() || n <= 1) {
    for (int i = 0; i < n; ++i) {
      try {
        task(i);
      } catch (...) {
        errors_[i] = std::current_exception();
      }
    }
  } else {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      busy_ = static_cast<int>(workers_.size());
      generation_.fetch_add(1, std::memory_order_release);
    }
    start_.notify_all();
    run_share(0);
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
  }
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

}  // namespace pyslice
