#pragma once
// Client-side rate limits, one token bucket per API and bucket, so dbconnd
// stays under Google's per-minute quotas instead of discovering them through
// 429s that also hurt every other user of the project.
//
// Thread-compatibility: one RateLimiter is used from one strand (the
// daemon's io_context thread); it holds no locks.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gcp/retry.h"
#include "gcp/types.h"

namespace dbconnd::gcp {

enum class Bucket { kGet, kList, kMutate };
std::string_view ToString(Bucket bucket);  // "get", "list", "mutate"

struct BucketLimit {
  double per_minute = 0;  // refill rate
  // Bucket capacity. 0 = ten seconds' worth of the rate (at least 1): a full
  // minute's burst would let one resync spend the whole per-minute quota at
  // once and push a person running gcloud into 429s.
  double burst = 0;
};

struct RateLimits {
  // Keyed by (api, bucket). A pair with no entry is not limited.
  std::map<std::pair<Api, Bucket>, BucketLimit> limits;

  // Cloud SQL get 500/min, list 500/min, mutate 180/min; Cloud Run mutate
  // 60/min. Others unlimited (no published rate quota, REFERENCE.md §7).
  static RateLimits Defaults();
  // No limits at all (tests, benchmarks against the emulator).
  static RateLimits Unlimited() { return {}; }

  // "sqladmin.mutate=90" or "run.get=120/min"; 0 removes the limit.
  // For a future --rate-limit flag.
  Status Set(std::string_view spec);
};

struct BucketState {
  Api api;
  Bucket bucket;
  double tokens_left;  // may be negative while callers hold reservations
  double capacity;
  double per_minute;
};

class RateLimiter {
 public:
  explicit RateLimiter(RateLimits limits = RateLimits::Defaults(), Clock clock = SteadyClock(),
                       Sleeper sleeper = AsioSleeper());

  // Takes one token, waiting for it when the bucket is empty. Callers are
  // served in arrival order: a token is reserved at once and the caller
  // sleeps until the bucket has refilled past its reservation. When that
  // would end after `deadline`, nothing is reserved and RESOURCE_EXHAUSTED is
  // returned at once (reason "clientRateLimited").
  boost::asio::awaitable<Status> Acquire(Api api, Bucket bucket, SteadyTime deadline);

  // For the rate-limit gauge; nullopt when the pair is not limited.
  std::optional<double> tokens_left(Api api, Bucket bucket);
  std::vector<BucketState> Snapshot();

 private:
  struct State {
    double rate_per_ms;
    double capacity;
    double per_minute;
    double tokens;
    SteadyTime last;
  };
  void Refill(State& s, SteadyTime now);

  std::map<std::pair<Api, Bucket>, State> buckets_;
  Clock clock_;
  Sleeper sleeper_;
};

}  // namespace dbconnd::gcp
