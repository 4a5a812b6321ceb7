#include <algorithm>
#include <catch2/catch.hpp>
#include <string>

#include "common/rfc3339.h"
#include "reconcilers/connector_options.h"
#include "reconcilers/diff.h"
#include "reconcilers/plan.h"
#include "reconcilers/planner.h"
#include "fixtures.h"

namespace dbconnd::reconcilers {
namespace {

using namespace testing;  // NOLINT: test fixtures

const std::string kRangeStep = "range/google-managed-services-default";
const std::string kPeeringStep = "peering/default";
const std::string kConnectorStep = "connector/saleor-connector";
const std::string kInstanceStep = "instance/saleor-db-demo";
const std::string kJobStep = std::string("job/") + kJob;
const std::string kPublicStep = "instance/saleor-db-demo/public-path";

bool HasDiagnosis(const Plan& p, const std::string& code) {
  return std::any_of(p.diagnoses.begin(), p.diagnoses.end(),
                     [&](const Diagnosis& d) { return d.code == code; });
}
const Diagnosis* FindDiagnosis(const std::vector<Diagnosis>& list, const std::string& code) {
  for (const auto& d : list) {
    if (d.code == code) return &d;
  }
  return nullptr;
}
bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// A live state already equal to the seed intent.
LiveState ConvergedSeedLive() {
  LiveState live = SeedLive();
  Converge(SeedIntent(), live);
  return live;
}

TEST_CASE("seed incident: steps come in make-before-break order", "[planner][seed]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  CHECK(StepIds(plan) == std::vector<std::string>{kRangeStep, kPeeringStep, kConnectorStep,
                                                  kInstanceStep, kJobStep, kPublicStep});
  const Step* pub = plan.Find(kPublicStep);
  REQUIRE(pub);
  CHECK(std::find(pub->depends_on.begin(), pub->depends_on.end(), kJobStep) !=
        pub->depends_on.end());
  CHECK(std::find(pub->depends_on.begin(), pub->depends_on.end(), kInstanceStep) !=
        pub->depends_on.end());
  CHECK(pub->impact() == Impact::kConnectivityBreak);
  CHECK(FirstReadyStep(plan)->id == kRangeStep);
}

TEST_CASE("seed incident: the loop executes each step once, in order, then nothing",
          "[planner][seed]") {
  LiveState live = SeedLive();
  const auto executed = Converge(SeedIntent(), live);
  CHECK(executed == std::vector<std::string>{kRangeStep, kPeeringStep, kConnectorStep,
                                             kInstanceStep, kJobStep, kPublicStep});
  const Plan after = ComputePlan(SeedIntent(), live);
  CHECK(after.steps.empty());
  CHECK(CountActionable(after) == 0);
  CHECK_FALSE(after.HasChanges());
  CHECK(Converge(SeedIntent(), live).empty());  // second apply: zero writes
  CHECK_FALSE(live.instance->ipv4_enabled);
}

TEST_CASE("seed incident: diagnosis names the job, the IP and the timeout", "[planner][seed]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const Diagnosis* d = FindDiagnosis(plan.diagnoses, "public-ip-unreachable");
  REQUIRE(d);
  CHECK(d->resource == ResourceRef{ResourceKind::kJob, kJob});
  CHECK(Contains(d->problem, std::string("job ") + kJob + " connects to public IP 34.41.195.120"));
  CHECK(Contains(d->problem, "allows no authorized networks"));
  CHECK(Contains(d->problem, "no Cloud SQL socket"));
  CHECK(Contains(d->problem, "connection timeout expired"));
  CHECK(Contains(d->fix, "saleor-connector"));
  CHECK(Contains(d->fix, "0.0.0.0/0"));
}

TEST_CASE("seed incident: literal password is a finding and never printed", "[planner][seed]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const Diagnosis* f = FindDiagnosis(plan.findings, "literal-password");
  REQUIRE(f);
  CHECK(Contains(f->problem, "postgresql://saleor:***@34.41.195.120:5432/saleor"));
  CHECK(Contains(f->fix, "projects/melodic-now-463704-k1/secrets/saleor-db"));
  const std::string text = RenderText(plan);
  CHECK_FALSE(Contains(text, kPassword));
  CHECK(Contains(text, "saleor:***@"));
  for (const auto& s : plan.steps) {
    for (const auto& c : s.changes) {
      CHECK_FALSE(Contains(c.before, kPassword));
      CHECK_FALSE(Contains(c.after, kPassword));
    }
  }
  for (const auto& d : plan.diagnoses) CHECK_FALSE(Contains(d.problem + d.fix, kPassword));
}

TEST_CASE("seed incident: instance patch carries private IP, TLS, IAM and every other flag",
          "[planner][seed]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const Step* s = plan.Find(kInstanceStep);
  REQUIRE(s);
  CHECK(s->impact() == Impact::kIrreversible);
  CHECK(s->blocked.empty());
  CHECK(s->depends_on == std::vector<std::string>{kRangeStep, kPeeringStep});
  const auto& patch = std::get<gcp::SqlInstancePatch>(s->payload);
  CHECK(patch.settings_version == "7");
  CHECK(patch.private_network == std::optional<std::string>(
                                     "projects/melodic-now-463704-k1/global/networks/default"));
  CHECK(patch.allocated_ip_range == std::optional<std::string>("google-managed-services-default"));
  CHECK(patch.ssl_mode == std::optional<std::string>("ENCRYPTED_ONLY"));
  CHECK_FALSE(patch.ipv4_enabled);  // public IP goes off only in the last step
  CHECK_FALSE(patch.authorized_networks);
  REQUIRE(patch.database_flags);
  CHECK(*patch.database_flags == std::vector<gcp::DatabaseFlag>{
                                     {"max_connections", "100"},
                                     {"log_min_duration_statement", "500"},
                                     {"cloudsql.iam_authentication", "on"}});
}

TEST_CASE("seed incident: the job waits for the private IP instead of guessing it",
          "[planner][seed]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const Step* job = plan.Find(kJobStep);
  REQUIRE(job);
  CHECK(Contains(job->waiting_for, "private IP of instance saleor-db-demo"));
  CHECK_FALSE(IsReady(plan, *job));
  const bool placeholder = std::any_of(job->changes.begin(), job->changes.end(), [](auto& c) {
    return Contains(c.after, "<private IP of instance saleor-db-demo>");
  });
  CHECK(placeholder);
}

TEST_CASE("seed incident: job payload is the live job with only owned fields edited",
          "[planner][seed][preserve]") {
  LiveState live = SeedLive();
  live.jobs[kJob].raw = nullptr;
  // Run the loop up to (not including) the job step.
  for (int i = 0; i < 4; ++i) {
    Plan p = ComputePlan(SeedIntent(), live);
    REQUIRE(Simulate(*FirstReadyStep(p), live));
  }
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Step* step = FirstReadyStep(plan);
  REQUIRE(step);
  REQUIRE(step->id == kJobStep);
  CHECK(step->waiting_for.empty());
  const auto& job = std::get<gcp::RunWorkload>(step->payload);
  REQUIRE(job.containers.size() == 2);
  const auto& app = job.containers[0];
  CHECK(Env(app, "DATABASE_URL")->value ==
        "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require");
  CHECK_FALSE(Env(app, "DATABASE_URL")->secret);
  // The variable libpq reads: the migration logs in with no change to it.
  CHECK_FALSE(Env(app, "DB_PASSWORD"));
  const auto* pw = Env(app, "PGPASSWORD");
  REQUIRE(pw);
  CHECK(pw->value.empty());
  CHECK(pw->secret == std::optional<gcp::SecretKeyRef>(
                          gcp::SecretKeyRef{"projects/melodic-now-463704-k1/secrets/saleor-db",
                                            "latest"}));
  REQUIRE(job.vpc_access);
  CHECK(job.vpc_access->connector ==
        "projects/melodic-now-463704-k1/locations/us-central1/connectors/saleor-connector");
  CHECK(job.vpc_access->egress == "PRIVATE_RANGES_ONLY");
  // Unowned: other env vars (order too), other mounts, the other container.
  CHECK(app.env[0] == gcp::EnvVar{"DJANGO_SETTINGS_MODULE", "saleor.settings", std::nullopt});
  CHECK(*Env(app, "SENTRY_DSN") == gcp::EnvVar{"SENTRY_DSN", "", gcp::SecretKeyRef{"sentry-dsn", "2"}});
  CHECK(app.volume_mounts == std::vector<gcp::VolumeMount>{{"media", "/media"}});
  CHECK(app.image == "gcr.io/melodic/saleor:1.0");
  CHECK(job.containers[1].name == "metrics");
  CHECK(job.containers[1].env == std::vector<gcp::EnvVar>{{"PORT", "9100", std::nullopt}});
  CHECK(job.etag == "\"abc\"");
  CHECK(job.cloud_sql_volumes.empty());
}

TEST_CASE("irreversible private network is blocked without allowIrreversible",
          "[planner][policy]") {
  config::Intent in = SeedIntent();
  in.policy.allow_irreversible = false;
  LiveState live = SeedLive();
  const Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(kInstanceStep);
  REQUIRE(s);
  CHECK(Contains(s->blocked, "allowIrreversible"));
  CHECK(plan.summary().blocked == 1);
  // Make before break holds: the job and the public IP stay as they are.
  const auto executed = Converge(in, live);
  CHECK(executed == std::vector<std::string>{kRangeStep, kPeeringStep, kConnectorStep});
  CHECK(live.instance->ipv4_enabled);
  CHECK(live.instance->private_network.empty());
  CHECK(Contains(RenderText(ComputePlan(in, live)), "! blocked update instance"));
}

TEST_CASE("connector range change is a blocked replace unless allowReplace", "[planner][policy]") {
  config::Intent in = SeedIntent();
  LiveState live = ConvergedSeedLive();
  live.connector->ip_cidr_range = "10.9.0.0/28";
  // A replace creates a connector under a new name beside the old one.
  const std::string replace_step = "connector/" + ReplacementConnectorName(*in.connector);
  Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find(replace_step);
  REQUIRE(s);
  CHECK(s->action == Action::kReplace);
  CHECK(s->replace());
  CHECK(s->impact() == Impact::kOnline);
  CHECK(Contains(s->blocked, "allowReplace"));
  CHECK(FirstReadyStep(plan) == nullptr);
  CHECK(Contains(RenderText(plan), "[online, replace]"));

  in.policy.allow_replace = true;
  plan = ComputePlan(in, live);
  s = plan.Find(replace_step);
  REQUIRE(s);
  CHECK(s->blocked.empty());
  CHECK(FirstReadyStep(plan) == s);
  CHECK(std::get<gcp::Connector>(s->payload).ip_cidr_range == "10.8.0.0/28");
}

TEST_CASE("observe mode and paused produce the same plan, report only", "[planner][policy]") {
  const Plan enforce = ComputePlan(SeedIntent(), SeedLive());
  for (int variant = 0; variant < 2; ++variant) {
    config::Intent in = SeedIntent();
    if (variant == 0) {
      in.policy.mode = config::PolicyMode::kObserve;
    } else {
      in.policy.paused = true;
    }
    const Plan plan = ComputePlan(in, SeedLive());
    CHECK(StepIds(plan) == StepIds(enforce));
    CHECK(plan.report_only);
    for (const auto& s : plan.steps) CHECK(s.report_only);
    CHECK(FirstReadyStep(plan) == nullptr);
    CHECK(plan.summary().report_only == static_cast<int>(plan.steps.size()));
    CHECK(Contains(RenderText(plan), "Report only"));
    CHECK(HasDiagnosis(plan, "public-ip-unreachable"));
  }
}

TEST_CASE("converged live state yields no steps", "[planner][converged]") {
  const LiveState live = ConvergedSeedLive();
  const Plan plan = ComputePlan(SeedIntent(), live);
  CHECK(plan.steps.empty());
  CHECK(plan.diagnoses.empty());
  CHECK(plan.findings.empty());
  CHECK(Contains(RenderText(plan), "No changes"));
}

TEST_CASE("summary line counts creates, updates and blocked", "[planner][render]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const Summary sum = plan.summary();
  CHECK(sum.to_create == 3);
  CHECK(sum.to_update == 3);
  CHECK(sum.blocked == 0);
  const std::string text = RenderText(plan);
  CHECK(Contains(text, "Plan: 3 to create, 3 to update, 1 waiting, 0 blocked."));
  CHECK(Contains(text, "+ create privateServicesRange \"google-managed-services-default\""));
  CHECK(Contains(text, "~ update instance \"saleor-db-demo\"  [irreversible]"));
}

TEST_CASE("MySQL uses the underscore IAM flag, mysql:// and port 3306", "[planner][engine]") {
  LiveState live = SeedLive();
  live.instance->database_version = "MYSQL_8_0";
  live.instance->ip_addresses.push_back({"PRIVATE", kPrivateIp});
  live.instance->private_network = "projects/melodic-now-463704-k1/global/networks/default";
  const Plan plan = ComputePlan(SeedIntent(), live);
  const auto& patch = std::get<gcp::SqlInstancePatch>(plan.Find(kInstanceStep)->payload);
  REQUIRE(patch.database_flags);
  CHECK(std::find(patch.database_flags->begin(), patch.database_flags->end(),
                  gcp::DatabaseFlag{"cloudsql_iam_authentication", "on"}) !=
        patch.database_flags->end());
  const auto& job = std::get<gcp::RunWorkload>(plan.Find(kJobStep)->payload);
  CHECK(Env(job.containers[0], "DATABASE_URL")->value ==
        "mysql://saleor@10.20.0.3:3306/saleor?ssl-mode=REQUIRED");
  CHECK(IamFlagName("POSTGRES_16") == "cloudsql.iam_authentication");
}

TEST_CASE("cloudSqlSocket adds the cloudsql volume and a /cloudsql mount", "[planner][socket]") {
  config::Intent in = SeedIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  in.workloads[0].container = "saleor";
  LiveState live = ConvergedSeedLive();
  auto& job = live.jobs[kJob];
  job.containers[0].env[1].value = "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=require";
  job.cloud_sql_volumes = {{"reports", {"other-project:us-central1:reports-db"}}};
  const Plan plan = ComputePlan(in, live);
  REQUIRE(StepIds(plan) == std::vector<std::string>{kJobStep});
  const auto& want = std::get<gcp::RunWorkload>(plan.steps[0].payload);
  CHECK(want.cloud_sql_volumes ==
        std::vector<gcp::CloudSqlVolume>{{"reports", {"other-project:us-central1:reports-db"}},
                                         {"cloudsql", {kConnection}}});
  CHECK(want.containers[0].volume_mounts ==
        std::vector<gcp::VolumeMount>{{"media", "/media"}, {"cloudsql", "/cloudsql"}});
  CHECK(want.containers[1].volume_mounts.empty());
  CHECK(Env(want.containers[0], "DATABASE_URL")->value ==
        "postgresql://saleor@/saleor?host=/cloudsql/melodic-now-463704-k1:us-central1:saleor-db-demo");
  // Converged afterwards.
  Simulate(plan.steps[0], live);
  CHECK(ComputePlan(in, live).steps.empty());
}

TEST_CASE("cloudSqlSocket reuses a volume that already lists the instance", "[planner][socket]") {
  config::Intent in = SeedIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  LiveState live = ConvergedSeedLive();
  auto& job = live.jobs[kJob];
  job.cloud_sql_volumes = {{"db", {kConnection}}};
  const Plan plan = ComputePlan(in, live);
  const auto& want = std::get<gcp::RunWorkload>(plan.Find(kJobStep)->payload);
  CHECK(want.cloud_sql_volumes == std::vector<gcp::CloudSqlVolume>{{"db", {kConnection}}});
  CHECK(want.containers[0].volume_mounts.back() == gcp::VolumeMount{"db", "/cloudsql"});
}

TEST_CASE("a service is patched at template.*, not template.template.*", "[planner][service]") {
  config::Intent in = SeedIntent();
  in.workloads[0].kind = config::WorkloadKind::kService;
  in.workloads[0].name = "saleor-api";
  LiveState live = ConvergedSeedLive();
  gcp::RunWorkload svc = SeedJob();
  svc.kind = gcp::RunKind::kService;
  svc.name = "saleor-api";
  live.services["saleor-api"] = svc;
  live.jobs.erase(kJob);
  const Plan plan = ComputePlan(in, live);
  const Step* s = plan.Find("service/saleor-api");
  REQUIRE(s);
  CHECK(s->resource.kind == ResourceKind::kService);
  CHECK(s->impact() == Impact::kMayRestart);
  for (const auto& c : s->changes) {
    CHECK((c.path.rfind("template.containers[saleor]", 0) == 0 || c.path == "template.vpcAccess"));
  }
  CHECK(std::get<gcp::RunWorkload>(s->payload).kind == gcp::RunKind::kService);
}

TEST_CASE("egress ALL_TRAFFIC reaches vpcAccess", "[planner][egress]") {
  config::Intent in = SeedIntent();
  in.workloads[0].egress = config::VpcEgress::kAllTraffic;
  LiveState live = ConvergedSeedLive();
  const Plan plan = ComputePlan(in, live);
  REQUIRE(StepIds(plan) == std::vector<std::string>{kJobStep});
  REQUIRE(plan.steps[0].changes.size() == 1);
  CHECK(plan.steps[0].changes[0].path == "template.template.vpcAccess");
  CHECK(Contains(plan.steps[0].changes[0].after, "egress ALL_TRAFFIC"));
  CHECK(std::get<gcp::RunWorkload>(plan.steps[0].payload).vpc_access->egress == "ALL_TRAFFIC");
}

struct PruneCase {
  const char* name;
  bool prune;
  bool public_enabled;
  std::vector<std::string> first_step_acl;   // payload of instance/..., empty = not sent
  std::vector<std::string> public_step_acl;  // payload of .../public-path, empty = not sent
};

std::vector<std::string> Values(const std::optional<std::vector<gcp::AclEntry>>& acl) {
  std::vector<std::string> out;
  if (acl) {
    for (const auto& e : *acl) out.push_back(e.value);
  }
  return out;
}

TEST_CASE("authorized networks: declared added first, live-only kept or pruned last",
          "[planner][prune]") {
  const PruneCase cases[] = {
      {"prune on, public on", true, true, {"203.0.113.0/24", "198.51.100.7/32"}, {"198.51.100.7/32"}},
      {"prune off, public on", false, true, {"203.0.113.0/24", "198.51.100.7/32"}, {}},
      {"prune on, public off", true, false, {"203.0.113.0/24", "198.51.100.7/32"}, {"198.51.100.7/32"}},
  };
  for (const auto& c : cases) {
    SECTION(c.name) {
      config::Intent in = SeedIntent();
      in.policy.prune_authorized_networks = c.prune;
      in.instance.public_ip = config::PublicIp{c.public_enabled, {{"ci", "198.51.100.7/32", "", {}}}};
      LiveState live = ConvergedSeedLive();
      live.instance->ipv4_enabled = true;
      live.instance->ip_addresses.push_back({"PRIMARY", kPublicIp});
      live.instance->authorized_networks = {{"203.0.113.0/24", "office", ""}};
      const Plan plan = ComputePlan(in, live);
      const Step* first = plan.Find(kInstanceStep);
      REQUIRE(first);
      CHECK(Values(std::get<gcp::SqlInstancePatch>(first->payload).authorized_networks) ==
            c.first_step_acl);
      CHECK(first->impact() == Impact::kOnline);
      const Step* last = plan.Find(kPublicStep);
      if (c.public_step_acl.empty() && c.public_enabled) {
        CHECK(last == nullptr);
      } else {
        REQUIRE(last);
        CHECK(Values(std::get<gcp::SqlInstancePatch>(last->payload).authorized_networks) ==
              c.public_step_acl);
        CHECK(last->impact() == Impact::kConnectivityBreak);
        CHECK(last->depends_on == std::vector<std::string>{kInstanceStep});
      }
      Converge(in, live);
      CHECK(ComputePlan(in, live).steps.empty());
      const bool office_kept = std::any_of(live.instance->authorized_networks.begin(),
                                           live.instance->authorized_networks.end(),
                                           [](auto& e) { return e.value == "203.0.113.0/24"; });
      CHECK(office_kept == !c.prune);
    }
  }
}

TEST_CASE("expired authorized networks are removed in the first instance write",
          "[planner][expiry]") {
  config::Intent in = SeedIntent();
  in.policy.prune_authorized_networks = false;  // removal comes from expiry alone
  in.instance.public_ip = config::PublicIp{
      true,
      {{"contractor", "198.51.100.7/32", "2026-03-01T00:00:00Z", {}},
       {"office", "203.0.113.0/24", "2027-01-01T00:00:00+01:00", {}}}};
  LiveState live = ConvergedSeedLive();
  live.instance->ipv4_enabled = true;
  live.instance->ip_addresses.push_back({"PRIMARY", kPublicIp});
  // Google spells the same instant its own way: no drift.
  live.instance->authorized_networks = {
      {"198.51.100.7/32", "contractor", "2026-03-01T00:00:00.000Z"},
      {"203.0.113.0/24", "office", "2026-12-31T23:00:00Z"}};

  SECTION("before the expiry: in sync") {
    live.observed_at = *ParseRfc3339("2026-02-28T23:59:59Z");
    CHECK(ComputePlan(in, live).steps.empty());
  }
  SECTION("at the expiry: one write removes it, and breaks no client") {
    live.observed_at = *ParseRfc3339("2026-03-01T00:00:00Z");
    const Plan plan = ComputePlan(in, live);
    REQUIRE(plan.steps.size() == 1);
    const Step* step = plan.Find(kInstanceStep);
    REQUIRE(step);
    CHECK(Values(std::get<gcp::SqlInstancePatch>(step->payload).authorized_networks) ==
          std::vector<std::string>{"203.0.113.0/24"});
    REQUIRE(step->changes.size() == 1);
    CHECK(step->changes[0].path == AuthorizedNetworkPath("198.51.100.7/32"));
    CHECK(step->impact() == Impact::kNone);
    Converge(in, live);
    CHECK(ComputePlan(in, live).steps.empty());  // and it is not added back
  }
  SECTION("an unset observation time expires nothing") {
    live.observed_at = {};
    CHECK(ComputePlan(in, live).steps.empty());
  }
}

TEST_CASE("world-open networks: blocked in intent, a finding in live state", "[planner][policy]") {
  config::Intent in = SeedIntent();
  in.instance.public_ip = config::PublicIp{true, {{"all", "0.0.0.0/0", "", {}}}};
  LiveState live = ConvergedSeedLive();
  live.instance->ipv4_enabled = true;
  Plan plan = ComputePlan(in, live);
  REQUIRE(plan.Find(kInstanceStep));
  CHECK(Contains(plan.Find(kInstanceStep)->blocked, "allowWorldOpen"));
  in.policy.allow_world_open = true;
  CHECK(ComputePlan(in, live).Find(kInstanceStep)->blocked.empty());

  LiveState open = ConvergedSeedLive();
  open.instance->authorized_networks = {{"0.0.0.0/0", "quick-fix", ""}};
  plan = ComputePlan(SeedIntent(), open);
  CHECK(FindDiagnosis(plan.findings, "world-open"));
  // With pruning, the quick fix goes away (in the last, breaking step).
  REQUIRE(plan.Find(kPublicStep));
  CHECK(Values(std::get<gcp::SqlInstancePatch>(plan.Find(kPublicStep)->payload)
                   .authorized_networks)
            .empty());
  CHECK(std::get<gcp::SqlInstancePatch>(plan.Find(kPublicStep)->payload).authorized_networks);
}

TEST_CASE("diagnosis: connector in another network than the instance", "[planner][diagnosis]") {
  LiveState live = ConvergedSeedLive();
  live.connector->network = "legacy";
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Diagnosis* d = FindDiagnosis(plan.diagnoses, "connector-network-mismatch");
  REQUIRE(d);
  CHECK(d->resource == ResourceRef{ResourceKind::kConnector, "saleor-connector"});
  CHECK(Contains(d->problem, "network legacy"));
  CHECK(Contains(d->problem, "network default"));
  CHECK(Contains(d->fix, "allowReplace"));
}

TEST_CASE("diagnosis: SSL required but the URL disables it", "[planner][diagnosis]") {
  LiveState live = ConvergedSeedLive();
  live.jobs[kJob].containers[0].env[1].value =
      "postgresql://saleor@10.20.0.3:5432/saleor?sslmode=disable";
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Diagnosis* d = FindDiagnosis(plan.diagnoses, "ssl-disabled");
  REQUIRE(d);
  CHECK(Contains(d->problem, "ENCRYPTED_ONLY"));
  CHECK(Contains(d->fix, "sslmode=require"));
  REQUIRE(plan.Find(kJobStep));
}

TEST_CASE("diagnosis: IAM auth declared but the flag is off", "[planner][diagnosis]") {
  LiveState live = ConvergedSeedLive();
  for (auto& f : live.instance->database_flags) {
    if (f.name == "cloudsql.iam_authentication") f.value = "off";
  }
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Diagnosis* d = FindDiagnosis(plan.diagnoses, "iam-flag-off");
  REQUIRE(d);
  CHECK(Contains(d->problem, "cloudsql.iam_authentication is off"));
  const Step* s = plan.Find(kInstanceStep);
  REQUIRE(s);
  REQUIRE(s->changes.size() == 1);
  CHECK(s->changes[0].path == "settings.databaseFlags[cloudsql.iam_authentication]");
  CHECK(s->changes[0].impact == Impact::kOnline);
}

TEST_CASE("diagnosis: private IP in the URL but no VPC access", "[planner][diagnosis]") {
  LiveState live = ConvergedSeedLive();
  live.jobs[kJob].vpc_access.reset();
  const Plan plan = ComputePlan(SeedIntent(), live);
  CHECK(HasDiagnosis(plan, "private-ip-no-vpc"));
  REQUIRE(StepIds(plan) == std::vector<std::string>{kJobStep});
}

TEST_CASE("public IP stays on while an undeclared workload uses it", "[planner][make-before-break]") {
  LiveState live = SeedLive();
  gcp::RunWorkload other = SeedJob();
  other.kind = gcp::RunKind::kService;
  other.name = "storefront";
  other.containers[0].env[1].value = "postgresql://shop@34.41.195.120:5432/shop";
  // Undeclared: only the region index holds it.
  auto region = std::make_shared<WorkloadIndex>();
  region->emplace("storefront", other);
  live.all_services = region;
  Converge(SeedIntent(), live);
  const Plan plan = ComputePlan(SeedIntent(), live);
  REQUIRE(StepIds(plan) == std::vector<std::string>{kPublicStep});
  CHECK(Contains(plan.steps[0].blocked, "service storefront"));
  CHECK(live.instance->ipv4_enabled);
}

TEST_CASE("public IP is not switched off when it is the instance's only address",
          "[planner][make-before-break]") {
  config::Intent in = SeedIntent();
  in.instance.private_ip.reset();
  in.connector.reset();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  const Plan plan = ComputePlan(in, SeedLive());
  const Step* pub = plan.Find(kPublicStep);
  REQUIRE(pub);
  CHECK(Contains(pub->blocked, "no IP address"));
}

TEST_CASE("verification runs the moved job before the public IP goes off", "[planner][verify]") {
  config::Intent in = SeedIntent();
  in.policy.verify = true;
  LiveState live = SeedLive();
  const Plan plan = ComputePlan(in, live);
  const Step* v = plan.Find(std::string("verify/job/") + kJob);
  REQUIRE(v);
  CHECK(v->action == Action::kRun);
  CHECK(v->depends_on == std::vector<std::string>{kJobStep});
  const Step* pub = plan.Find(kPublicStep);
  CHECK(std::find(pub->depends_on.begin(), pub->depends_on.end(), v->id) != pub->depends_on.end());

  const auto executed = Converge(in, live);
  CHECK(executed == std::vector<std::string>{kRangeStep, kPeeringStep, kConnectorStep,
                                             kInstanceStep, kJobStep, v->id, kPublicStep});
  CHECK(ComputePlan(in, live).steps.empty());  // no re-run once converged
}

TEST_CASE("failed verification blocks the public IP switch-off", "[planner][verify]") {
  config::Intent in = SeedIntent();
  in.policy.verify = true;
  LiveState live = SeedLive();
  for (int i = 0; i < 5; ++i) Simulate(*FirstReadyStep(ComputePlan(in, live)), live);
  live.verifications[kJob] = {JobVerification::State::kFailed,
                              "connection to postgresql://saleor:hunter2@10.20.0.3 refused", ""};
  const Plan plan = ComputePlan(in, live);
  REQUIRE(StepIds(plan) == std::vector<std::string>{kPublicStep});
  CHECK(Contains(plan.steps[0].blocked, "verification of job"));
  CHECK_FALSE(Contains(RenderText(plan), "hunter2"));
}

TEST_CASE("missing instance or workload: blocked with a diagnosis", "[planner][diagnosis]") {
  LiveState live = SeedLive();
  live.instance.reset();
  live.jobs.clear();
  const Plan plan = ComputePlan(SeedIntent(), live);
  CHECK(HasDiagnosis(plan, "instance-missing"));
  CHECK(HasDiagnosis(plan, "workload-missing"));
  REQUIRE(plan.Find(kInstanceStep));
  CHECK(Contains(plan.Find(kInstanceStep)->blocked, "never creates"));
  REQUIRE(plan.Find(kJobStep));
  CHECK(Contains(plan.Find(kJobStep)->blocked, "never deploys"));
}

TEST_CASE("a connector that is still CREATING holds back the workloads", "[planner][wait]") {
  LiveState live = SeedLive();
  for (int i = 0; i < 4; ++i) Simulate(*FirstReadyStep(ComputePlan(SeedIntent(), live)), live);
  live.connector->state = "CREATING";
  const Plan plan = ComputePlan(SeedIntent(), live);
  const Step* c = plan.Find(kConnectorStep);
  REQUIRE(c);
  CHECK(c->action == Action::kWait);
  CHECK(Contains(c->waiting_for, "CREATING"));
  CHECK(FirstReadyStep(plan) == nullptr);
  CHECK(CountActionable(plan) == 2);  // job + public path, once the connector is READY
}

TEST_CASE("instance in maintenance: the patch waits", "[planner][wait]") {
  LiveState live = SeedLive();
  for (int i = 0; i < 3; ++i) Simulate(*FirstReadyStep(ComputePlan(SeedIntent(), live)), live);
  live.instance->state = "MAINTENANCE";
  const Plan plan = ComputePlan(SeedIntent(), live);
  REQUIRE(plan.Find(kInstanceStep));
  CHECK(Contains(plan.Find(kInstanceStep)->waiting_for, "MAINTENANCE"));
  CHECK(FirstReadyStep(plan) == nullptr);
}

TEST_CASE("existing peering keeps its ranges and gains ours", "[planner][peering]") {
  LiveState live = SeedLive();
  live.services_range = gcp::GlobalAddress{kProject, "google-managed-services-default", "10.20.0.0",
                                           16, "https://www.googleapis.com/compute/v1/projects/"
                                               "melodic-now-463704-k1/global/networks/default",
                                           "VPC_PEERING", "INTERNAL", "RESERVED", ""};
  live.peerings = std::make_shared<const PeeringList>(PeeringList{
      {"projects/123456789012/global/networks/default", {"legacy-range"},
       "services/servicenetworking.googleapis.com", "servicenetworking-googleapis-com"}});
  const Plan plan = ComputePlan(SeedIntent(), live);
  CHECK_FALSE(plan.Find(kRangeStep));
  const Step* p = plan.Find(kPeeringStep);
  REQUIRE(p);
  CHECK(p->action == Action::kUpdate);
  CHECK(std::get<gcp::PeeringConnection>(p->payload).reserved_peering_ranges ==
        std::vector<std::string>{"legacy-range", "google-managed-services-default"});
  CHECK(p->depends_on.empty());
}

TEST_CASE("peering without a project number is blocked", "[planner][peering]") {
  config::Intent in = SeedIntent();
  in.project_number.clear();
  const Plan plan = ComputePlan(in, SeedLive());
  REQUIRE(plan.Find(kPeeringStep));
  CHECK(Contains(plan.Find(kPeeringStep)->blocked, "project_number"));
}

TEST_CASE("peering payload uses the project number", "[planner][peering]") {
  const Plan plan = ComputePlan(SeedIntent(), SeedLive());
  const auto& c = std::get<gcp::PeeringConnection>(plan.Find(kPeeringStep)->payload);
  CHECK(c.network == "projects/123456789012/global/networks/default");
  const auto& range = std::get<gcp::GlobalAddress>(plan.Find(kRangeStep)->payload);
  CHECK(range.network == "projects/melodic-now-463704-k1/global/networks/default");
  CHECK(range.purpose == "VPC_PEERING");
  CHECK(range.prefix_length == 16);
}

TEST_CASE("unmanaged fields: nothing declared means nothing touched", "[planner][preserve]") {
  config::Intent in = SeedIntent();
  in.instance.ssl_mode.reset();
  in.instance.iam_authentication.reset();
  in.instance.public_ip.reset();
  in.instance.private_ip.reset();
  in.connector.reset();
  in.workloads.clear();
  const Plan plan = ComputePlan(in, SeedLive());
  CHECK(plan.steps.empty());
}

TEST_CASE("password secret without a version means latest", "[planner][secret]") {
  config::Intent in = SeedIntent();
  in.workloads[0].database.password_secret = "projects/p/secrets/db";
  in.workloads[0].database.password_env = "APP_DB_PASSWORD";
  const LiveState live = ConvergedSeedLive();
  const Plan plan = ComputePlan(in, live);
  const auto& job = std::get<gcp::RunWorkload>(plan.Find(kJobStep)->payload);
  CHECK(Env(job.containers[0], "APP_DB_PASSWORD")->secret ==
        std::optional<gcp::SecretKeyRef>(gcp::SecretKeyRef{"projects/p/secrets/db", "latest"}));
  // The old env var is not ours any more but is kept, as everything unnamed.
  CHECK(Env(job.containers[0], "PGPASSWORD"));
}

TEST_CASE("a literal value in the password env var is a finding, never shown",
          "[planner][secret]") {
  LiveState live = ConvergedSeedLive();
  for (auto& e : live.jobs[kJob].containers[0].env) {
    if (e.name == "PGPASSWORD") {
      e.secret.reset();
      e.value = kPassword;
    }
  }
  const Plan plan = ComputePlan(SeedIntent(), live);
  REQUIRE(FindDiagnosis(plan.findings, "literal-password"));
  const std::string text = RenderText(plan);
  CHECK_FALSE(Contains(text, kPassword));
  CHECK(Contains(text, "*** (literal value)"));
}

}  // namespace
}  // namespace dbconnd::reconcilers
