// Token endpoints, admin API, fault plans and --state persistence.

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <unistd.h>
#include <fstream>

#include "emulator/emulator_server.h"
#include "test_util.h"

using namespace dbconnd::emulator::testing;
using dbconnd::emulator::ReadStateFile;
using dbconnd::emulator::WriteStateFileAtomically;

namespace {

std::string B64Url(const std::string& in) {
  std::string out;
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(k[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(k[(acc << (6 - bits)) & 63]);
  return out;
}

struct Key {
  EVP_PKEY* pkey = nullptr;
  Key() { pkey = EVP_RSA_gen(2048); }
  ~Key() { EVP_PKEY_free(pkey); }
  std::string PublicPem() const {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, pkey);
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    std::string out(data, static_cast<size_t>(n));
    BIO_free(bio);
    return out;
  }
  std::string Jwt(const std::string& claims) const {
    std::string signing = B64Url(R"({"alg":"RS256","typ":"JWT"})") + "." + B64Url(claims);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    size_t len = 0;
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, pkey);
    EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(signing.data()), signing.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                   reinterpret_cast<const unsigned char*>(signing.data()), signing.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    return signing + "." + B64Url(sig);
  }
};

std::string Claims(int64_t iat, int64_t exp, std::string aud = "http://127.0.0.1:1/token") {
  return R"({"iss":"deployer@p.iam.gserviceaccount.com","scope":"https://www.googleapis.com/auth/cloud-platform","aud":")" +
         aud + R"(","iat":)" + std::to_string(iat) + R"(,"exp":)" + std::to_string(exp) + "}";
}

std::string Form(const std::string& jwt) {
  return "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=" + jwt;
}

}  // namespace

TEST_CASE("JWT bearer grant: signature, audience and lifetime are checked: tokens unlock the API") {
  Model m("incident", /*no_auth=*/false);
  Key key, other;
  REQUIRE(m.Call("POST", "/emulator/service-accounts",
                 boost::json::serialize(boost::json::object{{"client_email", "deployer@p.iam.gserviceaccount.com"},
                                                            {"public_key_pem", key.PublicPem()}}))
              .status == 200);
  const int64_t now = 1'800'000'000;
  CHECK(m.Get(kInstancePath).status == 401);
  CHECK(m.Call("POST", "/token", Form(other.Jwt(Claims(now, now + 3600)))).status == 400);       // wrong key
  CHECK(m.Call("POST", "/token", Form(key.Jwt(Claims(now, now + 3601)))).status == 400);         // > 1 h
  CHECK(m.Call("POST", "/token", Form(key.Jwt(Claims(now - 7200, now - 3600)))).status == 400);  // expired
  CHECK(m.Call("POST", "/token", Form(key.Jwt(Claims(now, now + 3600, "https://evil/token")))).status == 400);
  auto ok = m.Call("POST", "/token", Form(key.Jwt(Claims(now, now + 3600))));
  REQUIRE(ok.status == 200);
  std::string token = S(ok.body, {"access_token"});
  CHECK(S(ok.body, {"token_type"}) == "Bearer");
  CHECK(m.Call("GET", kInstancePath, "", {{"Authorization", "Bearer " + token}}).status == 200);
  CHECK(m.Call("GET", kInstancePath, "", {{"Authorization", "Bearer x" + token}}).status == 401);
  // The state holds only a hash of the token.
  CHECK(m.emu->DumpState().find(token) == std::string::npos);
  m.Advance(std::chrono::hours(2));
  CHECK(m.Call("GET", kInstancePath, "", {{"Authorization", "Bearer " + token}}).status == 401);
}

TEST_CASE("refresh-token grant and metadata server") {
  Model m("incident", false);
  m.emu->RegisterOAuthClient("cid", "csecret", "rtoken");
  CHECK(m.Call("POST", "/token", "grant_type=refresh_token&client_id=cid&client_secret=bad&refresh_token=rtoken").status == 401);
  auto ok = m.Call("POST", "/token", "grant_type=refresh_token&client_id=cid&client_secret=csecret&refresh_token=rtoken");
  REQUIRE(ok.status == 200);
  CHECK(m.Call("GET", kInstancePath, "", {{"Authorization", "Bearer " + S(ok.body, {"access_token"})}}).status == 200);
  const std::string md = "/computeMetadata/v1/instance/service-accounts/default/token";
  CHECK(m.Get(md).status == 403);
  auto tok = m.Call("GET", md, "", {{"Metadata-Flavor", "Google"}});
  REQUIRE(tok.status == 200);
  CHECK(m.Call("GET", kInstancePath, "", {{"Authorization", "Bearer " + S(tok.body, {"access_token"})}}).status == 200);
}

TEST_CASE("request log counts per route and reset restores the seed") {
  Model m;
  m.Get(kInstancePath);
  m.Get(kInstancePath);
  m.Call("PATCH", kInstancePath, R"({"settings":{"tier":"db-f1-micro"}})");
  auto log = m.Get("/emulator/requests");
  CHECK(S(log.body, {"counts", "GET sqladmin.instances.get"}) == "2");
  CHECK(S(log.body, {"counts", "PATCH sqladmin.instances.patch"}) == "1");
  m.Advance(std::chrono::seconds(1));
  CHECK(S(m.Get(kInstancePath).body, {"settings", "tier"}) == "db-f1-micro");
  CHECK(m.Call("POST", "/emulator/reset", "{}").status == 200);
  CHECK(S(m.Get(kInstancePath).body, {"settings", "tier"}) == "db-custom-1-3840");
  CHECK(S(m.Get("/emulator/requests").body, {"counts", "PATCH sqladmin.instances.patch"}) == "<missing>");
}

TEST_CASE("fault plan: next N calls fail, latency and resets are reported to the adapter") {
  Model m;
  REQUIRE(m.Call("POST", "/emulator/faults",
                 R"({"faults":[{"route":"GET sqladmin.instances.get","status":503,"count":2},{"route":"run.jobs.get","latencyMs":250,"reset":true,"slowBodyMs":40}]})")
              .status == 200);
  dbconnd::net::HttpRequest req;
  req.url = kInstancePath;
  CHECK(m.emu->DecideFaults(req).status == 503);
  CHECK(m.emu->DecideFaults(req).status == 503);
  CHECK(m.emu->DecideFaults(req).status == 0);
  req.url = kJobPath;
  auto d = m.emu->DecideFaults(req);
  CHECK(d.latency == std::chrono::milliseconds(250));
  CHECK(d.reset);
  CHECK(d.slow_body == std::chrono::milliseconds(40));
  CHECK(m.Call("DELETE", "/emulator/faults").status == 200);
  CHECK_FALSE(m.emu->DecideFaults(req).reset);
}

TEST_CASE("clock advance completes operations") {
  Model m;
  auto op = m.Call("PATCH", kInstancePath, R"({"settings":{"tier":"db-f1-micro"}})");
  REQUIRE(op.status == 200);
  CHECK(m.Call("POST", "/emulator/clock/advance", R"({"seconds":1})").status == 200);
  CHECK(S(m.Get(std::string("/v1/projects/") + kProject + "/operations/" + S(op.body, {"name"})).body, {"status"}) == "DONE");
}

TEST_CASE("state persists atomically and a corrupt file is refused, not replaced") {
  auto dir = std::filesystem::temp_directory_path() / ("emu-state-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::string path = (dir / "state.json").string();
  Model a;
  a.Call("PATCH", kInstancePath, R"({"settings":{"tier":"db-f1-micro"}})");
  a.Advance(std::chrono::seconds(1));
  a.Get(kInstancePath);
  REQUIRE(WriteStateFileAtomically(path, a.emu->DumpState()).ok());
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
  auto text = ReadStateFile(path);
  REQUIRE(text.ok());
  Model b;
  REQUIRE(b.emu->LoadState(*text).ok());
  CHECK(S(b.Get(kInstancePath).body, {"settings", "tier"}) == "db-f1-micro");

  { std::ofstream(path) << "{\"projects\": {broken"; }
  auto bad = ReadStateFile(path);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().message().find(path) != std::string::npos);
  dbconnd::emulator::EmulatorOptions opts;
  opts.state_file = path;
  boost::asio::io_context ioc;
  auto server = dbconnd::emulator::EmulatorServer::Start(ioc.get_executor(), opts);
  CHECK_FALSE(server.ok());
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "{\"projects\": {broken");  // untouched
  CHECK(ReadStateFile((dir / "absent.json").string()).status().code() == dbconnd::StatusCode::kNotFound);
  std::filesystem::remove_all(dir);
}

TEST_CASE("route keys follow the discovery method ids, and near misses have none") {
  struct Row {
    std::string method, target, key;
  };
  const std::string p = "/v1/projects/p";
  const std::string run = "/v2/projects/p/locations/l";
  const std::string compute = "/compute/v1/projects/p/global";
  const std::vector<Row> rows = {
      {"GET", p + "/instances", "GET sqladmin.instances.list"},
      {"GET", p + "/instances/i", "GET sqladmin.instances.get"},
      {"PATCH", p + "/instances/i", "PATCH sqladmin.instances.patch"},
      {"PUT", p + "/instances/i", "PUT sqladmin.instances.update"},
      {"DELETE", p + "/instances/i", ""},
      {"GET", p + "/instances/i/x", ""},
      {"GET", p + "/operations", "GET sqladmin.operations.list"},
      {"GET", p + "/operations/o", "GET sqladmin.operations.get"},
      {"POST", p + "/operations", ""},
      {"GET", "/sql/v1beta4/projects/p/instances/i", "GET sqladmin.instances.get"},
      {"GET", p + "/locations/l/connectors", "GET vpcaccess.connectors.list"},
      {"POST", p + "/locations/l/connectors", "POST vpcaccess.connectors.create"},
      {"GET", p + "/locations/l/connectors/c", "GET vpcaccess.connectors.get"},
      {"PATCH", p + "/locations/l/connectors/c", "PATCH vpcaccess.connectors.patch"},
      {"DELETE", p + "/locations/l/connectors/c", "DELETE vpcaccess.connectors.delete"},
      {"POST", p + "/locations/l/connectors/c", ""},
      {"GET", p + "/locations/l/operations", "GET vpcaccess.operations.list"},
      {"GET", p + "/locations/l/operations/o", "GET vpcaccess.operations.get"},
      {"DELETE", p + "/locations/l/operations/o", ""},
      {"GET", run + "/jobs", "GET run.jobs.list"},
      {"GET", run + "/jobs/j", "GET run.jobs.get"},
      {"PATCH", run + "/jobs/j", "PATCH run.jobs.patch"},
      {"POST", run + "/jobs/j:run", "POST run.jobs.run"},
      {"POST", run + "/jobs/j", ""},
      {"GET", run + "/jobs/j/executions", "GET run.jobs.executions.list"},
      {"GET", run + "/jobs/j/executions/e", "GET run.jobs.executions.get"},
      {"GET", run + "/jobs/j/revisions", ""},
      {"GET", run + "/jobs/j/revisions/r", ""},
      {"GET", run + "/jobs/j/executions/e/tasks", ""},
      {"GET", run + "/services", "GET run.services.list"},
      {"GET", run + "/services/s", "GET run.services.get"},
      {"PATCH", run + "/services/s", "PATCH run.services.patch"},
      {"POST", run + "/services", ""},
      {"GET", run + "/operations/o", "GET run.operations.get"},
      {"GET", compute + "/addresses", "GET compute.globalAddresses.list"},
      {"POST", compute + "/addresses", "POST compute.globalAddresses.insert"},
      {"GET", compute + "/addresses/a", "GET compute.globalAddresses.get"},
      {"DELETE", compute + "/addresses/a", "DELETE compute.globalAddresses.delete"},
      {"PATCH", compute + "/addresses/a", ""},
      {"GET", compute + "/operations/o", "GET compute.globalOperations.get"},
      {"POST", compute + "/operations/o/wait", "POST compute.globalOperations.wait"},
  };
  for (const auto& row : rows) {
    INFO(row.method << " " << row.target);
    CHECK(dbconnd::emulator::Emulator::RouteKey(row.method, row.target) == row.key);
  }
}
