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

namespace {
void Settle(Model& m) { m.Advance(std::chrono::milliseconds(1000)); }

// Gives the incident instance private IP on "default" and returns its address.
std::string EnablePrivateIp(Model& m) {
  REQUIRE(m.Call("POST", "/compute/v1/projects/melodic-now-463704-k1/global/addresses",
                 R"({"name":"psa","addressType":"INTERNAL","purpose":"VPC_PEERING","prefixLength":16,"network":"projects/melodic-now-463704-k1/global/networks/default"})")
              .status == 200);
  Settle(m);
  REQUIRE(m.Call("POST", "/v1/services/servicenetworking.googleapis.com/connections",
                 R"({"network":"projects/493827161123/global/networks/default","reservedPeeringRanges":["psa"]})")
              .status == 200);
  Settle(m);
  REQUIRE(m.Call("PATCH", kInstancePath,
                 R"({"settings":{"ipConfiguration":{"privateNetwork":"projects/melodic-now-463704-k1/global/networks/default"}}})")
              .status == 200);
  Settle(m);
  auto inst = m.Get(kInstancePath).body;
  for (const auto& ip : inst.at("ipAddresses").as_array()) {
    if (S(ip, {"type"}) == "PRIVATE") return S(ip, {"ipAddress"});
  }
  FAIL("no private IP");
  return "";
}

// Replaces the job's DATABASE_URL and task fields via PATCH (read-modify-write).
void SetJob(Model& m, const std::string& url, boost::json::object task_extra = {}) {
  auto job = m.Get(kJobPath).body;
  auto& task = job.at("template").at("template").as_object();
  for (auto& ev : task.at("containers").as_array()[0].at("env").as_array()) {
    if (S(ev, {"name"}) == "DATABASE_URL") ev.as_object()["value"] = url;
  }
  for (auto& [k, v] : task_extra) task[k] = v;
  auto r = m.Call("PATCH", kJobPath, boost::json::serialize(job));
  INFO(boost::json::serialize(r.body));
  REQUIRE(r.status == 200);
  Settle(m);
}

boost::json::value Finish(Model& m) {
  std::string exec = RunJob(m);
  m.Advance(std::chrono::milliseconds(5000));
  return m.Get("/v2/" + exec).body;
}
}  // namespace

TEST_CASE("job reaches the private IP through a READY connector on the instance's network") {
  Model m;
  std::string ip = EnablePrivateIp(m);
  std::string url = "postgresql://saleor:pw@" + ip + ":5432/saleor";
  SetJob(m, url);
  auto failed = Finish(m);
  CHECK(S(failed, {"failedCount"}) == "1");  // no connector yet

  auto c = m.Call("POST", "/v1/projects/melodic-now-463704-k1/locations/us-central1/connectors?connectorId=saleor-connector",
                  R"({"network":"default","ipCidrRange":"10.8.0.0/28"})");
  REQUIRE(c.status == 200);
  const std::string conn = "/v1/projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector";
  CHECK(S(m.Get(conn).body, {"state"}) == "CREATING");
  Settle(m);
  CHECK(S(m.Get(conn).body, {"state"}) == "READY");
  SetJob(m, url, {{"vpcAccess", {{"connector", "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector"},
                                 {"egress", "PRIVATE_RANGES_ONLY"}}}});
  auto ok = Finish(m);
  CHECK(S(ok, {"succeededCount"}) == "1");
  CHECK(S(ok, {"completionTime"}) != "<missing>");
  auto job = m.Get(kJobPath).body;
  CHECK(S(job, {"latestCreatedExecution", "completionStatus"}) == "EXECUTION_SUCCEEDED");
  // Unrelated env vars and labels survive the patches.
  std::string js = boost::json::serialize(job);
  CHECK(js.find("DJANGO_SETTINGS_MODULE") != std::string::npos);
  CHECK(S(job, {"labels", "team"}) == "commerce");

  // sslmode=disable against ENCRYPTED_ONLY fails with an SSL message.
  REQUIRE(m.Call("PATCH", kInstancePath, R"({"settings":{"ipConfiguration":{"sslMode":"ENCRYPTED_ONLY"}}})").status == 200);
  Settle(m);
  SetJob(m, url + "?sslmode=disable");
  auto ssl = Finish(m);
  CHECK(S(ssl, {"failedCount"}) == "1");
  CHECK(boost::json::serialize(ssl).find("SSL") != std::string::npos);
}

TEST_CASE("job reaches the instance through the Cloud SQL socket volume") {
  Model m;
  const std::string conn = "melodic-now-463704-k1:us-central1:saleor-db-demo";
  SetJob(m, "postgresql://saleor:pw@/saleor?host=/cloudsql/" + conn);
  CHECK(S(Finish(m), {"failedCount"}) == "1");  // no volume
  SetJob(m, "postgresql://saleor:pw@/saleor?host=/cloudsql/" + conn,
         {{"volumes", boost::json::array{{{"name", "cloudsql"}, {"cloudSqlInstance", {{"instances", {conn}}}}}}}});
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
}

TEST_CASE("an authorized network covering Cloud Run egress makes the public path work") {
  Model m;
  REQUIRE(m.Call("POST", "/emulator/edit",
                 R"({"instance":"saleor-db-demo","project":"melodic-now-463704-k1","addAuthorizedNetwork":{"value":"0.0.0.0/0","name":"everyone"}})")
              .status == 200);
  auto inst = m.Get(kInstancePath).body;
  CHECK(S(inst, {"settings", "settingsVersion"}) == "8");  // out-of-band edits bump it too
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
}

TEST_CASE("job patch changes etag and generation: a stale etag is refused") {
  Model m;
  auto job = m.Get(kJobPath).body;
  std::string etag = S(job, {"etag"});
  auto r = m.Call("PATCH", kJobPath, boost::json::serialize(job));
  REQUIRE(r.status == 200);
  CHECK(S(r.body, {"done"}) == "false");
  auto after = m.Get(kJobPath).body;
  CHECK(S(after, {"etag"}) != etag);
  CHECK(S(after, {"generation"}) == "4");
  CHECK(S(after, {"reconciling"}) == "true");
  Settle(m);
  auto op = m.Get("/v2/" + S(r.body, {"name"})).body;
  CHECK(S(op, {"done"}) == "true");
  CHECK(S(op, {"response", "@type"}) == "type.googleapis.com/google.cloud.run.v2.Job");
  CHECK(S(m.Get(kJobPath).body, {"observedGeneration"}) == "4");
  auto stale = m.Call("PATCH", kJobPath, boost::json::serialize(job));  // carries the old etag
  CHECK(stale.status == 409);
  auto bad = m.Call("PATCH", kJobPath, R"({"template":{"template":{"containers":[{"image":"x","bogus":1}]}}})");
  CHECK(bad.status == 400);
}

TEST_CASE("connector range must be an unused /28 and its network is immutable") {
  Model m;
  const std::string base = "/v1/projects/melodic-now-463704-k1/locations/us-central1/connectors";
  CHECK(m.Call("POST", base + "?connectorId=a", R"({"network":"default","ipCidrRange":"10.8.0.0/24"})").status == 400);
  REQUIRE(m.Call("POST", base + "?connectorId=a", R"({"network":"default","ipCidrRange":"10.8.0.0/28"})").status == 200);
  CHECK(m.Call("POST", base + "?connectorId=b", R"({"network":"default","ipCidrRange":"10.8.0.8/29"})").status == 400);
  CHECK(m.Call("POST", base + "?connectorId=a", R"({"network":"default","ipCidrRange":"10.9.0.0/28"})").status == 409);
  Settle(m);
  CHECK(m.Call("PATCH", base + "/a", R"({"network":"other"})").status == 400);
  CHECK(m.Call("PATCH", base + "/a?updateMask=maxInstances", R"({"maxInstances":5})").status == 200);
  Settle(m);
  CHECK(S(m.Get(base + "/a").body, {"maxInstances"}) == "5");
  CHECK(m.Get(base).body.at("connectors").as_array().size() == 1);
  auto del = m.Call("DELETE", base + "/a");
  REQUIRE(del.status == 200);
  Settle(m);
  CHECK(m.Get(base + "/a").status == 404);
  CHECK(S(m.Get("/v1/" + S(del.body, {"name"})).body, {"done"}) == "true");
}

TEST_CASE("fleet seed is converged and listable") {
  Model m("fleet:12");
  auto list = m.Get("/v1/projects/fleet-project-1/instances");
  CHECK(list.body.at("items").as_array().size() == 4);
  auto jobs = m.Get("/v2/projects/fleet-project-1/locations/us-central1/jobs");
  CHECK(jobs.body.at("jobs").as_array().size() == 2);
  auto exec = m.Call("POST", "/v2/projects/fleet-project-1/locations/us-central1/jobs/job-0:run", "{}");
  REQUIRE(exec.status == 200);
  m.Advance(std::chrono::milliseconds(5000));
  CHECK(S(m.Get("/v2/" + S(exec.body, {"metadata", "name"})).body, {"succeededCount"}) == "1");
}

// ---- Direct VPC egress (vpcAccess.networkInterfaces)

namespace {
constexpr char kConnectorName[] = "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector";

// PATCHes the job with `vpc` as its vpcAccess; returns the reply.
Reply PatchVpc(Model& m, boost::json::value vpc) {
  auto job = m.Get(kJobPath).body;
  job.at("template").at("template").as_object()["vpcAccess"] = vpc;
  return m.Call("PATCH", kJobPath, boost::json::serialize(job));
}
}  // namespace

TEST_CASE("Cloud Run refuses a connector and network interfaces together, in Google's error shape") {
  Model m;
  const std::string before = S(m.Get(kJobPath).body, {"generation"});
  auto r = PatchVpc(m, {{"connector", kConnectorName},
                        {"networkInterfaces", boost::json::array{{{"network", "default"}, {"subnetwork", "default"}}}}});
  CHECK(r.status == 400);
  CHECK(S(r.body, {"error", "status"}) == "INVALID_ARGUMENT");
  CHECK(S(r.body, {"error", "code"}) == "400");
  CHECK(S(r.body, {"error", "message"}).find("connector and networkInterfaces") != std::string::npos);
  // Nothing was stored.
  CHECK(S(m.Get(kJobPath).body, {"generation"}) == before);
  // Each alone is accepted.
  CHECK(PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"network", "default"}, {"subnetwork", "default"}}}}})
            .status == 200);
  Settle(m);
  CHECK(PatchVpc(m, {{"connector", kConnectorName}, {"egress", "PRIVATE_RANGES_ONLY"}}).status == 200);
}

TEST_CASE("services get the same connector-or-interfaces rule, also through an updateMask") {
  Model m;
  const std::string svc = "/v2/projects/melodic-now-463704-k1/locations/us-central1/services/api";
  REQUIRE(m.Call("POST", "/emulator/edit",
                 R"({"path":["run","services"],"merge":{"projects/melodic-now-463704-k1/locations/us-central1/services/api":)"
                 R"({"name":"projects/melodic-now-463704-k1/locations/us-central1/services/api","generation":"1",)"
                 R"("template":{"containers":[{"image":"x"}],"vpcAccess":{"connector":")" +
                     std::string(kConnectorName) + R"("}}}}})")
              .status == 200);
  auto r = m.Call("PATCH", svc + "?updateMask=template.vpcAccess.networkInterfaces",
                  R"({"template":{"containers":[{"image":"x"}],"vpcAccess":{"networkInterfaces":[{"network":"default"}]}}})");
  CHECK(r.status == 400);
  CHECK(S(r.body, {"error", "message"}).find("template.vpcAccess") != std::string::npos);
}

TEST_CASE("Direct VPC egress needs a subnetwork that exists in the region and belongs to the network") {
  Model m;
  SECTION("neither network nor subnetwork") {
    auto r = PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"tags", boost::json::array{"db"}}}}}});
    CHECK(r.status == 400);
  }
  SECTION("two interfaces") {
    auto r = PatchVpc(m, {{"networkInterfaces",
                           boost::json::array{{{"network", "default"}}, {{"network", "default"}}}}});
    CHECK(r.status == 400);
  }
  SECTION("unknown subnetwork") {
    auto r = PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"subnetwork", "nope"}}}}});
    CHECK(r.status == 400);
    CHECK(S(r.body, {"error", "message"}).find("'nope' was not found") != std::string::npos);
  }
  SECTION("subnetwork of another network") {
    REQUIRE(m.Call("POST", "/emulator/edit",
                   R"({"path":["compute","subnetworks"],"merge":{"melodic-now-463704-k1/us-central1/other-sub":)"
                   R"({"name":"other-sub","ipCidrRange":"10.20.0.0/24",)"
                   R"("network":"https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/other"}}})")
                .status == 200);
    auto r = PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"network", "default"}, {"subnetwork", "other-sub"}}}}});
    CHECK(r.status == 400);
    CHECK(S(r.body, {"error", "message"}).find("does not belong to network") != std::string::npos);
    // The subnetwork alone is fine: Cloud Run looks its network up.
    CHECK(PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"subnetwork", "other-sub"}}}}}).status == 200);
  }
  SECTION("network alone uses the subnet named like it") {
    CHECK(PatchVpc(m, {{"networkInterfaces", boost::json::array{{{"network", "default"}}}}}).status == 200);
  }
}

TEST_CASE("a job on Direct VPC egress reaches the private IP, and PRIVATE_RANGES_ONLY misses a non-private range") {
  Model m;
  std::string ip = EnablePrivateIp(m);
  std::string url = "postgresql://saleor:pw@" + ip + ":5432/saleor";
  SetJob(m, url, {{"vpcAccess", {{"networkInterfaces", boost::json::array{{{"network", "default"}, {"subnetwork", "default"}}}},
                                 {"egress", "PRIVATE_RANGES_ONLY"}}}});
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
  // Subnetwork alone: its network is looked up.
  SetJob(m, url, {{"vpcAccess", {{"networkInterfaces", boost::json::array{{{"subnetwork", "default"}}}}}}});
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
  // A private IP outside RFC 1918/6598 (a privately used public range) is
  // only routed into the VPC with ALL_TRAFFIC.
  REQUIRE(m.Call("POST", "/emulator/edit",
                 R"({"instance":"saleor-db-demo","merge":{"ipAddresses":[{"type":"PRIVATE","ipAddress":"11.4.0.3"}]}})")
              .status == 200);
  const std::string pupi = "postgresql://saleor:pw@11.4.0.3:5432/saleor";
  SetJob(m, pupi, {{"vpcAccess", {{"networkInterfaces", boost::json::array{{{"subnetwork", "default"}}}},
                                  {"egress", "PRIVATE_RANGES_ONLY"}}}});
  CHECK(S(Finish(m), {"failedCount"}) == "1");
  SetJob(m, pupi, {{"vpcAccess", {{"networkInterfaces", boost::json::array{{{"subnetwork", "default"}}}},
                                  {"egress", "ALL_TRAFFIC"}}}});
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
}

TEST_CASE("the incident-direct-vpc seed's job already leaves through Direct VPC egress on default") {
  Model m("incident-direct-vpc");
  auto job = m.Get(kJobPath).body;
  CHECK(S(job, {"template", "template", "vpcAccess", "networkInterfaces"}) ==
        R"([{"network":"default","subnetwork":"default"}])");
  CHECK(S(job, {"template", "template", "vpcAccess", "connector"}) == "<missing>");
  // The incident itself is unchanged: the public IP allows nobody.
  CHECK(S(Finish(m), {"failedCount"}) == "1");
}

TEST_CASE("compute subnetworks.get and list serve the default subnetworks") {
  Model m;
  auto r = m.Get("/compute/v1/projects/melodic-now-463704-k1/regions/us-central1/subnetworks/default");
  REQUIRE(r.status == 200);
  CHECK(S(r.body, {"ipCidrRange"}) == "10.128.0.0/20");
  CHECK(S(r.body, {"network"}) ==
        "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/global/networks/default");
  CHECK(S(r.body, {"region"}) == "https://www.googleapis.com/compute/v1/projects/melodic-now-463704-k1/regions/us-central1");
  auto missing = m.Get("/compute/v1/projects/melodic-now-463704-k1/regions/us-central1/subnetworks/nope");
  CHECK(missing.status == 404);
  CHECK(S(missing.body, {"error", "status"}) == "NOT_FOUND");
  auto list = m.Get("/compute/v1/projects/melodic-now-463704-k1/regions/europe-west1/subnetworks");
  REQUIRE(list.status == 200);
  REQUIRE(list.body.at("items").as_array().size() == 1);
  CHECK(S(list.body.at("items").as_array()[0], {"ipCidrRange"}) == "10.132.0.0/20");
}

TEST_CASE("Resource Manager v3 projects.get names the project by number, unknown projects are 403") {
  Model m;
  for (std::string key : {"melodic-now-463704-k1", "493827161123"}) {
    auto r = m.Get("/v3/projects/" + key);
    REQUIRE(r.status == 200);
    CHECK(S(r.body, {"name"}) == "projects/493827161123");
    CHECK(S(r.body, {"projectId"}) == "melodic-now-463704-k1");
    CHECK(S(r.body, {"state"}) == "ACTIVE");
  }
  auto r = m.Get("/v3/projects/no-such-project");
  CHECK(r.status == 403);
  CHECK(S(r.body, {"error", "status"}) == "PERMISSION_DENIED");
}

TEST_CASE("connectorEnforcement REQUIRED refuses raw-IP clients, lets the Cloud SQL socket in, NOT_REQUIRED reopens") {
  Model m;
  const std::string conn = "melodic-now-463704-k1:us-central1:saleor-db-demo";
  const std::string private_ip = EnablePrivateIp(m);
  REQUIRE(m.Call("POST", "/emulator/edit",
                 R"({"instance":"saleor-db-demo","project":"melodic-now-463704-k1","addAuthorizedNetwork":{"value":"0.0.0.0/0","name":"everyone"}})")
              .status == 200);
  std::string public_ip;
  // A named copy: a range-for over a member of the temporary reply would
  // read freed memory.
  const boost::json::value inst = m.Get(kInstancePath).body;
  for (const auto& ip : inst.at("ipAddresses").as_array()) {
    if (S(ip, {"type"}) == "PRIMARY") public_ip = S(ip, {"ipAddress"});
  }
  REQUIRE(!public_ip.empty());
  const std::string public_url = "postgresql://saleor:pw@" + public_ip + ":5432/saleor";
  const std::string private_url = "postgresql://saleor:pw@" + private_ip + ":5432/saleor";
  const std::string socket_url = "postgresql://saleor:pw@/saleor?host=/cloudsql/" + conn;
  const boost::json::object direct{
      {"vpcAccess", {{"networkInterfaces", boost::json::array{{{"network", "default"}, {"subnetwork", "default"}}}},
                     {"egress", "PRIVATE_RANGES_ONLY"}}}};
  const boost::json::object socket{
      {"volumes", boost::json::array{{{"name", "cloudsql"}, {"cloudSqlInstance", {{"instances", {conn}}}}}}}};
  // Before enforcement both raw-IP paths work.
  SetJob(m, public_url);
  REQUIRE(S(Finish(m), {"succeededCount"}) == "1");
  SetJob(m, private_url, direct);
  REQUIRE(S(Finish(m), {"succeededCount"}) == "1");

  auto patch = m.Call("PATCH", kInstancePath, R"({"settings":{"connectorEnforcement":"REQUIRED"}})");
  INFO(boost::json::serialize(patch.body));
  REQUIRE(patch.status == 200);
  Settle(m);
  CHECK(S(m.Get(kInstancePath).body, {"settings", "connectorEnforcement"}) == "REQUIRED");

  auto refused = [](const boost::json::value& exec) {
    INFO(boost::json::serialize(exec));
    CHECK(S(exec, {"failedCount"}) == "1");
    CHECK(boost::json::serialize(exec).find("server closed the connection unexpectedly") != std::string::npos);
  };
  refused(Finish(m));  // private IP over Direct VPC egress
  SetJob(m, public_url);
  refused(Finish(m));  // public IP, authorized network and all
  SetJob(m, socket_url, socket);
  CHECK(S(Finish(m), {"succeededCount"}) == "1");

  REQUIRE(m.Call("PATCH", kInstancePath, R"({"settings":{"connectorEnforcement":"NOT_REQUIRED"}})").status == 200);
  Settle(m);
  SetJob(m, public_url);
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
  SetJob(m, private_url, direct);
  CHECK(S(Finish(m), {"succeededCount"}) == "1");
}

TEST_CASE("connectorEnforcement: hostile values are refused, never crash, and leave the instance as it was") {
  Model m;
  for (const char* body : {R"({"settings":{"connectorEnforcement":"SOMETIMES"}})",
                           R"({"settings":{"connectorEnforcement":7}})",
                           R"({"settings":{"connectorEnforcement":{"mode":"REQUIRED"}}})",
                           R"({"settings":{"connectorEnforcement":["REQUIRED"]}})",
                           R"({"settings":"REQUIRED"})"}) {
    INFO(body);
    auto r = m.Call("PATCH", kInstancePath, body);
    INFO(boost::json::serialize(r.body));
    CHECK(r.status == 400);
    CHECK(S(r.body, {"error", "code"}) == "400");
  }
  Settle(m);
  CHECK(S(m.Get(kInstancePath).body, {"settings", "connectorEnforcement"}) == "<missing>");
  // A job run afterwards still completes (the incident's timeout).
  CHECK(S(Finish(m), {"failedCount"}) == "1");
}
