#include <catch2/catch.hpp>

#include "fake_kube_api.h"
#include "k8s/lease_client.h"
#include "test_util.h"

using dbconnd::StatusCode;
using dbconnd::k8s::FormatMicroTime;
using dbconnd::k8s::Lease;
using dbconnd::k8s::ParseMicroTime;
using dbconnd::k8s::WallTime;
using dbconnd::k8s::testing::Await;
using dbconnd::k8s::testing::FakeKubeApi;
using dbconnd::k8s::testing::MakeLeaseClient;
namespace asio = boost::asio;

TEST_CASE("MicroTime is RFC 3339 with microseconds in UTC", "[k8s][lease]") {
  WallTime t = WallTime(std::chrono::seconds(1795723200)) + std::chrono::microseconds(42);
  CHECK(FormatMicroTime(t) == "2026-11-26T20:00:00.000042Z");
  auto back = ParseMicroTime("2026-11-26T20:00:00.000042Z");
  REQUIRE(back.ok());
  CHECK(*back == t);
  CHECK(*ParseMicroTime("2026-11-26T20:00:00Z") == WallTime(std::chrono::seconds(1795723200)));
  CHECK(*ParseMicroTime("2026-11-26T21:30:00.5+01:30") ==
        WallTime(std::chrono::seconds(1795723200)) + std::chrono::milliseconds(500));
  CHECK_FALSE(ParseMicroTime("2026-11-26 20:00:00Z").ok());
  CHECK_FALSE(ParseMicroTime("2026-11-26T20:00:00").ok());
  CHECK_FALSE(ParseMicroTime("yesterday").ok());
}

TEST_CASE("lease client: 404, create, already exists, conflict, update", "[k8s][lease]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  // Every request is reported (dbconnd_api_requests_total{api="kubernetes"}).
  std::vector<std::string> seen;
  dbconnd::k8s::LeaseClientOptions options;
  options.on_request = [&seen](std::string_view rpc, int status, std::string_view failure,
                               double seconds) {
    seen.push_back(std::string(rpc) + " " + std::to_string(status) + std::string(failure));
    CHECK(seconds >= 0);
  };
  auto client = MakeLeaseClient(io, api.url(), "token-a", options);

  auto missing = Await(io, client->Get("default", "dbconnd"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == StatusCode::kNotFound);
  CHECK(missing.status().http_status() == 404);

  Lease lease;
  lease.ns = "default";
  lease.name = "dbconnd";
  lease.spec.holder_identity = "pod-a";
  lease.spec.lease_duration_seconds = 15;
  lease.spec.acquire_time = WallTime(std::chrono::seconds(1795723200));
  lease.spec.renew_time = lease.spec.acquire_time;
  auto created = Await(io, client->Create(lease));
  REQUIRE(created.ok());
  CHECK_FALSE(created->resource_version.empty());
  CHECK(created->spec == lease.spec);
  CHECK(api.Holder() == "pod-a");
  const auto* spec = api.Spec("default", "dbconnd");
  REQUIRE(spec != nullptr);
  CHECK(spec->at("renewTime").as_string() == "2026-11-26T20:00:00.000000Z");

  auto again = Await(io, client->Create(lease));
  REQUIRE_FALSE(again.ok());
  CHECK(again.status().code() == StatusCode::kAlreadyExists);
  CHECK(again.status().reason() == "AlreadyExists");

  // Someone else writes (an annotation): our resourceVersion is now stale.
  api.TouchAnnotation("default", "dbconnd");
  Lease stale = *created;
  stale.spec.lease_transitions = 7;
  auto conflict = Await(io, client->Update(stale));
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.status().code() == StatusCode::kAborted);
  CHECK(conflict.status().reason() == "Conflict");
  CHECK(conflict.status().http_status() == 409);
  CHECK(api.Transitions() == 0);

  // Re-read and update: the annotation we do not model is kept.
  auto fresh = Await(io, client->Get("default", "dbconnd"));
  REQUIRE(fresh.ok());
  Lease next = *fresh;
  next.spec.lease_transitions = 1;
  auto updated = Await(io, client->Update(next));
  REQUIRE(updated.ok());
  CHECK(updated->resource_version != fresh->resource_version);
  CHECK(api.Transitions() == 1);
  CHECK(api.leases.at("default/dbconnd").at("metadata").at("annotations").at("touched") == "1");

  Lease no_rv = next;
  no_rv.resource_version.clear();
  auto refused = Await(io, client->Update(no_rv));
  CHECK(refused.status().code() == StatusCode::kFailedPrecondition);
  api.Stop();
  REQUIRE(seen.size() >= 3);
  CHECK(seen[0] == "leases.get 404");
  CHECK(seen[1] == "leases.create 201");
  CHECK(seen[2] == "leases.create 409");
}

TEST_CASE("lease client: auth and availability errors carry no token", "[k8s][lease]") {
  asio::io_context io;
  FakeKubeApi api;
  api.Start(io.get_executor());
  auto bad = MakeLeaseClient(io, api.url(), "wrong-token-123");
  auto r = Await(io, bad->Get("default", "dbconnd"));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == StatusCode::kUnauthenticated);
  CHECK(r.status().ToString().find("wrong-token-123") == std::string::npos);

  auto cut = MakeLeaseClient(io, api.url(), "token-b");
  api.partitioned.insert("token-b");
  auto u = Await(io, cut->Get("default", "dbconnd"));
  REQUIRE_FALSE(u.ok());
  CHECK(u.status().code() == StatusCode::kUnavailable);

  // A server that is gone is UNAVAILABLE too, not a crash.
  auto gone = MakeLeaseClient(io, "http://127.0.0.1:1", "token-a");
  auto g = Await(io, gone->Get("default", "dbconnd"));
  REQUIRE_FALSE(g.ok());
  CHECK(g.status().code() == StatusCode::kUnavailable);
  api.Stop();
}
