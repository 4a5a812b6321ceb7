// deploy/Dockerfile and deploy/systemd/dbconnd.service carry what
// docs/DEPLOY.md promises. Docker cannot run here, so the Dockerfile is
// checked as text; its runtime packages against the Debian archive when the
// apt lists are present.
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const fs::path kRoot = DBCONND_SOURCE_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  INFO(p.string());
  REQUIRE(in.good());
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> Words(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

struct Instruction {
  std::string op;    // upper-case: FROM, RUN, ...
  std::string args;  // continuation lines joined
};

std::vector<Instruction> ParseDockerfile(const std::string& text) {
  std::vector<Instruction> out;
  std::istringstream in(text);
  std::string line, current;
  while (std::getline(in, line)) {
    auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    bool cont = !line.empty() && line.back() == '\\';
    if (cont) line.pop_back();
    current += line + " ";
    if (cont) continue;
    auto words = Words(current);
    Instruction ins;
    ins.op = words[0];
    for (auto& ch : ins.op) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    ins.args = current.substr(current.find(words[0]) + words[0].size());
    out.push_back(ins);
    current.clear();
  }
  return out;
}

// BUILD_PACKAGES=( ... ) of scripts/lib.sh.
std::vector<std::string> BuildPackages() {
  std::string lib = ReadFile(kRoot / "scripts/lib.sh");
  auto start = lib.find("BUILD_PACKAGES=(");
  REQUIRE(start != std::string::npos);
  auto end = lib.find(')', start);
  return Words(lib.substr(start + 16, end - start - 16));
}

bool AptListsPresent() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/var/lib/apt/lists", ec)) {
    if (e.path().filename().string().find("_Packages") != std::string::npos) return true;
  }
  return false;
}

std::string Run(const std::string& cmd, int* status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = ::pclose(p);
  return out;
}

}  // namespace

TEST_CASE("Dockerfile: Debian 12 build stage, slim non-root runtime, no HEALTHCHECK", "[deploy]") {
  auto ins = ParseDockerfile(ReadFile(kRoot / "deploy/Dockerfile"));
  std::vector<size_t> froms;
  for (size_t i = 0; i < ins.size(); ++i) {
    if (ins[i].op == "FROM") froms.push_back(i);
    CHECK(ins[i].op != "HEALTHCHECK");
  }
  REQUIRE(froms.size() == 2);
  CHECK(Words(ins[froms[0]].args) == std::vector<std::string>{"debian:12", "AS", "build"});
  CHECK(Words(ins[froms[1]].args) == std::vector<std::string>{"debian:12-slim"});

  std::string build_runs, runtime_runs;
  for (size_t i = froms[0]; i < froms[1]; ++i) {
    if (ins[i].op == "RUN") build_runs += ins[i].args + " ";
  }
  for (size_t i = froms[1]; i < ins.size(); ++i) {
    if (ins[i].op == "RUN") runtime_runs += ins[i].args + " ";
  }
  // The build stage installs what scripts/lib.sh installs and builds the
  // release preset's dbconnd.
  auto build_words = Words(build_runs);
  for (const auto& p : BuildPackages()) {
    INFO("build stage lacks " << p);
    CHECK(std::find(build_words.begin(), build_words.end(), p) != build_words.end());
  }
  CHECK(build_runs.find("cmake --preset release") != std::string::npos);
  CHECK(build_runs.find("--target dbconnd") != std::string::npos);

  // Runtime: CA certificates plus the binary's shared libraries, nothing to build with.
  auto runtime_words = Words(runtime_runs);
  const std::vector<std::string> runtime_packages = {
      "ca-certificates", "libssl3", "libyaml-cpp0.7", "libprometheus-cpp-core1.0",
      "libboost-json1.81.0", "libboost-url1.81.0"};
  for (const auto& p : runtime_packages) {
    INFO("runtime stage lacks " << p);
    CHECK(std::find(runtime_words.begin(), runtime_words.end(), p) != runtime_words.end());
  }
  CHECK(runtime_runs.find("--no-install-recommends") != std::string::npos);
  for (const auto& w : runtime_words) {
    CHECK(w.find("-dev") == std::string::npos);
    CHECK(w != "g++");
  }

  std::string user, entrypoint, cmd;
  bool copies_binary = false;
  for (size_t i = froms[1]; i < ins.size(); ++i) {
    if (ins[i].op == "USER") user = Words(ins[i].args)[0];
    if (ins[i].op == "ENTRYPOINT") entrypoint = ins[i].args;
    if (ins[i].op == "CMD") cmd = ins[i].args;
    if (ins[i].op == "COPY" && ins[i].args.find("--from=build") != std::string::npos &&
        ins[i].args.find("/usr/local/bin/dbconnd") != std::string::npos) {
      copies_binary = true;
    }
  }
  CHECK(copies_binary);
  // Numeric and not root, so runAsNonRoot can verify it.
  std::smatch m;
  REQUIRE(std::regex_match(user, m, std::regex(R"((\d+)(:(\d+))?)")));
  CHECK(std::stoi(m[1]) == 65532);
  CHECK(Words(entrypoint) == std::vector<std::string>{"[\"/usr/local/bin/dbconnd\"]"});
  CHECK(cmd.find("[\"run\"") != std::string::npos);

  if (!AptListsPresent()) {
    WARN("apt lists absent (/var/lib/apt/lists): runtime package names not checked against Debian");
    return;
  }
  for (const auto& p : runtime_packages) {
    int status = 0;
    std::string out = Run("apt-cache show " + p + " 2>/dev/null | grep -m1 '^Package: '", &status);
    INFO("apt-cache show " << p);
    CHECK(out == "Package: " + p + "\n");
  }
}

TEST_CASE("systemd unit: hardened, state and config directories, restarts", "[deploy]") {
  std::string text = ReadFile(kRoot / "deploy/systemd/dbconnd.service");
  std::map<std::string, std::map<std::string, std::vector<std::string>>> sections;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    auto eq = line.find('=');
    REQUIRE(eq != std::string::npos);
    sections[section][line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  auto one = [&](const std::string& s, const std::string& k) {
    auto& keys = sections[s];
    INFO(s << "." << k);
    REQUIRE(keys.count(k) == 1);
    return keys[k].back();
  };
  CHECK(one("Unit", "After").find("network-online.target") != std::string::npos);
  std::string exec = one("Service", "ExecStart");
  auto args = Words(exec);
  REQUIRE(args.size() >= 2);
  CHECK(args[0] == "/usr/local/bin/dbconnd");
  CHECK(args[1] == "run");
  CHECK(exec.find("--config /etc/dbconnd") != std::string::npos);
  CHECK(exec.find("--state-dir /var/lib/dbconnd") != std::string::npos);
  CHECK(exec.find("--listen ") != std::string::npos);
  CHECK(one("Service", "Restart") == "on-failure");
  CHECK((sections["Service"].count("User") == 1 || one("Service", "DynamicUser") == "yes"));
  CHECK(one("Service", "StateDirectory") == "dbconnd");
  CHECK(one("Service", "ConfigurationDirectory") == "dbconnd");
  CHECK(one("Service", "ProtectSystem") == "strict");
  CHECK(one("Service", "NoNewPrivileges") == "yes");
  CHECK(one("Service", "ProtectHome") == "yes");
  CHECK(one("Service", "PrivateTmp") == "yes");
  CHECK(one("Service", "CapabilityBoundingSet").empty());
  CHECK(one("Service", "RestrictAddressFamilies").find("AF_INET") != std::string::npos);
  CHECK(one("Service", "TimeoutStopSec") == "30s");
  CHECK(one("Install", "WantedBy") == "multi-user.target");
}
