// A fixed set of worker threads that run one parallel-for at a time; the calling thread joins in.
// Threads are started once and poll briefly between jobs, so a call costs neither a thread spawn
// nor (for back-to-back calls) a wake-up, each tens of microseconds here, a sizeable part of a
// simulator step.
#pragma once
#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <sys/types.h>

namespace pyslice {

class WorkerPool {
 public:
  // `threads` counts the caller: threads - 1 workers are started.
  explicit WorkerPool(int threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int threads() const { return static_cast<int>(workers_.size()) + 1; }
  // Runs task(i) for i in [0, n), each thread (the caller included) on a contiguous share.
  // Returns after all have finished; rethrows the exception of the lowest failing i, if any.
  void parallel_for(int n, const std::function<void(int)>& task);

 private:
  void start_workers(int threads);
  void worker_loop(int thread);
  void run_share(int thread);
  // After fork() the child has none of the workers: forget them and start new ones.
  void restart_after_fork();

  pid_t owner_;  // process that started the workers
  std::vector<std::thread> workers_;
  std::mutex mutex_;
  std::condition_variable start_, done_;
  std::atomic<long> generation_{0};  // bumped per job (and at shutdown)
  int busy_ = 0;
  bool stop_ = false;
  // The current job.
  const std::function<void(int)>* task_ = nullptr;
  int n_items_ = 0;
  std::vector<std::exception_ptr> errors_;
};

}  // namespace pyslice
