#include <catch2/catch.hpp>

#include "emulator_fixture.h"
#include "reconcilers/project_number.h"

// spec.projectNumber is optional: Resource Manager v3 projects.get tells it.

namespace dbconnd::integration {

TEST_CASE("integration: without projectNumber the number is looked up once and the incident converges",
          "[integration][project-number]") {
  reconcilers::ForgetProjectNumbers();
  Cloud cloud;
  config::Intent intent = SaleorIntent();
  intent.project_number.clear();
  auto r = cloud.Apply(intent);
  INFO(r.status.message());
  REQUIRE(r.status.ok());
  CHECK(r.converged);
  // Service Networking got the number (it refuses a project ID).
  CHECK(cloud.Count("POST servicenetworking.connections.create") == 1);
  CHECK(cloud.Count("GET cloudresourcemanager.projects.get") == 1);
  cloud.ClearLog();
  auto again = cloud.Apply(intent);
  REQUIRE(again.status.ok());
  CHECK(again.converged);
  CHECK(cloud.Count("GET cloudresourcemanager.projects.get") == 0);  // remembered
}

TEST_CASE("integration: a projectNumber that is not the project's stops the pass before any write",
          "[integration][project-number]") {
  reconcilers::ForgetProjectNumbers();
  Cloud cloud;
  config::Intent intent = SaleorIntent();
  intent.project_number = "111111111111";
  auto r = cloud.Apply(intent);
  CHECK_FALSE(r.status.ok());
  CHECK(r.status.code() == StatusCode::kFailedPrecondition);
  CHECK(r.status.message().find("spec.projectNumber 111111111111") != std::string::npos);
  CHECK(r.status.message().find("whose number is 493827161123") != std::string::npos);
  CHECK(cloud.Writes().empty());
}

TEST_CASE("integration: without projectNumber and no Resource Manager answer, the error says to write it",
          "[integration][project-number]") {
  reconcilers::ForgetProjectNumbers();
  Cloud cloud;
  cloud.Call("POST", "/emulator/faults",
             R"({"route":"GET cloudresourcemanager.projects.get","status":403,"count":100})");
  config::Intent intent = SaleorIntent();
  intent.project_number.clear();
  auto r = cloud.Apply(intent);
  CHECK_FALSE(r.status.ok());
  CHECK(r.status.message().find("write spec.projectNumber") != std::string::npos);
  CHECK(cloud.Writes().empty());
}

}  // namespace dbconnd::integration
