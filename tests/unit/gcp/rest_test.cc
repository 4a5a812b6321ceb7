#include <catch2/catch.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <set>

#include "gcp/raw_resource.h"
#include "gcp/rest_clients.h"
#include "gcp/run_wire.h"
#include "test_util.h"

namespace dbconnd::gcp {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using testing::FakeHttpClient;
using testing::FakeTime;
using testing::RunSync;

class FixedToken : public TokenSource {
 public:
  boost::asio::awaitable<StatusOr<AccessToken>> Token() override {
    co_return AccessToken{"ya29.test-token", std::chrono::system_clock::now() + std::chrono::hours(1)};
  }
  std::string Describe() const override { return "fixed"; }
};

struct Fixture {
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  FakeTime time;
  std::unique_ptr<RestClients> owner;
  Clients c;

  explicit Fixture(RateLimits limits = RateLimits::Unlimited(),
                   std::shared_ptr<Telemetry> telemetry = nullptr) {
    RestOptions o;
    o.telemetry = std::move(telemetry);
    o.clock = time.clock();
    o.sleeper = time.sleeper();
    o.rng = [] { return 0.5; };
    o.retry.initial_backoff = milliseconds(1000);
    Endpoints e;
    REQUIRE(e.Override("sqladmin=http://127.0.0.1:1").ok());
    REQUIRE(e.Override("run=http://127.0.0.1:2").ok());
    REQUIRE(e.Override("vpcaccess=http://127.0.0.1:3").ok());
    REQUIRE(e.Override("servicenetworking=http://127.0.0.1:4").ok());
    REQUIRE(e.Override("compute=http://127.0.0.1:5").ok());
    owner = MakeRestClients(boost::asio::system_executor(), http, std::make_shared<FixedToken>(),
                            e, std::move(limits), o);
    c = owner->clients();
  }
};

constexpr char kInstance[] = R"({
  "kind": "sql#instance", "name": "saleor-db-demo", "project": "melodic-now-463704-k1",
  "region": "us-central1", "connectionName": "melodic-now-463704-k1:us-central1:saleor-db-demo",
  "databaseVersion": "POSTGRES_15", "state": "RUNNABLE",
  "settings": {"settingsVersion": "42", "tier": "db-f1-micro",
    "ipConfiguration": {"ipv4Enabled": true, "sslMode": "ENCRYPTED_ONLY",
      "authorizedNetworks": [{"value": "203.0.113.0/24", "name": "office", "kind": "sql#aclEntry"}]},
    "databaseFlags": [{"name": "cloudsql.iam_authentication", "value": "on"}]},
  "ipAddresses": [{"type": "PRIMARY", "ipAddress": "34.41.195.120"}]})";

constexpr char k429[] =
    R"({"error":{"code":429,"message":"Quota exceeded","status":"RESOURCE_EXHAUSTED"}})";

TEST_CASE("a read gets 429 then 200: retried with backoff, no real sleep", "[rest]") {
  Fixture f;
  f.http->Push(429, k429);
  f.http->Push(200, kInstance);
  auto inst = RunSync(f.c.sql->GetInstance("melodic-now-463704-k1", "saleor-db-demo"));
  REQUIRE(inst.ok());
  CHECK(f.http->requests.size() == 2);
  REQUIRE(f.time.sleeps.size() == 1);
  CHECK(f.time.sleeps[0] == milliseconds(500));  // full jitter: 0.5 * 1000
  const auto& req = f.http->requests[0];
  CHECK(req.method == "GET");
  CHECK(req.url == "http://127.0.0.1:1/v1/projects/melodic-now-463704-k1/instances/saleor-db-demo");
  REQUIRE(req.FindHeader("Authorization") != nullptr);
  CHECK(*req.FindHeader("Authorization") == "Bearer ya29.test-token");

  CHECK(inst->name == "saleor-db-demo");
  CHECK(inst->connection_name == "melodic-now-463704-k1:us-central1:saleor-db-demo");
  CHECK(inst->settings_version == "42");
  CHECK(inst->ipv4_enabled);
  CHECK(inst->ssl_mode == "ENCRYPTED_ONLY");
  REQUIRE(inst->authorized_networks.size() == 1);
  CHECK(inst->authorized_networks[0] == AclEntry{"203.0.113.0/24", "office", ""});
  CHECK(inst->database_flags == std::vector<DatabaseFlag>{{"cloudsql.iam_authentication", "on"}});
  CHECK(inst->AddressOfType("PRIMARY") == "34.41.195.120");
  CHECK(inst->IsPostgres());
}

// Keeps every RequestReport (rpc copied: the report's views live as long as
// the call).
class RequestRecorder : public Telemetry {
 public:
  struct Seen {
    Api api;
    std::string rpc;
    int http_status;
    std::string failure;
    int attempt;
  };
  void RequestDone(const RequestReport& r) override {
    seen.push_back({r.api, std::string(r.rpc), r.http_status, std::string(r.failure), r.attempt});
  }
  void OperationWaitStarted(std::uint64_t, Api, std::string_view) override {}
  void OperationWaitFinished(std::uint64_t, const OperationWaitReport&) override {}
  std::vector<Seen> seen;
};

TEST_CASE("telemetry sees every attempt with its method, code and attempt number", "[rest]") {
  auto recorder = std::make_shared<RequestRecorder>();
  Fixture f(RateLimits::Unlimited(), recorder);
  f.http->Push(429, k429);
  f.http->Push(200, kInstance);
  REQUIRE(RunSync(f.c.sql->GetInstance("melodic-now-463704-k1", "saleor-db-demo")).ok());
  REQUIRE(recorder->seen.size() == 2);
  CHECK(recorder->seen[0].api == Api::kSqlAdmin);
  CHECK(recorder->seen[0].rpc == "instances.get");
  CHECK(recorder->seen[0].http_status == 429);
  CHECK(recorder->seen[0].attempt == 1);
  CHECK(recorder->seen[1].http_status == 200);
  CHECK(recorder->seen[1].attempt == 2);

  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return UnavailableError("connection refused");
  };
  CHECK_FALSE(RunSync(f.c.vpc->GetConnector("p", "r", "c")).ok());
  REQUIRE(recorder->seen.size() > 2);
  CHECK(recorder->seen[2].rpc == "connectors.get");
  CHECK(recorder->seen[2].http_status == 0);
  CHECK(recorder->seen[2].failure == "connection_error");
}

TEST_CASE("every REST method names itself to telemetry", "[rest]") {
  auto recorder = std::make_shared<RequestRecorder>();
  Fixture f(RateLimits::Unlimited(), recorder);
  // One reply that every call accepts or rejects without retrying.
  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return testing::JsonReply(404, R"({"error":{"code":404,"message":"nope","status":"NOT_FOUND"}})");
  };
  (void)RunSync(f.c.sql->GetInstance("p", "i"));
  (void)RunSync(f.c.sql->ListInstances("p"));
  SqlInstancePatch patch;
  patch.settings_version = "1";
  patch.ssl_mode = "ENCRYPTED_ONLY";
  (void)RunSync(f.c.sql->PatchInstance("p", "i", patch));
  (void)RunSync(f.c.sql->GetOperation("p", "o"));
  (void)RunSync(f.c.sql->ListOperations("p", "i"));
  (void)RunSync(f.c.run->GetJob("p", "r", "j"));
  (void)RunSync(f.c.run->ListJobs("p", "r", RawDocuments::kDrop));
  (void)RunSync(f.c.run->RunJob("p", "r", "j"));
  (void)RunSync(f.c.run->GetExecution("projects/p/locations/r/jobs/j/executions/e"));
  (void)RunSync(f.c.run->GetService("p", "r", "s"));
  (void)RunSync(f.c.run->ListServices("p", "r", RawDocuments::kDrop));
  (void)RunSync(f.c.run->GetOperation("projects/p/locations/r/operations/o"));
  (void)RunSync(f.c.vpc->GetConnector("p", "r", "c"));
  (void)RunSync(f.c.vpc->ListConnectors("p", "r"));
  (void)RunSync(f.c.vpc->CreateConnector(Connector{}));
  (void)RunSync(f.c.vpc->DeleteConnector("p", "r", "c"));
  (void)RunSync(f.c.vpc->GetOperation("projects/p/locations/r/operations/o"));
  (void)RunSync(f.c.networking->ListConnections("projects/1/global/networks/default"));
  (void)RunSync(f.c.networking->CreateConnection(PeeringConnection{}));
  (void)RunSync(f.c.networking->GetOperation("operations/o"));
  (void)RunSync(f.c.compute->GetGlobalAddress("p", "a"));
  (void)RunSync(f.c.compute->InsertGlobalAddress(GlobalAddress{}));
  (void)RunSync(f.c.compute->GetGlobalOperation("p", "o"));
  std::set<std::string> rpcs;
  for (const auto& s : recorder->seen) {
    INFO("a request of " << ToString(s.api) << " names no method");
    CHECK_FALSE(s.rpc.empty());
    rpcs.insert(s.rpc);
  }
  CHECK(rpcs == std::set<std::string>{
                    "instances.get", "instances.list", "instances.patch", "operations.get",
                    "operations.list", "jobs.get", "jobs.list", "jobs.run", "executions.get",
                    "services.get", "services.list", "connectors.get", "connectors.list",
                    "connectors.create", "connectors.delete", "connections.list",
                    "connections.create", "globalAddresses.get", "globalAddresses.insert",
                    "globalOperations.get"});
}

TEST_CASE("long-running operations.get: the full name under the API's version", "[rest]") {
  Fixture f;
  constexpr char k404[] = R"({"error":{"code":404,"message":"nope","status":"NOT_FOUND"}})";
  f.http->Push(404, k404);
  auto run = RunSync(f.c.run->GetOperation("projects/p/locations/r/operations/o"));
  CHECK(f.http->requests.back().url == "http://127.0.0.1:2/v2/projects/p/locations/r/operations/o");
  CHECK_THAT(run.status().message(),
             Catch::Contains("run operations.get projects/p/locations/r/operations/o"));
  f.http->Push(404, k404);
  auto vpc = RunSync(f.c.vpc->GetOperation("projects/p/locations/r/operations/o"));
  CHECK(f.http->requests.back().url == "http://127.0.0.1:3/v1/projects/p/locations/r/operations/o");
  CHECK_THAT(vpc.status().message(),
             Catch::Contains("vpcaccess operations.get projects/p/locations/r/operations/o"));
  f.http->Push(200, R"({"name":"operations/o","done":true})");
  auto peering = RunSync(f.c.networking->GetOperation("operations/o"));
  CHECK(f.http->requests.back().method == "GET");
  CHECK(f.http->requests.back().url == "http://127.0.0.1:4/v1/operations/o");
  REQUIRE(peering.ok());
  CHECK(peering->api == Api::kServiceNetworking);
  CHECK(peering->done);
}

TEST_CASE("VPC Access connectors.patch sends the masked fields once", "[rest]") {
  Fixture f;
  ConnectorPatch patch;
  patch.connector.project = "p";
  patch.connector.region = "r";
  patch.connector.name = "c";
  patch.connector.max_instances = 7;
  patch.update_mask = {"maxInstances"};
  f.http->Push(200, R"({"name":"projects/p/locations/r/operations/o","done":false})");
  auto op = RunSync(f.c.vpc->PatchConnector(patch));
  REQUIRE(op.ok());
  CHECK(op->api == Api::kVpcAccess);
  CHECK(op->started_by == "connectors.patch");
  REQUIRE(f.http->requests.size() == 1);
  CHECK(f.http->requests[0].method == "PATCH");
  CHECK(f.http->requests[0].url ==
        "http://127.0.0.1:3/v1/projects/p/locations/r/connectors/c?updateMask=maxInstances");
  CHECK(json::parse(f.http->requests[0].body) == json::parse(R"({"maxInstances":7})"));

  f.http->Push(503, R"({"error":{"code":503,"message":"later","status":"UNAVAILABLE"}})");
  auto refused = RunSync(f.c.vpc->PatchConnector(patch));
  CHECK(refused.status().code() == StatusCode::kUnavailable);
  CHECK_THAT(refused.status().message(),
             Catch::Contains("vpcaccess connectors.patch projects/p/locations/r/connectors/c"));
  CHECK(f.http->requests.size() == 2);  // a mutation is not resent
}

TEST_CASE("retries honour RetryInfo and stop at the attempt bound", "[rest]") {
  Fixture f;
  f.http->Push(503, R"({"error":{"code":503,"status":"UNAVAILABLE","message":"later","details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"3.5s"}]}})");
  f.http->Push(200, kInstance);
  REQUIRE(RunSync(f.c.sql->GetInstance("p", "i")).ok());
  REQUIRE(f.time.sleeps.size() == 1);
  CHECK(f.time.sleeps[0] == milliseconds(3500));

  Fixture g;
  for (int i = 0; i < 10; ++i) g.http->PushError(UnavailableError("connect to 127.0.0.1:1 refused"));
  auto s = RunSync(g.c.sql->GetInstance("p", "i"));
  CHECK(s.status().code() == StatusCode::kUnavailable);
  CHECK(g.http->requests.size() == 5);  // default max_attempts
  CHECK(g.time.sleeps.size() == 4);
  CHECK_THAT(s.status().message(), Catch::Contains("gave up after 5 attempts"));
  CHECK_THAT(s.status().message(), Catch::Contains("sqladmin instances.get p/i"));

  Fixture h;  // not retryable: 404 returns at once
  h.http->Push(404, R"({"error":{"code":404,"message":"not found","status":"NOT_FOUND"}})");
  CHECK(RunSync(h.c.sql->GetInstance("p", "i")).status().code() == StatusCode::kNotFound);
  CHECK(h.http->requests.size() == 1);
}

TEST_CASE("mutations are sent once: 409/412/503 are surfaced", "[rest]") {
  struct Case {
    int http;
    std::string body;
    StatusCode code;
    std::string reason;
  };
  std::vector<Case> cases = {
      {409, R"({"error":{"code":409,"message":"Operation failed because another operation was already in progress.","errors":[{"reason":"operationInProgress","domain":"global"}]}})",
       StatusCode::kAborted, "operationInProgress"},
      {412, R"({"error":{"code":412,"message":"Condition does not match.","errors":[{"reason":"staleData","location":"If-Match","locationType":"header"}]}})",
       StatusCode::kFailedPrecondition, "staleData"},
      {503, R"({"error":{"code":503,"message":"backend","status":"UNAVAILABLE"}})",
       StatusCode::kUnavailable, ""},
  };
  for (const auto& c : cases) {
    Fixture f;
    f.http->Push(c.http, c.body);
    SqlInstancePatch p;
    p.settings_version = "42";
    p.ipv4_enabled = false;
    auto op = RunSync(f.c.sql->PatchInstance("p", "i", p));
    CHECK(op.status().code() == c.code);
    CHECK(op.status().reason() == c.reason);
    CHECK(op.status().http_status() == c.http);
    CHECK(f.http->requests.size() == 1);
    CHECK(f.time.sleeps.empty());
  }
}

TEST_CASE("Cloud SQL patch sends only engaged fields plus settingsVersion", "[rest]") {
  Fixture f;
  f.http->Push(200, R"({"kind":"sql#operation","name":"op-123","status":"PENDING","operationType":"UPDATE","targetId":"i","targetProject":"p"})");
  SqlInstancePatch p;
  p.settings_version = "42";
  p.authorized_networks = std::vector<AclEntry>{};  // explicit clear
  p.ssl_mode = "ENCRYPTED_ONLY";
  auto op = RunSync(f.c.sql->PatchInstance("p", "i", p));
  REQUIRE(op.ok());
  CHECK(op->name == "op-123");
  CHECK(op->project == "p");
  CHECK(op->api == Api::kSqlAdmin);
  CHECK_FALSE(op->done);
  const auto& req = f.http->requests.at(0);
  CHECK(req.method == "PATCH");
  CHECK(req.url == "http://127.0.0.1:1/v1/projects/p/instances/i");
  CHECK(json::parse(req.body) ==
        json::parse(R"({"settings":{"settingsVersion":"42","ipConfiguration":{"sslMode":"ENCRYPTED_ONLY","authorizedNetworks":[]}}})"));

  Fixture g;
  SqlInstancePatch no_version;
  no_version.ipv4_enabled = true;
  CHECK(RunSync(g.c.sql->PatchInstance("p", "i", no_version)).status().code() ==
        StatusCode::kInvalidArgument);
  CHECK(g.http->requests.empty());
}

TEST_CASE("raw documents kept from a list page live in their own storage, not the page's arena",
          "[rest]") {
  // A page is decoded into an arena freed before the next page is read: a
  // raw document kept from it must not point into that arena.
  std::string big = R"({"jobs":[)";
  for (int i = 0; i < 50; ++i) {
    big += std::string(i ? "," : "") + R"({"name":"projects/p/locations/r/jobs/job-)" +
           std::to_string(i) + R"(","labels":{"padding":")" + std::string(200, 'x') + R"("}})";
  }
  big += R"(],"nextPageToken":"t1"})";
  Fixture f;
  f.http->Push(200, big);
  f.http->Push(200, R"({"jobs":[{"name":"projects/p/locations/r/jobs/later","labels":{"padding":")" +
                        std::string(200, 'y') + R"("}}],"nextPageToken":"t2"})");
  f.http->Push(200, R"({"jobs":[{"name":"projects/p/locations/r/jobs/last"}]})");
  std::vector<RunWorkload> seen;
  std::function<void(RunWorkload)> each = [&seen](RunWorkload w) { seen.push_back(std::move(w)); };
  Status listed =
      RunSync(f.c.run->ForEachWorkload(RunKind::kJob, "p", "r", RawDocuments::kKeep, each));
  REQUIRE(listed.ok());
  REQUIRE(seen.size() == 52);
  for (int i = 0; i < 50; ++i) {
    CHECK(seen[i].name == "job-" + std::to_string(i));
    REQUIRE(seen[i].raw);
    const json::value& doc = seen[i].raw->json();
    // In the default storage, not in the page's arena.
    CHECK(doc.storage().get() == json::storage_ptr().get());
    CHECK(std::string(doc.at("name").as_string()) ==
          "projects/p/locations/r/jobs/job-" + std::to_string(i));
    CHECK(std::string(doc.at("labels").at("padding").as_string()) == std::string(200, 'x'));
  }
  CHECK(seen[50].name == "later");
  CHECK(seen[51].name == "last");
}

TEST_CASE("lists follow nextPageToken", "[rest]") {
  Fixture f;
  f.http->Push(200, R"({"items":[{"name":"a"},{"name":"b"}],"nextPageToken":"t1"})");
  f.http->Push(200, R"({"items":[{"name":"c"}],"nextPageToken":"t/2+"})");
  f.http->Push(200, R"({"items":[{"name":"d"}]})");
  auto list = RunSync(f.c.sql->ListInstances("p"));
  REQUIRE(list.ok());
  REQUIRE(list->size() == 4);
  CHECK((*list)[3].name == "d");
  REQUIRE(f.http->requests.size() == 3);
  CHECK(f.http->requests[0].url == "http://127.0.0.1:1/v1/projects/p/instances");
  CHECK(f.http->requests[1].url == "http://127.0.0.1:1/v1/projects/p/instances?pageToken=t1");
  CHECK(f.http->requests[2].url == "http://127.0.0.1:1/v1/projects/p/instances?pageToken=t%2F2%2B");

  Fixture g;
  g.http->Push(200, R"({"items":[],"nextPageToken":"same"})");
  g.http->Push(200, R"({"items":[],"nextPageToken":"same"})");
  CHECK_FALSE(RunSync(g.c.sql->ListInstances("p")).ok());  // no endless loop

  Fixture h;
  h.http->Push(200, R"({"items":[{"name":"op1","status":"RUNNING"}]})");
  auto ops = RunSync(h.c.sql->ListOperations("p", "i"));
  REQUIRE(ops.ok());
  CHECK(h.http->requests[0].url == "http://127.0.0.1:1/v1/projects/p/operations?instance=i");
}

// A live job with fields dbconnd does not model at every level.
constexpr char kJob[] = R"({
  "name": "projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration",
  "uid": "8c5e", "generation": "7", "etag": "\"etag-7\"",
  "x-unknown-future-field": {"nested": [1, 2]},
  "labels": {"team": "shop"},
  "template": {
    "taskCount": 1, "x-unknown-future-field": {"nested": [1, 2]},
    "template": {
      "maxRetries": 3, "timeout": "600s", "x-unknown-future-field": {"nested": [1, 2]},
      "containers": [{
        "name": "migrate", "image": "ghcr.io/saleor/saleor:3.20",
        "command": ["python", "manage.py", "migrate"],
        "x-unknown-future-field": {"nested": [1, 2]},
        "resources": {"limits": {"cpu": "1", "memory": "512Mi"}},
        "env": [
          {"name": "DJANGO_SETTINGS", "value": "saleor.settings", "x-unknown-future-field": {"nested": [1, 2]}},
          {"name": "DATABASE_URL", "value": "postgres://saleor@34.41.195.120/saleor"},
          {"name": "SECRET_KEY", "valueSource": {"secretKeyRef": {"secret": "django-key", "version": "latest"}}}
        ],
        "volumeMounts": [{"name": "cache", "mountPath": "/cache"}]
      }],
      "volumes": [
        {"name": "cache", "emptyDir": {"medium": "MEMORY", "sizeLimit": "64Mi"}},
        {"name": "old-sql", "cloudSqlInstance": {"instances": ["p:r:old"]}}
      ],
      "vpcAccess": {"networkInterfaces": [], "x-unknown-future-field": {"nested": [1, 2]}}
    }
  },
  "latestCreatedExecution": {"name": "projects/melodic-now-463704-k1/locations/us-central1/jobs/saleor-migration/executions/e-1", "completionStatus": "EXECUTION_FAILED"}
})";

constexpr char kRunOp[] =
    R"({"name":"projects/p/locations/us-central1/operations/op-9","done":false,"metadata":{"@type":"type.googleapis.com/google.cloud.run.v2.Job","name":"projects/p/locations/us-central1/jobs/saleor-migration"}})";

TEST_CASE("Run job read-modify-write keeps unknown fields intact", "[rest][run]") {
  Fixture f;
  f.http->Push(200, kJob);
  f.http->Push(200, kRunOp);
  f.http->Push(200, kRunOp);
  auto job = RunSync(f.c.run->GetJob("melodic-now-463704-k1", "us-central1", "saleor-migration"));
  REQUIRE(job.ok());
  CHECK(f.http->requests[0].url ==
        "http://127.0.0.1:2/v2/projects/melodic-now-463704-k1/locations/us-central1/jobs/"
        "saleor-migration");
  CHECK(job->project == "melodic-now-463704-k1");
  CHECK(job->region == "us-central1");
  CHECK(job->name == "saleor-migration");
  CHECK(job->etag == "\"etag-7\"");
  CHECK(job->generation == "7");
  REQUIRE(job->containers.size() == 1);
  CHECK(job->containers[0].env.size() == 3);
  CHECK(job->containers[0].env[2].secret == SecretKeyRef{"django-key", "latest"});
  REQUIRE(job->cloud_sql_volumes.size() == 1);
  CHECK(job->cloud_sql_volumes[0].instances == std::vector<std::string>{"p:r:old"});
  CHECK_FALSE(job->vpc_access.has_value());
  CHECK(job->latest_execution.find("/executions/e-1") != std::string::npos);

  SECTION("unchanged: the body is the live document, byte for byte") {
    auto op = RunSync(f.c.run->PatchJob(*job));
    REQUIRE(op.ok());
    const auto& req = f.http->requests.at(1);
    CHECK(req.method == "PATCH");
    CHECK(req.body == json::serialize(json::parse(kJob)));
  }

  SECTION("edited: only modelled parts change") {
    RunWorkload want = *job;
    auto& env = want.containers[0].env;
    env[1] = EnvVar{"DATABASE_URL", "postgres://saleor@10.20.0.3/saleor?sslmode=require", {}};
    env.push_back(EnvVar{"DB_PASSWORD", "", SecretKeyRef{"saleor-db", "latest"}});
    want.containers[0].volume_mounts.push_back({"cloudsql", "/cloudsql"});
    want.cloud_sql_volumes = {{"cloudsql", {"melodic-now-463704-k1:us-central1:saleor-db-demo"}}};
    want.vpc_access = RunVpcAccess{"projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector",
                                   "PRIVATE_RANGES_ONLY"};
    auto op = RunSync(f.c.run->PatchJob(want));
    REQUIRE(op.ok());
    CHECK(op->api == Api::kRun);
    CHECK(op->name == "projects/p/locations/us-central1/operations/op-9");
    CHECK_FALSE(op->done);

    json::value sent = json::parse(f.http->requests.at(1).body);
    json::value live = json::parse(kJob);
    const json::value unknown = json::parse(R"({"nested": [1, 2]})");
    auto& s = sent.as_object();
    CHECK(s.at("x-unknown-future-field") == unknown);
    CHECK(s.at("etag") == "\"etag-7\"");
    CHECK(s.at("labels") == live.at("labels"));
    CHECK(s.at("uid") == "8c5e");
    auto& et = s.at("template").as_object();
    CHECK(et.at("x-unknown-future-field") == unknown);
    auto& tt = et.at("template").as_object();
    CHECK(tt.at("x-unknown-future-field") == unknown);
    CHECK(tt.at("maxRetries") == 3);
    auto& c0 = tt.at("containers").as_array().at(0).as_object();
    CHECK(c0.at("x-unknown-future-field") == unknown);
    CHECK(c0.at("command") == live.at_pointer("/template/template/containers/0/command"));
    CHECK(c0.at("resources") == live.at_pointer("/template/template/containers/0/resources"));
    auto& env_out = c0.at("env").as_array();
    REQUIRE(env_out.size() == 4);
    CHECK(env_out[0] == live.at_pointer("/template/template/containers/0/env/0"));  // unknown kept
    CHECK(env_out[1] == json::parse(R"({"name":"DATABASE_URL","value":"postgres://saleor@10.20.0.3/saleor?sslmode=require"})"));
    CHECK(env_out[2] == live.at_pointer("/template/template/containers/0/env/2"));
    CHECK(env_out[3] == json::parse(R"({"name":"DB_PASSWORD","valueSource":{"secretKeyRef":{"secret":"saleor-db","version":"latest"}}})"));
    CHECK(c0.at("volumeMounts") == json::parse(R"([{"name":"cache","mountPath":"/cache"},{"name":"cloudsql","mountPath":"/cloudsql"}])"));
    // emptyDir volume untouched, old Cloud SQL volume removed, new one added.
    CHECK(tt.at("volumes") == json::parse(R"([{"name":"cache","emptyDir":{"medium":"MEMORY","sizeLimit":"64Mi"}},
        {"name":"cloudsql","cloudSqlInstance":{"instances":["melodic-now-463704-k1:us-central1:saleor-db-demo"]}}])"));
    auto& vpc = tt.at("vpcAccess").as_object();
    CHECK(vpc.at("x-unknown-future-field") == unknown);
    CHECK(vpc.at("networkInterfaces") == json::array());
    CHECK(vpc.at("connector") ==
          "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector");
    CHECK(vpc.at("egress") == "PRIVATE_RANGES_ONLY");
    // Round trip through the parser gives back what was asked.
    RunWorkload reparsed = ParseRunWorkload(sent, RunKind::kJob);
    CHECK(reparsed.containers[0].env == want.containers[0].env);
  }

  SECTION("a patch without the live document is refused") {
    RunWorkload hand_made = *job;
    hand_made.raw = nullptr;
    CHECK(RunSync(f.c.run->PatchJob(hand_made)).status().code() == StatusCode::kInvalidArgument);
    CHECK(f.http->requests.size() == 1);
  }
}

}  // namespace
}  // namespace dbconnd::gcp

namespace dbconnd::gcp {
namespace {

TEST_CASE("VPC Access, Service Networking and Compute use Google's paths", "[rest]") {
  Fixture f;
  f.http->Push(200, R"({"name":"projects/p/locations/r/operations/v1","done":false,"metadata":{"method":"google.cloud.vpcaccess.v1.VpcAccessService.CreateConnector","target":"projects/p/locations/r/connectors/c"}})");
  Connector conn;
  conn.project = "p";
  conn.region = "r";
  conn.name = "c";
  conn.network = "default";
  conn.ip_cidr_range = "10.8.0.0/28";
  conn.min_instances = 2;
  conn.max_instances = 3;
  auto op = RunSync(f.c.vpc->CreateConnector(conn));
  REQUIRE(op.ok());
  CHECK(op->api == Api::kVpcAccess);
  CHECK(op->target == "projects/p/locations/r/connectors/c");
  CHECK(f.http->requests[0].method == "POST");
  CHECK(f.http->requests[0].url == "http://127.0.0.1:3/v1/projects/p/locations/r/connectors?connectorId=c");
  CHECK(json::parse(f.http->requests[0].body) ==
        json::parse(R"({"network":"default","ipCidrRange":"10.8.0.0/28","minInstances":2,"maxInstances":3})"));

  f.http->Push(200, R"({"name":"projects/p/locations/r/connectors/c","network":"default","ipCidrRange":"10.8.0.0/28","state":"READY","minInstances":2,"maxInstances":3,"machineType":"e2-micro"})");
  auto got = RunSync(f.c.vpc->GetConnector("p", "r", "c"));
  REQUIRE(got.ok());
  CHECK(got->state == "READY");
  CHECK(got->FullName() == "projects/p/locations/r/connectors/c");
  CHECK(got->max_instances == 3);

  f.http->Push(200, R"({"connections":[{"network":"projects/123/global/networks/default","reservedPeeringRanges":["google-managed"],"service":"services/servicenetworking.googleapis.com","peering":"servicenetworking-googleapis-com"}]})");
  auto conns = RunSync(f.c.networking->ListConnections("projects/123/global/networks/default"));
  REQUIRE(conns.ok());
  REQUIRE(conns->size() == 1);
  CHECK((*conns)[0].reserved_peering_ranges == std::vector<std::string>{"google-managed"});
  CHECK(f.http->requests[2].url ==
        "http://127.0.0.1:4/v1/services/servicenetworking.googleapis.com/connections"
        "?network=projects%2F123%2Fglobal%2Fnetworks%2Fdefault");

  f.http->Push(200, R"({"name":"operations/pssn.1","done":false})");
  PeeringConnection pc{"projects/123/global/networks/default", {"google-managed"}, "", ""};
  REQUIRE(RunSync(f.c.networking->CreateConnection(pc)).ok());
  CHECK(json::parse(f.http->requests[3].body) ==
        json::parse(R"({"network":"projects/123/global/networks/default","reservedPeeringRanges":["google-managed"]})"));

  f.http->Push(200, R"({"name":"operation-9","status":"PENDING","operationType":"insert","targetLink":"https://compute/x"})");
  GlobalAddress addr;
  addr.project = "p";
  addr.name = "google-managed";
  addr.prefix_length = 16;
  addr.network = "projects/p/global/networks/default";
  auto cop = RunSync(f.c.compute->InsertGlobalAddress(addr));
  REQUIRE(cop.ok());
  CHECK(cop->api == Api::kCompute);
  CHECK(cop->project == "p");
  CHECK(f.http->requests[4].url == "http://127.0.0.1:5/compute/v1/projects/p/global/addresses");
  CHECK(json::parse(f.http->requests[4].body) ==
        json::parse(R"({"name":"google-managed","addressType":"INTERNAL","purpose":"VPC_PEERING","prefixLength":16,"network":"projects/p/global/networks/default"})"));
}

TEST_CASE("Compute: each call's method, URL, requestId and message name", "[rest][compute]") {
  Fixture f;
  const std::string root = "http://127.0.0.1:5/compute/v1/projects/p%20q";
  // Reads: GET of the named resource, segments encoded; a refusal names the call.
  struct Read {
    std::function<Task<Status>()> call;
    std::string url;
    std::string what;
  };
  Compute& compute = *f.c.compute;
  auto status_of = [](auto task) -> Task<Status> {
    auto result = co_await std::move(task);
    co_return result.status();
  };
  std::vector<Read> reads = {
      {[&] { return status_of(compute.GetGlobalAddress("p q", "a/b")); },
       root + "/global/addresses/a%2Fb", "compute globalAddresses.get p q/a/b"},
      {[&] { return status_of(compute.GetGlobalOperation("p q", "op-1")); },
       root + "/global/operations/op-1", "compute globalOperations.get p q/op-1"},
      {[&] { return status_of(compute.GetSubnetwork("p q", "r", "s")); },
       root + "/regions/r/subnetworks/s", "compute subnetworks.get p q/r/s"},
      {[&] { return status_of(compute.GetAddress("p q", "r", "a")); },
       root + "/regions/r/addresses/a", "compute addresses.get p q/r/a"},
      {[&] { return status_of(compute.GetForwardingRule("p q", "r", "fr")); },
       root + "/regions/r/forwardingRules/fr", "compute forwardingRules.get p q/r/fr"},
      {[&] { return status_of(compute.GetRegionOperation("p q", "r", "op-2")); },
       root + "/regions/r/operations/op-2", "compute regionOperations.get p q/r/op-2"},
  };
  for (const auto& read : reads) {
    const size_t sent = f.http->requests.size();
    f.http->Push(404, R"({"error":{"code":404,"message":"not found","status":"NOT_FOUND"}})");
    Status s = RunSync(read.call());
    CHECK(s.code() == StatusCode::kNotFound);
    CHECK(s.message().find(read.what) != std::string::npos);
    REQUIRE(f.http->requests.size() == sent + 1);
    CHECK(f.http->requests.back().method == "GET");
    CHECK(f.http->requests.back().url == read.url);
  }

  // Inserts: POST to the collection with ?requestId=; a regional operation's
  // name carries its region so that the waiter polls regionOperations.
  constexpr char kPending[] =
      R"({"name":"operation-7","status":"PENDING","operationType":"insert"})";
  RegionAddress address;
  address.project = "p q";
  address.region = "r";
  address.name = "a";
  address.request_id = "11111111-2222-4333-8444-555555555555";
  f.http->Push(200, kPending);
  auto op = RunSync(compute.InsertAddress(address));
  REQUIRE(op.ok());
  CHECK(op->name == "regions/r/operations/operation-7");
  CHECK(op->project == "p q");
  CHECK(f.http->requests.back().method == "POST");
  CHECK(f.http->requests.back().url ==
        root + "/regions/r/addresses?requestId=11111111-2222-4333-8444-555555555555");

  ForwardingRule rule;
  rule.project = "p q";
  rule.region = "r";
  rule.name = "fr";
  f.http->Push(200, kPending);
  op = RunSync(compute.InsertForwardingRule(rule));
  REQUIRE(op.ok());
  CHECK(op->name == "regions/r/operations/operation-7");
  CHECK(f.http->requests.back().url == root + "/regions/r/forwardingRules");

  GlobalAddress range;
  range.project = "p q";
  range.name = "g";
  range.request_id = "x";
  f.http->Push(200, kPending);
  op = RunSync(compute.InsertGlobalAddress(range));
  REQUIRE(op.ok());
  CHECK(op->name == "operation-7");
  CHECK(f.http->requests.back().url == root + "/global/addresses?requestId=x");

  // A refused insert names the call with its scope.
  f.http->Push(409, R"({"error":{"code":409,"message":"exists","status":"ALREADY_EXISTS"}})");
  op = RunSync(compute.InsertForwardingRule(rule));
  REQUIRE(!op.ok());
  CHECK(op.status().message().find("compute forwardingRules.insert p q/r/fr") != std::string::npos);
}

TEST_CASE("Compute 403 rateLimitExceeded is retried for reads", "[rest]") {
  Fixture f;
  f.http->Push(403, R"({"error":{"code":403,"message":"Rate Limit Exceeded","errors":[{"reason":"rateLimitExceeded","domain":"usageLimits"}]}})");
  f.http->Push(200, R"({"name":"google-managed","address":"10.20.0.0","prefixLength":16})");
  auto a = RunSync(f.c.compute->GetGlobalAddress("p", "google-managed"));
  REQUIRE(a.ok());
  CHECK(a->address == "10.20.0.0");
  CHECK(f.http->requests.size() == 2);
  CHECK(f.time.sleeps.size() == 1);
}

TEST_CASE("Run services keep their template one level up", "[rest][run]") {
  Fixture f;
  f.http->Push(200, R"({"name":"projects/p/locations/r/services/web","etag":"e1","template":{
    "containers":[{"name":"web","image":"img","env":[{"name":"A","value":"1"}]}],
    "vpcAccess":{"connector":"projects/p/locations/r/connectors/c","egress":"ALL_TRAFFIC"}}})");
  f.http->Push(200, R"({"name":"projects/p/locations/r/operations/o","done":false})");
  auto svc = RunSync(f.c.run->GetService("p", "r", "web"));
  REQUIRE(svc.ok());
  CHECK(svc->kind == RunKind::kService);
  REQUIRE(svc->vpc_access.has_value());
  CHECK(svc->vpc_access->egress == "ALL_TRAFFIC");
  RunWorkload want = *svc;
  want.vpc_access.reset();
  REQUIRE(RunSync(f.c.run->PatchService(want)).ok());
  auto sent = json::parse(f.http->requests[1].body);
  CHECK(f.http->requests[1].url == "http://127.0.0.1:2/v2/projects/p/locations/r/services/web");
  CHECK_FALSE(sent.at("template").as_object().contains("vpcAccess"));
  CHECK(sent.at_pointer("/template/containers/0/env/0/value") == "1");
}

TEST_CASE("client-side rate limit applies before the request is sent", "[rest]") {
  RateLimits limits;
  limits.limits[{Api::kSqlAdmin, Bucket::kGet}] = {60, 1};
  Fixture f(limits);
  f.http->handler = [](const net::HttpRequest&) -> StatusOr<net::HttpResponse> {
    return testing::JsonReply(200, kInstance);
  };
  REQUIRE(RunSync(f.c.sql->GetInstance("p", "i")).ok());
  REQUIRE(RunSync(f.c.sql->GetInstance("p", "i")).ok());
  CHECK(f.time.sleeps == std::vector<milliseconds>{milliseconds(1000)});
  CHECK(f.owner->rate_limiter().tokens_left(Api::kSqlAdmin, Bucket::kGet).value() < 1.0);
}

}  // namespace
}  // namespace dbconnd::gcp
