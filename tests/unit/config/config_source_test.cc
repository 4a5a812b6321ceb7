// ConfigSource: the daemon's repeated loads parse only what changed, and
// still give exactly what a full LoadPaths gives.

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <thread>

#include "config/loader.h"
#include "test_util.h"

namespace dbconnd::config {
namespace {

namespace fs = std::filesystem;
using testing::DocWith;
using testing::Dump;
using testing::FindError;
using testing::TempDir;

// Intent `name` managing instance `instance`.
std::string Intent(const std::string& name, const std::string& instance, std::string rest = "") {
  std::string doc = DocWith("{name: app}", "{name: " + name + "}", rest);
  auto pos = doc.find("name: db1");
  doc.replace(pos, 9, "name: " + instance);
  return doc;
}

const config::Intent* Find(const LoadResult& r, const std::string& name) {
  if (!r.state) return nullptr;
  for (const auto& in : r.state->intents) {
    if (in->name == name) return in.get();
  }
  return nullptr;
}

// Names and diagnostics, the parts a caller sees.
std::string Describe(const LoadResult& r) {
  std::string out = Dump(r);
  if (r.state) {
    for (const auto& in : r.state->intents) {
      out += in->name + "@" + in->where.file.str() + ":" + std::to_string(in->where.line) + " ";
    }
  }
  return out;
}

// A folder with a.yaml and b.yaml (intents a and b on instances db-a and
// db-b), and a ConfigSource over it that has not loaded yet.
struct TwoIntents {
  TwoIntents() {
    dir.Write("a.yaml", Intent("a", "db-a"));
    dir.Write("b.yaml", Intent("b", "db-b"));
  }
  TempDir dir;
  ConfigSource source{{dir.path().string()}};
};

TEST_CASE_METHOD(TwoIntents,
                 "config source: an untouched file is not parsed again and its intents are the "
                 "same objects",
                 "[config][source]") {
  LoadResult first = source.Load();
  REQUIRE(first.ok());
  CHECK(source.last_stats().files_parsed == 2);
  const config::Intent* a1 = Find(first, "a");
  const config::Intent* b1 = Find(first, "b");
  REQUIRE(a1 != nullptr);
  REQUIRE(b1 != nullptr);

  LoadResult again = source.Load();
  REQUIRE(again.ok());
  CHECK(source.last_stats().files_parsed == 0);
  CHECK(source.last_stats().files_reused == 2);
  CHECK(Find(again, "a") == a1);
  CHECK(Find(again, "b") == b1);

  // One file edited: only it is parsed; the other's intent is shared.
  dir.Write("b.yaml", Intent("b", "db-b", "    iamAuthentication: true\n"));
  LoadResult edited = source.Load();
  REQUIRE(edited.ok());
  CHECK(source.last_stats().files_parsed == 1);
  CHECK(Find(edited, "a") == a1);
  const config::Intent* b2 = Find(edited, "b");
  REQUIRE(b2 != nullptr);
  CHECK(b2 != b1);
  CHECK(b2->instance.iam_authentication == true);
  CHECK(Describe(edited) == Describe(LoadPaths({dir.path().string()})));
}

TEST_CASE_METHOD(TwoIntents,
                 "config source: a reload where nothing changed hands back the same state, and "
                 "any change, added or removed file makes a new one",
                 "[config][source]") {
  LoadResult first = source.Load();
  REQUIRE(first.ok());

  // Every file as it was, read or not: no cross-file pass, the same object.
  LoadResult again = source.Load(/*force_read=*/true);
  REQUIRE(again.ok());
  CHECK(again.state == first.state);
  CHECK(Describe(again) == Describe(first));

  // A new file: a new state, with the other intents shared.
  dir.Write("c.yaml", Intent("c", "db-c"));
  LoadResult added = source.Load();
  REQUIRE(added.ok());
  CHECK(added.state != first.state);
  CHECK(Find(added, "c") != nullptr);
  CHECK(Find(added, "a") == Find(first, "a"));
  CHECK(Describe(added) == Describe(LoadPaths({dir.path().string()})));

  // The new file duplicates an instance: the cross-file check still runs.
  dir.Write("c.yaml", Intent("c", "db-a", "    iamAuthentication: true\n"));
  LoadResult clash = source.Load();
  CHECK_FALSE(clash.ok());
  LoadResult clash_again = source.Load(/*force_read=*/true);
  CHECK_FALSE(clash_again.ok());
  CHECK(Dump(clash_again) == Dump(clash));

  // Removed: back to the two files, a new state without it.
  fs::remove(dir.path() / "c.yaml");
  LoadResult removed = source.Load();
  REQUIRE(removed.ok());
  CHECK(Find(removed, "c") == nullptr);
  CHECK(removed.state != again.state);
  CHECK(Describe(removed) == Describe(first));
}

TEST_CASE_METHOD(TwoIntents,
                 "config source: rewritten with the same bytes is read but not parsed and force "
                 "reads all",
                 "[config][source]") {
  REQUIRE(source.Load().ok());

  dir.Write("a.yaml", Intent("a", "db-a"));  // same content, new mtime/ctime
  LoadResult r = source.Load();
  REQUIRE(r.ok());
  CHECK(source.last_stats().files_read >= 1);
  CHECK(source.last_stats().files_parsed == 0);

  r = source.Load(/*force_read=*/true);
  REQUIRE(r.ok());
  CHECK(source.last_stats().files_read == 2);
  CHECK(source.last_stats().files_parsed == 0);
}

TEST_CASE("config source: a file long unmodified is not even read", "[config][source]") {
  TempDir dir;
  dir.Write("a.yaml", Intent("a", "db-a"));
  // Its stamp must be older than the racy window when it is read.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100));
  ConfigSource source({dir.path().string()});
  REQUIRE(source.Load().ok());
  CHECK(source.last_stats().files_read == 1);
  REQUIRE(source.Load().ok());
  CHECK(source.last_stats().files_read == 0);
  CHECK(source.last_stats().files_reused == 1);

  // Any stat change (here size and mtime) means reading it again.
  dir.Write("a.yaml", Intent("a", "db-a", "    iamAuthentication: false\n"));
  LoadResult r = source.Load();
  REQUIRE(r.ok());
  CHECK(source.last_stats().files_parsed == 1);
  CHECK(Find(r, "a")->instance.iam_authentication == false);
}

TEST_CASE("config source: files added and removed and cross-file checks see reused files",
          "[config][source]") {
  TempDir dir;
  dir.Write("a.yaml", Intent("a", "db-a"));
  ConfigSource source({dir.path().string()});
  REQUIRE(source.Load().ok());

  // A new file claims a's intent name: the conflict involves the reused file.
  dir.Write("b.yaml", Intent("a", "db-b"));
  LoadResult clash = source.Load();
  INFO(Dump(clash));
  CHECK_FALSE(clash.ok());
  CHECK(FindError(clash, "metadata.name", "must be unique across all files") != nullptr);
  CHECK(source.last_stats().files_parsed == 1);
  CHECK(Describe(clash) == Describe(LoadPaths({dir.path().string()})));

  // Fixed, then the first file removed: its intent is gone.
  dir.Write("b.yaml", Intent("b", "db-b"));
  REQUIRE(source.Load().ok());
  fs::remove(dir.path() / "a.yaml");
  LoadResult removed = source.Load();
  REQUIRE(removed.ok());
  REQUIRE(removed.state->intents.size() == 1);
  CHECK(removed.state->intents[0]->name == "b");
  CHECK(removed.files.size() == 1);
}

TEST_CASE("config source: a broken file keeps its errors while untouched, and recovers",
          "[config][source]") {
  TempDir dir;
  dir.Write("a.yaml", Intent("a", "db-a"));
  dir.Write("b.yaml", "apiVersion: [unclosed\n");
  ConfigSource source({dir.path().string()});
  LoadResult r1 = source.Load();
  CHECK_FALSE(r1.ok());
  LoadResult r2 = source.Load();
  CHECK_FALSE(r2.ok());
  CHECK(source.last_stats().files_parsed == 0);
  CHECK(Dump(r1) == Dump(r2));

  dir.Write("b.yaml", Intent("b", "db-b"));
  LoadResult r3 = source.Load();
  INFO(Dump(r3));
  REQUIRE(r3.ok());
  CHECK(r3.state->intents.size() == 2);
}

}  // namespace
}  // namespace dbconnd::config
