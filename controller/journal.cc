#include "controller/journal.h"

#include <sys/file.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "common/redact.h"
#include "common/rfc3339.h"
#include "common/write_all.h"
#include "controller/log.h"

namespace dbconnd::controller {
namespace json = boost::json;
namespace {

constexpr char kFileName[] = "journal.jsonl";

std::string Str(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

Status Errno(std::string what, int err = errno) {
  return InternalError(std::move(what) + ": " + std::strerror(err));
}

Status MakeDirs(const std::string& dir) {
  std::string cur;
  std::stringstream ss(dir);
  std::string part;
  if (!dir.empty() && dir[0] == '/') cur = "/";
  while (std::getline(ss, part, '/')) {
    if (part.empty()) continue;
    cur += part;
    if (::mkdir(cur.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir " + cur);
    cur += "/";
  }
  return Status();
}

// Applies one parsed line to the folded entries. False when it does not fit.
bool Fold(const json::object& o, std::vector<JournalEntry>& entries,
          std::map<std::string, size_t>& index) {
  std::string type = Str(o, "type");
  std::string id = Str(o, "id");
  if (id.empty()) return false;
  if (type == "before") {
    JournalEntry e;
    e.id = id;
    e.time = Str(o, "time");
    if (auto* g = o.if_contains("generation"); g && g->is_int64()) e.generation = g->as_int64();
    e.intent = Str(o, "intent");
    e.step = Str(o, "step");
    e.kind = Str(o, "kind");
    e.name = Str(o, "name");
    e.action = Str(o, "action");
    if (auto* p = o.if_contains("prior"); p && p->is_object()) {
      for (const auto& [k, v] : p->as_object()) {
        e.prior[std::string(k)] = v.is_string() ? std::string(v.as_string()) : json::serialize(v);
      }
    }
    if (auto* c = o.if_contains("changes"); c && c->is_array()) {
      for (const auto& ch : c->as_array()) {
        if (!ch.is_object()) continue;
        const auto& co = ch.as_object();
        e.changes.push_back({Str(co, "path"), Str(co, "before"), Str(co, "after")});
      }
    }
    index[id] = entries.size();
    entries.push_back(std::move(e));
    return true;
  }
  auto it = index.find(id);
  if (it == index.end()) return false;
  JournalEntry& e = entries[it->second];
  if (type == "operation") {
    e.has_operation = true;
    e.operation.api = ApiFromString(Str(o, "api"));
    e.operation.project = Str(o, "project");
    e.operation.name = Str(o, "operation");
    e.operation.type = Str(o, "op_type");
    e.operation.target = Str(o, "target");
    return true;
  }
  if (type == "request") {
    e.request_key = Str(o, "key");
    e.request_id = Str(o, "request_id");
    return true;
  }
  if (type == "outcome") {
    e.finished = true;
    e.outcome_code = Str(o, "code");
    e.outcome_message = Str(o, "message");
    return true;
  }
  return false;
}

struct ParsedFile {
  std::vector<JournalEntry> entries;
  std::map<std::string, size_t> index;
  std::vector<std::string> warnings;
  uint64_t lines = 0;
  // Byte offset after the last complete, parseable line; what follows is a
  // torn tail to cut off.
  std::streamoff good_end = 0;
  bool torn_tail = false;
};

ParsedFile Parse(const std::string& path, const std::string& content) {
  ParsedFile out;
  size_t pos = 0;
  uint64_t line_no = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    bool complete = nl != std::string::npos;
    std::string line = content.substr(pos, complete ? nl - pos : std::string::npos);
    ++line_no;
    size_t next = complete ? nl + 1 : content.size();
    boost::system::error_code ec;
    json::value v = json::parse(line, ec);
    bool ok = !ec && v.is_object() && Fold(v.as_object(), out.entries, out.index);
    if (ok && complete) {
      out.good_end = static_cast<std::streamoff>(next);
      ++out.lines;
    } else if (!complete || next == content.size()) {
      // The last line: a write cut short by a crash.
      out.torn_tail = true;
      out.warnings.push_back(path + ":" + std::to_string(line_no) +
                             ": torn last line (the process died while writing it); "
                             "ignored, earlier lines kept");
    } else {
      out.good_end = static_cast<std::streamoff>(next);
      out.warnings.push_back(path + ":" + std::to_string(line_no) +
                             ": unreadable journal line skipped");
    }
    pos = next;
  }
  return out;
}

std::string NowRfc3339() { return FormatRfc3339(std::chrono::system_clock::now(), 3); }

}  // namespace

gcp::Api ApiFromString(std::string_view s) {
  if (s == "run") return gcp::Api::kRun;
  if (s == "vpcaccess") return gcp::Api::kVpcAccess;
  if (s == "servicenetworking") return gcp::Api::kServiceNetworking;
  if (s == "compute") return gcp::Api::kCompute;
  return gcp::Api::kSqlAdmin;
}

StatusOr<std::vector<JournalEntry>> Journal::ReadFile(const std::string& path,
                                                      std::vector<std::string>* warnings) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("no journal at " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  ParsedFile parsed = Parse(path, ss.str());
  if (warnings) *warnings = parsed.warnings;
  return std::move(parsed.entries);
}

StatusOr<std::unique_ptr<Journal>> Journal::Open(const std::string& state_dir) {
  if (state_dir.empty()) return InvalidArgumentError("--state-dir is empty");
  Status s = MakeDirs(state_dir);
  if (!s.ok()) return s;
  std::unique_ptr<Journal> j(new Journal());
  j->path_ = state_dir + "/" + kFileName;
  std::string content;
  {
    std::ifstream in(j->path_, std::ios::binary);
    if (in) {
      std::stringstream ss;
      ss << in.rdbuf();
      content = ss.str();
    }
  }
  ParsedFile parsed = Parse(j->path_, content);
  j->entries_ = std::move(parsed.entries);
  j->index_ = std::move(parsed.index);
  j->warnings_ = std::move(parsed.warnings);
  if (parsed.torn_tail && ::truncate(j->path_.c_str(), parsed.good_end) != 0) {
    return Errno("cutting the torn tail of " + j->path_);
  }
  j->fd_ = ::open(j->path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (j->fd_ < 0) return Errno("opening " + j->path_);
  if (content.empty()) {
    // A new file: make its directory entry durable too.
    int dfd = ::open(state_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
      ::fsync(dfd);
      ::close(dfd);
    }
  }
  // Ids stay unique across restarts without reading a counter back.
  j->id_prefix_ = std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count()) +
                  "-" + std::to_string(::getpid()) + "-";
  // The sequence continues after the entries already on file, so a journal
  // reopened by the same process within the same millisecond still never
  // reuses an id.
  j->next_seq_ = j->entries_.size() + 1;
  return j;
}

Status Journal::LockExclusive() {
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return Status();
  if (errno == EWOULDBLOCK) {
    return FailedPreconditionError("the journal " + path_ +
                                   " is locked by another process (a running `dbconnd run` on "
                                   "this --state-dir?)");
  }
  return Errno("locking " + path_);
}

Journal::~Journal() {
  if (fd_ >= 0) ::close(fd_);
}

Status Journal::Append(const std::string& line) {
  std::string data = line + "\n";
  // A failed append (disk full) is cut off again, so the next line does not
  // follow half a line.
  const off_t start = ::lseek(fd_, 0, SEEK_END);
  if (const int err = common::WriteAll(fd_, data); err != 0) {
    Status failed = Errno("writing " + path_, err);
    if (start >= 0 && ::lseek(fd_, 0, SEEK_END) != start && ::ftruncate(fd_, start) != 0) {
      failed = Errno("writing " + path_ + " (and cutting off the half-written line)");
    }
    return failed;
  }
  if (::fdatasync(fd_) != 0) return Errno("syncing " + path_);
  return Status();
}

JournalEntry* Journal::Find(const std::string& id) {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &entries_[it->second];
}

StatusOr<std::string> Journal::Begin(int64_t generation, const std::string& intent,
                                     const std::string& step, const std::string& kind,
                                     const std::string& name, const std::string& action,
                                     const std::string& prior_json,
                                     const std::vector<JournalChange>& changes) {
  json::object o;
  std::string id = id_prefix_ + std::to_string(next_seq_++);
  o["type"] = "before";
  o["id"] = id;
  o["time"] = NowRfc3339();
  o["generation"] = generation;
  o["intent"] = intent;
  o["step"] = step;
  o["kind"] = kind;
  o["name"] = name;
  o["action"] = action;
  boost::system::error_code ec;
  json::value prior = json::parse(prior_json.empty() ? "{}" : prior_json, ec);
  o["prior"] = (!ec && prior.is_object()) ? prior : json::object();
  json::array arr;
  for (const auto& c : changes) {
    arr.push_back(json::object{{"path", c.path}, {"before", c.before}, {"after", c.after}});
  }
  o["changes"] = std::move(arr);
  Status s = Append(json::serialize(o));
  if (!s.ok()) return s;
  Fold(o, entries_, index_);
  return id;
}

Status Journal::RecordOperation(const std::string& id, const gcp::Operation& op) {
  if (!Find(id)) return NotFoundError("no journal entry " + id);
  json::object o{{"type", "operation"},       {"id", id},
                 {"time", NowRfc3339()},      {"api", gcp::ToString(op.api)},
                 {"project", op.project},     {"operation", op.name},
                 {"op_type", op.type},        {"target", op.target}};
  Status s = Append(json::serialize(o));
  if (!s.ok()) return s;
  Fold(o, entries_, index_);
  return Status();
}

Status Journal::RecordRequestId(const std::string& id, const std::string& key,
                                const std::string& request_id) {
  if (!Find(id)) return NotFoundError("no journal entry " + id);
  json::object o{{"type", "request"}, {"id", id}, {"key", key}, {"request_id", request_id}};
  Status s = Append(json::serialize(o));
  if (!s.ok()) return s;
  Fold(o, entries_, index_);
  return Status();
}

Status Journal::RecordOutcome(const std::string& id, const Status& outcome) {
  if (!Find(id)) return NotFoundError("no journal entry " + id);
  json::object o{{"type", "outcome"},
                 {"id", id},
                 {"time", NowRfc3339()},
                 {"code", StatusCodeName(outcome.code())},
                 {"message", RedactForDisplay(outcome.message(), 2000)}};
  Status s = Append(json::serialize(o));
  if (!s.ok()) return s;
  Fold(o, entries_, index_);
  return Status();
}

std::vector<JournalEntry> Journal::Unfinished(const std::string& intent) const {
  std::vector<JournalEntry> out;
  for (const auto& e : entries_) {
    if (!e.finished && (intent.empty() || e.intent == intent)) out.push_back(e);
  }
  return out;
}

}  // namespace dbconnd::controller
