#pragma once
// Small readers of the Prometheus text format for the metrics tests.

#include <cstdlib>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>
#include <string>

#include "controller/metrics.h"

namespace dbconnd::controller::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Value of the series whose name and labels are exactly `series`
// (labels sorted by name, as prometheus-cpp writes them); NaN when absent.
inline double Value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::strtod(line.c_str() + series.size() + 1, nullptr);
    }
  }
  return std::numeric_limits<double>::quiet_NaN();
}

// family name -> type, from the "# TYPE" lines.
inline std::map<std::string, std::string> FamilyTypes(const std::string& text) {
  std::map<std::string, std::string> types;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string hash, keyword, name, type;
    words >> hash >> keyword >> name >> type;
    if (hash == "#" && keyword == "TYPE") types[name] = type;
  }
  return types;
}

inline std::size_t SeriesCount(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#') ++n;
  }
  return n;
}

// One call of every method, so lazily created families appear too.
inline void TouchEveryMetric(Metrics& m) {
  m.ReconcileDone("instance", "updated", 1.5);
  m.DriftDetected("instance", "authorized_networks");
  m.DriftFight("job");
  ResourceStateCounts counts;
  counts.in_sync = 1;
  m.SetResourceStates("instance", counts);
  m.WriteDone("sqladmin", "instances.patch", "ok");
  m.ApiRequest("sqladmin", "instances.get", 200, 0.05);
  m.OperationWaited("instances.patch", 40);
  m.SetOldestRunningOperation("instances.patch", 0);
  m.SetRateLimitTokens("sqladmin", "mutate", 90);
  m.SetQueue(0, 0);
  m.QueueRetry();
  m.ConfigReload("success", 1, 1700000000);
  m.FullSyncDone(1700000000);
  m.SetLeader(true);
  m.SetReady(true);
  m.SetWorldOpen("saleor", false);
  m.SetNearestExpiry("saleor", 1800000000);
}

}  // namespace dbconnd::controller::testing
