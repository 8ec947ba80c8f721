// A multithreaded workload built from standard containers, used by tests/integration/mt_containers_test.sh:
// run with and without the scalloc preload libraries, it must print the same deterministic checksum.
// Usage: mt_containers [threads] [scale]

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

uint64_t Fnv1a(const std::string& text, uint64_t seed = 0xcbf29ce484222325ull) {
  uint64_t hash = seed;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

uint64_t Mix(uint64_t x) {
  x ^= x >> 31;
  x *= 0x7fb5d329728ea185ull;
  x ^= x >> 27;
  return x;
}

// Text of a given item: length and characters vary so strings land in many size classes.
std::string ItemText(uint64_t thread, uint64_t index) {
  const uint64_t h = Mix(thread * 1000003 + index);
  std::string text(static_cast<size_t>(h % 300), static_cast<char>('a' + h % 26));
  text += std::to_string(thread) + ":" + std::to_string(index);
  return text;
}

// Work each thread does alone: several containers filled, transformed and summarised in a fixed order.
uint64_t LocalWork(uint64_t thread, int scale) {
  uint64_t sum = 0;
  for (int round = 0; round < scale; ++round) {
    std::map<int, std::string> ordered;
    std::unordered_map<std::string, int> by_text;
    std::vector<std::string> texts;
    std::list<uint64_t> numbers;
    std::deque<std::string> window;
    std::set<uint64_t> unique;
    for (uint64_t i = 0; i < 2000; ++i) {
      std::string text = ItemText(thread, i + static_cast<uint64_t>(round) * 2000);
      ordered[static_cast<int>(Mix(i) % 997)] = text;
      by_text[text] += 1;
      texts.push_back(text);
      numbers.push_back(Fnv1a(text));
      window.push_back(text);
      if (window.size() > 64) window.pop_front();
      unique.insert(Fnv1a(text) % 5000);
    }
    for (const auto& [key, value] : ordered) sum = sum * 31 + static_cast<uint64_t>(key) + Fnv1a(value);
    for (const auto& [key, value] : by_text) sum += Fnv1a(key) * static_cast<uint64_t>(value);  // order-free
    numbers.sort();
    for (uint64_t n : numbers) sum = sum * 17 + n;
    for (const std::string& text : window) sum ^= Fnv1a(text);
    sum += unique.size();
    // Shrink and regrow: realloc-like traffic through std::string and vector growth.
    std::string joined;
    for (size_t i = 0; i < texts.size(); i += 7) joined += texts[i];
    texts.clear();
    texts.shrink_to_fit();
    sum += Fnv1a(joined);
  }
  return sum;
}

// A queue of heap-allocated messages: every message is freed by a different thread than the one that built it.
class MessageQueue {
 public:
  void Push(std::unique_ptr<std::vector<std::string>> message) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      messages_.push_back(std::move(message));
    }
    ready_.notify_one();
  }

  // Returns nullptr once all producers are done and the queue is empty.
  std::unique_ptr<std::vector<std::string>> Pop() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [this] { return !messages_.empty() || open_producers_ == 0; });
    if (messages_.empty()) return nullptr;
    auto message = std::move(messages_.front());
    messages_.pop_front();
    return message;
  }

  void SetProducers(int count) { open_producers_ = count; }

  void ProducerDone() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --open_producers_;
    }
    ready_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::unique_ptr<std::vector<std::string>>> messages_;
  int open_producers_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int num_threads = argc > 1 ? std::atoi(argv[1]) : 8;
  const int scale = argc > 2 ? std::atoi(argv[2]) : 8;
  if (num_threads < 1 || scale < 1) {
    std::fprintf(stderr, "usage: mt_containers [threads>=1] [scale>=1]\n");
    return 2;
  }

  // Phase 1: independent per-thread work; results combined in thread order.
  std::vector<uint64_t> local(static_cast<size_t>(num_threads));
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < num_threads; ++t) {
      threads.emplace_back(
          [&local, t, scale] { local[static_cast<size_t>(t)] = LocalWork(static_cast<uint64_t>(t), scale); });
    }
    for (std::thread& thread : threads) thread.join();
  }

  // Phase 2: every thread produces messages and consumes others'; the sum of message hashes is order-free.
  MessageQueue queue;
  queue.SetProducers(num_threads);
  std::atomic<uint64_t> message_sum{0};
  std::atomic<uint64_t> message_count{0};
  // Phase 3 state: one shared map updated under a lock; its final contents do not depend on the interleaving.
  std::mutex shared_mutex;
  std::map<std::string, uint64_t> shared_counts;
  {
    std::vector<std::thread> threads;
    for (int t = 0; t < num_threads; ++t) {
      threads.emplace_back([&, t] {
        for (int m = 0; m < 300 * scale; ++m) {
          auto message = std::make_unique<std::vector<std::string>>();
          for (int i = 0; i < 1 + m % 20; ++i) {
            message->push_back(ItemText(static_cast<uint64_t>(t), static_cast<uint64_t>(m * 32 + i)));
          }
          queue.Push(std::move(message));
          if (m % 10 == 0) {
            std::lock_guard<std::mutex> lock(shared_mutex);
            shared_counts["key" + std::to_string(m % 97)] += static_cast<uint64_t>(t) + 1;
          }
        }
        queue.ProducerDone();
        while (auto message = queue.Pop()) {
          uint64_t hash = 0;
          for (const std::string& text : *message) hash += Fnv1a(text);
          message_sum += Mix(hash);
          message_count += 1;
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
  }

  uint64_t checksum = 0;
  for (uint64_t value : local) checksum = checksum * 1000003 + value;
  checksum ^= message_sum.load();
  for (const auto& [key, count] : shared_counts) checksum = checksum * 31 + Fnv1a(key) + count;
  std::printf("threads=%d scale=%d messages=%llu shared_keys=%zu checksum=%016llx\n", num_threads, scale,
              static_cast<unsigned long long>(message_count.load()), shared_counts.size(),
              static_cast<unsigned long long>(checksum));
  return 0;
}
