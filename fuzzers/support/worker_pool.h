// WorkerPool: the trace's extra threads. The fuzzer thread hands one op at a time to a worker and waits for it,
// so a trace runs the same way every time while frees on a worker are remote frees for the allocator. The pool is
// created on first use and never destroyed: its threads outlive every input and are never joined.
#ifndef SCALLOC_FUZZERS_SUPPORT_WORKER_POOL_H_
#define SCALLOC_FUZZERS_SUPPORT_WORKER_POOL_H_

#include <condition_variable>
#include <mutex>
#include <thread>

#include "fuzzers/support/op_stream.h"

namespace scalloc::fuzzing {

class WorkerPool {
 public:
  static WorkerPool& Instance() {
    // Leaked on purpose: destroying a pool with threads still waiting would terminate the process at exit.
    static WorkerPool* pool = new WorkerPool();
    return *pool;
  }

  // Runs fn() on thread `thread` (0: the calling thread) and returns when it has finished.
  template <class Fn>
  void RunOn(unsigned thread, Fn&& fn) {
    if (thread == 0) {
      fn();
      return;
    }
    Worker& worker = workers_[(thread - 1) % kNumWorkers];
    std::unique_lock<std::mutex> lock(worker.mutex);
    worker.task = [](void* arg) { (*static_cast<Fn*>(arg))(); };
    worker.arg = &fn;
    worker.done = false;
    worker.wake.notify_all();
    worker.wake.wait(lock, [&worker] { return worker.done; });
  }

 private:
  static constexpr unsigned kNumWorkers = kNumThreads - 1;

  struct Worker {
    std::mutex mutex;
    std::condition_variable wake;
    void (*task)(void*) = nullptr;
    void* arg = nullptr;
    bool done = false;
  };

  WorkerPool() {
    for (Worker& worker : workers_) std::thread(&WorkerPool::Loop, &worker).detach();
  }

  static void Loop(Worker* worker) {
    std::unique_lock<std::mutex> lock(worker->mutex);
    for (;;) {
      worker->wake.wait(lock, [worker] { return worker->task != nullptr; });
      void (*task)(void*) = worker->task;
      void* arg = worker->arg;
      // The caller waits with the lock released; running under it is fine because only this thread and the
      // one waiting caller ever touch this worker.
      task(arg);
      worker->task = nullptr;
      worker->done = true;
      worker->wake.notify_all();
    }
  }

  Worker workers_[kNumWorkers];
};

}  // namespace scalloc::fuzzing

#endif  // SCALLOC_FUZZERS_SUPPORT_WORKER_POOL_H_
