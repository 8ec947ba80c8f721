// A template-heavy C++ translation unit that tests/integration/programs_test.sh compiles with g++ under the
// preload libraries; the compiler's memory use (not this program) is what the test exercises.
#include <algorithm>
#include <iostream>
#include <map>
#include <numeric>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

template <int N>
struct Fib {
  static constexpr long long kValue = Fib<N - 1>::kValue + Fib<N - 2>::kValue;
};
template <>
struct Fib<0> {
  static constexpr long long kValue = 0;
};
template <>
struct Fib<1> {
  static constexpr long long kValue = 1;
};

template <class... Ts>
auto SumAll(Ts... values) {
  return (values + ...);
}

int main() {
  std::map<std::string, std::vector<int>> groups;
  std::unordered_map<int, std::set<std::string>> reverse;
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i % 37);
    groups[key].push_back(i);
    reverse[i % 11].insert(key);
  }
  long long total = 0;
  for (const auto& [key, values] : groups) total += std::accumulate(values.begin(), values.end(), 0LL);
  std::vector<std::tuple<int, std::string, double>> rows;
  for (int i = 0; i < 100; ++i) rows.emplace_back(i % 7, std::to_string(i), i * 0.5);
  std::sort(rows.begin(), rows.end());
  std::cout << total << " " << reverse.size() << " " << std::get<1>(rows.back()) << " " << Fib<80>::kValue << " "
            << SumAll(1, 2L, 3LL, 4.5) << "\n";
  return 0;
}
