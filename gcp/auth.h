#pragma once
// Google credentials: where an access token comes from, cached and refreshed
// ahead of expiry with one refresh shared by every concurrent caller.
//
// Sources (REFERENCE.md §5), discovered like Google's client libraries do
// (Application Default Credentials):
//   1. GOOGLE_APPLICATION_CREDENTIALS -> service_account or authorized_user key;
//   2. the gcloud ADC file ($CLOUDSDK_CONFIG or ~/.config/gcloud,
//      application_default_credentials.json);
//   3. the metadata server (GCE, Cloud Run, GKE Workload Identity).
// Plus a static token file (--access-token-file).
//
// Secrets: no access token, private key, JWT assertion, refresh token or
// client secret is ever put into a Status message or a warning. Token
// endpoint replies are redacted with the exact secret values in hand.
//
// Threading: a TokenSource is used from one strand; Token() may be called
// concurrently by many coroutines on that strand.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "gcp/endpoints.h"
#include "gcp/http_transport.h"
#include "gcp/telemetry.h"
#include "net/http.h"

namespace dbconnd::gcp {

inline constexpr char kCloudPlatformScope[] = "https://www.googleapis.com/auth/cloud-platform";

struct AccessToken {
  std::string value;  // the bearer token: a secret
  std::chrono::system_clock::time_point expiry;
};

class TokenSource {
 public:
  virtual ~TokenSource() = default;
  // A token valid for a while yet. UNAUTHENTICATED when the credentials were
  // refused, UNAVAILABLE / DEADLINE_EXCEEDED when the token server could not
  // be reached.
  virtual boost::asio::awaitable<StatusOr<AccessToken>> Token() = 0;
  // Safe to log: "service account x@p.iam.gserviceaccount.com (key /path)".
  virtual std::string Describe() const = 0;
  // `rejected` was refused with HTTP 401: the next Token() does not return
  // it again (a cache refreshes, a token file is re-read). A token other
  // than the cached one (already replaced) changes nothing.
  virtual void Invalidate(const AccessToken& rejected) { (void)rejected; }
};

struct AuthOptions {
  std::shared_ptr<net::HttpClient> http;
  Endpoints endpoints;
  std::vector<std::string> scopes = {kCloudPlatformScope};
  // Warnings (e.g. a key file readable by others). Never receives a secret.
  std::function<void(std::string_view)> warn;
  // Wall clock for JWT iat/exp and token expiry.
  std::function<std::chrono::system_clock::time_point()> now;
  // Environment lookup for discovery (tests inject their own).
  GetEnv getenv_fn;
  // Discovery: a GCP machine shows "Google" in this DMI file.
  std::string dmi_product_name_file = "/sys/class/dmi/id/product_name";
  // Deadlines for token requests; the metadata server is local, so connect short.
  net::Deadlines deadlines = {std::chrono::milliseconds(5'000), std::chrono::milliseconds(5'000),
                              std::chrono::milliseconds(10'000),
                              std::chrono::milliseconds(20'000),
                              std::chrono::milliseconds(30'000)};
  // Refresh this long before expiry; for tokens that live less than four
  // times as long, `short_refresh_ahead` instead.
  std::chrono::seconds refresh_ahead{300};
  std::chrono::seconds short_refresh_ahead{60};
  // Told about every token request sent over `http` (the token endpoint and
  // the metadata server; a token file sends none). May be null.
  std::shared_ptr<Telemetry> telemetry;
};

// --access-token-file: the file holds one token (surrounding blanks trimmed).
// The file is re-read when its modification time changes, so a sidecar can
// rotate it. The token is assumed valid for an hour from the read.
StatusOr<std::shared_ptr<TokenSource>> MakeAccessTokenFileSource(std::string path,
                                                                 AuthOptions options);

// A JSON key file of type service_account or authorized_user.
StatusOr<std::shared_ptr<TokenSource>> MakeCredentialsFromFile(std::string path,
                                                               AuthOptions options);
// Same, from the key's JSON text; `origin` names it in messages.
StatusOr<std::shared_ptr<TokenSource>> MakeCredentialsFromJson(std::string_view json_text,
                                                               std::string origin,
                                                               AuthOptions options);

std::shared_ptr<TokenSource> MakeMetadataServerSource(AuthOptions options);

// Application Default Credentials in Google's order (see top). FAILED_PRECONDITION
// "no Google credentials: ..." with what to do when nothing is found.
StatusOr<std::shared_ptr<TokenSource>> FindDefaultCredentials(AuthOptions options);

// Building blocks exposed for tests.
// A signed RS256 JWT for the service-account grant.
StatusOr<std::string> MakeServiceAccountAssertion(std::string_view private_key_pem,
                                                  std::string_view key_id,
                                                  std::string_view client_email,
                                                  std::string_view scope, std::string_view audience,
                                                  std::chrono::system_clock::time_point now);
// application/x-www-form-urlencoded value encoding.
std::string FormEncode(std::string_view value);

}  // namespace dbconnd::gcp
