#pragma once
// The mutation journal: nothing lost, nothing done twice.
//
// One append-only JSON-lines file, <state-dir>/journal.jsonl. Every line is
// written with a single write(2) and fdatasync'd before the call returns, so
// after a crash the file holds every line whose call returned, plus at most
// one torn last line. Per mutation, three lines share an id:
//
//   {"type":"before", "id", "generation", "intent", "step", "kind", "name",
//    "action", "prior": {path: value}, "changes": [{path, before, after}]}
//   {"type":"operation", "id", "api", "project", "operation", "op_type", "target"}
//   {"type":"outcome", "id", "code", "message"}
//
// A Compute insert also gets, right after its "before" line,
//   {"type":"request", "id", "key", "request_id"}
// the requestId the insert carries on every send (key: its
// reconcilers::RequestIdKey), so a resend after a restart still carries it
// and Google deduplicates.
//
// "before" is written before the request is sent, "operation" as soon as
// Google accepted it, "outcome" when the operation is done or the request was
// refused. An entry without an outcome is unfinished: after a restart the
// controller's next apply pass for its intent waits for whatever still runs
// on the resource before writing, then settles the entry from what it saw
// (Controller::ResumeUnfinished).
//
// "changes" hold the planner's display strings (secrets already "***").
// "prior" holds, for Cloud SQL instance fields, the exact typed prior values
// rollback restores (MutationObserver::BeforeMutation); a string value is
// folded into JournalEntry::prior without its quotes, anything else as JSON
// text.
// Not thread-safe: used from the controller's strand.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "gcp/types.h"

namespace dbconnd::controller {

struct JournalChange {
  std::string path;
  std::string before;
  std::string after;
};

struct JournalEntry {
  std::string id;
  std::string time;  // RFC 3339 of the "before" line
  int64_t generation = 0;
  std::string intent;
  std::string step;  // plan step id, "instance/saleor-db-demo"
  std::string kind;  // reconcilers::ToString(ResourceKind)
  std::string name;  // resource short name
  std::string action;
  std::map<std::string, std::string> prior;  // path -> value before
  std::vector<JournalChange> changes;

  bool has_operation = false;
  gcp::Operation operation;  // api, project, name, type, target

  // Compute inserts: the requestId sent, and the logical write it belongs to.
  std::string request_key;
  std::string request_id;

  bool finished = false;
  std::string outcome_code;  // StatusCodeName, "OK" on success
  std::string outcome_message;
};

class Journal {
 public:
  // Creates the directory if needed and reads what is there. A torn last
  // line (kill -9 mid-write) is reported in warnings() and cut off so new
  // lines start clean; unparseable lines elsewhere are reported and skipped.
  static StatusOr<std::unique_ptr<Journal>> Open(const std::string& state_dir);
  // Read-only view of a journal file (rollback, tests).
  static StatusOr<std::vector<JournalEntry>> ReadFile(const std::string& path,
                                                      std::vector<std::string>* warnings);
  ~Journal();

  const std::string& path() const { return path_; }

  // Takes an exclusive advisory lock (flock) on the journal file, held until
  // this object is destroyed. `dbconnd run` holds it for its lifetime;
  // `rollback --yes` takes it before writing, so the two never write at
  // once. FAILED_PRECONDITION when another process (or another Journal
  // object) holds it; never blocks.
  Status LockExclusive();
  const std::vector<std::string>& warnings() const { return warnings_; }

  // Returns the new entry's id.
  StatusOr<std::string> Begin(int64_t generation, const std::string& intent,
                              const std::string& step, const std::string& kind,
                              const std::string& name, const std::string& action,
                              const std::string& prior_json,
                              const std::vector<JournalChange>& changes);
  Status RecordOperation(const std::string& id, const gcp::Operation& op);
  // The requestId entry `id` sends (Compute inserts), before it is sent.
  Status RecordRequestId(const std::string& id, const std::string& key,
                         const std::string& request_id);
  Status RecordOutcome(const std::string& id, const Status& outcome);

  // Entries in the order they were begun.
  const std::vector<JournalEntry>& entries() const { return entries_; }
  // Unfinished entries, optionally only those of one intent.
  std::vector<JournalEntry> Unfinished(const std::string& intent = "") const;

 private:
  Journal() = default;
  Status Append(const std::string& line);
  JournalEntry* Find(const std::string& id);

  std::string path_;
  int fd_ = -1;
  uint64_t next_seq_ = 1;
  std::string id_prefix_;
  std::vector<JournalEntry> entries_;
  std::map<std::string, size_t> index_;
  std::vector<std::string> warnings_;
};

gcp::Api ApiFromString(std::string_view s);  // inverse of gcp::ToString(Api)

}  // namespace dbconnd::controller
