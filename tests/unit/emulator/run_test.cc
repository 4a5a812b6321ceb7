#include "test_util.h"

using namespace dbconnd::emulator::testing;

namespace {
std::string RunJob(Model& m) {
  auto r = m.Call("POST", std::string(kJobPath) + ":run", "{}");
  REQUIRE(r.status == 200);
  return S(r.body, {"metadata", "name"});
}
}  // namespace

TEST_CASE("incident job fails with a connection timeout after the timeout") {
  Model m;
  std::string exec = RunJob(m);
  m.Advance(std::chrono::milliseconds(300));
  auto e1 = m.Get("/v2/" + exec);
  REQUIRE(e1.status == 200);
  CHECK(S(e1.body, {"completionTime"}) == "<missing>");
  m.Advance(std::chrono::milliseconds(400));
  auto e2 = m.Get("/v2/" + exec);
  CHECK(S(e2.body, {"completionTime"}) != "<missing>");
  CHECK(S(e2.body, {"failedCount"}) == "1");
  CHECK(S(e2.body, {"succeededCount"}) == "0");
  CHECK(boost::json::serialize(e2.body).find("connection timeout expired") != std::string::npos);
}

TEST_CASE("executions list shows the newest execution first") {
  Model m;
  std::string e1 = RunJob(m);
  m.Advance(std::chrono::milliseconds(1000));
  std::string e2 = RunJob(m);
  auto r = m.Get(std::string(kJobPath) + "/executions");
  REQUIRE(r.status == 200);
  REQUIRE(r.body.at("executions").as_array().size() == 2);
  CHECK(S(r.body.at("executions").as_array()[0], {"name"}) == e2);
}
