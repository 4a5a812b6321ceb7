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

reconcilers::Plan PlanNow(Cloud& cloud, const config::Intent& in) {
  auto live = daemon::RunToCompletion(cloud.io, reconcilers::Observe(cloud.clients(), in));
  REQUIRE(live.ok());
  REQUIRE(live->prerequisites);
  return reconcilers::ComputePlan(in, *live);
}

const std::string kSecretPath = std::string("/v1/projects/") + kProject + "/secrets/saleor-db";
const std::string kRunner = std::string("serviceAccount:saleor-runner@") + kProject +
                            ".iam.gserviceaccount.com";

TEST_CASE("integration: prerequisites: secret access, version state, cloudsql.client",
          "[integration][prerequisites]") {
  Cloud cloud;
  config::Intent in = SaleorIntent();
  cloud.ClearLog();
  // The seed's secret exists, but nobody granted the job's account access.
  auto plan = PlanNow(cloud, in);
  const auto* missing = Find(plan, "secret-access-missing");
  REQUIRE(missing);
  CHECK(missing->problem.find("saleor-runner@") != std::string::npos);
  CHECK_FALSE(Find(plan, "secret-version-missing"));
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
