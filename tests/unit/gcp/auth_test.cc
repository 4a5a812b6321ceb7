#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "gcp/auth.h"
#include "common/percent_encoding.h"
#include "gcp/rest_client.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;
using testing::FakeHttpClient;
using testing::JsonReply;
using testing::RunSync;

// ---- helpers ------------------------------------------------------------------

struct RsaKey {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{EVP_RSA_gen(2048), &EVP_PKEY_free};
  std::string PrivatePem() const {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
    PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<size_t>(n));
  }
};

const RsaKey& TestKey() {
  static RsaKey key;  // RSA generation is slow; one per run is enough
  return key;
}

std::string Base64UrlDecode(std::string_view in) {
  std::string b64(in);
  for (char& c : b64) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (b64.size() % 4) b64 += '=';
  std::string out(b64.size() * 3 / 4, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()),
                          static_cast<int>(b64.size()));
  REQUIRE(n >= 0);
  size_t pad = b64.size() - b64.find_last_not_of('=') - 1;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

bool VerifyRs256(const std::string& jwt, EVP_PKEY* key) {
  size_t last_dot = jwt.rfind('.');
  std::string input = jwt.substr(0, last_dot);
  std::string sig = Base64UrlDecode(jwt.substr(last_dot + 1));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

std::map<std::string, std::string> ParseForm(std::string_view body) {
  std::map<std::string, std::string> out;
  auto decode = [](std::string_view s) {
    std::string r;
    for (size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '%' && i + 2 < s.size()) {
        r += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        r += s[i] == '+' ? ' ' : s[i];
      }
    }
    return r;
  };
  size_t pos = 0;
  while (pos <= body.size()) {
    size_t amp = body.find('&', pos);
    std::string_view pair = body.substr(pos, amp == std::string_view::npos ? amp : amp - pos);
    size_t eq = pair.find('=');
    out[decode(pair.substr(0, eq))] = eq == std::string_view::npos ? "" : decode(pair.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    pos = amp + 1;
  }
  return out;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "gcp_auth_XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string Write(const std::string& name, const std::string& text, mode_t mode = 0600) {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    ::chmod(p.c_str(), mode);
    return p.string();
  }
};

std::string ServiceAccountJson(const std::string& token_uri = "https://oauth2.googleapis.com/token") {
  json::object o;
  o["type"] = "service_account";
  o["project_id"] = "melodic-now-463704-k1";
  o["private_key_id"] = "kid-1234";
  o["private_key"] = TestKey().PrivatePem();
  o["client_email"] = "dbconnd@melodic-now-463704-k1.iam.gserviceaccount.com";
  o["client_id"] = "1234567890";
  o["token_uri"] = token_uri;
  return json::serialize(o);
}

constexpr char kClientSecret[] = "d-FL95Q19q7MQmFpd7hHD0Ty";
constexpr char kRefreshToken[] = "1//0gRefreshTokenValueThatIsSecret";

std::string AuthorizedUserJson() {
  return std::string(R"({"type":"authorized_user","client_id":"cid.apps.googleusercontent.com",)") +
         R"("client_secret":")" + kClientSecret + R"(","refresh_token":")" + kRefreshToken + R"("})";
}

struct Env {
  std::map<std::string, std::string> vars;
  GetEnv fn() {
    return [this](const char* n) -> const char* {
      auto it = vars.find(n);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

AuthOptions Options(std::shared_ptr<FakeHttpClient> http, std::chrono::system_clock::time_point* now) {
  AuthOptions o;
  o.http = http;
  o.now = [now] { return *now; };
  o.getenv_fn = [](const char*) -> const char* { return nullptr; };
  o.dmi_product_name_file = "/nonexistent/dmi";
  return o;
}

const auto kT0 = std::chrono::system_clock::time_point(std::chrono::seconds(1'750'000'000));

// ---- tests ----------------------------------------------------------------------

TEST_CASE("service account JWT is RS256-signed with the right claims", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  http->Push(200, R"({"access_token":"ya29.first","expires_in":3599,"token_type":"Bearer"})");
  auto now = kT0;
  TempDir dir;
  std::string path = dir.Write("key.json", ServiceAccountJson());
  auto source = MakeCredentialsFromFile(path, Options(http, &now));
  REQUIRE(source.ok());
  CHECK_THAT((*source)->Describe(), Catch::Contains("dbconnd@melodic-now-463704-k1"));

  auto token = RunSync((*source)->Token());
  REQUIRE(token.ok());
  CHECK(token->value == "ya29.first");
  CHECK(token->expiry == kT0 + std::chrono::seconds(3599));

  REQUIRE(http->requests.size() == 1);
  const auto& req = http->requests[0];
  CHECK(req.method == "POST");
  CHECK(req.url == "https://oauth2.googleapis.com/token");
  REQUIRE(req.FindHeader("Content-Type") != nullptr);
  CHECK(*req.FindHeader("Content-Type") == "application/x-www-form-urlencoded");
  auto form = ParseForm(req.body);
  CHECK(form["grant_type"] == "urn:ietf:params:oauth:grant-type:jwt-bearer");
  std::string jwt = form["assertion"];
  REQUIRE(std::count(jwt.begin(), jwt.end(), '.') == 2);

  CHECK(VerifyRs256(jwt, TestKey().key.get()));
  std::string tampered = jwt;
  tampered[jwt.find('.') + 3] ^= 1;
  CHECK_FALSE(VerifyRs256(tampered, TestKey().key.get()));

  auto header = json::parse(Base64UrlDecode(jwt.substr(0, jwt.find('.')))).as_object();
  CHECK(header.at("alg") == "RS256");
  CHECK(header.at("typ") == "JWT");
  CHECK(header.at("kid") == "kid-1234");
  size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
  auto claims = json::parse(Base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1))).as_object();
  CHECK(claims.at("iss") == "dbconnd@melodic-now-463704-k1.iam.gserviceaccount.com");
  CHECK(claims.at("scope") == "https://www.googleapis.com/auth/cloud-platform");
  CHECK(claims.at("aud") == "https://oauth2.googleapis.com/token");
  CHECK(claims.at("iat").as_int64() == 1'750'000'000);
  CHECK(claims.at("exp").as_int64() == 1'750'000'000 + 3600);
}

TEST_CASE("oauth2 endpoint override redirects the key's token_uri", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  http->Push(200, R"({"access_token":"ya29.x","expires_in":3600})");
  auto now = kT0;
  auto opts = Options(http, &now);
  REQUIRE(opts.endpoints.Override("oauth2=http://127.0.0.1:4444").ok());
  auto source = MakeCredentialsFromJson(ServiceAccountJson(), "test key", opts);
  REQUIRE(source.ok());
  REQUIRE(RunSync((*source)->Token()).ok());
  REQUIRE(http->requests.size() == 1);
  CHECK(http->requests[0].url == "http://127.0.0.1:4444/token");
  // The JWT audience names the URI the assertion is sent to.
  std::string jwt = ParseForm(http->requests[0].body)["assertion"];
  size_t d1 = jwt.find('.'), d2 = jwt.rfind('.');
  auto claims = json::parse(Base64UrlDecode(jwt.substr(d1 + 1, d2 - d1 - 1))).as_object();
  CHECK(claims.at("aud") == "http://127.0.0.1:4444/token");
}

TEST_CASE("token refresh is single-flight and ahead of expiry", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  int served = 0;
  http->handler = [&](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    ++served;
    return JsonReply(200, R"({"access_token":"ya29.tok)" + std::to_string(served) +
                              R"(","expires_in":3600})");
  };
  auto now = kT0;
  auto source = MakeCredentialsFromJson(ServiceAccountJson(), "test key", Options(http, &now));
  REQUIRE(source.ok());

  auto fan_out = [&](int n) {
    boost::asio::io_context io;
    std::vector<std::optional<StatusOr<AccessToken>>> results(n);
    for (int i = 0; i < n; ++i) testing::Spawn(io, (*source)->Token(), &results[i]);
    io.run();
    std::vector<std::string> got;
    for (auto& r : results) {
      REQUIRE(r.has_value());
      REQUIRE(r->ok());
      got.push_back((*r)->value);
    }
    return got;
  };

  auto first = fan_out(20);
  CHECK(http->requests.size() == 1);
  REQUIRE(first.size() == 20);
  for (const auto& t : first) CHECK(t == "ya29.tok1");

  now += std::chrono::minutes(50);  // still more than 5 min left: cached
  fan_out(5);
  CHECK(http->requests.size() == 1);

  now += std::chrono::minutes(6);  // inside the refresh-ahead window
  auto second = fan_out(10);
  CHECK(http->requests.size() == 2);
  for (const auto& t : second) CHECK(t == "ya29.tok2");
}

TEST_CASE("failed refresh is shared by waiters, and secrets never reach messages", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  std::string echoed_assertion;
  http->handler = [&](const net::HttpRequest& req) -> StatusOr<net::HttpResponse> {
    // A hostile or broken server echoing everything it got.
    auto form = ParseForm(req.body);
    echoed_assertion = form["assertion"];
    std::string body = R"({"error":"invalid_grant","error_description":"bad assertion )" +
                       form["assertion"] + " key " + form["client_secret"] + " rt " +
                       form["refresh_token"] + R"("})";
    return JsonReply(400, body);
  };
  auto now = kT0;
  std::vector<std::string> warnings;
  auto opts = Options(http, &now);
  opts.warn = [&](std::string_view w) { warnings.emplace_back(w); };

  SECTION("service account") {
    auto source = MakeCredentialsFromJson(ServiceAccountJson(), "test key", opts);
    REQUIRE(source.ok());
    boost::asio::io_context io;
    std::vector<std::optional<StatusOr<AccessToken>>> raw(5);
    for (auto& r : raw) testing::Spawn(io, (*source)->Token(), &r);
    io.run();
    std::vector<Status> results;
    for (auto& r : raw) {
      REQUIRE(r.has_value());
      results.push_back(r->status());
    }
    CHECK(http->requests.size() == 1);
    REQUIRE(results.size() == 5);
    REQUIRE_FALSE(echoed_assertion.empty());
    std::string pem = TestKey().PrivatePem();
    std::string pem_body = pem.substr(40, 60);
    for (const auto& s : results) {
      CHECK(s.code() == StatusCode::kUnauthenticated);
      CHECK(s.reason() == "invalid_grant");
      std::string text = s.ToString();
      CHECK(text.find(echoed_assertion) == std::string::npos);
      CHECK(text.find(echoed_assertion.substr(0, 30)) == std::string::npos);
      CHECK(text.find(pem_body) == std::string::npos);
      CHECK_THAT(text, Catch::Contains("bad assertion"));
    }
  }
  SECTION("authorized user") {
    auto source = MakeCredentialsFromJson(AuthorizedUserJson(), "adc file", opts);
    REQUIRE(source.ok());
    auto t = RunSync((*source)->Token());
    REQUIRE_FALSE(t.ok());
    auto form = ParseForm(http->requests.at(0).body);
    CHECK(form["grant_type"] == "refresh_token");
    CHECK(form["client_id"] == "cid.apps.googleusercontent.com");
    CHECK(form["client_secret"] == kClientSecret);
    CHECK(form["refresh_token"] == kRefreshToken);
    std::string text = t.status().ToString();
    CHECK(text.find(kClientSecret) == std::string::npos);
    CHECK(text.find(kRefreshToken) == std::string::npos);
    CHECK(text.find("0gRefreshToken") == std::string::npos);
  }
  SECTION("transport failure and unusable key") {
    http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
      return UnavailableError("connect to oauth2.googleapis.com:443 failed: refused");
    };
    auto source = MakeCredentialsFromJson(AuthorizedUserJson(), "adc file", opts);
    auto t = RunSync((*source)->Token());
    CHECK(t.status().code() == StatusCode::kUnavailable);
    CHECK(t.status().ToString().find(kRefreshToken) == std::string::npos);

    std::string broken = ServiceAccountJson();
    broken.replace(broken.find("MII"), 10, "XXXXXXXXXX");
    auto bad = MakeCredentialsFromJson(broken, "broken key", opts);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().ToString().find("XXXXXXXXXX") == std::string::npos);
    CHECK(bad.status().ToString().find("PRIVATE KEY") == std::string::npos);
  }
  for (const auto& w : warnings) CHECK(w.find(kClientSecret) == std::string::npos);
}

TEST_CASE("metadata server: header required, GCE_METADATA_HOST honoured", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  http->handler = [](const net::HttpRequest& req) -> StatusOr<net::HttpResponse> {
    const std::string* flavor = req.FindHeader("Metadata-Flavor");
    if (flavor == nullptr || *flavor != "Google") {
      return JsonReply(403, "Missing required header: Metadata-Flavor");
    }
    if (req.url.find("/computeMetadata/v1/instance/service-accounts/default/token") ==
        std::string::npos) {
      return JsonReply(404, "not found");
    }
    return JsonReply(200, R"({"access_token":"ya29.meta","expires_in":3599,"token_type":"Bearer"})");
  };
  auto now = kT0;
  Env env;
  env.vars["GCE_METADATA_HOST"] = "127.0.0.1:8989";
  auto opts = Options(http, &now);
  opts.getenv_fn = env.fn();
  auto source = MakeMetadataServerSource(opts);
  auto t = RunSync(source->Token());
  REQUIRE(t.ok());
  CHECK(t->value == "ya29.meta");
  REQUIRE(http->requests.size() == 1);
  CHECK(http->requests[0].method == "GET");
  CHECK(http->requests[0].url ==
        "http://127.0.0.1:8989/computeMetadata/v1/instance/service-accounts/default/token");

  // The override flag wins over GCE_METADATA_HOST.
  auto opts2 = Options(http, &now);
  opts2.getenv_fn = env.fn();
  REQUIRE(opts2.endpoints.Override("metadata=http://127.0.0.1:7070").ok());
  REQUIRE(RunSync(MakeMetadataServerSource(opts2)->Token()).ok());
  CHECK(http->requests.back().url.rfind("http://127.0.0.1:7070/computeMetadata/", 0) == 0);
}

TEST_CASE("Application Default Credentials discovery order", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  auto now = kT0;
  TempDir dir;
  std::string sa_path = dir.Write("sa.json", ServiceAccountJson());
  std::string adc_dir = (dir.path / "gcloud").string();
  dir.Write("gcloud/application_default_credentials.json", AuthorizedUserJson());
  std::string home = (dir.path / "home").string();
  dir.Write("home/.config/gcloud/application_default_credentials.json", AuthorizedUserJson());

  Env env;
  auto opts = Options(http, &now);
  opts.getenv_fn = env.fn();

  SECTION("GOOGLE_APPLICATION_CREDENTIALS first") {
    env.vars = {{"GOOGLE_APPLICATION_CREDENTIALS", sa_path}, {"CLOUDSDK_CONFIG", adc_dir},
                {"HOME", home}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE(s.ok());
    CHECK_THAT((*s)->Describe(), Catch::Contains("service account"));
  }
  SECTION("a missing GOOGLE_APPLICATION_CREDENTIALS file is an error, not a fall-through") {
    env.vars = {{"GOOGLE_APPLICATION_CREDENTIALS", sa_path + ".missing"}, {"HOME", home}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE_FALSE(s.ok());
    CHECK_THAT(s.status().message(), Catch::Contains("GOOGLE_APPLICATION_CREDENTIALS"));
  }
  SECTION("then the gcloud file under CLOUDSDK_CONFIG") {
    env.vars = {{"CLOUDSDK_CONFIG", adc_dir}, {"HOME", "/nonexistent"}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE(s.ok());
    CHECK_THAT((*s)->Describe(), Catch::Contains(adc_dir));
  }
  SECTION("then ~/.config/gcloud") {
    env.vars = {{"HOME", home}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE(s.ok());
    CHECK_THAT((*s)->Describe(), Catch::Contains(home + "/.config/gcloud"));
  }
  SECTION("then the metadata server on GCP") {
    env.vars = {{"HOME", "/nonexistent"}, {"K_SERVICE", "dbconnd"}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE(s.ok());
    CHECK_THAT((*s)->Describe(), Catch::Contains("metadata server http://metadata.google.internal"));
    std::string dmi = dir.Write("dmi", "Google Compute Engine\n");
    env.vars = {{"HOME", "/nonexistent"}};
    opts.dmi_product_name_file = dmi;
    REQUIRE(FindDefaultCredentials(opts).ok());
  }
  SECTION("nothing found: a clear error") {
    env.vars = {{"HOME", "/nonexistent"}};
    auto s = FindDefaultCredentials(opts);
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == StatusCode::kFailedPrecondition);
    CHECK_THAT(s.status().message(), Catch::StartsWith("no Google credentials: set "
                                                       "GOOGLE_APPLICATION_CREDENTIALS"));
  }
}

TEST_CASE("ADC reads the real process environment by default", "[auth]") {
  TempDir dir;
  std::string sa_path = dir.Write("sa.json", ServiceAccountJson());
  const char* old = std::getenv("GOOGLE_APPLICATION_CREDENTIALS");
  std::optional<std::string> saved = old ? std::optional<std::string>(old) : std::nullopt;
  ::setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_path.c_str(), 1);
  AuthOptions opts;
  opts.http = std::make_shared<FakeHttpClient>();
  auto s = FindDefaultCredentials(opts);
  if (saved) ::setenv("GOOGLE_APPLICATION_CREDENTIALS", saved->c_str(), 1);
  else ::unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
  REQUIRE(s.ok());
  CHECK_THAT((*s)->Describe(), Catch::Contains(sa_path));
}

TEST_CASE("key files readable by others get a warning", "[auth]") {
  auto http = std::make_shared<FakeHttpClient>();
  auto now = kT0;
  TempDir dir;
  std::vector<std::string> warnings;
  auto opts = Options(http, &now);
  opts.warn = [&](std::string_view w) { warnings.emplace_back(w); };

  REQUIRE(MakeCredentialsFromFile(dir.Write("private.json", ServiceAccountJson(), 0600), opts).ok());
  CHECK(warnings.empty());
  std::string open_path = dir.Write("open.json", ServiceAccountJson(), 0644);
  REQUIRE(MakeCredentialsFromFile(open_path, opts).ok());
  REQUIRE(warnings.size() == 1);
  CHECK_THAT(warnings[0], Catch::Contains(open_path) && Catch::Contains("0644") &&
                              Catch::Contains("chmod 600"));
  CHECK(warnings[0].find("PRIVATE KEY") == std::string::npos);
}

TEST_CASE("static access token file", "[auth]") {
  TempDir dir;
  auto now = kT0;
  auto opts = Options(std::make_shared<FakeHttpClient>(), &now);
  std::string path = dir.Write("token", "  ya29.static-token\n");
  auto source = MakeAccessTokenFileSource(path, opts);
  REQUIRE(source.ok());
  auto t = RunSync((*source)->Token());
  REQUIRE(t.ok());
  CHECK(t->value == "ya29.static-token");

  auto missing = MakeAccessTokenFileSource(path + ".nope", opts);
  CHECK(missing.status().code() == StatusCode::kNotFound);
  auto empty = MakeAccessTokenFileSource(dir.Write("empty", "\n"), opts);
  CHECK(empty.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("one percent-encoder: OAuth forms, query values, URL segments", "[auth]") {
  CHECK(common::PercentEncode("Az09-._~") == "Az09-._~");
  CHECK(common::PercentEncode("a b/c:d@e+\xc3\xa9") == "a%20b%2Fc%3Ad%40e%2B%C3%A9");
  CHECK(common::PercentEncode("/cloudsql/p:r:i x", "/:") == "/cloudsql/p:r:i%20x");
  CHECK(FormEncode("urn:ietf:params:oauth:grant-type:jwt-bearer") ==
        "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer");
  CHECK(FormEncode("1//0g&x=y") == "1%2F%2F0g%26x%3Dy");
  CHECK(AppendQuery("http://h/v1/x?a=1", "page Token", "t/=&") ==
        "http://h/v1/x?a=1&page%20Token=t%2F%3D%26");
  CHECK(EncodeSegment("a b/c:d@e") == "a%20b%2Fc:d@e");
}

}  // namespace
}  // namespace dbconnd::gcp
