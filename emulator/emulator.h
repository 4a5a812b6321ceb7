#pragma once
// The emulator's model core: a synchronous, deterministic fake of the Google
// APIs dbconnd calls (Cloud SQL Admin v1, Cloud Run Admin v2, Serverless VPC
// Access v1, Service Networking v1, Compute v1 global addresses/operations,
// OAuth2 token and metadata-server token endpoints) plus the /emulator/ admin
// API. Time is passed in by the caller, so tests drive long-running
// operations by advancing a clock instead of sleeping.
//
// Not thread-safe: one caller at a time (EmulatorServer holds a mutex).
// All state lives in one JSON document (state()), which is also what --state
// persists; nothing else survives a restart.

#include <boost/json/object.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "emulator/schema.h"
#include "net/http.h"

namespace dbconnd::emulator {

using Clock = std::chrono::system_clock;
using TimePoint = Clock::time_point;

struct ModelOptions {
  // How long a long-running operation takes from insert to DONE; it is
  // RUNNING from half of that. A job execution that cannot reach its
  // database fails after `connect_timeout` instead.
  std::chrono::milliseconds op_delay{200};
  std::chrono::milliseconds connect_timeout{0};  // 0 = 3 x op_delay
  // Accept API calls without any bearer token.
  bool no_auth = false;
  // A static bearer token accepted in addition to issued ones (demo use).
  std::string accept_token;
  // "incident", "fleet:N" or "empty".
  std::string seed = "incident";
  // Seed for the fault-injection random rates (deterministic by default).
  uint64_t random_seed = 1;
};

// What the async adapter must do around one request before/after Handle().
struct FaultDecision {
  std::string route;                      // "METHOD route.id"
  std::chrono::milliseconds latency{0};   // wait before answering
  int status = 0;                         // non-zero: answer with this error instead
  bool reset = false;                     // drop the connection, no response ("drop")
  // "apply-drop": serve the request (its effect happens), then drop the
  // connection without answering: the client cannot know it took effect.
  bool apply_then_drop = false;
  std::chrono::milliseconds slow_body{0}; // delay the body after the headers
};

// Cloud Run's egress address as seen by Cloud SQL: a public address outside
// anything but a world-open authorized network (Cloud Run has no fixed
// egress IP without Cloud NAT).
inline constexpr char kCloudRunEgressIp[] = "107.178.231.20";

class Emulator {
 public:
  // Fails only if the embedded schemas or the seed are broken.
  static StatusOr<std::unique_ptr<Emulator>> Create(ModelOptions options);

  // Serves one request as Google (or the admin API) would, at time `now`
  // (plus any offset from POST /emulator/clock/advance).
  net::HttpResponse Handle(const net::HttpRequest& request, TimePoint now);

  // Consults the fault plan for this request (call once per request, before
  // Handle). Also counts the request in the request log.
  FaultDecision DecideFaults(const net::HttpRequest& request);

  // "GET sqladmin.instances.get", "" for unknown paths.
  static std::string RouteKey(std::string_view method, std::string_view target);

  // URLs that JWT assertions may name as "aud" besides the Host-derived one.
  void AddTokenAudience(std::string url) { audiences_.push_back(std::move(url)); }

  // Replaces all state with a seed: "incident", "fleet:N" or "empty".
  Status Seed(std::string_view seed);
  // Replaces all state with a previously dumped state document.
  Status LoadState(std::string_view json_text);
  std::string DumpState() const;
  const boost::json::object& state() const { return state_; }
  // Bumps on every change of state(); the server persists when it moves.
  uint64_t generation() const { return generation_; }

  // Completes every operation due by `now` (Handle does this itself).
  void Tick(TimePoint now);

  // Registers a service-account public key (PEM) for the JWT-bearer grant.
  Status RegisterServiceAccount(std::string client_email, std::string public_key_pem);
  // Registers an OAuth client and refresh token for the refresh_token grant.
  void RegisterOAuthClient(std::string client_id, std::string client_secret,
                           std::string refresh_token);

  const SchemaSet& schemas() const { return schemas_; }
  const ModelOptions& options() const { return options_; }

 private:
  explicit Emulator(ModelOptions options, SchemaSet schemas);
  friend struct Handlers;

  ModelOptions options_;
  SchemaSet schemas_;
  boost::json::object state_;
  uint64_t generation_ = 0;
  std::chrono::milliseconds clock_offset_{0};
  std::vector<std::string> audiences_;
  // Request log (not persisted): per "METHOD route" counts and recent entries.
  std::map<std::string, int64_t> counts_;
  // Requests that changed state ("METHOD route" -> n): a deduplicated retry
  // (same Compute requestId, same startExecutionToken) or a refused one is
  // not counted. Tests count effective mutations here.
  std::map<std::string, int64_t> mutations_;
  std::vector<std::string> recent_;
  boost::json::array faults_;
  std::mt19937_64 rng_;
};

}  // namespace dbconnd::emulator
