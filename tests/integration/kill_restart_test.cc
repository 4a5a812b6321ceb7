// kill -9 of `dbconnd apply` while each long write is in flight, then a new
// process with nothing on disk (as a new leader after failover): no write and
// no job execution ever happens twice. Real binaries: gcp-emulator (slow
// operations) and dbconnd.
#include <catch2/catch.hpp>

#include "controller_process.h"

namespace dbconnd::integration::proc {
namespace {

std::map<std::string, int64_t> Effective(const EmulatorProcess& emu) {
  std::map<std::string, int64_t> out;
  auto r = Http(emu.port(), "GET", "/emulator/requests");
  if (r.status != 200) return out;
  auto v = boost::json::parse(r.body).as_object();
  for (const auto& [k, n] : v.at("mutations").as_object()) out[std::string(k)] = n.to_number<int64_t>();
  return out;
}

int64_t Executions(const EmulatorProcess& emu) {
  auto r = Http(emu.port(), "GET", "/emulator/requests");
  if (r.status != 200) return -1;
  auto v = boost::json::parse(r.body).as_object();
  int64_t n = 0;
  for (const auto& [k, c] : v.at("executions").as_object()) n += c.to_number<int64_t>();
  return n;
}

std::vector<std::string> ApplyArgs(const std::string& dir, const EmulatorProcess& emu,
                                   const std::string& cfg) {
  std::vector<std::string> argv{kDbconnd, "apply", cfg, "--yes", "--timeout", "90s",
                                "--poll", "100ms", "--access-token-file", dir + "/token",
                                "--no-rate-limits", "--no-color"};
  for (const char* api : {"sqladmin", "run", "vpcaccess", "servicenetworking", "compute",
                          "secretmanager", "cloudresourcemanager"}) {
    argv.push_back("--endpoint");
    argv.push_back(std::string(api) + "=" + emu.url());
  }
  return argv;
}

const std::map<std::string, int64_t> kOnce = {
    {"POST compute.globalAddresses.insert", 1},
    {"POST servicenetworking.connections.create", 1},
    {"POST vpcaccess.connectors.create", 1},
    {"PATCH sqladmin.instances.patch", 2},
    {"PATCH run.jobs.patch", 2},  // the configuration, then the execution's token
};

}  // namespace

TEST_CASE("kill -9 of apply during each long write, then a fresh process: nothing twice",
          "[integration][kill]") {
  auto route = GENERATE(as<std::string>{}, "POST compute.globalAddresses.insert",
                        "POST servicenetworking.connections.create",
                        "POST vpcaccess.connectors.create", "PATCH sqladmin.instances.patch",
                        "PATCH run.jobs.patch");
  TempDir dir;
  EmulatorProcess emu(dir.path(), "1500ms");
  std::string cfg = SaleorConfigDir(dir.path());
  std::string yaml = ReadFile(cfg + "/saleor.yaml");
  const std::string anchor = "    allowIrreversible: true";
  REQUIRE(yaml.find(anchor) != std::string::npos);
  yaml.replace(yaml.find(anchor), anchor.size(), anchor + "\n    verify: true");
  WriteFile(cfg + "/saleor.yaml", yaml);
  WriteFile(dir.path() + "/token", std::string(kToken) + "\n");
  {
    Process first(ApplyArgs(dir.path(), emu, cfg), dir.path() + "/apply1.out",
                  dir.path() + "/apply1.err");
    // Killed while the write's operation (or the execution) is in flight.
    REQUIRE(WaitFor([&] { return Effective(emu).count(route) > 0 || !first.running(); },
                    std::chrono::seconds(60)));
    first.Signal(SIGKILL);
    first.Wait(std::chrono::seconds(5));
    INFO(first.out() << first.err());
    REQUIRE(Effective(emu).count(route) == 1);
  }
  // No state dir, no memory: everything comes from Google.
  Process second(ApplyArgs(dir.path(), emu, cfg), dir.path() + "/apply2.out",
                 dir.path() + "/apply2.err");
  auto status = second.Wait(std::chrono::seconds(120));
  INFO(route << "\n" << second.out() << second.err());
  REQUIRE(status);
  CHECK(WIFEXITED(*status));
  CHECK(WEXITSTATUS(*status) == 0);
  CHECK(Effective(emu) == kOnce);
  CHECK(Executions(emu) == 1);
}

}  // namespace dbconnd::integration::proc
