// Cost of one /metrics scrape for a daemon managing N resources.
// Fills the metrics as a resync of N resources would (every resource
// reconciled, observed through the API, states per kind, one intent per five
// resources with its world-open and expiry gauges), then times Serialize().
// Goal (issue 7): < 5 ms CPU per scrape at 10,000 resources, and the same
// series count at 100 and 10,000 resources apart from the capped per-intent
// gauges.
//
//   metrics_bench [iterations=200]

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <string_view>

#include "controller/metrics.h"

namespace {

using dbconnd::controller::Metrics;
using dbconnd::controller::ResourceStateCounts;
namespace labels = dbconnd::controller::labels;

double CpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

// Series lines; with per_intent, only those carrying an intent label.
std::size_t SeriesCount(const std::string& text, bool per_intent) {
  std::size_t n = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t end = text.find('\n', pos);
    const std::string_view line(text.data() + pos,
                                (end == std::string::npos ? text.size() : end) - pos);
    if (!line.empty() && line[0] != '#' &&
        (!per_intent || line.find("intent=\"") != std::string_view::npos)) {
      ++n;
    }
    if (end == std::string::npos) break;
    pos = end + 1;
  }
  return n;
}

struct Result {
  std::size_t series = 0;
  std::size_t intent_series = 0;
  std::size_t bytes = 0;
  double cpu_ms_per_scrape = 0;
  double fill_ns_per_resource = 0;
};

Result Run(int resources, int iterations) {
  Metrics metrics;  // default --max-intent-series 100
  constexpr const char* kMethods[] = {"instances.get", "connectors.get", "instances.get",
                                      "jobs.get", "services.get"};
  constexpr const char* kApis[] = {"servicenetworking", "vpcaccess", "sqladmin", "run", "run"};
  const double fill_start = CpuSeconds();
  for (int i = 0; i < resources; ++i) {
    const std::size_t k = static_cast<std::size_t>(i) % 5;
    const std::string_view kind = labels::kKinds[k];
    metrics.ReconcileDone(kind, i % 50 == 0 ? "updated" : "in_sync", 0.05 + (i % 7) * 0.1);
    metrics.ApiRequest(kApis[k], kMethods[k], i % 97 == 0 ? 429 : 200, 0.02 + (i % 11) * 0.01);
    if (i % 50 == 0) {
      metrics.DriftDetected(kind, "settings.ipConfiguration.authorizedNetworks");
      metrics.WriteDone(kApis[k], "instances.patch", "ok");
      metrics.OperationWaited("instances.patch", 30 + i % 60);
    }
    if (i % 5 == 0) {
      const std::string intent = "intent-" + std::to_string(i / 5);
      metrics.SetWorldOpen(intent, i % 1000 == 0);
      metrics.SetNearestExpiry(intent, 1.8e9 + i);
    }
  }
  const double fill_cpu = CpuSeconds() - fill_start;
  for (std::string_view kind : labels::kKinds) {
    ResourceStateCounts counts;
    counts.in_sync = resources / 5 - resources / 250;
    counts.drifted = resources / 250;
    metrics.SetResourceStates(kind, counts);
  }
  for (std::string_view api : {"sqladmin", "run", "vpcaccess"}) {
    metrics.SetRateLimitTokens(api, "get", 250);
    metrics.SetRateLimitTokens(api, "mutate", 90);
  }
  metrics.SetQueue(resources / 100, 0.5);
  metrics.ConfigReload("success", 3, 1.7e9);
  metrics.FullSyncDone(1.7e9);
  metrics.SetLeader(true);
  metrics.SetReady(true);

  std::size_t bytes = 0;
  const std::string first = metrics.Serialize();  // warm-up, and the counts
  const double start = CpuSeconds();
  for (int i = 0; i < iterations; ++i) bytes += metrics.Serialize().size();
  const double cpu = CpuSeconds() - start;
  if (bytes == 0) std::abort();  // keep the loop from being optimised away

  Result r;
  r.series = SeriesCount(first, false);
  r.intent_series = SeriesCount(first, true);
  r.bytes = first.size();
  r.cpu_ms_per_scrape = cpu * 1e3 / iterations;
  r.fill_ns_per_resource = fill_cpu * 1e9 / resources;
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 200;
  if (iterations <= 0) {
    std::fprintf(stderr, "usage: metrics_bench [iterations>0]\n");
    return 2;
  }
  std::printf("%10s %8s %14s %10s %16s %22s\n", "resources", "series", "of which intent",
              "bytes", "cpu ms/scrape", "fill cpu ns/resource");
  Result last;
  for (int resources : {100, 1000, 10000}) {
    last = Run(resources, iterations);
    std::printf("%10d %8zu %14zu %10zu %16.3f %22.0f\n", resources, last.series,
                last.intent_series, last.bytes, last.cpu_ms_per_scrape,
                last.fill_ns_per_resource);
  }
  const bool ok = last.cpu_ms_per_scrape < 5.0;
  std::printf("goal: < 5 ms CPU per scrape at 10,000 resources: %s\n", ok ? "met" : "MISSED");
  return ok ? 0 : 1;
}
