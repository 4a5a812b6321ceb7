#include <catch2/catch.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "../reconcilers/fakes.h"
#include "controller/watcher.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

void Write(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
}

std::string ValidYaml(const std::string& name, const std::string& ssl = "ENCRYPTED_ONLY") {
  return "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nmetadata:\n  name: " +
         name +
         "\nspec:\n  project: melodic-now-463704-k1\n  region: us-central1\n  instance:\n"
         "    name: " + name + "-db\n    sslMode: " + ssl + "\n  policy:\n    mode: observe\n";
}

TEST_CASE("The watcher sees writes, renames and ConfigMap ..data swaps, debounced") {
  boost::asio::io_context io;
  testutil::TempDir dir;
  Write(dir.path() + "/a.yaml", ValidYaml("a"));
  int calls = 0;
  auto w = ConfigWatcher::Start(io.get_executor(), {dir.path()}, 20ms, [&] { ++calls; });
  REQUIRE(w.ok());

  // A burst of writes: one callback.
  for (int i = 0; i < 5; ++i) Write(dir.path() + "/a.yaml", ValidYaml("a"));
  REQUIRE(testutil::RunUntil(io, [&] { return calls >= 1; }));
  io.restart();
  io.run_for(60ms);
  CHECK(calls == 1);

  // Editor-style save: write elsewhere, rename over.
  Write(dir.path() + "/.a.yaml.tmp", ValidYaml("a", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"));
  fs::rename(dir.path() + "/.a.yaml.tmp", dir.path() + "/a.yaml");
  REQUIRE(testutil::RunUntil(io, [&] { return calls >= 2; }));

  // ConfigMap: ..data symlink swapped atomically to a new timestamped dir.
  fs::create_directory(dir.path() + "/..2026_01");
  Write(dir.path() + "/..2026_01/b.yaml", ValidYaml("b"));
  fs::create_directory_symlink("..2026_01", dir.path() + "/..data_tmp");
  int before = calls;
  fs::rename(dir.path() + "/..data_tmp", dir.path() + "/..data");
  REQUIRE(testutil::RunUntil(io, [&] { return calls > before; }));
  (*w)->Stop();
}

TEST_CASE("A file path is watched through its directory") {
  boost::asio::io_context io;
  testutil::TempDir dir;
  std::string file = dir.path() + "/only.yaml";
  Write(file, ValidYaml("a"));
  int calls = 0;
  auto w = ConfigWatcher::Start(io.get_executor(), {file}, 10ms, [&] { ++calls; });
  REQUIRE(w.ok());
  CHECK((*w)->directories() == std::vector<std::string>{dir.path()});
  Write(file, ValidYaml("a", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"));
  REQUIRE(testutil::RunUntil(io, [&] { return calls >= 1; }));
}

TEST_CASE("Reloader: valid changes make generations, invalid ones keep the last good") {
  boost::asio::io_context io;
  testutil::TempDir dir;
  std::string file = dir.path() + "/intent.yaml";
  Write(file, ValidYaml("a"));
  reconcilers::testing::FakeCloud cloud{reconcilers::testing::SeedLive()};
  Metrics metrics;
  auto controller = Controller::Create(io.get_executor(), cloud.clients(), {}, &metrics, nullptr);
  ConfigReloader reloader({file}, controller, &metrics);
  REQUIRE(reloader.Reload("start").ok());
  CHECK(reloader.generation() == 1);
  CHECK(controller->generation() == 1);
  REQUIRE(reloader.Reload("touch").ok());
  CHECK(reloader.generation() == 1);  // same content: no new generation

  Write(file, "apiVersion: dbconnd.dev/v1alpha1\nkind: DatabaseConnectivity\nspec: [\n");
  Status s = reloader.Reload("edit");
  CHECK_FALSE(s.ok());
  CHECK(reloader.generation() == 1);
  CHECK(controller->generation() == 1);
  CHECK(controller->Statuses().size() == 1);  // the last good intent keeps running
  auto doc = boost::json::parse(controller->StatusJson()).as_object();
  CHECK(doc.at("conditions").as_array()[0].as_object().at("reason") == "ConfigInvalid");
  CHECK(!doc.at("configErrors").as_array().empty());
  std::string m = metrics.Serialize();
  CHECK(testutil::SumSeries(m, "dbconnd_config_reloads_total{result=\"invalid\"}") == 1);
  CHECK(testutil::SumSeries(m, "dbconnd_config_generation") == 1);

  Write(file, ValidYaml("a", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED") + "---\n" + ValidYaml("b"));
  REQUIRE(reloader.Reload("fix").ok());
  CHECK(reloader.generation() == 2);
  CHECK(controller->Statuses().size() == 2);
  doc = boost::json::parse(controller->StatusJson()).as_object();
  CHECK(doc.at("conditions").as_array()[0].as_object().at("reason") == "Loaded");
  CHECK(controller->queue().depth() == 2);  // both enqueued at once
}

}  // namespace
}  // namespace dbconnd::controller
