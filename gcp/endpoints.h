#pragma once
// Service roots of every Google endpoint dbconnd talks to, overridable so the
// emulator, a proxy or a private endpoint can stand in (one emulator port can
// serve them all). Sources, later wins: defaults, GCE_METADATA_HOST (metadata
// only), DBCONND_ENDPOINT_<NAME> environment variables, --endpoint NAME=URL.

#include <array>
#include <functional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace dbconnd::gcp {

using GetEnv = std::function<const char*(const char*)>;
// std::getenv.
GetEnv ProcessEnv();

struct Endpoints {
  // Roots: scheme://host[:port], no trailing slash.
  std::string sqladmin = "https://sqladmin.googleapis.com";
  std::string run = "https://run.googleapis.com";
  std::string vpcaccess = "https://vpcaccess.googleapis.com";
  std::string servicenetworking = "https://servicenetworking.googleapis.com";
  std::string compute = "https://compute.googleapis.com";
  std::string secretmanager = "https://secretmanager.googleapis.com";
  std::string cloudresourcemanager = "https://cloudresourcemanager.googleapis.com";
  // Token endpoint root; the token URI is this root + "/token".
  std::string oauth2 = "https://oauth2.googleapis.com";
  std::string metadata = "http://metadata.google.internal";
  // True once oauth2 was overridden: a key file's token_uri is then
  // redirected to it (scheme, host and port replaced, path kept).
  bool oauth2_overridden = false;
  bool metadata_overridden = false;

  static constexpr std::array<std::string_view, 9> kNames = {
      "sqladmin", "run",    "vpcaccess", "servicenetworking", "compute", "secretmanager",
      "cloudresourcemanager", "oauth2", "metadata"};

  // Sets one root. Errors (INVALID_ARGUMENT) name the valid names or say
  // what is wrong with the URL: scheme must be http or https, a host is
  // required, the port must be 1-65535, no path other than "/", no query,
  // no user info.
  Status Set(std::string_view name, std::string_view url);
  // "NAME=URL", as given to --endpoint.
  Status Override(std::string_view name_equals_url);
  // Applies GCE_METADATA_HOST ("host[:port]") and every
  // DBCONND_ENDPOINT_<NAME> (upper-case NAME) that is set and non-empty.
  Status ApplyEnvironment(const GetEnv& getenv_fn = ProcessEnv());

  // Plain http:// roots are allowed only for loopback hosts (127.0.0.0/8,
  // ::1, localhost: the emulator) unless `allow_insecure`; the metadata
  // root is exempt (plain http by design). INVALID_ARGUMENT naming the
  // endpoint and --allow-insecure-endpoints otherwise.
  Status CheckTransport(bool allow_insecure) const;
  // The metadata root's host (for the proxy bypass).
  std::string MetadataHost() const;

  // "https://oauth2.googleapis.com/token" with the defaults.
  std::string TokenUri() const;
  // A key file's token_uri, redirected to the oauth2 root when it was
  // overridden (path kept); unchanged otherwise. Empty input = TokenUri().
  std::string ResolveTokenUri(std::string_view key_token_uri) const;

  // Root for a name in kNames; nullptr for others.
  const std::string* Find(std::string_view name) const;
};

// 127.0.0.0/8, ::1 (bracketed or not) or localhost.
bool IsLoopbackHost(std::string_view host);

// Validates and normalises a service root ("HTTP://Host:80/" -> "http://host:80").
StatusOr<std::string> NormalizeServiceRoot(std::string_view url);

}  // namespace dbconnd::gcp
