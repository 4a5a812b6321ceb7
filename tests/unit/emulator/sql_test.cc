#include "test_util.h"

using namespace dbconnd::emulator::testing;
using std::chrono::milliseconds;

namespace {
std::string Patch(Model& m, const std::string& body, int want = 200) {
  auto r = m.Call("PATCH", kInstancePath, body);
  INFO(boost::json::serialize(r.body));
  REQUIRE(r.status == want);
  return want == 200 ? S(r.body, {"name"}) : S(r.body, {"error", "errors"});
}
}  // namespace

TEST_CASE("instance patch is an operation PENDING -> RUNNING -> DONE that bumps settingsVersion") {
  Model m;
  auto before = m.Get(kInstancePath);
  CHECK(S(before.body, {"settings", "settingsVersion"}) == "7");
  std::string op = Patch(m, R"({"settings":{"userLabels":{"owner":"sre"}}})");
  std::string op_path = std::string("/v1/projects/") + kProject + "/operations/" + op;
  CHECK(S(m.Get(op_path).body, {"status"}) == "PENDING");
  m.Advance(milliseconds(120));
  CHECK(S(m.Get(op_path).body, {"status"}) == "RUNNING");
  m.Advance(milliseconds(100));
  auto done = m.Get(op_path);
  CHECK(S(done.body, {"status"}) == "DONE");
  CHECK(S(done.body, {"error"}) == "<missing>");
  auto after = m.Get(kInstancePath);
  CHECK(S(after.body, {"settings", "settingsVersion"}) == "8");
  // Objects merge: the other label survives.
  CHECK(S(after.body, {"settings", "userLabels", "app"}) == "saleor");
  CHECK(S(after.body, {"settings", "userLabels", "owner"}) == "sre");
  // Newest operation is listed first and filtered by instance.
  auto list = m.Get(std::string("/v1/projects/") + kProject + "/operations?instance=saleor-db-demo");
  CHECK(S(list.body.at("items").as_array()[0], {"name"}) == op);
}

TEST_CASE("a second patch while one is running gets 409 operationInProgress and no operation") {
  Model m;
  Patch(m, R"({"settings":{"userLabels":{"a":"1"}}})");
  auto r = m.Call("PATCH", kInstancePath, R"({"settings":{"userLabels":{"b":"2"}}})");
  CHECK(r.status == 409);
  CHECK(S(r.body.at("error").at("errors").as_array()[0], {"reason"}) == "operationInProgress");
  CHECK(S(r.body, {"error", "status"}) == "ABORTED");
  auto ops = m.Get(std::string("/v1/projects/") + kProject + "/operations");
  CHECK(ops.body.at("items").as_array().size() == 1);
  m.Advance(milliseconds(250));
  Patch(m, R"({"settings":{"userLabels":{"b":"2"}}})");
}

TEST_CASE("stale settingsVersion gets 412 staleData") {
  Model m;
  auto r = m.Call("PATCH", kInstancePath, R"({"settings":{"settingsVersion":"6","tier":"db-f1-micro"}})");
  CHECK(r.status == 412);
  CHECK(S(r.body.at("error").at("errors").as_array()[0], {"reason"}) == "staleData");
  Patch(m, R"({"settings":{"settingsVersion":"7","tier":"db-f1-micro"}})");
}

TEST_CASE("lists are replaced, not merged") {
  Model m;
  Patch(m, R"({"settings":{"ipConfiguration":{"authorizedNetworks":[{"value":"1.2.3.0/24"},{"value":"5.6.7.8/32"}]}}})");
  m.Advance(milliseconds(250));
  Patch(m, R"({"settings":{"ipConfiguration":{"authorizedNetworks":[{"value":"9.9.9.0/24","name":"office"}]}}})");
  m.Advance(milliseconds(250));
  auto inst = m.Get(kInstancePath);
  auto& nets = inst.body.at("settings").at("ipConfiguration").at("authorizedNetworks").as_array();
  REQUIRE(nets.size() == 1);
  CHECK(S(nets[0], {"value"}) == "9.9.9.0/24");
  CHECK(S(nets[0], {"kind"}) == "sql#aclEntry");
  CHECK(S(inst.body, {"settings", "ipConfiguration", "sslMode"}) == "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
}

TEST_CASE("unknown fields are rejected, output-only fields ignored, bad JSON refused") {
  Model m;
  auto r = m.Call("PATCH", kInstancePath, R"({"settings":{"ipConfiguration":{"allowEverything":true}}})");
  CHECK(r.status == 400);
  CHECK(S(r.body, {"error", "message"}).find("Unknown name \"allowEverything\"") != std::string::npos);
  CHECK(S(r.body, {"error", "status"}) == "INVALID_ARGUMENT");
  CHECK(m.Call("PATCH", kInstancePath, "{nope").status == 400);
  CHECK(m.Call("PATCH", kInstancePath, R"({"settings":{"ipConfiguration":{"sslMode":"SOMETIMES"}}})").status == 400);
  // What GET returns can be sent back unchanged.
  auto inst = m.Get(kInstancePath);
  Patch(m, boost::json::serialize(inst.body));
  auto job = m.Get(kJobPath);
  CHECK(m.emu->schemas().CheckKnownFields("run", "GoogleCloudRunV2Job", job.body).ok());
}

TEST_CASE("an instance keeps at least one of public and private IP") {
  Model m;
  Patch(m, R"({"settings":{"ipConfiguration":{"ipv4Enabled":false}}})", 400);
}

TEST_CASE("private IP needs a Service Networking connection, then gets a PRIVATE address") {
  Model m;
  const std::string enable_private =
      R"({"settings":{"ipConfiguration":{"privateNetwork":"projects/melodic-now-463704-k1/global/networks/default"}}})";
  auto refused = m.Call("PATCH", kInstancePath, enable_private);
  CHECK(refused.status == 400);
  CHECK(S(refused.body, {"error", "message"}).find("Service Networking connection") != std::string::npos);

  auto addr = m.Call("POST", "/compute/v1/projects/melodic-now-463704-k1/global/addresses",
                     R"({"name":"google-managed-services-default","addressType":"INTERNAL","purpose":"VPC_PEERING","prefixLength":16,"network":"projects/melodic-now-463704-k1/global/networks/default"})");
  REQUIRE(addr.status == 200);
  CHECK(S(addr.body, {"kind"}) == "compute#operation");
  m.Advance(milliseconds(250));
  auto op = m.Get("/compute/v1/projects/melodic-now-463704-k1/global/operations/" + S(addr.body, {"name"}));
  CHECK(S(op.body, {"status"}) == "DONE");
  // The connection wants the project number, not the ID.
  auto by_id = m.Call("POST", "/v1/services/servicenetworking.googleapis.com/connections",
                      R"({"network":"projects/melodic-now-463704-k1/global/networks/default","reservedPeeringRanges":["google-managed-services-default"]})");
  CHECK(by_id.status == 400);
  auto conn = m.Call("POST", "/v1/services/servicenetworking.googleapis.com/connections",
                     R"({"network":"projects/493827161123/global/networks/default","reservedPeeringRanges":["google-managed-services-default"]})");
  REQUIRE(conn.status == 200);
  CHECK(S(m.Get("/v1/" + S(conn.body, {"name"})).body, {"done"}) == "false");
  m.Advance(milliseconds(250));
  CHECK(S(m.Get("/v1/" + S(conn.body, {"name"})).body, {"done"}) == "true");
  auto list = m.Get("/v1/services/servicenetworking.googleapis.com/connections?network=projects%2F493827161123%2Fglobal%2Fnetworks%2Fdefault");
  CHECK(list.body.at("connections").as_array().size() == 1);

  Patch(m, enable_private);
  m.Advance(milliseconds(250));
  auto inst = m.Get(kInstancePath);
  std::string ips = boost::json::serialize(inst.body.at("ipAddresses"));
  CHECK(ips.find("PRIVATE") != std::string::npos);
  CHECK(ips.find("34.41.195.120") != std::string::npos);
  // Now public IP may go, but the private network may not.
  Patch(m, R"({"settings":{"ipConfiguration":{"ipv4Enabled":false}}})");
  m.Advance(milliseconds(250));
  CHECK(boost::json::serialize(m.Get(kInstancePath).body.at("ipAddresses")).find("PRIMARY") == std::string::npos);
  Patch(m, R"({"settings":{"ipConfiguration":{"privateNetwork":""}}})", 400);
}

TEST_CASE("missing instance is 404 in Google's error shape") {
  Model m;
  auto r = m.Get("/v1/projects/melodic-now-463704-k1/instances/nope");
  CHECK(r.status == 404);
  CHECK(S(r.body, {"error", "code"}) == "404");
  CHECK(S(r.body.at("error").at("errors").as_array()[0], {"domain"}) == "global");
  CHECK(m.Get("/v1/projects/melodic-now-463704-k1/instances").body.at("items").as_array().size() == 1);
}

TEST_CASE("injected operation error ends the operation in error without applying it") {
  Model m;
  auto f = m.Call("POST", "/emulator/faults", R"({"route":"PATCH sqladmin.instances.patch","operationError":"disk on fire","count":1})");
  REQUIRE(f.status == 200);
  std::string op = Patch(m, R"({"settings":{"tier":"db-f1-micro"}})");
  m.Advance(milliseconds(250));
  auto done = m.Get(std::string("/v1/projects/") + kProject + "/operations/" + op);
  CHECK(S(done.body, {"status"}) == "DONE");
  CHECK(boost::json::serialize(done.body).find("disk on fire") != std::string::npos);
  CHECK(S(m.Get(kInstancePath).body, {"settings", "tier"}) == "db-custom-1-3840");
}
