#pragma once
// Reading Prometheus text exposition in tests and benchmarks.

#include <sstream>
#include <string>

namespace dbconnd::testing {

// Sum of the values of every sample line starting with `prefix`
// (e.g. `dbconnd_reconciles_total{kind="instance"`).
inline double SumSeries(const std::string& exposition, const std::string& prefix) {
  std::istringstream in(exposition);
  std::string line;
  double sum = 0;
  while (std::getline(in, line)) {
    if (line.rfind(prefix, 0) != 0) continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

}  // namespace dbconnd::testing
