#include "cli/gcp_setup.h"

#include <CLI/CLI.hpp>
#include <chrono>
#include <ostream>
#include <utility>

#include "controller/log.h"
#include "net/proxy_config.h"

namespace dbconnd::cli {
using controller::LogWarning;
namespace {

std::string JoinNames() {
  std::string names;
  for (auto n : gcp::Endpoints::kNames) {
    if (!names.empty()) names += ", ";
    names += n;
  }
  return names;
}

class StaticTokenSource final : public gcp::TokenSource {
 public:
  StaticTokenSource(std::string token, std::string description)
      : token_(std::move(token)), description_(std::move(description)) {}
  boost::asio::awaitable<StatusOr<gcp::AccessToken>> Token() override {
    co_return gcp::AccessToken{token_, std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return description_; }

 private:
  std::string token_;
  std::string description_;
};

class GcpAccessImpl final : public GcpAccess {
 public:
  GcpAccessImpl(gcp::Endpoints endpoints, std::shared_ptr<net::HttpClient> http,
                std::shared_ptr<gcp::TokenSource> tokens, std::unique_ptr<gcp::RestClients> rest)
      : endpoints_(std::move(endpoints)),
        http_(std::move(http)),
        tokens_(std::move(tokens)),
        rest_(std::move(rest)) {}

  const gcp::Clients& clients() const override { return rest_->clients(); }
  const gcp::Endpoints& endpoints() const override { return endpoints_; }
  gcp::RestClients& rest() override { return *rest_; }
  std::shared_ptr<net::HttpClient> http() const override { return http_; }
  std::shared_ptr<gcp::TokenSource> tokens() const override { return tokens_; }
  std::string DescribeCredentials() const override { return tokens_->Describe(); }

 private:
  gcp::Endpoints endpoints_;
  std::shared_ptr<net::HttpClient> http_;
  std::shared_ptr<gcp::TokenSource> tokens_;
  std::unique_ptr<gcp::RestClients> rest_;
};

}  // namespace

void AddGcpFlags(CLI::App& cmd, GcpFlags& flags) {
  const std::string group = "Google access";
  cmd.add_option("--endpoint", flags.endpoints,
                 "Override a Google service root, NAME=URL (repeatable). NAME is one of " +
                     JoinNames() +
                     "; URL is scheme://host[:port]. Also DBCONND_ENDPOINT_<NAME> in the "
                     "environment; the flag wins")
      ->group(group)
      ->type_name("NAME=URL");
  cmd.add_option("--ca-file", flags.ca_file,
                 "PEM bundle of CAs to trust for https endpoints (default: the system store)")
      ->group(group)
      ->check(CLI::ExistingFile);
  cmd.add_option("--access-token-file", flags.access_token_file,
                 "Read the bearer token from this file (re-read when it changes) instead of "
                 "Application Default Credentials")
      ->group(group)
      ->check(CLI::ExistingFile);
  cmd.add_option("--rate-limit", flags.rate_limits,
                 "Client-side rate limit API.BUCKET=N per minute (repeatable), e.g. "
                 "sqladmin.mutate=90; 0 removes that limit. Buckets: get, list, mutate")
      ->group(group)
      ->type_name("API.BUCKET=N");
  cmd.add_flag("--no-rate-limits", flags.no_rate_limits,
               "Send without client-side rate limits (local emulator only)")
      ->group(group);
  cmd.add_flag("--allow-insecure-endpoints", flags.allow_insecure_endpoints,
               "Allow plain http:// endpoint overrides to hosts other than loopback (tokens "
               "then cross the network unencrypted)")
      ->group(group);
}

StatusOr<gcp::Endpoints> ResolveEndpoints(const GcpFlags& flags, const gcp::GetEnv& getenv_fn) {
  gcp::Endpoints endpoints;
  Status env = endpoints.ApplyEnvironment(getenv_fn ? getenv_fn : gcp::ProcessEnv());
  if (!env.ok()) {
    return InvalidArgumentError("environment: " + env.message() +
                                " (fix or unset the DBCONND_ENDPOINT_* / GCE_METADATA_HOST "
                                "variable)");
  }
  for (const auto& e : flags.endpoints) {
    Status s = endpoints.Override(e);
    if (!s.ok()) {
      return InvalidArgumentError("--endpoint " + e + ": " + s.message() +
                                  " (write --endpoint NAME=URL with NAME one of " + JoinNames() +
                                  ")");
    }
  }
  DBCONND_RETURN_IF_ERROR(endpoints.CheckTransport(flags.allow_insecure_endpoints));
  return endpoints;
}

StatusOr<gcp::RateLimits> ResolveRateLimits(const GcpFlags& flags) {
  gcp::RateLimits limits =
      flags.no_rate_limits ? gcp::RateLimits::Unlimited() : gcp::RateLimits::Defaults();
  for (const auto& spec : flags.rate_limits) {
    Status s = limits.Set(spec);
    if (!s.ok()) {
      return InvalidArgumentError("--rate-limit " + spec + ": " + s.message() +
                                  " (write e.g. --rate-limit sqladmin.mutate=90)");
    }
  }
  return limits;
}

std::shared_ptr<gcp::TokenSource> MakeStaticTokenSource(std::string token,
                                                        std::string description) {
  return std::make_shared<StaticTokenSource>(std::move(token), std::move(description));
}

StatusOr<std::unique_ptr<GcpAccess>> SetUpGcp(boost::asio::any_io_executor executor,
                                              const GcpFlags& flags, GcpSetupOptions options) {
  gcp::GetEnv getenv_fn = options.getenv_fn ? options.getenv_fn : gcp::ProcessEnv();
  gcp::Endpoints endpoints;
  if (options.endpoints_override != nullptr) {
    endpoints = *options.endpoints_override;
  } else {
    auto resolved = ResolveEndpoints(flags, getenv_fn);
    if (!resolved.ok()) return resolved.status();
    endpoints = std::move(*resolved);
  }
  auto limits = ResolveRateLimits(flags);
  if (!limits.ok()) return limits.status();

  net::ClientOptions http_options;
  http_options.ca_file = flags.ca_file;
  if (options.proxy_from_environment) {
    http_options.proxy = net::ProxyConfig::FromEnvironment(getenv_fn);
    // GCE_METADATA_HOST may name another host: it serves tokens too.
    http_options.proxy.AlwaysDirect(endpoints.MetadataHost());
  }
  auto http_or = net::MakeHttpClient(executor, http_options);
  if (!http_or.ok()) {
    std::string hint = flags.ca_file.empty()
                           ? " (check HTTPS_PROXY / NO_PROXY)"
                           : " (check that --ca-file " + flags.ca_file + " is a PEM CA bundle)";
    return FailedPreconditionError("cannot set up the HTTP client: " + http_or.status().message() +
                                   hint);
  }
  std::shared_ptr<net::HttpClient> http = std::move(*http_or);

  gcp::AuthOptions auth;
  auth.http = http;
  auth.endpoints = endpoints;
  // Warnings such as a key file readable by others go to the log unless the
  // caller collects them: a null sink would silently drop them.
  auth.warn = options.warn ? options.warn : [](std::string_view m) { LogWarning(m); };
  auth.getenv_fn = getenv_fn;
  // Token requests are counted with the API requests (api oauth2/metadata).
  auth.telemetry = options.rest.telemetry;
  StatusOr<std::shared_ptr<gcp::TokenSource>> tokens = FailedPreconditionError("unset");
  if (!options.static_token.empty()) {
    tokens = MakeStaticTokenSource(options.static_token, "a static token");
  } else if (!flags.access_token_file.empty()) {
    tokens = gcp::MakeAccessTokenFileSource(flags.access_token_file, auth);
    if (!tokens.ok()) {
      return FailedPreconditionError("--access-token-file " + flags.access_token_file + ": " +
                                     tokens.status().message());
    }
  } else {
    tokens = gcp::FindDefaultCredentials(auth);
    if (!tokens.ok()) return tokens.status();
  }

  auto rest = gcp::MakeRestClients(executor, http, *tokens, endpoints, std::move(*limits),
                                   std::move(options.rest));
  return std::unique_ptr<GcpAccess>(
      new GcpAccessImpl(std::move(endpoints), std::move(http), std::move(*tokens), std::move(rest)));
}

std::unique_ptr<GcpAccess> SetUpGcpForCommand(boost::asio::any_io_executor executor,
                                              const GcpFlags& flags, std::ostream& err,
                                              GcpSetupOptions options) {
  auto access = SetUpGcp(std::move(executor), flags, std::move(options));
  if (!access.ok()) {
    err << "error: " << access.status().message() << "\n";
    return nullptr;
  }
  return std::move(*access);
}

}  // namespace dbconnd::cli
