#include "worker_pool.hpp"

namespace pyslice {

WorkerPool::WorkerPool(int threads) {
  for (int t = 1; t < threads; ++t) workers_.emplace_back([this] { worker_loop(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  start_.notify_all();
  for (auto& w : workers_) w.join();
}

void WorkerPool::drain() {
  for (int i = next_.fetch_add(1); i < n_items_; i = next_.fetch_add(1)) {
    try {
      (*task_)(i);
    } catch (...) {
      errors_[i] = std::current_exception();
    }
  }
}

void WorkerPool::worker_loop() {
  long seen = 0;
  std::unique_lock<std::mutex> lock(mutex_);
  for (;;) {
    start_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    lock.unlock();
    drain();
    lock.lock();
    if (--busy_ == 0) done_.notify_one();
  }
}

void WorkerPool::parallel_for(int n, const std::function<void(int)>& task) {
  errors_.assign(n, nullptr);
  if (workers_.empty() || n <= 1) {
    task_ = &task;
    n_items_ = n;
    next_.store(0);
    drain();
  } else {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      n_items_ = n;
      next_.store(0);
      busy_ = static_cast<int>(workers_.size());
      ++generation_;
    }
    start_.notify_all();
    drain();
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
  }
  for (auto& e : errors_)
    if (e) std::rethrow_exception(e);
}

}  // namespace pyslice
