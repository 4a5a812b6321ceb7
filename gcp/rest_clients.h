#pragma once
// The production gcp::Clients: typed REST clients over one HTTP client, one
// token source and one set of rate limits. Owns everything it hands out.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "gcp/api.h"
#include "gcp/auth.h"
#include "gcp/endpoints.h"
#include "gcp/http_transport.h"
#include "gcp/rate_limiter.h"
#include "gcp/write_fence.h"
#include "gcp/retry.h"
#include "gcp/telemetry.h"

namespace dbconnd::gcp {

struct RestOptions {
  RetryOptions retry;
  // Injected for tests; defaults are the steady clock, an asio timer and a
  // thread-local PRNG.
  Clock clock;
  Sleeper sleeper;
  Rng rng;
  net::Deadlines deadlines;
  // Bound on one logical call including rate-limit waits and retries.
  std::chrono::milliseconds call_timeout{180'000};
  int max_pages = 1000;
  // Sent as x-goog-user-project when set (quota project).
  std::string quota_project;
  // Asked right before every mutation's bytes are sent (write_fence.h);
  // null = no fence.
  std::shared_ptr<WriteFence> write_fence;
  // Told about every HTTP request (retries included). May be null.
  std::shared_ptr<Telemetry> telemetry;
};

class RestClients {
 public:
  virtual ~RestClients() = default;
  // Non-owning pointers valid while this object lives.
  virtual const Clients& clients() const = 0;
  // For the rate-limit gauge (tokens left per API bucket).
  virtual RateLimiter& rate_limiter() = 0;
};

std::unique_ptr<RestClients> MakeRestClients(boost::asio::any_io_executor executor,
                                             std::shared_ptr<net::HttpClient> http,
                                             std::shared_ptr<TokenSource> tokens,
                                             Endpoints endpoints, RateLimits limits,
                                             RestOptions options = {});

}  // namespace dbconnd::gcp
