// The commands end to end, in-process through RunCli, against an emulator on
// its own thread: exit codes, JSON shape, confirmation, observe mode, demo.
#include <catch2/catch.hpp>

#include <boost/asio/post.hpp>
#include <cstdio>
#include <regex>
#include <sstream>

#include "cli/cli.h"
#include "controller/journal.h"
#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

class BackgroundEmulator {
 public:
  BackgroundEmulator() {
    emulator::EmulatorOptions eo;
    eo.model.seed = "incident";
    // Longer than apply's shortest --poll (100ms), so apply is seen waiting.
    eo.model.op_delay = std::chrono::milliseconds(250);
    eo.model.accept_token = kToken;
    auto server = emulator::EmulatorServer::Start(io_.get_executor(), eo);
    if (!server.ok()) throw std::runtime_error(server.status().message());
    server_ = std::move(*server);
    thread_ = std::thread([this] { io_.run(); });
    dir_ = fs::temp_directory_path() / ("dbconnd-cli-test-" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    token_file_ = (dir_ / "token").string();
    std::ofstream(token_file_) << kToken << "\n";
  }
  ~BackgroundEmulator() {
    boost::asio::post(io_, [s = server_.get()] { s->Stop(); });
    guard_.reset();
    thread_.join();
    server_.reset();
    fs::remove_all(dir_);
  }

  // Google-access flags that point every API at this emulator.
  std::vector<std::string> Flags() const {
    std::vector<std::string> f = {"--access-token-file", token_file_, "--no-rate-limits"};
    for (auto name : gcp::Endpoints::kNames) {
      f.push_back("--endpoint");
      f.push_back(std::string(name) + "=" + server_->base_url());
    }
    return f;
  }
  int64_t Writes() {
    std::lock_guard lock(server_->mutex());
    net::HttpRequest req;
    req.url = "/emulator/requests";
    auto v = json::parse(server_->model().Handle(req, emulator::Clock::now()).body);
    int64_t n = 0;
    for (const auto& [route, count] : v.at("counts").as_object()) {
      const std::string r(route);
      // getIamPolicy is a read sent as POST (Resource Manager v3).
      if (!r.starts_with("GET ") && !r.ends_with(".getIamPolicy")) n += count.as_int64();
    }
    return n;
  }
  fs::path dir() const { return dir_; }
  // Any route of the emulator in-process, under its lock.
  json::value Call(std::string method, std::string url, std::string body = "") {
    std::lock_guard lock(server_->mutex());
    net::HttpRequest req;
    req.method = std::move(method);
    req.url = std::move(url);
    req.body = std::move(body);
    req.SetHeader("Authorization", std::string("Bearer ") + kToken);
    if (!req.body.empty()) req.SetHeader("Content-Type", "application/json");
    boost::system::error_code ec;
    auto v = json::parse(server_->model().Handle(req, emulator::Clock::now()).body, ec);
    return ec ? json::value() : v;
  }

 private:
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

const std::string kExample = kSrc + "/examples/saleor.yaml";

// apply must not find a terminal on stdin, whoever runs the test.
void StdinFromDevNull() { REQUIRE(std::freopen("/dev/null", "r", stdin) != nullptr); }

// examples/saleor.yaml with `edit` applied to its text, written to the
// emulator's directory.
std::string EditedExample(const BackgroundEmulator& emu, const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& edits) {
  std::ifstream in(kExample);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  for (const auto& [from, to] : edits) {
    auto at = text.find(from);
    REQUIRE(at != std::string::npos);
    text.replace(at, from.size(), to);
  }
  const std::string path = (emu.dir() / name).string();
  std::ofstream(path) << text;
  return path;
}

std::vector<std::string> PlanKinds(const BackgroundEmulator& emu, const std::string& file) {
  Run r = Cli({"plan", file, "-o", "json"}, emu.Flags());
  INFO(r.err << r.out);
  REQUIRE(r.code == 2);
  std::vector<std::string> kinds;
  const json::value doc = json::parse(r.out);  // named: the loop reads into it
  for (const auto& s : doc.at("intents").at(0).at("steps").as_array()) {
    kinds.emplace_back(s.at("kind").as_string());
  }
  return kinds;
}

bool Has(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

TEST_CASE("cli: plan -o json shows connector-patch, connector-replace, connector-enforcement and "
          "direct-vpc-switch steps",
          "[integration][cli][connector]") {
  BackgroundEmulator emu;
  // The job already leaves through Direct VPC egress; a connector exists.
  emu.Call("POST", "/emulator/reset", R"({"seed":"incident-direct-vpc"})");
  const std::string connectors =
      std::string("/v1/projects/") + kProject + "/locations/us-central1/connectors";
  REQUIRE(emu.Call("POST", connectors + "?connectorId=saleor-connector",
                   R"({"network":"default","ipCidrRange":"10.8.0.0/28","machineType":"e2-micro",)"
                   R"("minInstances":2,"maxInstances":3})")
              .is_object());
  auto state = [&] {
    const json::value c = emu.Call("GET", connectors + "/saleor-connector");
    const auto* st = c.is_object() ? c.as_object().if_contains("state") : nullptr;
    return st && st->is_string() ? std::string(st->as_string()) : std::string();
  };
  for (int i = 0; i < 100 && state() != "READY"; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  REQUIRE(state() == "READY");

  const auto plain = PlanKinds(emu, kExample);
  CHECK(Has(plain, "direct-vpc-switch"));  // networkInterfaces -> connector, one PATCH
  CHECK_FALSE(Has(plain, "connector-patch"));
  CHECK_FALSE(Has(plain, "connector-enforcement"));

  const auto patched = PlanKinds(
      emu, EditedExample(emu, "patch.yaml",
                         {{"    ipCidrRange: 10.8.0.0/28\n",
                           "    ipCidrRange: 10.8.0.0/28\n    machineType: e2-standard-4\n"
                           "    minInstances: 3\n    maxInstances: 7\n"},
                          {"    name: saleor-db-demo\n",
                           "    name: saleor-db-demo\n    connectorEnforcement: REQUIRED\n"}}));
  CHECK(Has(patched, "connector-patch"));
  CHECK(Has(patched, "connector-enforcement"));
  CHECK(Has(patched, "direct-vpc-switch"));

  const auto replaced = PlanKinds(
      emu, EditedExample(emu, "replace.yaml",
                         {{"    ipCidrRange: 10.8.0.0/28\n", "    ipCidrRange: 10.9.0.0/28\n"}}));
  CHECK(Has(replaced, "connector-replace"));
  CHECK(emu.Writes() == 0);  // plan writes nothing (the admin calls above are not logged)
}

TEST_CASE("cli: plan exits 2 with changes, apply converges, then plan exits 0",
          "[integration][cli]") {
  BackgroundEmulator emu;
  StdinFromDevNull();
  Run plan = Cli({"plan", kExample, "--no-color"}, emu.Flags());
  INFO(plan.err);
  CHECK(plan.code == 2);
  CHECK_THAT(plan.out, Catch::Contains("connection timeout expired"));
  CHECK_THAT(plan.out, Catch::Contains("[irreversible]"));
  CHECK(plan.out.find(kPassword) == std::string::npos);

  Run json_plan = Cli({"plan", kExample, "-o", "json"}, emu.Flags());
  CHECK(json_plan.code == 2);
  auto doc = json::parse(json_plan.out).as_object();
  CHECK(doc.at("formatVersion").as_int64() == 1);
  const auto& intent = doc.at("intents").at(0).as_object();
  CHECK(intent.at("name").as_string() == "saleor");
  const auto& steps = intent.at("steps").as_array();
  REQUIRE(steps.size() == 6);
  const auto& instance = steps.at(3).as_object();
  CHECK(instance.at("id").as_string() == "instance/saleor-db-demo");
  CHECK(instance.at("resource").at("kind").as_string() == "instance");
  CHECK(instance.at("action").as_string() == "update");
  CHECK(instance.at("dependsOn").as_array().size() == 2);
  CHECK(instance.at("changes").at(0).as_object().contains("impact"));
  CHECK(instance.at("blocked").as_string().empty());
  CHECK_FALSE(intent.at("diagnoses").as_array().empty());
  CHECK_FALSE(intent.at("findings").as_array().empty());
  CHECK(doc.at("summary").at("withChanges").as_int64() == 1);
  CHECK(json_plan.out.find(kPassword) == std::string::npos);
  CHECK(emu.Writes() == 0);

  Run refused = Cli({"apply", kExample}, emu.Flags());
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Catch::Contains("pass --yes"));
  CHECK(emu.Writes() == 0);

  Run apply = Cli({"apply", kExample, "--yes", "--no-color", "--poll", "100ms"}, emu.Flags());
  INFO(apply.out);
  INFO(apply.err);
  CHECK(apply.code == 0);
  CHECK_THAT(apply.out, Catch::Contains("waiting for instance saleor-db-demo operation UPDATE"));
  CHECK_THAT(apply.out, Catch::Contains("Intent saleor: converged after 6 changes."));
  CHECK(apply.out.find(kPassword) == std::string::npos);
  CHECK(emu.Writes() == 6);

  Run after = Cli({"plan", kExample}, emu.Flags());
  CHECK(after.code == 0);
  CHECK_THAT(after.out, Catch::Contains("No changes."));
  Run again = Cli({"apply", kExample, "--yes", "--poll", "100ms"}, emu.Flags());
  CHECK(again.code == 0);
  CHECK(emu.Writes() == 6);
}

TEST_CASE("cli: observe mode applies nothing and says so", "[integration][cli]") {
  BackgroundEmulator emu;
  StdinFromDevNull();
  std::ifstream in(kExample);
  std::stringstream text;
  text << in.rdbuf();
  std::string yaml = std::regex_replace(text.str(), std::regex("mode: enforce"), "mode: observe");
  fs::path file = emu.dir() / "observe.yaml";
  std::ofstream(file) << yaml;
  Run apply = Cli({"apply", file.string(), "--yes"}, emu.Flags());
  INFO(apply.out);
  CHECK(apply.code == 0);
  CHECK_THAT(apply.out, Catch::Contains("policy.mode is observe"));
  CHECK_THAT(apply.out, Catch::Contains("nothing was written"));
  CHECK(emu.Writes() == 0);
  CHECK(Cli({"plan", file.string()}, emu.Flags()).code == 2);
}

TEST_CASE("cli: plan exits 1 on invalid files, refused credentials and bad flags",
          "[integration][cli]") {
  BackgroundEmulator emu;
  Run invalid = Cli({"plan", kSrc + "/tests/data/invalid/world-open.yaml"}, emu.Flags());
  CHECK(invalid.code == 1);
  CHECK_THAT(invalid.err, Catch::Contains("dbconnd validate"));

  fs::path bad_token = emu.dir() / "bad-token";
  std::ofstream(bad_token) << "not-the-token\n";
  std::vector<std::string> flags = emu.Flags();
  flags[1] = bad_token.string();
  Run refused = Cli({"plan", kExample}, flags);
  CHECK(refused.code == 1);
  CHECK(refused.out.find("not-the-token") == std::string::npos);
  CHECK(refused.err.find("not-the-token") == std::string::npos);

  CHECK(Cli({"plan", kExample, "--no-such-flag"}).code == 1);
  Run bad_endpoint = Cli({"plan", kExample, "--endpoint", "sqladmn=http://127.0.0.1:1"});
  CHECK(bad_endpoint.code == 1);
  CHECK_THAT(bad_endpoint.err, Catch::Contains("--endpoint sqladmn="));
}

TEST_CASE("cli: every duration flag takes the one grammar, with minima", "[integration][cli]") {
  // A bad --endpoint makes each command stop right after its flags were
  // parsed, so only the duration handling is exercised here.
  const std::vector<std::string> stop = {"--endpoint", "sqladmn=http://127.0.0.1:1"};
  const std::string cfg = kExample;
  for (std::vector<std::string> good : {
           std::vector<std::string>{"run", "--config", cfg, "--resync", "1h30m"},
           {"run", "--config", cfg, "--resync", "1h30m10s", "--operation-poll", "100ms"},
           {"run", "--config", cfg, "--settle-recheck", "2s500ms", "--shutdown-grace", "0s"},
           {"apply", cfg, "--timeout", "1h30m", "--poll", "1s"},
       }) {
    Run r = Cli(good, stop);
    INFO(good[0] << " " << good[3] << " " << good[4] << ": " << r.err);
    CHECK_THAT(r.err, Catch::Contains("--endpoint sqladmn="));
    CHECK_THAT(r.err, !Catch::Contains("duration"));
  }
  struct Bad {
    std::vector<std::string> args;
    std::string message;
  };
  for (const Bad& bad : {
           Bad{{"run", "--config", cfg, "--resync", "30"}, "--resync: duration \"30\" needs a unit"},
           Bad{{"run", "--config", cfg, "--resync", "500ms"}, "shorter than the minimum 1s"},
           Bad{{"run", "--config", cfg, "--operation-poll", "20ms"},
               "--operation-poll: duration \"20ms\" is shorter than the minimum 100ms"},
           Bad{{"run", "--config", cfg, "--resync", "99999999999999h"}, "longer than the maximum"},
           Bad{{"apply", cfg, "--poll", "5ms"}, "--poll: duration \"5ms\" is shorter"},
           Bad{{"apply", cfg, "--timeout", "30m1h"}, "largest first"},
       }) {
    Run r = Cli(bad.args, stop);
    INFO(bad.args[bad.args.size() - 2] << " " << bad.args.back());
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Catch::Contains(bad.message));
  }
}

TEST_CASE("cli: rollback --yes refuses while a daemon holds the journal", "[integration][cli]") {
  BackgroundEmulator emu;
  const std::string state = (emu.dir() / "state").string();
  {
    // One finished write of generation 1, as the daemon journals it.
    auto j = controller::Journal::Open(state);
    REQUIRE(j.ok());
    auto id = (*j)->Begin(1, "saleor", "instance/saleor-db-demo", "instance", "saleor-db-demo",
                          "update", R"({"settings.ipConfiguration.sslMode":"ENCRYPTED_ONLY"})",
                          {{"settings.ipConfiguration.sslMode", "ENCRYPTED_ONLY",
                            "ALLOW_UNENCRYPTED_AND_ENCRYPTED"}});
    REQUIRE(id.ok());
    gcp::Operation op;
    op.api = gcp::Api::kSqlAdmin;
    op.project = "melodic-now-463704-k1";
    op.name = "op-1";
    op.target = "saleor-db-demo";
    REQUIRE((*j)->RecordOperation(*id, op).ok());
    REQUIRE((*j)->RecordOutcome(*id, Status()).ok());
  }
  auto daemon_journal = controller::Journal::Open(state);  // what `dbconnd run` holds
  REQUIRE(daemon_journal.ok());
  REQUIRE((*daemon_journal)->LockExclusive().ok());
  const int64_t writes = emu.Writes();
  Run refused = Cli({"rollback", "--state-dir", state, "--last", "--yes"}, emu.Flags());
  CHECK(refused.code == 1);
  CHECK_THAT(refused.err, Catch::Contains("locked by another process"));
  CHECK_THAT(refused.err, Catch::Contains("Stop the daemon first"));
  CHECK(emu.Writes() == writes);

  // Once the daemon is gone, rollback --yes takes the lock itself and writes.
  daemon_journal->reset();
  Run done = Cli({"rollback", "--state-dir", state, "--last", "--yes"}, emu.Flags());
  INFO(done.out << done.err);
  CHECK(done.code == 0);
  CHECK(done.err.find("locked") == std::string::npos);
  CHECK(emu.Writes() > writes);
}

TEST_CASE("cli: demo shows the failure, the fix and the success, and no password",
          "[integration][demo]") {
  Run demo = Cli({"demo", "--op-delay", "30ms", "--no-color"});
  INFO(demo.out);
  INFO(demo.err);
  REQUIRE(demo.code == 0);
  size_t failed = demo.out.find("FAILED");
  size_t timeout = demo.out.find("connection timeout expired");
  size_t applied = demo.out.find("converged after 6 changes");
  size_t succeeded = demo.out.find("SUCCEEDED");
  REQUIRE(failed != std::string::npos);
  REQUIRE(timeout != std::string::npos);
  REQUIRE(applied != std::string::npos);
  REQUIRE(succeeded != std::string::npos);
  CHECK(failed < applied);
  CHECK(applied < succeeded);
  CHECK_THAT(demo.out, Catch::Contains("No changes."));
  CHECK_THAT(demo.out, Catch::Contains("6 writes for 6 planned changes"));
  CHECK(demo.out.find(kPassword) == std::string::npos);
  CHECK(demo.err.find(kPassword) == std::string::npos);
  CHECK_THAT(demo.out, Catch::Contains("saleor:***@34.41.195.120"));
  // The demo names the variable carrying the password: one libpq reads.
  CHECK_THAT(demo.out, Catch::Contains("Secret Manager secret saleor-db in PGPASSWORD"));
}

}  // namespace
}  // namespace dbconnd::integration

namespace dbconnd::integration {
namespace {
TEST_CASE("cli: plan -o json of saleor-direct-vpc.yaml shows the Direct VPC path and no connector",
          "[integration][cli][direct-vpc]") {
  BackgroundEmulator emu;
  Run plan = Cli({"plan", kSrc + "/examples/saleor-direct-vpc.yaml", "-o", "json"}, emu.Flags());
  INFO(plan.err);
  CHECK(plan.code == 2);
  auto doc = json::parse(plan.out).as_object();
  const auto& intent = doc.at("intents").at(0).as_object();
  std::vector<std::string> ids;
  const json::object* job = nullptr;
  for (const auto& s : intent.at("steps").as_array()) {
    ids.emplace_back(s.at("id").as_string());
    if (ids.back() == std::string("job/") + kJob) job = &s.as_object();
  }
  CHECK(ids == std::vector<std::string>{"range/google-managed-services-default", "peering/default",
                                        "instance/saleor-db-demo", std::string("job/") + kJob,
                                        std::string("verify/job/") + kJob, "instance/saleor-db-demo/public-path"});
  REQUIRE(job);
  bool direct = false;
  for (const auto& c : job->at("changes").as_array()) {
    std::string path(c.at("path").as_string());
    if (path.find("vpcAccess") == std::string::npos) continue;
    CHECK(std::string(c.at("before").as_string()).empty());
    CHECK(std::string(c.at("after").as_string()) ==
          "direct network default subnetwork default egress PRIVATE_RANGES_ONLY");
    direct = true;
  }
  CHECK(direct);
  for (const auto& s : intent.at("steps").as_array()) {
    CHECK(s.at("resource").at("kind").as_string() != "connector");
  }
  CHECK(emu.Writes() == 0);
}
}  // namespace
}  // namespace dbconnd::integration
