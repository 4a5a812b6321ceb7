#include "gcp/rate_limiter.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace dbconnd::gcp {

std::string_view ToString(Bucket bucket) {
  switch (bucket) {
    case Bucket::kGet: return "get";
    case Bucket::kList: return "list";
    case Bucket::kMutate: return "mutate";
  }
  return "unknown";
}

RateLimits RateLimits::Defaults() {
  RateLimits r;
  r.limits[{Api::kSqlAdmin, Bucket::kGet}] = {500, 0};
  r.limits[{Api::kSqlAdmin, Bucket::kList}] = {500, 0};
  r.limits[{Api::kSqlAdmin, Bucket::kMutate}] = {180, 0};
  r.limits[{Api::kRun, Bucket::kMutate}] = {60, 0};
  return r;
}

Status RateLimits::Set(std::string_view spec) {
  auto bad = [&](std::string why) {
    return InvalidArgumentError(
        "rate limit \"" + std::string(spec) + "\": " + why +
        "; expected API.BUCKET=N[/min] with API one of sqladmin, run, vpcaccess, "
        "servicenetworking, compute and BUCKET one of get, list, mutate");
  };
  size_t eq = spec.find('=');
  size_t dot = spec.find('.');
  if (eq == std::string_view::npos || dot == std::string_view::npos || dot > eq) {
    return bad("missing '.' or '='");
  }
  std::string_view api_name = spec.substr(0, dot);
  std::string_view bucket_name = spec.substr(dot + 1, eq - dot - 1);
  std::string_view number = spec.substr(eq + 1);
  if (number.size() > 4 && number.substr(number.size() - 4) == "/min") {
    number.remove_suffix(4);
  }
  std::optional<Api> api;
  for (Api a : {Api::kSqlAdmin, Api::kRun, Api::kVpcAccess, Api::kServiceNetworking,
                Api::kCompute, Api::kSecretManager, Api::kResourceManager}) {
    if (ToString(a) == api_name) api = a;
  }
  std::optional<Bucket> bucket;
  for (Bucket b : {Bucket::kGet, Bucket::kList, Bucket::kMutate}) {
    if (ToString(b) == bucket_name) bucket = b;
  }
  if (!api) return bad("unknown API");
  if (!bucket) return bad("unknown bucket");
  double value = 0;
  auto [p, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || p != number.data() + number.size() || value < 0 ||
      !std::isfinite(value)) {
    return bad("the rate must be a non-negative number per minute");
  }
  if (value == 0) {
    limits.erase({*api, *bucket});
  } else {
    limits[{*api, *bucket}] = {value, 0};
  }
  return OkStatus();
}

RateLimiter::RateLimiter(RateLimits limits, Clock clock, Sleeper sleeper)
    : clock_(clock ? std::move(clock) : SteadyClock()),
      sleeper_(sleeper ? std::move(sleeper) : AsioSleeper()) {
  SteadyTime now = clock_();
  for (const auto& [key, limit] : limits.limits) {
    if (limit.per_minute <= 0) continue;
    double capacity = limit.burst > 0 ? limit.burst : std::max(1.0, limit.per_minute / 6.0);
    buckets_[key] = State{limit.per_minute / 60'000.0, capacity, limit.per_minute, capacity, now};
  }
}

void RateLimiter::Refill(State& s, SteadyTime now) {
  if (now <= s.last) return;
  double ms = std::chrono::duration<double, std::milli>(now - s.last).count();
  s.tokens = std::min(s.capacity, s.tokens + ms * s.rate_per_ms);
  s.last = now;
}

boost::asio::awaitable<Status> RateLimiter::Acquire(Api api, Bucket bucket, SteadyTime deadline) {
  auto it = buckets_.find({api, bucket});
  if (it == buckets_.end()) co_return OkStatus();
  State& s = it->second;
  SteadyTime now = clock_();
  Refill(s, now);
  if (s.tokens >= 1.0) {
    s.tokens -= 1.0;
    co_return OkStatus();
  }
  double wait_ms = std::ceil((1.0 - s.tokens) / s.rate_per_ms);
  auto wait = std::chrono::milliseconds(static_cast<int64_t>(wait_ms));
  if (now + wait > deadline) {
    co_return ResourceExhaustedError("client-side rate limit " + std::string(ToString(api)) + "." +
                                     std::string(ToString(bucket)) + " (" +
                                     std::to_string(static_cast<int>(s.per_minute)) +
                                     "/min): no token before the deadline")
        .WithReason("clientRateLimited");
  }
  s.tokens -= 1.0;  // reservation: later callers queue behind this one
  Status slept = co_await sleeper_(wait);
  if (!slept.ok()) {
    // Give the reservation back; the bucket entry outlives every caller.
    auto again = buckets_.find({api, bucket});
    if (again != buckets_.end()) again->second.tokens += 1.0;
    co_return slept;
  }
  co_return OkStatus();
}

std::optional<double> RateLimiter::tokens_left(Api api, Bucket bucket) {
  auto it = buckets_.find({api, bucket});
  if (it == buckets_.end()) return std::nullopt;
  Refill(it->second, clock_());
  return it->second.tokens;
}

std::vector<BucketState> RateLimiter::Snapshot() {
  std::vector<BucketState> out;
  SteadyTime now = clock_();
  for (auto& [key, s] : buckets_) {
    Refill(s, now);
    out.push_back({key.first, key.second, s.tokens, s.capacity, s.per_minute});
  }
  return out;
}

}  // namespace dbconnd::gcp
