#include "gcp/auth.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "common/base64.h"
#include "common/percent_encoding.h"
#include "gcp/status_mapping.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;
using std::chrono::system_clock;

constexpr char kNoCredentialsHelp[] =
    "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service account key "
    "file, run `gcloud auth application-default login`, pass --access-token-file, or run "
    "on GCP (Cloud Run, GKE, Compute Engine) where the metadata server provides them";

std::string_view Str(const json::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return {it->value().get_string().data(), it->value().get_string().size()};
}

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFoundError("cannot read " + path + ": " + std::strerror(errno));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WarnIfExposed(const std::string& path, const AuthOptions& options) {
  struct stat st {};
  if (!options.warn || ::stat(path.c_str(), &st) != 0) return;
  if ((st.st_mode & (S_IRGRP | S_IROTH)) == 0) return;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  options.warn("credentials file " + path + " is readable by group or others (mode " + mode +
               "); restrict it with chmod 600");
}

system_clock::time_point Now(const AuthOptions& o) {
  return o.now ? o.now() : system_clock::now();
}

// A token endpoint's reply as a Status, scrubbed of the secrets we sent.
Status TokenEndpointError(const net::HttpResponse& resp, std::string_view what,
                          const std::vector<std::string>& secrets) {
  GoogleError e = MapHttpError(resp.status, resp.body, what);
  Status& s = e.status;
  StatusCode code = s.code();
  // A refused grant means the credentials are bad, whatever HTTP code says.
  if (resp.status >= 400 && resp.status < 500 && resp.status != 429) {
    code = StatusCode::kUnauthenticated;
  }
  Status out(code, RedactSecrets(s.message(), secrets));
  out.WithHttpStatus(s.http_status());
  if (!s.reason().empty()) out.WithReason(s.reason());
  return out;
}

Status Scrub(const Status& s, const std::vector<std::string>& secrets) {
  Status out(s.code(), RedactSecrets(s.message(), secrets));
  out.WithHttpStatus(s.http_status());
  if (!s.reason().empty()) out.WithReason(s.reason());
  return out;
}

StatusOr<AccessToken> ParseTokenReply(const net::HttpResponse& resp, std::string_view what,
                                      system_clock::time_point now) {
  boost::system::error_code ec;
  json::value v = json::parse(resp.body, ec);
  if (ec || !v.is_object()) {
    return UnavailableError(std::string(what) + ": reply is not JSON");
  }
  const auto& o = v.get_object();
  AccessToken token;
  token.value = std::string(Str(o, "access_token"));
  if (token.value.empty()) {
    return UnauthenticatedError(std::string(what) + ": reply has no access_token");
  }
  int64_t expires_in = 3600;
  if (auto it = o.find("expires_in"); it != o.end()) {
    if (it->value().is_int64()) expires_in = it->value().get_int64();
    else if (it->value().is_uint64()) expires_in = static_cast<int64_t>(it->value().get_uint64());
    else if (it->value().is_double()) expires_in = static_cast<int64_t>(it->value().get_double());
    else if (it->value().is_string()) expires_in = std::atoll(it->value().get_string().c_str());
  }
  if (expires_in <= 0) expires_in = 60;
  token.expiry = now + std::chrono::seconds(expires_in);
  return token;
}

// ---- caching + single-flight refresh -----------------------------------------

class CachingTokenSource : public TokenSource,
                           public std::enable_shared_from_this<CachingTokenSource> {
 public:
  explicit CachingTokenSource(AuthOptions options) : options_(std::move(options)) {}

  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    auto self = shared_from_this();  // outlive every suspension below
    auto executor = co_await boost::asio::this_coro::executor;
    // Bounded: each round either returns or waits for a refresh to finish.
    for (int round = 0; round < 4; ++round) {
      auto now = Now(options_);
      if (cached_ && now < refresh_at_) co_return *cached_;
      if (refreshing_) {
        uint64_t generation = generation_;
        auto signal = done_signal_;
        co_await signal->async_wait(
            boost::asio::as_tuple(boost::asio::use_awaitable));
        if (generation_ == generation) continue;  // woken for another reason
        if (!last_error_.ok()) {
          if (cached_ && Now(options_) < cached_->expiry) co_return *cached_;
          co_return last_error_;
        }
        if (cached_) co_return *cached_;
        continue;
      }
      refreshing_ = true;
      done_signal_ = std::make_shared<boost::asio::steady_timer>(
          executor, boost::asio::steady_timer::time_point::max());
      StatusOr<AccessToken> fetched = co_await Fetch();
      refreshing_ = false;
      ++generation_;
      if (fetched.ok()) {
        last_error_ = OkStatus();
        cached_ = *fetched;
        auto issued = Now(options_);
        auto lifetime = cached_->expiry - issued;
        auto ahead = lifetime >= 4 * options_.refresh_ahead
                         ? std::chrono::duration_cast<system_clock::duration>(options_.refresh_ahead)
                         : std::chrono::duration_cast<system_clock::duration>(
                               options_.short_refresh_ahead);
        if (ahead > lifetime / 2) ahead = lifetime / 2;
        refresh_at_ = cached_->expiry - ahead;
      } else {
        last_error_ = fetched.status();
      }
      done_signal_->cancel();
      if (!fetched.ok() && cached_ && Now(options_) < cached_->expiry) {
        // The old token still works; refresh again on the next call.
        co_return *cached_;
      }
      co_return fetched;
    }
    co_return UnavailableError("token refresh did not settle");
  }

  void Invalidate(const AccessToken& rejected) override {
    if (!cached_ || cached_->value != rejected.value) return;
    cached_.reset();
    refresh_at_ = {};
  }

 protected:
  // One token request. Runs at most once at a time per source.
  virtual boost::asio::awaitable<StatusOr<AccessToken>> Fetch() = 0;

  boost::asio::awaitable<StatusOr<net::HttpResponse>> Post(std::string url, std::string form) {
    net::HttpRequest req;
    req.method = "POST";
    req.url = std::move(url);
    req.body = std::move(form);
    req.SetHeader("Content-Type", "application/x-www-form-urlencoded");
    req.SetHeader("Accept", "application/json");
    co_return co_await Send(std::move(req), "oauth2");
  }

  // An OAuth 2.0 token endpoint exchange (RFC 6749 §5): the form POSTed,
  // a non-200 answer mapped, the reply parsed; `secrets` scrubbed from any
  // error. `what` names the request in errors.
  boost::asio::awaitable<StatusOr<AccessToken>> ExchangeForToken(
      std::string url, std::string form, std::string what, std::vector<std::string> secrets,
      system_clock::time_point now) {
    auto resp = co_await Post(std::move(url), std::move(form));
    if (!resp.ok()) co_return Scrub(Status(resp.status()).Annotate(what), secrets);
    if (resp->status != 200) co_return TokenEndpointError(*resp, what, secrets);
    co_return ParseTokenReply(*resp, what, now);
  }

  // Every token request goes out here, so each one is reported to the
  // telemetry sink by construction. `endpoint` is a string literal.
  boost::asio::awaitable<StatusOr<net::HttpResponse>> Send(net::HttpRequest req,
                                                           std::string_view endpoint) {
    std::shared_ptr<Telemetry> telemetry = options_.telemetry;
    const auto started = std::chrono::steady_clock::now();
    StatusOr<net::HttpResponse> resp = co_await options_.http->Send(std::move(req), options_.deadlines);
    if (telemetry) {
      TokenRequestReport report;
      report.endpoint = endpoint;
      report.elapsed = std::chrono::steady_clock::now() - started;
      if (resp.ok()) {
        report.http_status = resp->status;
      } else {
        report.failure = TransportFailureLabel(resp.status());
      }
      telemetry->TokenRequestDone(report);
    }
    co_return resp;
  }

  AuthOptions options_;

 private:
  std::optional<AccessToken> cached_;
  system_clock::time_point refresh_at_{};
  bool refreshing_ = false;
  uint64_t generation_ = 0;
  Status last_error_;
  std::shared_ptr<boost::asio::steady_timer> done_signal_;
};

// ---- service account ----------------------------------------------------------

class ServiceAccountSource final : public CachingTokenSource {
 public:
  ServiceAccountSource(AuthOptions options, std::string origin, std::string email,
                       std::string key_id, std::string private_key, std::string token_uri)
      : CachingTokenSource(std::move(options)),
        origin_(std::move(origin)),
        email_(std::move(email)),
        key_id_(std::move(key_id)),
        private_key_(std::move(private_key)),
        token_uri_(std::move(token_uri)) {}

  std::string Describe() const override {
    return "service account " + email_ + " (" + origin_ + ")";
  }

 protected:
  boost::asio::awaitable<StatusOr<AccessToken>> Fetch() override {
    std::string scope;
    for (const auto& s : options_.scopes) scope += (scope.empty() ? "" : " ") + s;
    auto now = Now(options_);
    auto assertion =
        MakeServiceAccountAssertion(private_key_, key_id_, email_, scope, token_uri_, now);
    if (!assertion.ok()) co_return assertion.status();
    std::vector<std::string> secrets = {*assertion, private_key_};
    std::string form = "grant_type=" + FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") +
                       "&assertion=" + FormEncode(*assertion);
    std::string what = "token request for " + email_ + " to " + token_uri_;
    co_return co_await ExchangeForToken(token_uri_, std::move(form), std::move(what),
                                        std::move(secrets), now);
  }

 private:
  std::string origin_, email_, key_id_, private_key_, token_uri_;
};

// ---- authorized user (gcloud ADC) --------------------------------------------

class AuthorizedUserSource final : public CachingTokenSource {
 public:
  AuthorizedUserSource(AuthOptions options, std::string origin, std::string client_id,
                       std::string client_secret, std::string refresh_token, std::string token_uri)
      : CachingTokenSource(std::move(options)),
        origin_(std::move(origin)),
        client_id_(std::move(client_id)),
        client_secret_(std::move(client_secret)),
        refresh_token_(std::move(refresh_token)),
        token_uri_(std::move(token_uri)) {}

  std::string Describe() const override { return "authorized user (" + origin_ + ")"; }

 protected:
  boost::asio::awaitable<StatusOr<AccessToken>> Fetch() override {
    std::vector<std::string> secrets = {client_secret_, refresh_token_};
    std::string form = "grant_type=refresh_token&client_id=" + FormEncode(client_id_) +
                       "&client_secret=" + FormEncode(client_secret_) +
                       "&refresh_token=" + FormEncode(refresh_token_);
    auto now = Now(options_);
    std::string what = "token refresh for authorized user (" + origin_ + ") to " + token_uri_;
    co_return co_await ExchangeForToken(token_uri_, std::move(form), std::move(what),
                                        std::move(secrets), now);
  }

 private:
  std::string origin_, client_id_, client_secret_, refresh_token_, token_uri_;
};

// ---- metadata server -----------------------------------------------------------

class MetadataServerSource final : public CachingTokenSource {
 public:
  MetadataServerSource(AuthOptions options, std::string root, bool from_discovery)
      : CachingTokenSource(std::move(options)),
        root_(std::move(root)),
        from_discovery_(from_discovery) {}

  std::string Describe() const override { return "metadata server " + root_; }

 protected:
  boost::asio::awaitable<StatusOr<AccessToken>> Fetch() override {
    net::HttpRequest req;
    req.method = "GET";
    req.url = root_ + "/computeMetadata/v1/instance/service-accounts/default/token";
    req.SetHeader("Metadata-Flavor", "Google");
    auto now = Now(options_);
    std::string what = "token request to metadata server " + root_;
    auto resp = co_await Send(std::move(req), "metadata");
    if (!resp.ok()) {
      Status s = Status(resp.status()).Annotate(what);
      if (from_discovery_) {
        s = Status(s.code(), s.message() + " (" + kNoCredentialsHelp + ")");
      }
      co_return Scrub(s, {});
    }
    if (resp->status != 200) co_return TokenEndpointError(*resp, what, {});
    co_return ParseTokenReply(*resp, what, now);
  }

 private:
  std::string root_;
  bool from_discovery_;
};

// ---- static token file ------------------------------------------------------------

class AccessTokenFileSource final : public TokenSource {
 public:
  AccessTokenFileSource(std::string path, AuthOptions options)
      : path_(std::move(path)), options_(std::move(options)) {}

  Status Load() {
    struct stat st {};
    if (::stat(path_.c_str(), &st) != 0) {
      return NotFoundError("access token file " + path_ + ": " + std::strerror(errno));
    }
    if (loaded_ && st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec) {
      return OkStatus();
    }
    auto text = ReadFile(path_);
    if (!text.ok()) return text.status();
    std::string token = *text;
    size_t b = token.find_first_not_of(" \t\r\n");
    size_t e = token.find_last_not_of(" \t\r\n");
    token = b == std::string::npos ? "" : token.substr(b, e - b + 1);
    if (token.empty()) return InvalidArgumentError("access token file " + path_ + " is empty");
    if (token.find_first_of(" \t\r\n") != std::string::npos) {
      return InvalidArgumentError("access token file " + path_ +
                                  " must hold exactly one token on one line");
    }
    if (!warned_) WarnIfExposed(path_, options_);
    warned_ = true;
    token_ = std::move(token);
    mtime_ = st.st_mtim;
    loaded_ = true;
    loaded_at_ = Now(options_);
    return OkStatus();
  }

  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    Status s = Load();
    if (!s.ok()) co_return s;
    co_return AccessToken{token_, loaded_at_ + std::chrono::hours(1)};
  }

  std::string Describe() const override { return "access token file " + path_; }

  // A sidecar may have rotated the file within the same mtime tick: read it
  // again on the next call.
  void Invalidate(const AccessToken& rejected) override {
    if (rejected.value == token_) loaded_ = false;
  }

 private:
  std::string path_;
  AuthOptions options_;
  std::string token_;
  bool loaded_ = false;
  bool warned_ = false;
  timespec mtime_{};
  system_clock::time_point loaded_at_{};
};

std::string MetadataRoot(const AuthOptions& options) {
  if (options.endpoints.metadata_overridden) return options.endpoints.metadata;
  GetEnv getenv_fn = options.getenv_fn ? options.getenv_fn : ProcessEnv();
  if (const char* host = getenv_fn("GCE_METADATA_HOST"); host != nullptr && *host != '\0') {
    auto root = NormalizeServiceRoot(std::string("http://") + host);
    if (root.ok()) return *root;
  }
  return options.endpoints.metadata;
}

bool LooksLikeGcp(const AuthOptions& options, const GetEnv& getenv_fn) {
  if (options.endpoints.metadata_overridden) return true;
  for (const char* var : {"GCE_METADATA_HOST", "K_SERVICE", "CLOUD_RUN_JOB"}) {
    const char* v = getenv_fn(var);
    if (v != nullptr && *v != '\0') return true;
  }
  auto dmi = ReadFile(options.dmi_product_name_file);
  return dmi.ok() && dmi->find("Google") != std::string::npos;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

}  // namespace

std::string FormEncode(std::string_view value) { return common::PercentEncode(value); }

StatusOr<std::string> MakeServiceAccountAssertion(std::string_view private_key_pem,
                                                  std::string_view key_id,
                                                  std::string_view client_email,
                                                  std::string_view scope, std::string_view audience,
                                                  system_clock::time_point now) {
  json::object header;
  header["alg"] = "RS256";
  header["typ"] = "JWT";
  if (!key_id.empty()) header["kid"] = key_id;
  int64_t iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  json::object claims;
  claims["iss"] = client_email;
  claims["scope"] = scope;
  claims["aud"] = audience;
  claims["iat"] = iat;
  claims["exp"] = iat + 3600;  // Google's maximum lifetime for the assertion
  std::string signing_input =
      Base64UrlEncode(json::serialize(header)) + "." + Base64UrlEncode(json::serialize(claims));

  ERR_clear_error();
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size())), &BIO_free);
  if (!bio) return InternalError("cannot allocate a buffer for the private key");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!key) {
    ERR_clear_error();
    return InvalidArgumentError("private_key is not a PEM private key");
  }
  if (EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_RSA) {
    return InvalidArgumentError("private_key is not an RSA key (RS256 needs RSA)");
  }
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  size_t sig_len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(signing_input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &sig_len, in, signing_input.size()) != 1) {
    ERR_clear_error();
    return InternalError("RS256 signing failed");
  }
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &sig_len, in,
                     signing_input.size()) != 1) {
    ERR_clear_error();
    return InternalError("RS256 signing failed");
  }
  sig.resize(sig_len);
  return signing_input + "." + Base64UrlEncode(sig);
}

StatusOr<std::shared_ptr<TokenSource>> MakeAccessTokenFileSource(std::string path,
                                                                 AuthOptions options) {
  auto source = std::make_shared<AccessTokenFileSource>(std::move(path), std::move(options));
  Status s = source->Load();
  if (!s.ok()) return s;
  return std::shared_ptr<TokenSource>(std::move(source));
}

StatusOr<std::shared_ptr<TokenSource>> MakeCredentialsFromJson(std::string_view json_text,
                                                               std::string origin,
                                                               AuthOptions options) {
  if (!options.http) return InvalidArgumentError("credentials need an HTTP client");
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  // Never echo the text: it holds the key.
  if (ec || !v.is_object()) {
    return InvalidArgumentError("credentials " + origin + " are not a JSON object");
  }
  const auto& o = v.get_object();
  std::string type(Str(o, "type"));
  if (type == "service_account") {
    std::string email(Str(o, "client_email"));
    std::string key(Str(o, "private_key"));
    if (email.empty() || key.empty()) {
      return InvalidArgumentError("service account key " + origin +
                                  " lacks client_email or private_key");
    }
    std::string token_uri = options.endpoints.ResolveTokenUri(Str(o, "token_uri"));
    // Fail at start-up, not at the first API call, when the key is unusable.
    auto probe = MakeServiceAccountAssertion(key, "", email, "probe", token_uri,
                                             system_clock::now());
    if (!probe.ok()) return Status(probe.status()).Annotate("service account key " + origin);
    std::string key_id(Str(o, "private_key_id"));
    return std::shared_ptr<TokenSource>(std::make_shared<ServiceAccountSource>(
        std::move(options), std::move(origin), std::move(email), std::move(key_id),
        std::move(key), std::move(token_uri)));
  }
  if (type == "authorized_user") {
    std::string client_id(Str(o, "client_id"));
    std::string client_secret(Str(o, "client_secret"));
    std::string refresh_token(Str(o, "refresh_token"));
    if (client_id.empty() || client_secret.empty() || refresh_token.empty()) {
      return InvalidArgumentError("authorized_user credentials " + origin +
                                  " lack client_id, client_secret or refresh_token");
    }
    std::string token_uri = options.endpoints.ResolveTokenUri(Str(o, "token_uri"));
    return std::shared_ptr<TokenSource>(std::make_shared<AuthorizedUserSource>(
        std::move(options), std::move(origin), std::move(client_id), std::move(client_secret),
        std::move(refresh_token), std::move(token_uri)));
  }
  return InvalidArgumentError("credentials " + origin + " have type \"" + RedactSecrets(type) +
                              "\"; supported: service_account, authorized_user");
}

StatusOr<std::shared_ptr<TokenSource>> MakeCredentialsFromFile(std::string path,
                                                               AuthOptions options) {
  auto text = ReadFile(path);
  if (!text.ok()) return text.status();
  WarnIfExposed(path, options);
  return MakeCredentialsFromJson(*text, "key file " + path, std::move(options));
}

std::shared_ptr<TokenSource> MakeMetadataServerSource(AuthOptions options) {
  std::string root = MetadataRoot(options);
  return std::make_shared<MetadataServerSource>(std::move(options), std::move(root), false);
}

StatusOr<std::shared_ptr<TokenSource>> FindDefaultCredentials(AuthOptions options) {
  GetEnv getenv_fn = options.getenv_fn ? options.getenv_fn : ProcessEnv();
  if (const char* path = getenv_fn("GOOGLE_APPLICATION_CREDENTIALS");
      path != nullptr && *path != '\0') {
    auto source = MakeCredentialsFromFile(path, std::move(options));
    if (!source.ok()) {
      return Status(source.status()).Annotate("GOOGLE_APPLICATION_CREDENTIALS");
    }
    return source;
  }
  std::string dir;
  if (const char* cfg = getenv_fn("CLOUDSDK_CONFIG"); cfg != nullptr && *cfg != '\0') {
    dir = cfg;
  } else if (const char* home = getenv_fn("HOME"); home != nullptr && *home != '\0') {
    dir = std::string(home) + "/.config/gcloud";
  }
  if (!dir.empty()) {
    std::string well_known = dir + "/application_default_credentials.json";
    if (Exists(well_known)) return MakeCredentialsFromFile(well_known, std::move(options));
  }
  if (LooksLikeGcp(options, getenv_fn)) {
    std::string root = MetadataRoot(options);
    return std::shared_ptr<TokenSource>(
        std::make_shared<MetadataServerSource>(std::move(options), std::move(root), true));
  }
  return FailedPreconditionError(kNoCredentialsHelp);
}

}  // namespace dbconnd::gcp
