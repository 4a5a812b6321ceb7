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
