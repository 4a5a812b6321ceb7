// Google's tools against duplicate writes, as the emulator enforces them:
// Compute requestId, Cloud Run startExecutionToken, ALREADY_EXISTS on
// creating what exists, and the request log that counts effective writes.

#include "test_util.h"

using namespace dbconnd::emulator::testing;

namespace {

constexpr char kAddresses[] = "/compute/v1/projects/melodic-now-463704-k1/global/addresses";
constexpr char kAddressBody[] =
    R"({"name":"psa","addressType":"INTERNAL","purpose":"VPC_PEERING","prefixLength":16,)"
    R"("network":"projects/melodic-now-463704-k1/global/networks/default"})";
constexpr char kRequestId[] = "6f1c2a9e-4b7d-4e0a-9c3f-2d8e5b1a7c40";

int64_t Mutations(Model& m, const std::string& route) {
  auto v = m.Get("/emulator/requests").body;
  const auto* n = v.at("mutations").as_object().if_contains(route);
  return n ? n->to_number<int64_t>() : 0;
}

int64_t Executions(Model& m) {
  auto v = m.Get("/emulator/requests").body;
  const auto* n = v.at("executions").as_object().if_contains(
      "projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration-1751028053");
  return n ? n->to_number<int64_t>() : 0;
}

}  // namespace

TEST_CASE("Compute insert with the same requestId returns the same operation and creates nothing new") {
  Model m;
  std::string url = std::string(kAddresses) + "?requestId=" + kRequestId;
  auto first = m.Call("POST", url, kAddressBody);
  REQUIRE(first.status == 200);
  auto again = m.Call("POST", url, kAddressBody);
  REQUIRE(again.status == 200);
  CHECK(S(again.body, {"name"}) == S(first.body, {"name"}));
  CHECK(Mutations(m, "POST compute.globalAddresses.insert") == 1);
  m.Advance(std::chrono::milliseconds(1000));
  // Still the same answer once it is done, now DONE.
  auto later = m.Call("POST", url, kAddressBody);
  CHECK(later.status == 200);
  CHECK(S(later.body, {"name"}) == S(first.body, {"name"}));
  CHECK(S(later.body, {"status"}) == "DONE");
  CHECK(Mutations(m, "POST compute.globalAddresses.insert") == 1);

  SECTION("without a requestId the repeat is 409 alreadyExists in Google's shape") {
    auto dup = m.Call("POST", kAddresses, kAddressBody);
    CHECK(dup.status == 409);
    CHECK(S(dup.body, {"error", "status"}) == "ALREADY_EXISTS");
    CHECK(S(dup.body.at("error").at("errors").as_array()[0], {"reason"}) == "alreadyExists");
  }
  SECTION("a requestId that is not a UUID, or the zero UUID, is refused") {
    CHECK(m.Call("POST", std::string(kAddresses) + "?requestId=abc", kAddressBody).status == 400);
    CHECK(m.Call("POST", std::string(kAddresses) + "?requestId=00000000-0000-0000-0000-000000000000",
                 kAddressBody)
              .status == 400);
  }
}

TEST_CASE("Compute answers global and regional inserts, gets and lists in the names of their scope") {
  Model m;
  const std::string p = "projects/melodic-now-463704-k1";
  const std::string base = "https://www.googleapis.com/compute/v1/";
  const std::string regional = "/compute/v1/" + p + "/regions/us-central1";
  auto message = [](const Reply& r) { return S(r.body, {"error", "message"}); };

  // Inserts: the operation of the resource's scope, then 409 on its name.
  auto global = m.Call("POST", kAddresses, kAddressBody);
  REQUIRE(global.status == 200);
  CHECK(S(global.body, {"selfLink"}) == base + p + "/global/operations/" + S(global.body, {"name"}));
  auto ep = m.Call("POST", regional + "/addresses", R"({"name":"ep","addressType":"INTERNAL"})");
  REQUIRE(ep.status == 200);
  CHECK(S(ep.body, {"selfLink"}) == base + p + "/regions/us-central1/operations/" + S(ep.body, {"name"}));
  CHECK(S(ep.body, {"targetLink"}) == base + p + "/regions/us-central1/addresses/ep");
  auto dup = m.Call("POST", kAddresses, kAddressBody);
  CHECK(dup.status == 409);
  CHECK(message(dup) == "The resource '" + p + "/global/addresses/psa' already exists");
  dup = m.Call("POST", regional + "/addresses", R"({"name":"ep","addressType":"INTERNAL"})");
  CHECK(dup.status == 409);
  CHECK(message(dup) == "The resource '" + p + "/regions/us-central1/addresses/ep' already exists");
  auto bad = m.Call("POST", regional + "/addresses", R"({"name":"Ep_1","addressType":"INTERNAL"})");
  CHECK(bad.status == 400);
  CHECK(message(bad) == "Invalid value for field 'resource.name': 'Ep_1'. Must be a match of regex "
                        "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  bad = m.Call("POST", kAddresses, R"({"addressType":"INTERNAL"})");
  CHECK(bad.status == 400);
  CHECK(message(bad).starts_with("Invalid value for field 'resource.name': ''."));
  m.Advance(std::chrono::milliseconds(1000));
  CHECK(S(m.Get(std::string("/compute/v1/") + p + "/global/operations/" + S(global.body, {"name"})).body,
          {"status"}) == "DONE");
  CHECK(S(m.Get(regional + "/operations/" + S(ep.body, {"name"})).body, {"status"}) == "DONE");

  // Gets: 404 names the path the caller asked for.
  CHECK(message(m.Get(std::string(kAddresses) + "/nope")) ==
        "The resource '" + p + "/global/addresses/nope' was not found");
  CHECK(message(m.Get(regional + "/addresses/nope")) ==
        "The resource '" + p + "/regions/us-central1/addresses/nope' was not found");
  CHECK(message(m.Get(regional + "/forwardingRules/nope")) ==
        "The resource '" + p + "/regions/us-central1/forwardingRules/nope' was not found");
  CHECK(message(m.Get(regional + "/operations/nope")) ==
        "The resource '" + p + "/regions/us-central1/operations/nope' was not found");
  CHECK(message(m.Get(std::string("/compute/v1/") + p + "/global/operations/nope")) ==
        "The resource '" + p + "/global/operations/nope' was not found");
  CHECK(S(m.Get(regional + "/addresses/ep").body, {"selfLink"}) == base + p + "/regions/us-central1/addresses/ep");

  // Lists: id and selfLink of the collection; forwarding rules carry no selfLink.
  auto list = m.Get(kAddresses);
  CHECK(S(list.body, {"id"}) == p + "/global/addresses");
  CHECK(S(list.body, {"selfLink"}) == base + p + "/global/addresses");
  CHECK(list.body.at("items").as_array().size() == 1);
  list = m.Get(regional + "/addresses");
  CHECK(S(list.body, {"kind"}) == "compute#addressList");
  CHECK(S(list.body, {"id"}) == p + "/regions/us-central1/addresses");
  CHECK(S(list.body, {"selfLink"}) == base + p + "/regions/us-central1/addresses");
  CHECK(list.body.at("items").as_array().size() == 1);
  list = m.Get(regional + "/forwardingRules");
  CHECK(S(list.body, {"kind"}) == "compute#forwardingRuleList");
  CHECK(S(list.body, {"id"}) == p + "/regions/us-central1/forwardingRules");
  CHECK(S(list.body, {"selfLink"}) == "<missing>");
}

TEST_CASE("creating an existing connector or connection is 409 ALREADY_EXISTS") {
  Model m;
  const std::string connectors =
      "/v1/projects/melodic-now-463704-k1/locations/us-central1/connectors?connectorId=c1";
  const std::string body = R"({"network":"default","ipCidrRange":"10.8.0.0/28"})";
  REQUIRE(m.Call("POST", connectors, body).status == 200);
  auto dup = m.Call("POST", connectors, body);
  CHECK(dup.status == 409);
  CHECK(S(dup.body, {"error", "status"}) == "ALREADY_EXISTS");
  CHECK(Mutations(m, "POST vpcaccess.connectors.create") == 1);

  REQUIRE(m.Call("POST", std::string(kAddresses), kAddressBody).status == 200);
  m.Advance(std::chrono::milliseconds(1000));
  const std::string conns = "/v1/services/servicenetworking.googleapis.com/connections";
  const std::string cbody =
      R"({"network":"projects/493827161123/global/networks/default","reservedPeeringRanges":["psa"]})";
  REQUIRE(m.Call("POST", conns, cbody).status == 200);
  auto pending = m.Call("POST", conns, cbody);  // still being created
  CHECK(pending.status == 409);
  CHECK(S(pending.body, {"error", "status"}) == "ALREADY_EXISTS");
  m.Advance(std::chrono::milliseconds(1000));
  auto done = m.Call("POST", conns, cbody);
  CHECK(done.status == 409);
  CHECK(S(done.body, {"error", "status"}) == "ALREADY_EXISTS");
  CHECK(Mutations(m, "POST servicenetworking.connections.create") == 1);
}

TEST_CASE("startExecutionToken starts execution <job>-<token> once, the same token again starts nothing") {
  Model m;
  auto job = m.Get(kJobPath).body.as_object();
  CHECK(S(job, {"executionCount"}) == "0");
  job["startExecutionToken"] = "verify-1";
  auto patched = m.Call("PATCH", kJobPath, boost::json::serialize(job));
  REQUIRE(patched.status == 200);
  CHECK(Executions(m) == 1);
  auto live = m.Get(kJobPath).body;
  CHECK(S(live, {"latestCreatedExecution", "name"}) ==
        std::string("projects/melodic-now-463704-k1/locations/us-central1/jobs/"
                    "saleor-migration-1751028053/executions/saleor-migration-1751028053-verify-1"));
  CHECK(S(live, {"executionCount"}) == "1");
  // Read-modify-write of the job carries the token back: nothing new runs.
  auto again = m.Call("PATCH", kJobPath, boost::json::serialize(live));
  REQUIRE(again.status == 200);
  CHECK(Executions(m) == 1);
  CHECK(S(m.Get(kJobPath).body, {"executionCount"}) == "1");

  SECTION("jobs.run always starts one more and bumps executionCount") {
    REQUIRE(m.Call("POST", std::string(kJobPath) + ":run", "{}").status == 200);
    CHECK(Executions(m) == 2);
    CHECK(S(m.Get(kJobPath).body, {"executionCount"}) == "2");
    CHECK(Mutations(m, "POST run.jobs.run") == 1);
  }
  SECTION("a token too long for the job name is refused") {
    auto j = m.Get(kJobPath).body.as_object();
    j["startExecutionToken"] = std::string(40, 'a');
    CHECK(m.Call("PATCH", kJobPath, boost::json::serialize(j)).status == 400);
  }
}
