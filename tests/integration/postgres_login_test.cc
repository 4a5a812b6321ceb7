// The workload really logs in: dbconnd applies the intent on the emulator,
// the job's environment is taken exactly as Cloud Run hands it to the
// container (secret references resolved to the secret's value through
// Secret Manager's versions.access), only the network is mapped (the
// instance's IP to 127.0.0.1, /cloudsql to a local socket directory), and a
// real libpq client (psql) logs in to a real PostgreSQL: scram-sha-256, TLS
// on TCP, a socket directory shaped like /cloudsql/PROJECT:REGION:INSTANCE.
//
// The server comes from the Debian packages postgresql and postgresql-client
// (scripts/test.sh installs them); tests/integration/pg_cluster.sh runs it
// as an unprivileged user in a temporary directory.

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/base64.h"
#include "emulator_fixture.h"

namespace dbconnd::integration {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr char kConnection[] = "melodic-now-463704-k1:us-central1:saleor-db-demo";
constexpr char kDeclaredUser[] = "saleor";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct RunResult {
  int exit_code = -1;  // -1: did not finish in time (killed)
  std::string output;  // stdout and stderr
};

// argv with exactly `env` (nothing inherited), bounded by `limit`.
RunResult Run(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env,
              std::chrono::seconds limit) {
  char out_path[] = "/tmp/dbconnd-pg-out-XXXXXX";
  const int out = ::mkstemp(out_path);
  if (out < 0) throw std::runtime_error("mkstemp failed");
  std::vector<std::string> env_strings;
  for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (const auto& e : env_strings) envp.push_back(const_cast<char*>(e.c_str()));
    envp.push_back(nullptr);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  ::close(out);
  RunResult r;
  const auto end = std::chrono::steady_clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (std::chrono::steady_clock::now() > end) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  r.output = Slurp(out_path);
  ::unlink(out_path);
  return r;
}

std::string FindPsql() {
  for (const char* p : {"/usr/bin/psql"}) {
    if (::access(p, X_OK) == 0) return p;
  }
  std::error_code ec;
  if (fs::exists("/usr/lib/postgresql", ec)) {
    for (const auto& d : fs::directory_iterator("/usr/lib/postgresql", ec)) {
      const auto p = d.path() / "bin" / "psql";
      if (::access(p.c_str(), X_OK) == 0) return p.string();
    }
  }
  return "";
}

int FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// A path that drops packets, like an IP the instance does not accept
// connections from: a listener that never accepts and never answers, so the
// client's connect_timeout expires as in the incident. No traffic leaves
// the machine.
class BlackHole {
 public:
  BlackHole() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) {
      throw std::runtime_error("black hole listener failed");
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~BlackHole() { ::close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// One PostgreSQL per test process, stopped at exit.
class Postgres {
 public:
  static Postgres& Get() {
    static Postgres pg;
    return pg;
  }
  const std::string& dir() const { return dir_; }
  int port() const { return port_; }
  const std::string& psql() const { return psql_; }
  const std::string& error() const { return error_; }
  ~Postgres() {
    if (started_) Run({"/bin/bash", script_, "stop", dir_}, {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}}, std::chrono::seconds(60));
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  }

 private:
  Postgres() {
    psql_ = FindPsql();
    if (psql_.empty()) {
      error_ = "psql not found: install the Debian packages postgresql and postgresql-client "
               "(scripts/test.sh installs them)";
      return;
    }
    char tmpl[] = "/tmp/dbconnd-pg-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      error_ = "mkdtemp failed";
      return;
    }
    dir_ = tmpl;
    ::chmod(dir_.c_str(), 0755);
    port_ = FreePort();
    auto r = Run({"/bin/bash", script_, "start", dir_, std::to_string(port_), kConnection,
                  kDeclaredUser, kPassword, "saleor"},
                 {{"PATH", "/usr/bin:/bin:/usr/sbin:/sbin"}}, std::chrono::seconds(240));
    if (r.exit_code != 0) {
      error_ = "could not start PostgreSQL (" + r.output + ")";
      return;
    }
    started_ = true;
  }

  std::string script_ = kSrc + "/tests/integration/pg_cluster.sh";
  std::string psql_;
  std::string dir_;
  std::string error_;
  int port_ = 0;
  bool started_ = false;
};

// The container's environment as Cloud Run hands it over: literal values as
// they are, secret references replaced by the secret version's payload.
std::map<std::string, std::string> ContainerEnv(Cloud& cloud, const json::object& job) {
  std::map<std::string, std::string> env;
  const auto& c = job.at("template").at("template").at("containers").at(0).as_object();
  if (!c.contains("env")) return env;
  for (const auto& v : c.at("env").as_array()) {
    const auto& e = v.as_object();
    const std::string name(e.at("name").as_string());
    if (const auto* src = e.if_contains("valueSource")) {
      const auto& ref = src->at("secretKeyRef").as_object();
      std::string secret(ref.at("secret").as_string());
      const std::string version(ref.at("version").as_string());
      if (secret.rfind("projects/", 0) != 0) secret = std::string("projects/") + kProject + "/secrets/" + secret;
      auto got = cloud.Call("GET", "/v1/" + secret + "/versions/" + version + ":access");
      INFO(json::serialize(got));
      REQUIRE(got.is_object());
      REQUIRE(got.as_object().contains("payload"));
      auto data = Base64Decode(got.at("payload").at("data").as_string());
      REQUIRE(data);
      env[name] = *data;
    } else if (const auto* value = e.if_contains("value")) {
      env[name] = std::string(value->as_string());
    } else {
      env[name] = "";
    }
  }
  return env;
}

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
    s.replace(at, from.size(), to);
  }
}

// Maps only the network, as Cloud Run would route it: the instance's private
// IP reaches the server when the job has VPC access, its public IP when the
// instance accepts public connections from authorized networks, and
// /cloudsql/... is the local socket directory when the job mounts the Cloud
// SQL volume. A Private Service Connect endpoint's IP (the forwarding
// rule's IPAddress) reaches the server when the job has VPC access, the
// instance has PSC on and the endpoint was ACCEPTED by the instance's
// service attachment. Any other path drops packets.
std::map<std::string, std::string> MapNetwork(Cloud& cloud, std::map<std::string, std::string> env,
                                              const BlackHole& hole) {
  const auto inst = cloud.Instance();
  const auto job = cloud.Job();
  const auto& task = job.at("template").at("template").as_object();
  const bool vpc = task.contains("vpcAccess");
  bool socket = false;
  if (const auto* vols = task.if_contains("volumes")) {
    for (const auto& v : vols->as_array()) socket = socket || v.as_object().contains("cloudSqlInstance");
  }
  const auto& ipc = inst.at("settings").at("ipConfiguration").as_object();
  const bool ipv4 = ipc.contains("ipv4Enabled") && ipc.at("ipv4Enabled").as_bool();
  const bool authorized = ipc.contains("authorizedNetworks") && !ipc.at("authorizedNetworks").as_array().empty();
  const std::string pg = "127.0.0.1:" + std::to_string(Postgres::Get().port());
  const std::string dead = "127.0.0.1:" + std::to_string(hole.port());
  const auto* psc_config = ipc.if_contains("pscConfig");
  const bool psc = psc_config && psc_config->as_object().contains("pscEnabled") &&
                   psc_config->at("pscEnabled").as_bool();
  std::vector<std::pair<std::string, bool>> endpoints;  // IP, ACCEPTED
  const auto rules = cloud.Call("GET", std::string("/compute/v1/projects/") + kProject +
                                           "/regions/us-central1/forwardingRules");
  if (const auto* items = rules.is_object() ? rules.as_object().if_contains("items") : nullptr) {
    for (const auto& r : items->as_array()) {
      const auto& ro = r.as_object();
      if (!ro.contains("IPAddress")) continue;
      const bool accepted = ro.contains("pscConnectionStatus") && ro.at("pscConnectionStatus").as_string() == "ACCEPTED";
      endpoints.emplace_back(std::string(ro.at("IPAddress").as_string()), accepted);
    }
  }
  for (auto& [name, value] : env) {
    if (inst.contains("ipAddresses")) {
      for (const auto& a : inst.at("ipAddresses").as_array()) {
        const std::string type(a.at("type").as_string());
        const std::string ip(a.at("ipAddress").as_string());
        const bool reachable = (type == "PRIVATE" && vpc) || (type == "PRIMARY" && ipv4 && authorized);
        ReplaceAll(value, ip + ":5432", reachable ? pg : dead);
      }
    }
    for (const auto& [ip, accepted] : endpoints) ReplaceAll(value, ip + ":5432", vpc && psc && accepted ? pg : dead);
    if (socket) ReplaceAll(value, "host=/cloudsql/", "host=" + Postgres::Get().dir() + "/cloudsql/");
  }
  return env;
}

// libpq (psql) given exactly the container's environment: DATABASE_URL is
// the connection string, every other variable is what the driver finds.
// PGCONNECT_TIMEOUT bounds a dropped path, as the incident's Django settings
// did; no password file, no prompt.
RunResult Login(const std::map<std::string, std::string>& container_env) {
  std::map<std::string, std::string> env = container_env;
  env["PATH"] = "/usr/bin:/bin";
  env["HOME"] = Postgres::Get().dir();
  env["PGPASSFILE"] = Postgres::Get().dir() + "/no-pgpass";
  env["PGCONNECT_TIMEOUT"] = "3";
  const std::string url = container_env.count("DATABASE_URL") ? container_env.at("DATABASE_URL") : "";
  return Run({Postgres::Get().psql(), "-X", "-w", "-A", "-t", "-d", url, "-c", "select current_user"},
             env, std::chrono::seconds(60));
}

void RequirePostgres() {
  if (!Postgres::Get().error().empty()) FAIL(Postgres::Get().error());
}

void CheckLogsIn(Cloud& cloud, const config::Intent& intent) {
  RequirePostgres();
  auto result = cloud.Apply(intent);
  INFO(result.status.message());
  REQUIRE(result.converged);
  BlackHole hole;
  const auto env = MapNetwork(cloud, ContainerEnv(cloud, cloud.Job()), hole);
  // The password travels in the variable libpq reads.
  REQUIRE(env.count("PGPASSWORD"));
  const auto login = Login(env);
  INFO("DATABASE_URL=" << env.at("DATABASE_URL") << "\npsql: " << login.output);
  CHECK(login.exit_code == 0);
  CHECK(login.output == std::string(kDeclaredUser) + "\n");
}

TEST_CASE("integration: libpq logs in over private IP through the connector (examples/saleor.yaml)",
          "[integration][postgres]") {
  Cloud cloud;
  CheckLogsIn(cloud, SaleorIntent());
  CHECK(cloud.Job().at("template").at("template").as_object().contains("vpcAccess"));
}

TEST_CASE("integration: libpq logs in over private IP through Direct VPC egress (examples/saleor-direct-vpc.yaml)",
          "[integration][postgres][direct-vpc]") {
  Cloud cloud;
  auto r = config::LoadPaths({kSrc + "/examples/saleor-direct-vpc.yaml"});
  REQUIRE(r.ok());
  CheckLogsIn(cloud, *r.state->intents.at(0));
  const boost::json::object job = cloud.Job();
  const auto& vpc = job.at("template").at("template").at("vpcAccess").as_object();
  CHECK(vpc.contains("networkInterfaces"));
  CHECK_FALSE(vpc.contains("connector"));
}

TEST_CASE("integration: libpq logs in over a Private Service Connect endpoint (examples/saleor-psc.yaml)",
          "[integration][postgres][psc]") {
  Cloud cloud;
  auto r = config::LoadPaths({kSrc + "/examples/saleor-psc.yaml"});
  REQUIRE(r.ok());
  CheckLogsIn(cloud, *r.state->intents.at(0));
  // The driver connected to the endpoint's IP, the one in DATABASE_URL: the
  // forwarding rule dbconnd created, accepted by the instance's attachment.
  const auto rule = cloud.Call("GET", std::string("/compute/v1/projects/") + kProject +
                                          "/regions/us-central1/forwardingRules/saleor-db-psc");
  REQUIRE(rule.is_object());
  CHECK(rule.at("pscConnectionStatus").as_string() == "ACCEPTED");
  const std::string ip(rule.at("IPAddress").as_string());
  const auto env = ContainerEnv(cloud, cloud.Job());
  REQUIRE(env.count("DATABASE_URL"));
  CHECK(env.at("DATABASE_URL").find("@" + ip + ":5432/") != std::string::npos);
  // No other path is open: the public IP is off and the instance has no
  // private IP, so only the endpoint's address reaches the server.
  const auto inst = cloud.Instance();
  const auto& ipc = inst.at("settings").at("ipConfiguration").as_object();
  CHECK_FALSE(ipc.contains("privateNetwork"));
  CHECK_FALSE(ipc.at("ipv4Enabled").as_bool());
  const boost::json::object job = cloud.Job();
  CHECK(job.at("template").at("template").at("vpcAccess").as_object().contains("networkInterfaces"));
}

TEST_CASE("integration: a PSC endpoint's URL does not log in while the job has no way into the VPC",
          "[integration][postgres][psc]") {
  RequirePostgres();
  Cloud cloud;
  auto r = config::LoadPaths({kSrc + "/examples/saleor-psc.yaml"});
  REQUIRE(r.ok());
  REQUIRE(cloud.Apply(*r.state->intents.at(0)).converged);
  // The URL dbconnd wrote, taken by a client outside the VPC (the job's
  // network interfaces removed): the endpoint's internal IP drops packets.
  boost::json::object job = cloud.Job();
  auto env = ContainerEnv(cloud, job);
  BlackHole hole;
  auto patch = job;
  patch.at("template").at("template").as_object().erase("vpcAccess");
  auto res = cloud.Call("PATCH", std::string("/v2/projects/") + kProject +
                                     "/locations/us-central1/jobs/saleor-migration-1751028053",
                        boost::json::serialize(patch));
  INFO(boost::json::serialize(res));
  REQUIRE_FALSE(cloud.Job().at("template").at("template").as_object().contains("vpcAccess"));
  const auto login = Login(MapNetwork(cloud, env, hole));
  INFO("psql: " << login.output);
  CHECK(login.exit_code != 0);
  CHECK(login.output.find("timeout expired") != std::string::npos);
}

TEST_CASE("integration: libpq logs in over the Cloud SQL socket", "[integration][postgres]") {
  Cloud cloud;
  config::Intent in = SaleorIntent();
  in.workloads[0].method = config::ConnectionMethod::kCloudSqlSocket;
  CheckLogsIn(cloud, in);
}

TEST_CASE("integration: libpq logs in over public IP with authorized networks",
          "[integration][postgres]") {
  Cloud cloud;
  config::Intent in = SaleorIntent();
  in.instance.private_ip.reset();
  in.connector.reset();
  in.instance.public_ip = config::PublicIp{true, {{"office-nat", "203.0.113.7/32", "", {}}}};
  in.workloads[0].method = config::ConnectionMethod::kPublicIp;
  CheckLogsIn(cloud, in);
}

TEST_CASE("integration: the incident's environment and a password in DB_PASSWORD do not log in",
          "[integration][postgres]") {
  RequirePostgres();
  Cloud cloud;
  BlackHole hole;
  // The seed as found: public IP, no authorized network, no socket.
  auto before = MapNetwork(cloud, ContainerEnv(cloud, cloud.Job()), hole);
  auto login = Login(before);
  INFO("psql: " << login.output);
  CHECK(login.exit_code != 0);
  CHECK(login.output.find("timeout expired") != std::string::npos);

  // Fixed path, password where no driver looks (dbconnd's earlier default).
  REQUIRE(cloud.Apply(SaleorIntent()).converged);
  auto env = MapNetwork(cloud, ContainerEnv(cloud, cloud.Job()), hole);
  REQUIRE(env.count("PGPASSWORD"));
  env["DB_PASSWORD"] = env.at("PGPASSWORD");
  env.erase("PGPASSWORD");
  login = Login(env);
  INFO("psql: " << login.output);
  CHECK(login.exit_code != 0);
  CHECK(login.output.find("no password supplied") != std::string::npos);
}

}  // namespace
}  // namespace dbconnd::integration
