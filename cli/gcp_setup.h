#pragma once
// Google access shared by every command that talks to Google Cloud (plan,
// apply, run, ...): one set of flags, one place that turns them into an
// HttpClient, a TokenSource and the typed REST clients.
//
//   auto flags = std::make_shared<GcpFlags>();
//   AddGcpFlags(*cmd, *flags);                       // at registration
//   ...
//   auto access = SetUpGcp(io.get_executor(), *flags);  // in the callback
//   if (!access.ok()) { *ctx.err << access.status().message(); ... }
//   co_await reconcilers::Apply((*access)->clients(), ...);
//
// Sources, later wins: built-in Google endpoints, GCE_METADATA_HOST,
// DBCONND_ENDPOINT_<NAME>, --endpoint NAME=URL. Credentials: --access-token-file
// when given, else Application Default Credentials (gcp/auth.h).
//
// Errors are FAILED_PRECONDITION / INVALID_ARGUMENT whose message names the
// flag or variable to fix. No credential value ever appears in one.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gcp/api.h"
#include "gcp/auth.h"
#include "gcp/endpoints.h"
#include "gcp/rate_limiter.h"
#include "gcp/rest_clients.h"
#include "net/http_client.h"

namespace CLI {
class App;
}  // namespace CLI

namespace dbconnd::cli {

struct GcpFlags {
  std::vector<std::string> endpoints;    // "NAME=URL", repeatable
  std::string ca_file;                   // PEM bundle; empty = system store
  std::string access_token_file;         // static token, re-read on change
  std::vector<std::string> rate_limits;  // "API.BUCKET=N[/min]", repeatable
  bool no_rate_limits = false;           // against a local emulator
  bool allow_insecure_endpoints = false;  // plain http:// to non-loopback hosts
};

// Registers --endpoint, --ca-file, --access-token-file, --rate-limit and
// --no-rate-limits on `cmd`, bound to `flags`, which must outlive parsing
// (hold it in a shared_ptr captured by the command's callback).
void AddGcpFlags(CLI::App& cmd, GcpFlags& flags);

// The pure parts, for tests and for commands that need them early.
StatusOr<gcp::Endpoints> ResolveEndpoints(const GcpFlags& flags, const gcp::GetEnv& getenv_fn);
StatusOr<gcp::RateLimits> ResolveRateLimits(const GcpFlags& flags);

struct GcpSetupOptions {
  gcp::GetEnv getenv_fn;  // default: the process environment
  // Warnings such as a world-readable key file. Never receives a secret.
  // Default: LogWarning.
  std::function<void(std::string_view)> warn;
  // A fixed bearer token instead of flags/ADC (the in-process emulator of
  // `dbconnd demo` and tests). A secret: never shown by Describe().
  std::string static_token;
  gcp::RestOptions rest;
  // HTTPS_PROXY / NO_PROXY from the environment (off for loopback tests).
  bool proxy_from_environment = true;
  // Endpoints to use as they are, skipping flag/env resolution.
  const gcp::Endpoints* endpoints_override = nullptr;
};

// Everything needed to call Google, owned together. Lives on the executor it
// was built with; destroy it after the io_context stops running its calls.
class GcpAccess {
 public:
  virtual ~GcpAccess() = default;
  virtual const gcp::Clients& clients() const = 0;
  virtual const gcp::Endpoints& endpoints() const = 0;
  virtual gcp::RestClients& rest() = 0;
  virtual std::shared_ptr<net::HttpClient> http() const = 0;
  virtual std::shared_ptr<gcp::TokenSource> tokens() const = 0;
  // "service account x@p.iam.gserviceaccount.com (key /path)": safe to print.
  virtual std::string DescribeCredentials() const = 0;
};

StatusOr<std::unique_ptr<GcpAccess>> SetUpGcp(boost::asio::any_io_executor executor,
                                              const GcpFlags& flags, GcpSetupOptions options = {});

// SetUpGcp for a command's callback: on error writes "error: <message>" to
// `err` and returns null, so the command returns kExitFailure.
std::unique_ptr<GcpAccess> SetUpGcpForCommand(boost::asio::any_io_executor executor,
                                              const GcpFlags& flags, std::ostream& err,
                                              GcpSetupOptions options = {});

// A TokenSource that always returns `token` (valid for an hour from each
// call). `description` is what Describe() shows; the token never is.
std::shared_ptr<gcp::TokenSource> MakeStaticTokenSource(std::string token,
                                                        std::string description);

}  // namespace dbconnd::cli
