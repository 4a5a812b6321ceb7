// The emulator refuses the connector requests Serverless VPC Access
// refuses (subnet with network/range, scaling out of bounds, patches of
// fixed fields).

#include "test_util.h"

using namespace dbconnd::emulator::testing;

namespace {

const std::string kBase = "/v1/projects/melodic-now-463704-k1/locations/us-central1/connectors";

void Settle(Model& m) { m.Advance(std::chrono::milliseconds(1000)); }

// Google's error shape: {"error": {code, message, status}}.
void CheckInvalidArgument(const Reply& r) {
  INFO(boost::json::serialize(r.body));
  CHECK(r.status == 400);
  CHECK(S(r.body, {"error", "code"}) == "400");
  CHECK(S(r.body, {"error", "status"}) == "INVALID_ARGUMENT");
}

void AddHostSubnet(Model& m, const std::string& name, const std::string& cidr) {
  auto r = m.Call("POST", "/emulator/edit",
                  R"({"addSubnetwork":{"project":"host-project","region":"us-central1","name":")" + name +
                      R"(","network":"shared","ipCidrRange":")" + cidr + R"("}})");
  REQUIRE(r.status == 200);
}

}  // namespace

TEST_CASE("connector subnet is exclusive with network and ipCidrRange") {
  Model m;
  AddHostSubnet(m, "serverless-28", "10.50.0.0/28");
  CheckInvalidArgument(m.Call("POST", kBase + "?connectorId=a",
                              R"({"subnet":{"name":"serverless-28","projectId":"host-project"},"ipCidrRange":"10.8.0.0/28"})"));
  CheckInvalidArgument(m.Call("POST", kBase + "?connectorId=a",
                              R"({"subnet":{"name":"serverless-28","projectId":"host-project"},"network":"default"})"));
  // A subnet that does not exist, or is not a /28.
  CheckInvalidArgument(m.Call("POST", kBase + "?connectorId=a", R"({"subnet":{"name":"nope","projectId":"host-project"}})"));
  AddHostSubnet(m, "wide", "10.60.0.0/24");
  CheckInvalidArgument(m.Call("POST", kBase + "?connectorId=a", R"({"subnet":{"name":"wide","projectId":"host-project"}})"));
  auto ok = m.Call("POST", kBase + "?connectorId=a", R"({"subnet":{"name":"serverless-28","projectId":"host-project"}})");
  INFO(boost::json::serialize(ok.body));
  REQUIRE(ok.status == 200);
  Settle(m);
  auto c = m.Get(kBase + "/a").body;
  CHECK(S(c, {"state"}) == "READY");
  CHECK(S(c, {"subnet", "projectId"}) == "host-project");
  CHECK(S(c, {"network"}) == "shared");
  // One connector per subnet.
  CheckInvalidArgument(m.Call("POST", kBase + "?connectorId=b", R"({"subnet":{"name":"serverless-28","projectId":"host-project"}})"));
}

TEST_CASE("connector scaling bounds: instances and throughput") {
  Model m;
  auto create = [&](const std::string& id, const std::string& extra) {
    return m.Call("POST", kBase + "?connectorId=" + id,
                  R"({"network":"default","ipCidrRange":"10.8.0.0/28")" + extra + "}");
  };
  CheckInvalidArgument(create("a", R"(,"minInstances":1,"maxInstances":3)"));
  CheckInvalidArgument(create("a", R"(,"minInstances":2,"maxInstances":11)"));
  CheckInvalidArgument(create("a", R"(,"minInstances":5,"maxInstances":5)"));
  CheckInvalidArgument(create("a", R"(,"minThroughput":250,"maxThroughput":500)"));
  CheckInvalidArgument(create("a", R"(,"minThroughput":200,"maxThroughput":1100)"));
  CheckInvalidArgument(create("a", R"(,"minThroughput":600,"maxThroughput":500)"));
  CheckInvalidArgument(create("a", R"(,"machineType":"n1-standard-1")"));
  REQUIRE(create("a", R"(,"minThroughput":300,"maxThroughput":700)").status == 200);
  Settle(m);
  auto c = m.Get(kBase + "/a").body;
  CHECK(S(c, {"minThroughput"}) == "300");
  CHECK(S(c, {"maxThroughput"}) == "700");
  CHECK(S(c, {"minInstances"}) == "3");  // 100 Mbps per instance
  CHECK(S(c, {"maxInstances"}) == "7");
}

TEST_CASE("connectors.patch changes machineType and instances only") {
  Model m;
  REQUIRE(m.Call("POST", kBase + "?connectorId=a", R"({"network":"default","ipCidrRange":"10.8.0.0/28"})").status == 200);
  Settle(m);
  // Fixed fields, named in the mask or sent without one, are refused.
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=minThroughput", R"({"minThroughput":300})"));
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=maxThroughput", R"({"maxThroughput":900})"));
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=ipCidrRange", R"({"ipCidrRange":"10.9.0.0/28"})"));
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=subnet", R"({"subnet":{"name":"x"}})"));
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a", R"({"ipCidrRange":"10.9.0.0/28"})"));
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=colour", R"({})"));
  // The result must still be in bounds.
  CheckInvalidArgument(m.Call("PATCH", kBase + "/a?updateMask=minInstances", R"({"minInstances":10})"));
  auto ok = m.Call("PATCH", kBase + "/a?updateMask=machineType,minInstances,maxInstances",
                   R"({"machineType":"e2-standard-4","minInstances":3,"maxInstances":8})");
  REQUIRE(ok.status == 200);
  CHECK(S(m.Get(kBase + "/a").body, {"state"}) == "UPDATING");
  Settle(m);
  auto c = m.Get(kBase + "/a").body;
  CHECK(S(c, {"state"}) == "READY");
  CHECK(S(c, {"machineType"}) == "e2-standard-4");
  CHECK(S(c, {"minInstances"}) == "3");
  CHECK(S(c, {"maxInstances"}) == "8");
  CHECK(S(c, {"ipCidrRange"}) == "10.8.0.0/28");
}
