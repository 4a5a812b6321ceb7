// Run-time prerequisites read from the emulator's Secret Manager and Resource
// Manager with the real REST clients: metadata and policies only.
#include <catch2/catch.hpp>
#include <string>

#include "emulator_fixture.h"
#include "reconcilers/planner.h"

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

}  // namespace
}  // namespace dbconnd::integration
