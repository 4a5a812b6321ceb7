// Which variable carries the password, per engine, and what the URL must say
// for the path to log in (so that the workload really logs in).
#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "reconcilers/credentials.h"
#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

const std::string kJobStep = std::string("job/") + kJob;
const std::string kPublicStep = "instance/saleor-db-demo/public-path";

const Diagnosis* Find(const std::vector<Diagnosis>& list, const std::string& code) {
  for (const auto& d : list) {
    if (d.code == code) return &d;
  }
  return nullptr;
}
bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// The seed with its private path in place: the next plan moves the job.
LiveState PrivatePathReady(std::string database_version = "POSTGRES_15") {
  LiveState live = SeedLive();
  live.instance->database_version = std::move(database_version);
  Converge(SeedIntent(), live);
  // Back to the incident's job, so the workload step is planned again.
  live.jobs[kJob] = SeedJob();
  return live;
}

const gcp::RunWorkload& JobPayload(const Plan& plan) {
  const Step* s = plan.Find(kJobStep);
  REQUIRE(s);
  REQUIRE(s->blocked.empty());
  return std::get<gcp::RunWorkload>(s->payload);
}

TEST_CASE("PostgreSQL: the password goes to PGPASSWORD, which libpq reads", "[credentials]") {
  const Plan plan = ComputePlan(SeedIntent(), PrivatePathReady());
  const auto& app = JobPayload(plan).containers[0];
  const auto* pw = Env(app, "PGPASSWORD");
  REQUIRE(pw);
  REQUIRE(pw->secret);
  CHECK(pw->secret->secret == "projects/melodic-now-463704-k1/secrets/saleor-db");
  CHECK(pw->value.empty());
  CHECK_FALSE(Env(app, "DB_PASSWORD"));
  CHECK(Env(app, "DATABASE_URL")->value ==
        "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require");
  const Diagnosis* note = Find(plan.notes, "credentials");
  REQUIRE(note);
  CHECK(Contains(note->problem, "PGPASSWORD"));
  CHECK(Contains(note->problem, "libpq"));
  CHECK(Contains(RenderText(plan), "Credentials:\n  - job " + std::string(kJob) +
                                       ": the password reaches the application in PGPASSWORD"));
}

TEST_CASE("passwordEnv stays the override for applications that read another name",
          "[credentials]") {
  config::Intent in = SeedIntent();
  in.workloads[0].database.password_env = "SALEOR_DB_PASSWORD";
  const Plan plan = ComputePlan(in, PrivatePathReady());
  const auto& app = JobPayload(plan).containers[0];
  CHECK(Env(app, "SALEOR_DB_PASSWORD"));
  CHECK_FALSE(Env(app, "PGPASSWORD"));
  CHECK(Contains(Find(plan.notes, "credentials")->problem, "database.passwordEnv"));
}

TEST_CASE("MySQL: MYSQL_PWD, and the note names the drivers that ignore it", "[credentials]") {
  const Plan plan = ComputePlan(SeedIntent(), PrivatePathReady("MYSQL_8_0"));
  const auto& app = JobPayload(plan).containers[0];
  CHECK(Env(app, "MYSQL_PWD"));
  CHECK_FALSE(Env(app, "PGPASSWORD"));
  const Diagnosis* note = Find(plan.notes, "credentials");
  REQUIRE(note);
  CHECK(Contains(note->problem, "libmysqlclient"));
  CHECK(Contains(note->problem, "PyMySQL"));
  CHECK(Contains(note->problem, "database.passwordEnv"));
}

TEST_CASE("SQL Server: no password variable exists, passwordEnv is required", "[credentials]") {
  LiveState live = PrivatePathReady("SQLSERVER_2019_STANDARD");
  Plan plan = ComputePlan(SeedIntent(), live);
  const Step* step = plan.Find(kJobStep);
  REQUIRE(step);
  CHECK(Contains(step->blocked, "database.passwordEnv"));
  REQUIRE(Find(plan.diagnoses, "password-env-required"));
  // The old path is not broken for a job that could not move.
  CHECK(IsReady(plan, *plan.Find(kPublicStep)) == false);

  config::Intent in = SeedIntent();
  in.workloads[0].database.password_env = "MSSQL_PASSWORD";
  plan = ComputePlan(in, live);
  const auto& app = JobPayload(plan).containers[0];
  CHECK(Env(app, "MSSQL_PASSWORD"));
  CHECK_FALSE(Find(plan.diagnoses, "password-env-required"));
}

TEST_CASE("a URL scheme of another engine is a diagnosis", "[credentials]") {
  LiveState live = SeedLive();
  live.jobs[kJob].containers[0].env[1].value = "mysql://saleor@34.41.195.120:3306/saleor";
  Plan plan = ComputePlan(SeedIntent(), live);
  const Diagnosis* d = Find(plan.diagnoses, "url-scheme-mismatch");
  REQUIRE(d);
  CHECK(Contains(d->problem, "mysql://"));
  CHECK(Contains(d->problem, "POSTGRES_15"));
  CHECK(Contains(d->fix, "postgresql://"));
  // SQLAlchemy's driver suffix names the same engine: no diagnosis.
  live.jobs[kJob].containers[0].env[1].value = "postgresql+psycopg://saleor@34.41.195.120/saleor";
  plan = ComputePlan(SeedIntent(), live);
  CHECK_FALSE(Find(plan.diagnoses, "url-scheme-mismatch"));
}

TEST_CASE("client certificates required: no raw-IP URL, the plan points to the socket",
          "[credentials][ssl]") {
  config::Intent in = SeedIntent();
  in.instance.ssl_mode = config::SslMode::kTrustedClientCertificateRequired;
  LiveState live = PrivatePathReady();
  const Plan plan = ComputePlan(in, live);
  const Step* step = plan.Find(kJobStep);
  REQUIRE(step);
  CHECK_FALSE(step->blocked.empty());
  const Diagnosis* d = Find(plan.diagnoses, "client-certificate-required");
  REQUIRE(d);
  CHECK(Contains(d->fix, "cloudSqlSocket"));
  CHECK(Contains(d->fix, "connector"));

  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  const Plan socket = ComputePlan(in, live);
  CHECK_FALSE(Find(socket.diagnoses, "client-certificate-required"));
  CHECK(socket.Find(kJobStep)->blocked.empty());
}

TEST_CASE("socket URLs are the libpq form, the connection name percent-encoded where needed",
          "[credentials][socket]") {
  config::Intent in = SeedIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  LiveState live = PrivatePathReady();
  // A domain-scoped project: its ID holds a dot and a colon.
  live.instance->connection_name = "example.com:shop:us-central1:saleor-db-demo";
  const Plan plan = ComputePlan(in, live);
  const auto& app = JobPayload(plan).containers[0];
  CHECK(Env(app, "DATABASE_URL")->value ==
        "postgresql://saleor@/saleor?host=/cloudsql/example.com:shop:us-central1:saleor-db-demo");
  CHECK(Env(app, "PGPASSWORD"));
  CHECK(EncodeQueryValue("/cloudsql/a b&c=d%e#f") == "/cloudsql/a%20b%26c%3Dd%25e%23f");
}

TEST_CASE("IAM user: no password, no URL that cannot log in, the plan names the connector",
          "[credentials][iam]") {
  config::Intent in = SeedIntent();
  in.workloads[0].database.user = "migrator@melodic-now-463704-k1.iam";
  in.workloads[0].database.password_secret.clear();
  LiveState live = PrivatePathReady();
  Plan plan = ComputePlan(in, live);
  const auto& job = JobPayload(plan);
  const auto& app = job.containers[0];
  CHECK_FALSE(Env(app, "PGPASSWORD"));
  // The live URL is left as it was: dbconnd does not write one for IAM users.
  CHECK(Env(app, "DATABASE_URL")->value == SeedJob().containers[0].env[1].value);
  REQUIRE(job.vpc_access);  // the network path is still wired
  const Diagnosis* note = Find(plan.notes, "credentials-iam");
  REQUIRE(note);
  CHECK(Contains(note->fix, "connector"));
  CHECK(Contains(note->fix, "--auto-iam-authn"));

  // The same user with a password secret still gets none: IAM users have none.
  in.workloads[0].database.password_secret =
      "projects/melodic-now-463704-k1/secrets/saleor-db/versions/latest";
  plan = ComputePlan(in, live);
  CHECK_FALSE(Env(JobPayload(plan).containers[0], "PGPASSWORD"));

  // Cloud Run's built-in socket does not log IAM users in: blocked.
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  plan = ComputePlan(in, live);
  CHECK_FALSE(plan.Find(kJobStep)->blocked.empty());
  REQUIRE(Find(plan.diagnoses, "iam-user-socket"));

  CHECK(IsIamUser(DbEngine::kPostgres, {"db", "someone@example.com", "", ""}, false));
  CHECK_FALSE(IsIamUser(DbEngine::kPostgres, {"db", "saleor", "projects/p/secrets/s", ""}, true));
  // MySQL IAM users carry no '@': recognised by the missing password secret.
  CHECK(IsIamUser(DbEngine::kMySql, {"db", "migrator", "", ""}, true));
}

TEST_CASE("DB_PASSWORD wired by earlier versions stays, unmanaged, and the plan says so",
          "[credentials][migration]") {
  LiveState live = PrivatePathReady();
  auto& env = live.jobs[kJob].containers[0].env;
  env[1].value = "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require";
  env.push_back({"DB_PASSWORD", "", gcp::SecretKeyRef{"saleor-db", "latest"}});
  live.jobs[kJob].vpc_access = gcp::RunVpcAccess{
      "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector",
      "PRIVATE_RANGES_ONLY"};
  const Plan plan = ComputePlan(SeedIntent(), live);
  const auto& app = JobPayload(plan).containers[0];
  CHECK(Env(app, "PGPASSWORD"));
  CHECK(Env(app, "DB_PASSWORD"));  // left alone: the application may read it
  const Diagnosis* note = Find(plan.notes, "stale-password-env");
  REQUIRE(note);
  CHECK(Contains(note->problem, "DB_PASSWORD"));
  CHECK(Contains(note->fix, "passwordEnv: DB_PASSWORD"));
}

}  // namespace
}  // namespace dbconnd::reconcilers
