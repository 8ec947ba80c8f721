// fork() in a multithreaded process: other threads are inside the allocator at any moment, so the child must
// not inherit a held lock or a half-updated structure. Each child allocates heavily and must exit cleanly.

#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/stress/stress_util.h"

namespace scalloc {
namespace stress {
namespace {

// Child exit codes; anything else (or a signal) is also a failure.
enum ChildStatus : int {
  kChildOk = 0,
  kChildMallocFailed = 2,
  kChildCorruptBlock = 3,
  kChildContainerMismatch = 4,
  kChildThreadFailed = 5,
  kChildGrandchildFailed = 6,
};

// Where worker threads leave blocks for each other (and for forked children) to free.
constexpr int kSlots = 64;
std::atomic<void*> g_slots[kSlots];

// Work a freshly forked child does with the allocator it inherited.
int ChildWork(int depth) {
  // A deadlock (a lock held by a thread that does not exist in the child) must fail the test, not hang it.
  alarm(20);
  Rng rng(static_cast<uint64_t>(getpid()));
  std::vector<void*> blocks;
  std::vector<size_t> sizes;
  for (int i = 0; i < 2000; ++i) {
    const size_t size = MixedSize(rng);
    void* p = malloc(size);
    if (p == nullptr) return kChildMallocFailed;
    FillBlock(p, size, static_cast<uint64_t>(i));
    blocks.push_back(p);
    sizes.push_back(size);
  }
  for (size_t i = 0; i < blocks.size(); ++i) {
    if (!CheckBlock(blocks[i], sizes[i], i)) return kChildCorruptBlock;
    free(blocks[i]);
  }
  // Blocks allocated by parent threads that do not exist here.
  for (std::atomic<void*>& slot : g_slots) free(slot.exchange(nullptr));
  // Enough blocks of every small class to drain the child's spans and take over the spans the vanished
  // threads were using when the fork happened (each must be consistent, whatever that thread was doing).
  std::vector<void*> small_blocks;
  small_blocks.reserve(24000);
  for (int i = 0; i < 24000; ++i) {
    const size_t size = 16 + 8 * static_cast<size_t>(i % 62);
    auto* p = static_cast<uint64_t*>(malloc(size));
    if (p == nullptr) return kChildMallocFailed;
    p[0] = static_cast<uint64_t>(i);
    p[size / 8 - 1] = static_cast<uint64_t>(i);
    small_blocks.push_back(p);
  }
  for (size_t i = 0; i < small_blocks.size(); ++i) {
    const auto* p = static_cast<const uint64_t*>(small_blocks[i]);
    const size_t size = 16 + 8 * (i % 62);
    if (p[0] != i || p[size / 8 - 1] != i) return kChildCorruptBlock;  // one block handed out twice
  }
  for (void* p : small_blocks) free(p);

  std::vector<std::string> strings;
  std::map<int, std::string> map;
  std::string joined;
  for (int i = 0; i < 3000; ++i) {
    strings.push_back(std::to_string(i * 7919));
    map[i % 500] += "ab";
    if (i % 10 == 0) joined += strings.back();
  }
  size_t total = 0;
  for (const auto& [key, value] : map) total += value.size();
  if (total != 6000 || strings[2999] != std::to_string(2999 * 7919) || joined.empty()) {
    return kChildContainerMismatch;
  }

  // Threads created in the child get working per-thread state.
  std::atomic<int> thread_result{-1};
  std::thread thread([&thread_result] {
    std::vector<std::string> local;
    for (int i = 0; i < 1000; ++i) local.emplace_back(static_cast<size_t>(i % 100 + 1), 'z');
    void* big = malloc(3 * kMiB);
    thread_result = big != nullptr && local.size() == 1000 ? 0 : 1;
    free(big);
  });
  thread.join();
  if (thread_result != 0) return kChildThreadFailed;

  if (depth > 0) {
    const pid_t grandchild = fork();
    if (grandchild == 0) _exit(ChildWork(depth - 1));
    int status = 0;
    if (grandchild < 0 || waitpid(grandchild, &status, 0) != grandchild || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      return kChildGrandchildFailed;
    }
  }
  return kChildOk;
}

// Allocates, frees and trades blocks through the slots until told to stop. Mostly small blocks with little
// work in between, so at any fork some worker is likely to be inside malloc or free.
void Worker(int index, const std::atomic<bool>* stop) {
  Rng rng(static_cast<uint64_t>(index) + 100);
  std::vector<void*> batch;
  batch.reserve(32);
  while (!stop->load(std::memory_order_relaxed)) {
    for (int i = 0; i < 32; ++i) {
      const size_t size = rng.Below(16) == 0 ? MixedSize(rng) : 16 + 8 * rng.Below(62);
      void* p = malloc(size);
      if (p == nullptr) abort();
      static_cast<uint64_t*>(p)[0] = size;
      batch.push_back(p);
    }
    for (void* p : batch) {
      if (rng.Below(4) == 0) p = g_slots[rng.Below(kSlots)].exchange(p);
      free(p);
    }
    batch.clear();
  }
}

std::string DescribeStatus(int status) {
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + (WTERMSIG(status) == SIGALRM ? " (hung)" : "");
  }
  return "status " + std::to_string(status);
}

// Forks `count` children from the calling thread and returns how many did not exit cleanly.
int ForkChildren(int count, int depth) {
  int failures = 0;
  for (int i = 0; i < count; ++i) {
    const pid_t pid = fork();
    if (pid == 0) _exit(ChildWork(depth));
    if (pid < 0) {
      ADD_FAILURE() << "fork failed";
      return failures + 1;
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) {
      ADD_FAILURE() << "waitpid failed";
      return failures + 1;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      ++failures;
      ADD_FAILURE() << "child " << i << " failed: " << DescribeStatus(status);
    }
  }
  return failures;
}

class ForkTest : public ::testing::Test {
 protected:
  void StartWorkers(int count) {
    for (int i = 0; i < count; ++i) workers_.emplace_back(Worker, i, &stop_);
  }
  void TearDown() override {
    stop_ = true;
    for (std::thread& worker : workers_) worker.join();
    for (std::atomic<void*>& slot : g_slots) free(slot.exchange(nullptr));
  }

  std::atomic<bool> stop_{false};
  std::vector<std::thread> workers_;
};

TEST_F(ForkTest, FiftyForksWhileThreadsAllocate) {
  StartWorkers(4);
  EXPECT_EQ(ForkChildren(50, 0), 0);
}

TEST_F(ForkTest, ForkFromWorkerThreadAndNestedFork) {
  StartWorkers(3);
  int failures = -1;
  std::thread forker([&failures] { failures = ForkChildren(10, 1); });
  forker.join();
  EXPECT_EQ(failures, 0);
}

TEST_F(ForkTest, ParentKeepsWorkingAfterForks) {
  StartWorkers(2);
  ASSERT_EQ(ForkChildren(5, 0), 0);
  // The parent's allocator is unaffected by the fork handlers.
  std::vector<void*> blocks;
  for (int i = 0; i < 10000; ++i) {
    void* p = malloc(static_cast<size_t>(16 + i % 2000));
    ASSERT_NE(p, nullptr);
    blocks.push_back(p);
  }
  for (void* p : blocks) free(p);
}

// glibc's stdio and fork: a thread inside getline() holds its stream's lock while it allocates, a thread in
// fflush(NULL) holds the stream-list lock while it waits for that stream, and fork() takes the stream-list lock
// after the fork handlers ran. Fork handlers that took the allocator's locks first closed the cycle (glibc's
// tst-malloc-fork-deadlock hung about one run in eight). Runs in a child process so that a deadlock fails the
// test instead of hanging it.
constexpr int kLongLineBytes = 1536 * 1024;  // getline grows its buffer into large objects (a lock)

int ReadFlushAndForkConcurrently(const char* path) {
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      FILE* file = fopen(path, "r");
      if (file == nullptr) {
        failures.fetch_add(1);
        return;
      }
      while (!stop.load(std::memory_order_relaxed)) {
        rewind(file);
        char* line = nullptr;  // a fresh buffer each time: getline allocates with the stream locked
        size_t capacity = 0;
        if (getline(&line, &capacity, file) != kLongLineBytes) failures.fetch_add(1);
        free(line);
      }
      fclose(file);
    });
  }
  threads.emplace_back([&] {
    while (!stop.load(std::memory_order_relaxed)) fflush(nullptr);
  });
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {
      while (!stop.load(std::memory_order_relaxed)) {
        const pid_t pid = fork();
        if (pid == 0) _exit(0);
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) failures.fetch_add(1);
      }
    });
  }
  usleep(2 * 1000 * 1000);
  stop = true;
  for (std::thread& thread : threads) thread.join();
  return failures.load() == 0 ? 0 : 1;
}

TEST(ForkStdioTest, ForkWhileStreamsAreReadAndFlushed) {
  char path[] = "/tmp/scalloc-fork-stdio-XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  std::string line(kLongLineBytes - 1, 'x');
  line += '\n';
  ASSERT_EQ(write(fd, line.data(), line.size()), static_cast<ssize_t>(line.size()));
  close(fd);
  const pid_t child = fork();
  if (child == 0) _exit(ReadFlushAndForkConcurrently(path));
  ASSERT_GT(child, 0);
  int status = 0;
  pid_t done = 0;
  for (int waited_ms = 0; waited_ms < 30000 && done == 0; waited_ms += 50) {
    done = waitpid(child, &status, WNOHANG);
    if (done == 0) usleep(50 * 1000);
  }
  if (done == 0) {
    kill(child, SIGKILL);
    waitpid(child, &status, 0);
  }
  unlink(path);
  ASSERT_NE(done, 0) << "deadlock: the child did not finish in 30 s";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << DescribeStatus(status);
}

// fork() is async-signal-safe, and glibc's malloc lets a single-threaded process fork from a signal handler
// that interrupted malloc or free (its tst-mallocfork2): the fork must not wait for a lock the interrupted
// code holds. The parent goes on allocating; the child only exits.
volatile sig_atomic_t g_forks_in_handler = 0;
volatile sig_atomic_t g_fork_handler_failed = 0;

void ForkingSignalHandler(int) {
  const int saved_errno = errno;
  const pid_t pid = fork();
  if (pid == 0) _exit(0);
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    g_fork_handler_failed = 1;
  }
  g_forks_in_handler = g_forks_in_handler + 1;
  errno = saved_errno;
}

// Runs in a freshly started (single-threaded) test process. Exits 0 once enough forks happened inside the
// allocation loop; a deadlock ends in the watchdog's SIGALRM.
[[noreturn]] void AllocateWhileSignalHandlersFork() {
  alarm(30);
  struct sigaction action = {};
  action.sa_handler = ForkingSignalHandler;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  if (sigaction(SIGVTALRM, &action, nullptr) != 0) _exit(2);
  // The timer counts the process's user time, so it fires while the loop below runs (mostly inside malloc/free).
  const itimerval every_2ms = {{0, 2000}, {0, 2000}};
  if (setitimer(ITIMER_VIRTUAL, &every_2ms, nullptr) != 0) _exit(3);
  constexpr int kObjects = 1009;
  static void* objects[kObjects];
  Rng rng(7);
  while (g_forks_in_handler < 300) {
    const size_t slot = rng.Below(kObjects);
    free(objects[slot]);
    // Up to 70,000 bytes like glibc's test: small blocks and large objects (whose paths take locks).
    objects[slot] = malloc(rng.Below(70000));
    if (objects[slot] == nullptr) _exit(4);
  }
  const itimerval off = {};
  setitimer(ITIMER_VIRTUAL, &off, nullptr);
  for (void* object : objects) free(object);
  _exit(g_fork_handler_failed ? 5 : 0);
}

TEST(ForkDeathTest, SingleThreadedProcessForksFromSignalHandlerInsideMalloc) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");  // a fresh process: no thread was ever created in it
  EXPECT_EXIT(AllocateWhileSignalHandlersFork(), ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace stress
}  // namespace scalloc
