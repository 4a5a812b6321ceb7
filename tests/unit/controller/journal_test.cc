#include <catch2/catch.hpp>

#include <fstream>

#include "controller/journal.h"
#include "test_util.h"

namespace dbconnd::controller {
namespace {

gcp::Operation SqlOp(std::string name) {
  gcp::Operation op;
  op.api = gcp::Api::kSqlAdmin;
  op.project = "p";
  op.name = std::move(name);
  op.type = "UPDATE";
  op.target = "db";
  return op;
}

TEST_CASE("Journal records before, operation and outcome, and reads them back") {
  testutil::TempDir dir;
  std::string id1, id2;
  {
    auto j = Journal::Open(dir.path() + "/nested/state");
    REQUIRE(j.ok());
    auto a = (*j)->Begin(3, "saleor", "instance/db", "instance", "db", "update",
                         R"({"settings.sslMode":"ALLOW_UNENCRYPTED_AND_ENCRYPTED"})",
                         {{"settings.sslMode", "ALLOW_UNENCRYPTED_AND_ENCRYPTED", "ENCRYPTED_ONLY"}});
    REQUIRE(a.ok());
    id1 = *a;
    REQUIRE((*j)->RecordOperation(id1, SqlOp("op-1")).ok());
    REQUIRE((*j)->RecordOutcome(id1, Status()).ok());
    auto b = (*j)->Begin(3, "saleor", "job/x", "job", "x", "update", "{}", {});
    REQUIRE(b.ok());
    id2 = *b;
    REQUIRE((*j)->RecordOperation(id2, SqlOp("op-2")).ok());
    CHECK((*j)->RecordOutcome("nope", Status()).code() == StatusCode::kNotFound);
  }
  auto j = Journal::Open(dir.path() + "/nested/state");
  REQUIRE(j.ok());
  CHECK((*j)->warnings().empty());
  REQUIRE((*j)->entries().size() == 2);
  const JournalEntry& e = (*j)->entries()[0];
  CHECK(e.id == id1);
  CHECK(e.generation == 3);
  CHECK(e.prior.at("settings.sslMode") == "ALLOW_UNENCRYPTED_AND_ENCRYPTED");
  CHECK(e.changes.at(0).after == "ENCRYPTED_ONLY");
  CHECK(e.operation.name == "op-1");
  CHECK(e.finished);
  CHECK(e.outcome_code == "OK");
  auto open = (*j)->Unfinished();
  REQUIRE(open.size() == 1);
  CHECK(open[0].id == id2);
  CHECK(open[0].has_operation);
  CHECK(open[0].operation.api == gcp::Api::kSqlAdmin);
  CHECK((*j)->Unfinished("other").empty());
  // Ids from a new process never collide with old ones.
  auto c = (*j)->Begin(4, "saleor", "job/x", "job", "x", "update", "{}", {});
  REQUIRE(c.ok());
  CHECK(*c != id1);
  CHECK(*c != id2);
}

TEST_CASE("A torn last line is reported, cut off, and earlier lines are kept") {
  testutil::TempDir dir;
  {
    auto j = Journal::Open(dir.path());
    REQUIRE(j.ok());
    auto a = (*j)->Begin(1, "saleor", "instance/db", "instance", "db", "update", "{}", {});
    REQUIRE((*j)->RecordOperation(*a, SqlOp("op-9")).ok());
  }
  {
    std::ofstream out(dir.path() + "/journal.jsonl", std::ios::app);
    out << R"({"type":"outcome","id":"1-2-)";  // kill -9 mid-write
  }
  auto j = Journal::Open(dir.path());
  REQUIRE(j.ok());
  REQUIRE((*j)->warnings().size() == 1);
  CHECK((*j)->warnings()[0].find("torn") != std::string::npos);
  REQUIRE((*j)->entries().size() == 1);
  CHECK((*j)->Unfinished().size() == 1);  // the outcome never landed
  // New lines start clean after the cut.
  REQUIRE((*j)->RecordOutcome((*j)->entries()[0].id, Status()).ok());
  std::vector<std::string> warnings;
  auto entries = Journal::ReadFile(dir.path() + "/journal.jsonl", &warnings);
  REQUIRE(entries.ok());
  CHECK(warnings.empty());
  CHECK(entries->at(0).finished);
}

TEST_CASE("A corrupt line in the middle is skipped, the rest kept") {
  testutil::TempDir dir;
  {
    std::ofstream out(dir.path() + "/journal.jsonl");
    out << R"({"type":"before","id":"a","intent":"i","step":"s","generation":1})" << "\n"
        << "garbage\n"
        << R"({"type":"outcome","id":"a","code":"OK"})" << "\n";
  }
  auto j = Journal::Open(dir.path());
  REQUIRE(j.ok());
  CHECK((*j)->warnings().size() == 1);
  REQUIRE((*j)->entries().size() == 1);
  CHECK((*j)->entries()[0].finished);
}

TEST_CASE("Outcome messages are redacted") {
  testutil::TempDir dir;
  auto j = Journal::Open(dir.path());
  REQUIRE(j.ok());
  auto a = (*j)->Begin(1, "i", "s", "instance", "db", "update", "{}", {});
  REQUIRE((*j)->RecordOutcome(*a, UnauthenticatedError("token Bearer ya29.secret rejected")).ok());
  std::ifstream in(dir.path() + "/journal.jsonl");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(all.find("ya29.secret") == std::string::npos);
}

TEST_CASE("Journal lock: one holder at a time, released with the object") {
  testutil::TempDir dir;
  auto a = Journal::Open(dir.path());
  auto b = Journal::Open(dir.path());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE((*a)->LockExclusive().ok());
  Status second = (*b)->LockExclusive();
  CHECK(second.code() == StatusCode::kFailedPrecondition);
  CHECK(second.message().find("locked by another process") != std::string::npos);
  a->reset();
  CHECK((*b)->LockExclusive().ok());
}

}  // namespace
}  // namespace dbconnd::controller
