// `dbconnd export` end to end, in-process through RunCli, against an
// emulator on its own thread: export -> validate -> plan on the fleet seed
// (no changes), the incident seed (valid, no password anywhere, observe
// mode), byte-stable re-runs, and plan -o markdown's exit codes.
#include <boost/asio/post.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "cli/cli.h"
#include "cli/plan_output.h"
#include "config/fingerprint.h"
#include "config/loader.h"
#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class SeededEmulator {
 public:
  explicit SeededEmulator(const std::string& seed) {
    emulator::EmulatorOptions eo;
    eo.model.seed = seed;
    eo.model.op_delay = std::chrono::milliseconds(20);
    eo.model.accept_token = kToken;
    auto server = emulator::EmulatorServer::Start(io_.get_executor(), eo);
    if (!server.ok()) throw std::runtime_error(server.status().message());
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_.run(); });
    dir_ = fs::temp_directory_path() /
           ("dbconnd-export-test-" + std::to_string(::getpid()) + "-" + std::to_string(++count_));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    token_file_ = (dir_ / "token").string();
    std::ofstream(token_file_) << kToken << "\n";
  }
  ~SeededEmulator() {
    boost::asio::post(io_, [s = server_.get()] { s->Stop(); });
    guard_.reset();
    thread_.join();
    server_.reset();
    fs::remove_all(dir_);
  }
  std::vector<std::string> Flags() const {
    std::vector<std::string> f = {"--access-token-file", token_file_, "--no-rate-limits"};
    for (auto name : gcp::Endpoints::kNames) {
      f.push_back("--endpoint");
      f.push_back(std::string(name) + "=" + server_->base_url());
    }
    return f;
  }
  // The emulator's request log: {"counts": {"METHOD route": n, ...}, ...}.
  json::object Requests() {
    std::lock_guard lock(server_->mutex());
    net::HttpRequest req;
    req.url = "/emulator/requests";
    return json::parse(server_->model().Handle(req, emulator::Clock::now()).body).as_object();
  }
  int64_t Writes() {
    int64_t n = 0;
    const json::object v = Requests();
    for (const auto& [route, c] : v.at("counts").as_object()) {
      const std::string r(route);
      // projects.getIamPolicy is a read sent as POST (run-time prerequisites).
      if (!r.starts_with("GET ") && !r.ends_with(".getIamPolicy")) n += c.as_int64();
    }
    return n;
  }
  // How many times the emulator served `route` ("GET sqladmin.instances.list").
  int64_t Count(const std::string& route) {
    const json::object v = Requests();
    const auto& counts = v.at("counts").as_object();
    auto it = counts.find(route);
    return it == counts.end() ? 0 : it->value().as_int64();
  }
  fs::path dir() const { return dir_; }
  // POST /emulator/edit: state a project owner made outside dbconnd.
  int Edit(const std::string& body) {
    std::lock_guard lock(server_->mutex());
    net::HttpRequest req;
    req.method = "POST";
    req.url = "/emulator/edit";
    req.body = body;
    return server_->model().Handle(req, emulator::Clock::now()).status;
  }

 private:
  static inline int count_ = 0;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{
      io_.get_executor()};
  std::unique_ptr<emulator::EmulatorServer> server_;
  std::thread thread_;
  fs::path dir_;
  std::string token_file_;
};

struct Run {
  int code;
  std::string out;
  std::string err;
};

Run Cli(std::vector<std::string> args, const std::vector<std::string>& extra = {}) {
  args.insert(args.end(), extra.begin(), extra.end());
  std::ostringstream out, err;
  int code = cli::RunCli(args, out, err);
  return {code, out.str(), err.str()};
}

std::string ReadAll(const fs::path& dir) {
  std::string all;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir)) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    all += "== " + f.filename().string() + "\n" + s.str();
  }
  return all;
}

TEST_CASE("export: fleet seed -> validate exit 0 -> plan exit 0, no changes, no writes",
          "[integration][export]") {
  SeededEmulator cloud("fleet:12");
  for (int p = 1; p <= 3; ++p) {
    const std::string project = "fleet-project-" + std::to_string(p);
    const std::string number = std::to_string(100000000000LL + p);
    const fs::path out_dir = cloud.dir() / project;
    Run exp = Cli({"export", "--project", project, "--project-number", number, "--output-dir",
                   out_dir.string()},
                  cloud.Flags());
    INFO(exp.err);
    REQUIRE(exp.code == 0);
    // 12 instances over 3 projects: 4 each, one file per instance.
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(out_dir)) {
      CHECK(e.path().extension() == ".yaml");
      ++files;
    }
    CHECK(files == 4);
    Run val = Cli({"validate", out_dir.string()});
    INFO(val.out);
    CHECK(val.code == 0);
    CHECK(val.out.find("0 errors, 0 warnings") != std::string::npos);
    const int64_t instance_lists = cloud.Count("GET sqladmin.instances.list");
    const int64_t job_lists = cloud.Count("GET run.jobs.list");
    Run plan = Cli({"plan", out_dir.string()}, cloud.Flags());
    INFO(plan.out << plan.err);
    CHECK(plan.code == 0);
    CHECK(plan.out.find("4 intents: 0 with changes, 0 errors.") != std::string::npos);
    // One point-in-time read serves every intent of the project and region:
    // listing them again per intent made a 1,000-intent plan take minutes.
    // Each file declares its instance's job, private IP and connector.
    const std::string all = ReadAll(out_dir);
    int64_t regions = 0;
    for (const char* r : {"region: us-central1", "region: europe-west1"}) {
      if (all.find(r) != std::string::npos) ++regions;
    }
    REQUIRE(regions > 0);
    CHECK(cloud.Count("GET sqladmin.instances.list") - instance_lists == 1);
    CHECK(cloud.Count("GET run.jobs.list") - job_lists == regions);
    CHECK(all.find("method: privateIp") != std::string::npos);
    CHECK(all.find("connector:") != std::string::npos);
    CHECK(all.find("mode: observe") == std::string::npos);
    // Re-running export gives the same bytes.
    const fs::path again = cloud.dir() / (project + "-again");
    REQUIRE(Cli({"export", "--project", project, "--project-number", number, "--output-dir",
                 again.string()},
                cloud.Flags())
                .code == 0);
    CHECK(ReadAll(again) == all);
  }
  CHECK(cloud.Writes() == 0);
}

TEST_CASE("export: filters, and --project-number is looked up when left out and checked when given",
          "[integration][export]") {
  SeededEmulator cloud("fleet:6");
  Run one = Cli({"export", "--project", "fleet-project-1", "--project-number", "100000000001",
                 "--region", "europe-west1"},
                cloud.Flags());
  REQUIRE(one.code == 0);
  CHECK(one.out.find("name: db-3") != std::string::npos);
  CHECK(one.out.find("name: db-0") == std::string::npos);
  Run named = Cli({"export", "--project", "fleet-project-1", "--project-number", "100000000001",
                   "--instance", "db-0"},
                  cloud.Flags());
  REQUIRE(named.code == 0);
  CHECK(named.out.find("---") == std::string::npos);  // one document
  Run missing = Cli({"export", "--project", "fleet-project-1", "--project-number", "100000000001",
                     "--instance", "nope"},
                    cloud.Flags());
  CHECK(missing.code == 1);
  CHECK(missing.err.find("instance nope not found") != std::string::npos);
  // Private IP needs the number: Resource Manager tells it.
  Run no_number = Cli({"export", "--project", "fleet-project-1", "--instance", "db-0"}, cloud.Flags());
  INFO(no_number.err);
  CHECK(no_number.code == 0);
  CHECK(no_number.out.find("projectNumber: ") != std::string::npos);
  CHECK(no_number.out.find("100000000001") != std::string::npos);
  Run wrong = Cli({"export", "--project", "fleet-project-1", "--project-number", "100000000009"}, cloud.Flags());
  CHECK(wrong.code == 1);
  CHECK(wrong.err.find("--project-number: spec.projectNumber 100000000009") != std::string::npos);
  CHECK(wrong.err.find("whose number is 100000000001") != std::string::npos);
  CHECK(wrong.out.empty());
}

TEST_CASE("export: the incident's project exports a valid file with no password",
          "[integration][export]") {
  SeededEmulator cloud("incident");
  Run exp = Cli({"export", "--project", kProject}, cloud.Flags());
  INFO(exp.err);
  REQUIRE(exp.code == 0);
  // Nowhere: not in the file, not on the terminal.
  CHECK(exp.out.find(kPassword) == std::string::npos);
  CHECK(exp.err.find(kPassword) == std::string::npos);
  CHECK(exp.out.find("mode: observe") != std::string::npos);
  CHECK(exp.out.find("CREATE-ME") != std::string::npos);
  CHECK(exp.err.find("literal password") != std::string::npos);
  CHECK(exp.err.find("policy.mode: observe") != std::string::npos);
  const fs::path file = cloud.dir() / "incident.yaml";
  std::ofstream(file) << exp.out;
  Run val = Cli({"validate", file.string()});
  INFO(val.out);
  CHECK(val.code == 0);
  CHECK(val.out.find(kPassword) == std::string::npos);
  // Adopting it writes nothing: observe mode. Plan shows what enforce would
  // change (exit 2), with the password masked.
  Run plan = Cli({"plan", file.string()}, cloud.Flags());
  CHECK(plan.code == 2);
  CHECK(plan.out.find("Report only") != std::string::npos);
  CHECK(plan.out.find(kPassword) == std::string::npos);
  Run apply = Cli({"apply", "--yes", file.string()}, cloud.Flags());
  CHECK(apply.code == 0);
  CHECK(cloud.Writes() == 0);
}

TEST_CASE("plan -o markdown: same exit codes as text, one marked comment, secrets masked",
          "[integration][export]") {
  SeededEmulator cloud("incident");
  const std::string example = kSrc + "/examples/saleor.yaml";
  Run text = Cli({"plan", example}, cloud.Flags());
  Run md = Cli({"plan", "-o", "markdown", example}, cloud.Flags());
  CHECK(text.code == 2);
  CHECK(md.code == text.code);
  CHECK(md.out.rfind(cli::kMarkdownMarker, 0) == 0);
  CHECK(md.out.find("| # | Resource | Action | Impact |") != std::string::npos);
  CHECK(md.out.find("<details>") != std::string::npos);
  CHECK(md.out.find(kPassword) == std::string::npos);
  CHECK(md.out.size() <= cli::kMarkdownMaxBytes);
  // An error exits 1 in both formats.
  Run bad = Cli({"plan", "-o", "markdown", example, "--endpoint", "sqladmin=http://127.0.0.1:1"},
                {"--access-token-file", (cloud.dir() / "token").string()});
  CHECK(bad.code == 1);
  // Converged: exit 0 and says so.
  SeededEmulator fleet("fleet:3");
  const fs::path dir = fleet.dir() / "intents";
  REQUIRE(Cli({"export", "--project", "fleet-project-1", "--project-number", "100000000001",
               "--output-dir", dir.string()},
              fleet.Flags())
              .code == 0);
  Run clean = Cli({"plan", "-o", "markdown", dir.string()}, fleet.Flags());
  CHECK(clean.code == 0);
  CHECK(clean.out.find("No changes.") != std::string::npos);
}


// Applies `yaml` with dbconnd, exports the project, and loads the exported
// file back: what export read from the state dbconnd itself wrote.
std::shared_ptr<const config::Intent> ApplyThenExport(SeededEmulator& cloud, const std::string& yaml,
                                                      std::string* exported) {
  const fs::path file = cloud.dir() / "declared.yaml";
  std::ofstream(file) << yaml;
  Run apply = Cli({"apply", "--yes", "--timeout", "2m", "--poll", "100ms", file.string()}, cloud.Flags());
  INFO(apply.out << apply.err);
  REQUIRE(apply.code == 0);
  Run exp = Cli({"export", "--project", kProject}, cloud.Flags());
  INFO(exp.err);
  REQUIRE(exp.code == 0);
  *exported = exp.out;
  config::LoadResult r = config::LoadString(exp.out, "exported.yaml");
  INFO(exp.out);
  for (const auto& d : r.diagnostics) INFO(config::FormatDiagnostic(d));
  REQUIRE(r.ok());
  REQUIRE(r.state->intents.size() == 1);
  return r.state->intents[0];
}

std::shared_ptr<const config::Intent> LoadDeclared(const std::string& yaml) {
  config::LoadResult r = config::LoadString(yaml, "declared.yaml");
  for (const auto& d : r.diagnostics) INFO(config::FormatDiagnostic(d));
  REQUIRE(r.ok());
  return r.state->intents.at(0);
}

// The parts of an intent this round trip is about, as one fingerprint:
// equal exactly when export declared them as the applied file did.
std::string PathFingerprint(const config::Intent& in) {
  config::Intent part;
  part.name = "x";
  part.project = in.project;
  part.region = in.region;
  part.instance.name = in.instance.name;
  part.instance.psc = in.instance.psc;
  part.instance.connector_enforcement = in.instance.connector_enforcement;
  if (in.connector) {
    config::Connector c = *in.connector;
    c.where = {};
    part.connector = c;
  }
  for (const auto& w : in.workloads) {
    config::Workload k;
    k.kind = w.kind;
    k.name = w.name;
    k.method = w.method;
    k.direct_vpc = w.direct_vpc;
    k.psc = w.psc;
    part.workloads.push_back(k);
  }
  return config::Fingerprint(part);
}

TEST_CASE("export round trip: PSC on the instance and a Shared VPC connector with its machine type",
          "[integration][export][psc][connector]") {
  SeededEmulator cloud("incident");
  REQUIRE(cloud.Edit(R"({"addSubnetwork":{"project":"net-host-prod","region":"us-central1",)"
                     R"("name":"serverless-28","network":"default","ipCidrRange":"10.9.0.0/28"}})") == 200);
  const std::string yaml = std::string(R"(apiVersion: dbconnd.dev/v1alpha1
kind: DatabaseConnectivity
metadata: {name: saleor}
spec:
  project: )") + kProject + R"(
  region: us-central1
  instance:
    name: saleor-db-demo
    sslMode: ENCRYPTED_ONLY
    publicIp: {enabled: false}
    privateIp: {network: default}
    psc:
      enabled: true
      allowedConsumerProjects: [)" + kProject + R"(, "987654321098"]
  connector:
    name: saleor-shared
    subnet: {name: serverless-28, projectId: net-host-prod}
    machineType: e2-standard-4
    minInstances: 3
    maxInstances: 7
  workloads:
    - job: saleor-migration-1751028053
      method: privateIp
      database:
        name: saleor
        user: saleor
        passwordSecret: projects/)" + kProject + R"(/secrets/saleor-db/versions/latest
  policy:
    allowIrreversible: true
    pruneAuthorizedNetworks: true
)";
  std::string exported;
  auto declared = LoadDeclared(yaml);
  auto got = ApplyThenExport(cloud, yaml, &exported);
  INFO(exported);
  REQUIRE(got->instance.psc);
  CHECK(got->instance.psc->allowed_consumer_projects ==
        std::vector<std::string>{kProject, "987654321098"});
  REQUIRE(got->connector);
  REQUIRE(got->connector->subnet);
  CHECK(got->connector->subnet->name == "serverless-28");
  CHECK(got->connector->machine_type == "e2-standard-4");
  CHECK(PathFingerprint(*got) == PathFingerprint(*declared));
}

TEST_CASE("export round trip: connectorEnforcement REQUIRED with the workload on the Cloud SQL socket",
          "[integration][export][enforcement]") {
  SeededEmulator cloud("incident");
  const std::string yaml = std::string(R"(apiVersion: dbconnd.dev/v1alpha1
kind: DatabaseConnectivity
metadata: {name: saleor}
spec:
  project: )") + kProject + R"(
  region: us-central1
  instance:
    name: saleor-db-demo
    publicIp: {enabled: true}
    connectorEnforcement: REQUIRED
  workloads:
    - job: saleor-migration-1751028053
      method: cloudSqlSocket
      database:
        name: saleor
        user: saleor
        passwordSecret: projects/)" + kProject + R"(/secrets/saleor-db/versions/latest
)";
  std::string exported;
  auto declared = LoadDeclared(yaml);
  auto got = ApplyThenExport(cloud, yaml, &exported);
  INFO(exported);
  CHECK(exported.find("connectorEnforcement: REQUIRED") != std::string::npos);
  REQUIRE(got->instance.connector_enforcement);
  CHECK(*got->instance.connector_enforcement == config::ConnectorEnforcement::kRequired);
  CHECK(PathFingerprint(*got) == PathFingerprint(*declared));
}
}  // namespace
}  // namespace dbconnd::integration
