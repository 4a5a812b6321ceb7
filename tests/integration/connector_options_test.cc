#include <catch2/catch.hpp>

#include <algorithm>

#include "emulator_fixture.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/enforcement.h"

// Connector options and connector enforcement against the emulator, through
// reconcilers::Apply: a patch in place, a replace that never deletes, a
// Shared VPC subnet, and enforcement that waits for the workloads to move to
// the Cloud SQL socket. What is checked is the emulator's request log and
// the resources read back from it.

namespace dbconnd::integration {
namespace {

namespace json = boost::json;

const std::string kConnectors = std::string("/v1/projects/") + kProject + "/locations/us-central1/connectors/";

// Non-GET log entries in arrival order, whole ("PATCH route path updateMask=...").
std::vector<std::string> WriteEntries(Cloud& cloud) {
  std::vector<std::string> out;
  auto v = cloud.Call("GET", "/emulator/requests");
  for (const auto& r : v.at("recent").as_array()) {
    std::string s(r.as_string());
    if (s.starts_with("GET ") || s.find(".getIamPolicy ") != std::string::npos) continue;
    out.push_back(std::move(s));
  }
  return out;
}

std::string Joined(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += x + "\n";
  return s;
}

int64_t CountPrefix(const std::vector<std::string>& entries, const std::string& prefix) {
  return std::count_if(entries.begin(), entries.end(), [&](const std::string& e) { return e.starts_with(prefix); });
}

// Every write the emulator answered was one it carried out: no 4xx/5xx.
void CheckNothingRefused(Cloud& cloud) {
  auto v = cloud.Call("GET", "/emulator/requests");
  const auto& counts = v.at("counts").as_object();
  const auto& done = v.at("mutations").as_object();
  for (const auto& [route, n] : counts) {
    std::string r(route);
    if (r.starts_with("GET ") || r.ends_with(".getIamPolicy") || r.find("emulator") != std::string::npos) continue;
    INFO(r);
    const auto* m = done.if_contains(route);
    CHECK(n.as_int64() == (m ? m->as_int64() : 0));
  }
}

std::string JobConnector(Cloud& cloud) {
  const json::object job = cloud.Job();
  const auto* c = job.at("template").at("template").at("vpcAccess").as_object().if_contains("connector");
  return c ? std::string(c->as_string()) : "";
}

// The seed incident fixed by examples/saleor.yaml (connector saleor-connector
// on default, 10.8.0.0/28), then the log cleared.
config::Intent Converged(Cloud& cloud) {
  config::Intent in = SaleorIntent();
  auto r = cloud.Apply(in);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  REQUIRE(r.converged);
  cloud.ClearLog();
  return in;
}

void SecondPassWritesNothing(Cloud& cloud, const config::Intent& in) {
  cloud.ClearLog();
  auto again = cloud.Apply(in);
  INFO(again.status.message());
  REQUIRE(again.status.ok());
  CHECK(again.converged);
  INFO(Joined(WriteEntries(cloud)));
  CHECK(cloud.Writes().empty());
}

bool Contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// Records, as each step's write is about to go out, what the emulator holds
// then (hooks run on the test's thread; nothing else runs meanwhile).
struct Snapshots : reconcilers::MutationObserver {
  explicit Snapshots(Cloud& c) : cloud(c) {}
  void BeforeMutation(const reconcilers::Step& step, const std::string&) override {
    if (step.id.starts_with("job/")) {
      const std::string name = JobConnector(cloud);
      connector_state_at_job_patch =
          std::string(cloud.Call("GET", kConnectors + replacement).at("state").as_string());
      job_connector_before = name;
    }
    order.push_back(step.id);
  }
  void OperationStarted(const reconcilers::Step&, const gcp::Operation&) override {}
  void Finished(const reconcilers::Step&, const Status&) override {}
  Cloud& cloud;
  std::string replacement;
  std::string connector_state_at_job_patch;
  std::string job_connector_before;
  std::vector<std::string> order;
};

}  // namespace

TEST_CASE("integration: connector machineType and instances change in place with one connectors.patch",
          "[integration][connector]") {
  Cloud cloud;
  config::Intent in = Converged(cloud);
  const std::string before = JobConnector(cloud);
  in.connector->machine_type = "e2-standard-4";
  in.connector->min_instances = 3;
  in.connector->max_instances = 7;
  auto r = cloud.Apply(in);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CheckNothingRefused(cloud);
  const auto writes = WriteEntries(cloud);
  INFO(Joined(writes));
  REQUIRE(writes.size() == 1);
  CHECK(writes[0].starts_with("PATCH vpcaccess.connectors.patch "));
  CHECK(Contains(writes[0], "/connectors/saleor-connector updateMask=minInstances,maxInstances,machineType"));
  const json::value c = cloud.Call("GET", kConnectors + "saleor-connector");
  CHECK(c.at("state").as_string() == "READY");
  CHECK(c.at("machineType").as_string() == "e2-standard-4");
  CHECK(c.at("minInstances").to_number<int64_t>() == 3);
  CHECK(c.at("maxInstances").to_number<int64_t>() == 7);
  CHECK(c.at("ipCidrRange").as_string() == "10.8.0.0/28");
  CHECK(JobConnector(cloud) == before);  // the workload did not move
  SecondPassWritesNothing(cloud, in);
}

TEST_CASE("integration: a connector range change is a replace: blocked, then make before break, never a delete",
          "[integration][connector]") {
  Cloud cloud;
  config::Intent in = Converged(cloud);
  in.connector->ip_cidr_range = "10.9.0.0/28";
  const std::string replacement = reconcilers::ReplacementConnectorName(*in.connector);

  // Without allowReplace: nothing is sent, the plan says why.
  auto blocked = cloud.Apply(in);
  CHECK_FALSE(blocked.converged);
  CHECK(cloud.Writes().empty());
  const reconcilers::Step* s = blocked.last_plan.Find("connector/" + replacement);
  REQUIRE(s);
  CHECK(reconcilers::StepKind(*s) == "connector-replace");
  CHECK(Contains(s->blocked, "allowReplace"));
  CHECK(Contains(s->blocked, "leave saleor-connector"));
  CHECK(Contains(JobConnector(cloud), "/connectors/saleor-connector"));

  in.policy.allow_replace = true;
  Snapshots snap(cloud);
  snap.replacement = replacement;
  auto o = Cloud::FastOptions();
  o.observer = &snap;
  cloud.ClearLog();
  auto r = cloud.Apply(in, o);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CheckNothingRefused(cloud);
  CHECK(r.executed == std::vector<std::string>{"connector/" + replacement, std::string("job/") + kJob});
  const auto writes = WriteEntries(cloud);
  INFO(Joined(writes));
  REQUIRE(writes.size() == 2);
  CHECK(writes[0].starts_with("POST vpcaccess.connectors.create "));
  CHECK(writes[1].starts_with("PATCH run.jobs.patch "));
  // The job moved only once the new connector was READY.
  CHECK(snap.connector_state_at_job_patch == "READY");
  CHECK(Contains(snap.job_connector_before, "/connectors/saleor-connector"));
  CHECK(Contains(JobConnector(cloud), "/connectors/" + replacement));
  // The old connector is left to its owner: no delete anywhere in the log.
  CHECK(CountPrefix(writes, "DELETE ") == 0);
  const json::value old = cloud.Call("GET", kConnectors + "saleor-connector");
  CHECK(old.at("state").as_string() == "READY");
  CHECK(old.at("ipCidrRange").as_string() == "10.8.0.0/28");
  const json::value fresh = cloud.Call("GET", kConnectors + replacement);
  CHECK(fresh.at("ipCidrRange").as_string() == "10.9.0.0/28");
  const auto& notes = r.last_plan.notes;
  CHECK(std::any_of(notes.begin(), notes.end(), [](const auto& n) { return n.code == "connector-replaced"; }));
  SecondPassWritesNothing(cloud, in);
}

TEST_CASE("integration: a Shared VPC connector subnet {name, projectId} converges", "[integration][connector]") {
  Cloud cloud;
  auto edit = cloud.Call("POST", "/emulator/edit",
                         R"({"addSubnetwork":{"project":"host-project","region":"us-central1","name":"serverless-28",)"
                         R"("network":"shared","ipCidrRange":"10.50.0.0/28"}})");
  INFO(json::serialize(edit));
  config::Intent in = SaleorIntent();
  in.connector->network.clear();
  in.connector->ip_cidr_range.clear();
  in.connector->subnet = config::ConnectorSubnet{"serverless-28", "host-project"};
  auto r = cloud.Apply(in);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CheckNothingRefused(cloud);
  const json::value c = cloud.Call("GET", kConnectors + "saleor-connector");
  INFO(json::serialize(c));
  CHECK(c.at("state").as_string() == "READY");
  CHECK(c.at("subnet").at("name").as_string() == "serverless-28");
  CHECK(c.at("subnet").at("projectId").as_string() == "host-project");
  CHECK_FALSE(c.as_object().contains("ipCidrRange"));
  CHECK(Contains(JobConnector(cloud), "/connectors/saleor-connector"));
  SecondPassWritesNothing(cloud, in);
}

TEST_CASE("integration: connectorEnforcement is blocked while a workload uses privateIp, then enforced after "
          "the workload moves to the socket",
          "[integration][enforcement]") {
  Cloud cloud;
  config::Intent in = Converged(cloud);
  in.instance.connector_enforcement = config::ConnectorEnforcement::kRequired;
  const std::string enforce_step = reconcilers::EnforcementStepId(kInstance);

  auto blocked = cloud.Apply(in);
  CHECK_FALSE(blocked.converged);
  // The public IP is already off: the region's jobs are read for enforcement's
  // own check (a workload outside the file still using the instance's IP).
  CHECK(cloud.Count("GET run.jobs.list") >= 1);
  CHECK(cloud.Count("PATCH sqladmin.instances.patch") == 0);
  CHECK(cloud.Writes().empty());
  const reconcilers::Step* s = blocked.last_plan.Find(enforce_step);
  REQUIRE(s);
  CHECK(reconcilers::StepKind(*s) == "connector-enforcement");
  CHECK(Contains(s->blocked, std::string("job ") + kJob + " is declared with method privateIp"));
  CHECK_FALSE(cloud.Instance().at("settings").as_object().contains("connectorEnforcement"));

  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  in.policy.verify = true;
  cloud.ClearLog();
  auto r = cloud.Apply(in);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  CheckNothingRefused(cloud);
  // The workload first, its verification run, then enforcement.
  const auto& ex = r.executed;
  auto at = [&](const std::string& id) { return std::find(ex.begin(), ex.end(), id); };
  REQUIRE(at(std::string("job/") + kJob) != ex.end());
  REQUIRE(at(std::string("verify/job/") + kJob) != ex.end());
  REQUIRE(at(enforce_step) != ex.end());
  CHECK(at(std::string("job/") + kJob) < at(std::string("verify/job/") + kJob));
  CHECK(at(std::string("verify/job/") + kJob) < at(enforce_step));
  // The log: the job moves to the socket, the verification run (a job PATCH
  // carrying startExecutionToken), then the one instance PATCH.
  const auto writes = cloud.Writes();
  INFO(Joined(WriteEntries(cloud)));
  CHECK(writes == std::vector<std::string>{"PATCH run.jobs.patch", "PATCH run.jobs.patch",
                                           "PATCH sqladmin.instances.patch"});
  CHECK(cloud.Instance().at("settings").at("connectorEnforcement").as_string() == "REQUIRED");
  const json::object job = cloud.Job();
  CHECK(job.at("latestCreatedExecution").at("completionStatus").as_string() == "EXECUTION_SUCCEEDED");

  // With enforcement on, the job still gets in through the socket.
  auto run_after = cli::RunToCompletion(
      cloud.io, reconcilers::RunJobAndWait(cloud.clients(), kProject, "us-central1", kJob,
                                           Cloud::FastOptions().wait));
  REQUIRE(run_after.ok());
  INFO(run_after->message);
  CHECK(run_after->succeeded);
  SecondPassWritesNothing(cloud, in);
}

}  // namespace dbconnd::integration
