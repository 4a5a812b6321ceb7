// Replies sized or shaped to hurt: nested 100 levels deep, 10,000
// authorized networks, a 1 MiB env value. Each comes back as a value or a
// clean error, never a crash (Boost.JSON's default max_depth is 32).

#include <catch2/catch.hpp>

#include <string>

#include "gcp/rest_clients.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

using std::chrono::milliseconds;
using testing::FakeHttpClient;
using testing::FakeTime;
using testing::RunSync;

class StaticToken : public TokenSource {
 public:
  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    co_return AccessToken{"ya29.t", std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return "static"; }
};

struct Hostile {
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  FakeTime time;
  std::unique_ptr<RestClients> owner;
  Clients c;

  Hostile() {
    RestOptions o;
    o.clock = time.clock();
    o.sleeper = time.sleeper();
    o.rng = [] { return 0.5; };
    Endpoints e;
    REQUIRE(e.Override("sqladmin=http://127.0.0.1:1").ok());
    REQUIRE(e.Override("run=http://127.0.0.1:2").ok());
    owner = MakeRestClients(boost::asio::system_executor(), http, std::make_shared<StaticToken>(),
                            e, RateLimits::Unlimited(), o);
    c = owner->clients();
  }
};

std::string Nested(int depth) {
  std::string s;
  for (int i = 0; i < depth; ++i) s += "{\"a\":";
  s += "1";
  for (int i = 0; i < depth; ++i) s += "}";
  return s;
}

TEST_CASE("A reply nested 100 levels deep is a clean error", "[rest][hostile]") {
  Hostile f;
  f.http->Push(200, Nested(100));
  auto inst = RunSync(f.c.sql->GetInstance("p", "db"));
  REQUIRE_FALSE(inst.ok());
  CHECK(inst.status().code() == StatusCode::kInternal);
  CHECK(inst.status().message().find("not JSON") != std::string::npos);
  CHECK(inst.status().message().size() < 2000);
}

TEST_CASE("An error reply nested 100 levels deep is a clean error", "[rest][hostile]") {
  Hostile f;
  f.http->Push(400, "{\"error\":" + Nested(100) + "}");
  auto inst = RunSync(f.c.sql->GetInstance("p", "db"));
  REQUIRE_FALSE(inst.ok());
  CHECK(inst.status().http_status() == 400);
}

TEST_CASE("10,000 authorized networks parse whole", "[rest][hostile]") {
  Hostile f;
  std::string acl;
  for (int i = 0; i < 10000; ++i) {
    if (i) acl += ",";
    acl += R"({"value":"10.)" + std::to_string(i / 256 % 256) + "." + std::to_string(i % 256) +
           R"(.0/24","name":"n)" + std::to_string(i) + R"("})";
  }
  f.http->Push(200, R"({"name":"db","project":"p","state":"RUNNABLE","settings":{
      "settingsVersion":"1","ipConfiguration":{"ipv4Enabled":true,"authorizedNetworks":[)" +
                        acl + "]}}}");
  auto inst = RunSync(f.c.sql->GetInstance("p", "db"));
  REQUIRE(inst.ok());
  CHECK(inst->authorized_networks.size() == 10000);
}

}  // namespace
}  // namespace dbconnd::gcp
