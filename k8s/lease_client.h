#pragma once
// coordination.k8s.io/v1 Lease: get, create and update with the API server's
// optimistic concurrency (metadata.resourceVersion). The object last read is
// kept whole, so an update preserves labels, annotations and fields this
// code does not know (as client-go's LeaseLock does).
// API: https://kubernetes.io/docs/reference/kubernetes-api/cluster-resources/lease-v1/
//
// Threading: the client's methods run on the HttpClient's executor.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "k8s/cluster_config.h"
#include "net/http.h"
#include "net/http_client.h"

namespace dbconnd::k8s {

using WallTime = std::chrono::system_clock::time_point;

// MicroTime as the API server writes it: "2026-11-26T20:00:00.000000Z".
std::string FormatMicroTime(WallTime t);
// Accepts RFC 3339 in UTC ("Z") with 0..9 fraction digits, or a numeric
// offset. INVALID_ARGUMENT otherwise.
StatusOr<WallTime> ParseMicroTime(std::string_view text);

// The leader-election view of a Lease's spec (client-go's
// LeaderElectionRecord). Equality compares the spec only.
struct LeaseSpec {
  std::string holder_identity;  // empty = released / free
  int lease_duration_seconds = 0;
  std::optional<WallTime> acquire_time;
  std::optional<WallTime> renew_time;
  int lease_transitions = 0;

  friend bool operator==(const LeaseSpec&, const LeaseSpec&) = default;
};

struct Lease {
  std::string ns;
  std::string name;
  std::string resource_version;  // empty before the first create
  LeaseSpec spec;
  // The object as last read from the server (JSON), so updates keep what
  // this code does not model. Empty for a lease not yet created.
  std::string raw;
};

// What one Lease request did, for metrics: rpc "leases.get", "leases.create"
// or "leases.update"; the HTTP status, or 0 with `failure` "timeout",
// "cancelled" or "connection_error" when no answer came.
using LeaseRequestObserver = std::function<void(std::string_view rpc, int http_status,
                                                std::string_view failure, double seconds)>;

struct LeaseClientOptions {
  net::Deadlines deadlines = {std::chrono::milliseconds(5'000), std::chrono::milliseconds(5'000),
                              std::chrono::milliseconds(5'000), std::chrono::milliseconds(5'000),
                              std::chrono::milliseconds(10'000)};
  // Told about every request (optional).
  LeaseRequestObserver on_request;
};

class LeaseClient {
 public:
  LeaseClient(std::shared_ptr<net::HttpClient> http, ClusterConfig config,
              LeaseClientOptions options = {});

  // Errors: NOT_FOUND (404); PERMISSION_DENIED (403, naming the verb the Role
  // lacks); UNAUTHENTICATED (401); UNAVAILABLE for 429/5xx and transport
  // failures; DEADLINE_EXCEEDED. Idempotent.
  boost::asio::awaitable<StatusOr<Lease>> Get(std::string ns, std::string name,
                                              std::optional<net::Deadlines> deadlines = {});
  // POST. ALREADY_EXISTS (409 reason AlreadyExists) when another replica won
  // the race. Not idempotent: a retry after a lost reply sees ALREADY_EXISTS.
  boost::asio::awaitable<StatusOr<Lease>> Create(Lease lease,
                                                 std::optional<net::Deadlines> deadlines = {});
  // PUT with lease.resource_version. ABORTED with reason "Conflict" (409)
  // when the lease changed since it was read; NOT_FOUND when it was deleted.
  // Returns the stored object (new resource_version).
  boost::asio::awaitable<StatusOr<Lease>> Update(Lease lease,
                                                 std::optional<net::Deadlines> deadlines = {});

  const ClusterConfig& config() const { return config_; }

 private:
  boost::asio::awaitable<StatusOr<Lease>> Call(std::string method, std::string path,
                                               std::string body, std::string what,
                                               net::Deadlines deadlines);

  std::shared_ptr<net::HttpClient> http_;
  ClusterConfig config_;
  LeaseClientOptions options_;
};

// Wire helpers, exposed for tests and the fake API server.
StatusOr<Lease> ParseLease(std::string_view json);
std::string SerializeLease(const Lease& lease);
// Maps an API server error response (a v1 Status body) to a Status.
Status StatusFromApiResponse(const net::HttpResponse& response, std::string_view what);

}  // namespace dbconnd::k8s
