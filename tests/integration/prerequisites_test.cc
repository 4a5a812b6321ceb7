// Run-time prerequisites read from the emulator's Secret Manager and Resource
// Manager with the real REST clients: metadata and policies only.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <catch2/catch.hpp>
#include <string>

#include "controller/controller.h"
#include "controller/metrics.h"
#include "emulator_fixture.h"
#include "reconcilers/planner.h"
#include "tests/support/exposition.h"

namespace dbconnd::integration {
namespace {

const reconcilers::Diagnosis* Find(const reconcilers::Plan& plan, const std::string& code) {
  for (const auto& d : plan.diagnoses) {
    if (d.code == code) return &d;
  }
  return nullptr;
}

// Observed and planned through apply in observe mode: nothing is written.
reconcilers::Plan PlanNow(Cloud& cloud, config::Intent in) {
  in.policy.mode = config::PolicyMode::kObserve;
  auto result = cloud.Apply(in);
  INFO(result.status.message());
  REQUIRE(result.status.ok());
  return result.first_plan;
}

const std::string kSecretPath = std::string("/v1/projects/") + kProject + "/secrets/saleor-db";
const std::string kRunner = std::string("serviceAccount:saleor-runner@") + kProject +
                            ".iam.gserviceaccount.com";

TEST_CASE("integration: prerequisites: secret access, version state, cloudsql.client",
          "[integration][prerequisites]") {
  Cloud cloud;
  config::Intent in = SaleorIntent();
  cloud.ClearLog();
  // The seed grants the job's account access to its secret: nothing to say.
  auto plan = PlanNow(cloud, in);
  CHECK_FALSE(Find(plan, "secret-access-missing"));
  CHECK_FALSE(Find(plan, "secret-version-missing"));
  // Revoked: the job could not start.
  cloud.Call("POST", kSecretPath + ":setIamPolicy",
             R"({"policy":{"bindings":[{"role":"roles/secretmanager.secretAccessor","members":["user:someone@example.com"]}]}})");
  plan = PlanNow(cloud, in);
  const auto* missing = Find(plan, "secret-access-missing");
  REQUIRE(missing);
  CHECK(missing->problem.find("saleor-runner@") != std::string::npos);
  // Metadata only: the payload was never read.
  CHECK(cloud.Count("GET secretmanager.projects.secrets.versions.get") >= 1);
  CHECK(cloud.Count("GET secretmanager.projects.secrets.versions.access") == 0);

  auto granted = cloud.Call("POST", kSecretPath + ":setIamPolicy",
                            R"({"policy":{"bindings":[{"role":"roles/secretmanager.secretAccessor","members":[")" +
                                kRunner + R"("]}]}})");
  INFO(boost::json::serialize(granted));
  plan = PlanNow(cloud, in);
  CHECK_FALSE(Find(plan, "secret-access-missing"));

  cloud.Call("POST", kSecretPath + "/versions/1:disable");
  CHECK(Find(PlanNow(cloud, in), "secret-version-disabled"));

  in.workloads[0].database.password_secret =
      std::string("projects/") + kProject + "/secrets/no-such-secret/versions/latest";
  CHECK(Find(PlanNow(cloud, in), "secret-version-missing"));

  in = SaleorIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  CHECK(Find(PlanNow(cloud, in), "cloudsql-client-missing"));
  cloud.Call("POST", std::string("/v3/projects/") + kProject + ":setIamPolicy",
             R"({"policy":{"bindings":[{"role":"roles/cloudsql.client","members":[")" + kRunner +
                 R"("]}]}})");
  CHECK_FALSE(Find(PlanNow(cloud, in), "cloudsql-client-missing"));
}

TEST_CASE("integration: the controller raises the same prerequisite diagnoses as plan, reading "
          "them once per cache period",
          "[integration][prerequisites][controller]") {
  Cloud cloud;
  cloud.Call("POST", kSecretPath + ":setIamPolicy",
             R"({"policy":{"bindings":[{"role":"roles/secretmanager.secretAccessor","members":["user:someone@example.com"]}]}})");
  config::Intent in = SaleorIntent();
  in.policy.mode = config::PolicyMode::kObserve;  // report only: nothing is written
  in.policy.resync_interval = std::chrono::seconds(1);
  REQUIRE(Find(PlanNow(cloud, in), "secret-access-missing"));
  cloud.ClearLog();

  controller::Metrics metrics;
  controller::ControllerOptions o;
  o.apply = Cloud::FastOptions();
  o.apply.max_idle_polls = 0;
  auto controller =
      controller::Controller::Create(cloud.io.get_executor(), cloud.clients(), o, &metrics, nullptr);
  controller->SetDesiredState(config::DesiredState::Of({in}), 1);
  controller->Start();
  auto passes = [&] {
    return dbconnd::testing::SumSeries(metrics.Serialize(),
                                       "dbconnd_reconciles_total{kind=\"instance\"");
  };
  auto run_until = [&](auto pred) {
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < end) {
      cloud.io.restart();
      cloud.io.run_for(std::chrono::milliseconds(5));
    }
    return pred();
  };
  REQUIRE(run_until([&] { return passes() >= 1; }));
  auto statuses = controller->Statuses();
  REQUIRE(statuses.size() == 1);
  bool raised = false;
  for (const auto& d : statuses[0].diagnoses) {
    if (d.code == "secret-access-missing") {
      raised = true;
      CHECK(d.problem.find("saleor-runner@") != std::string::npos);
    }
  }
  CHECK(raised);
  CHECK(controller->StatusJson().find("\"secret-access-missing\"") != std::string::npos);
  // Metadata only, and cached: more passes read the secret's version and
  // policy no more than the first did.
  const int64_t reads = cloud.Count("GET secretmanager.projects.secrets.versions.get");
  CHECK(reads == 1);
  REQUIRE(run_until([&] { return passes() >= 3; }));
  CHECK(cloud.Count("GET secretmanager.projects.secrets.versions.get") == reads);
  CHECK(cloud.Count("GET secretmanager.projects.secrets.versions.access") == 0);
  // Still raised on every pass, from the cached answers.
  raised = false;
  statuses = controller->Statuses();
  REQUIRE(statuses.size() == 1);
  for (const auto& d : statuses[0].diagnoses) {
    raised = raised || d.code == "secret-access-missing";
  }
  CHECK(raised);

  boost::asio::co_spawn(cloud.io, controller->Shutdown(std::chrono::seconds(1)),
                        boost::asio::detached);
  cloud.io.restart();
  cloud.io.run_for(std::chrono::milliseconds(50));
}

}  // namespace
}  // namespace dbconnd::integration
