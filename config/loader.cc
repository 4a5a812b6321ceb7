#include "config/loader.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <system_error>
#include <tuple>
#include <utility>

#include <sys/stat.h>
#include <time.h>

#include <yaml-cpp/depthguard.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include "config/decode.h"
#include "config/load_internal.h"

namespace dbconnd::config {
namespace internal {

void Sink::Error(SourceLocation where, std::string path, std::string message) {
  ++errors_;
  if (path.size() > 200) path = path.substr(0, 200) + "...";
  error_paths_.push_back(path);
  out_->push_back({Diagnostic::Severity::kError, std::move(where), std::move(path), std::move(message)});
}

void Sink::Warning(SourceLocation where, std::string path, std::string message) {
  if (path.size() > 200) path = path.substr(0, 200) + "...";
  out_->push_back({Diagnostic::Severity::kWarning, std::move(where), std::move(path), std::move(message)});
}

bool Sink::HasErrorUnder(std::string_view prefix) const {
  for (const auto& p : error_paths_) {
    if (p.compare(0, prefix.size(), prefix) == 0 &&
        (p.size() == prefix.size() || p[prefix.size()] == '.' || p[prefix.size()] == '[')) {
      return true;
    }
  }
  return false;
}

SourceLocation Sink::At(std::string path) const {
  while (true) {
    if (auto it = locations_.find(path); it != locations_.end()) return it->second;
    size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos || cut == 0) break;
    path.resize(cut);
  }
  return {file_, 0, 0};
}

std::string ShortLocation(const SourceLocation& where) {
  return where.line > 0 ? where.file.str() + ":" + std::to_string(where.line) : where.file.str();
}

}  // namespace internal

namespace {

namespace fs = std::filesystem;
using internal::ShortLocation;
using internal::Sink;

// yaml-cpp 0.7 loops forever on some malformed input (a bare "," at the
// start of a document): the parser emits an empty document without consuming
// the token, and YAML::LoadAll asks for the next one, allocating without end.
// This first pass sees only events; it stops when a document starts where the
// previous one started (no progress) or when there are too many documents.
class ProgressGuard : public YAML::EventHandler {
 public:
  ProgressGuard(std::string_view content, size_t max_documents)
      : content_(content), max_documents_(max_documents) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (++documents_ > max_documents_) {
      throw YAML::ParserException(mark, "more than " + std::to_string(max_documents_) +
                                            " documents in one file; split it");
    }
    if (mark.pos == last_start_) {
      bool comma = mark.pos >= 0 && static_cast<size_t>(mark.pos) < content_.size() &&
                   content_[static_cast<size_t>(mark.pos)] == ',';
      throw YAML::ParserException(
          mark, comma ? "unexpected \",\"; commas separate items only inside [ ] or { }"
                      : "the parser cannot continue here");
    }
    last_start_ = mark.pos;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t, const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  std::string_view content_;
  size_t max_documents_;
  size_t documents_ = 0;
  int last_start_ = -1;
};

// One file's own results, kept by ConfigSource between loads.
struct FileResult {
  std::vector<std::shared_ptr<const Intent>> intents;
  std::vector<Diagnostic> diagnostics;  // of this file alone (no cross-file checks)
};

// What a file looked like when it was read: the same identity and content
// means the same parse.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};

struct CachedFile {
  FileStamp stamp;
  std::size_t content_hash = 0;
  // When the file was read. A file modified within a timestamp tick of its
  // reading may change again without its stamp changing ("racy" in git's
  // words): its content is compared, not trusted.
  int64_t read_at_ns = 0;
  FileResult result;
};

using FileCache = std::map<std::string, CachedFile, std::less<>>;

int64_t Nanos(const struct timespec& t) {
  return static_cast<int64_t>(t.tv_sec) * 1'000'000'000 + t.tv_nsec;
}

int64_t NowNanos() {
  struct timespec t {};
  ::clock_gettime(CLOCK_REALTIME, &t);
  return Nanos(t);
}

bool SameNetworks(const std::optional<PublicIp>& a, const std::optional<PublicIp>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->enabled != b->enabled || a->authorized_networks.size() != b->authorized_networks.size()) {
    return false;
  }
  for (size_t i = 0; i < a->authorized_networks.size(); ++i) {
    const auto& x = a->authorized_networks[i];
    const auto& y = b->authorized_networks[i];
    if (x.name != y.name || x.cidr != y.cidr || x.expires != y.expires) return false;
  }
  return true;
}

bool SamePrivate(const std::optional<PrivateIp>& a, const std::optional<PrivateIp>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->network == b->network && a->services_access.range_name == b->services_access.range_name &&
         a->services_access.cidr == b->services_access.cidr &&
         a->services_access.prefix_length == b->services_access.prefix_length;
}

// A shared resource is written by whichever intent reconciles it: if one
// intent is paused or observing and the other is not, the resource would be
// paused or not depending on the order of passes. They must agree.
void PolicyDifferences(const Intent& a, const Intent& b, std::vector<std::string>& d) {
  if (a.policy.paused != b.policy.paused) d.push_back("policy.paused");
  if (a.policy.mode != b.policy.mode) d.push_back("policy.mode");
}

std::string Join(const std::vector<std::string>& d) {
  std::string out;
  for (const auto& s : d) out += (out.empty() ? "" : ", ") + s;
  return out;
}

// Names of the instance settings two intents disagree on.
std::string InstanceDifferences(const Intent& a, const Intent& b) {
  std::vector<std::string> d;
  if (a.region != b.region) d.push_back("region");
  if (a.instance.ssl_mode != b.instance.ssl_mode) d.push_back("sslMode");
  if (a.instance.iam_authentication != b.instance.iam_authentication) d.push_back("iamAuthentication");
  if (a.instance.connector_enforcement != b.instance.connector_enforcement) {
    d.push_back("connectorEnforcement");
  }
  if (!SameNetworks(a.instance.public_ip, b.instance.public_ip)) d.push_back("publicIp");
  if (!SamePrivate(a.instance.private_ip, b.instance.private_ip)) d.push_back("privateIp");
  if (a.instance.psc != b.instance.psc) d.push_back("psc");
  if (a.policy.prune_authorized_networks != b.policy.prune_authorized_networks) {
    d.push_back("policy.pruneAuthorizedNetworks");
  }
  PolicyDifferences(a, b, d);
  return Join(d);
}

std::string ConnectorDifferences(const Connector& a, const Connector& b, const Intent& ia,
                                 const Intent& ib) {
  std::vector<std::string> d;
  if (a.network != b.network) d.push_back("network");
  if (a.ip_cidr_range != b.ip_cidr_range) d.push_back("ipCidrRange");
  if (a.min_instances != b.min_instances) d.push_back("minInstances");
  if (a.max_instances != b.max_instances) d.push_back("maxInstances");
  if (a.machine_type != b.machine_type) d.push_back("machineType");
  if (a.subnet != b.subnet) d.push_back("subnet");
  if (a.min_throughput != b.min_throughput) d.push_back("minThroughput");
  if (a.max_throughput != b.max_throughput) d.push_back("maxThroughput");
  PolicyDifferences(ia, ib, d);
  return Join(d);
}

std::string WorkloadDifferences(const Workload& a, const Workload& b, const Intent& ia, const Intent& ib) {
  std::vector<std::string> d;
  if (a.method != b.method) d.push_back("method");
  if (a.container != b.container) d.push_back("container");
  if (a.url_env != b.url_env) d.push_back("urlEnv");
  if (a.egress != b.egress) d.push_back("egress");
  if (a.direct_vpc != b.direct_vpc) d.push_back("directVpc");
  if (a.psc != b.psc) d.push_back("psc");
  if (a.database.name != b.database.name || a.database.user != b.database.user ||
      a.database.password_secret != b.database.password_secret ||
      a.database.password_env != b.database.password_env) {
    d.push_back("database");
  }
  if (ia.instance.name != ib.instance.name) d.push_back("instance");
  PolicyDifferences(ia, ib, d);
  return Join(d);
}

class Loader {
 public:
  explicit Loader(const Limits& limits) : limits_(limits) {}
  Loader(const Limits& limits, const FileCache* previous, FileCache* next, bool force_read)
      : limits_(limits), previous_(previous), next_(next), force_read_(force_read) {}

  const ConfigSource::Stats& stats() const { return stats_; }
  // No file parsed anew, none failed, and the very files of `previous` in
  // its order: the intents are the previous load's objects, in the same
  // order, so the cross-file checks would find what they found then.
  bool Unchanged(const std::vector<std::string>& previous) const {
    return stats_.files_parsed == 0 && file_errors_ == 0 && files_ == previous;
  }

  void AddPath(const std::string& path) {
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      FileError(path, "no such file or directory");
      return;
    }
    if (fs::is_directory(st)) {
      std::vector<std::string> entries;
      fs::directory_iterator it(path, ec), end;
      if (ec) {
        FileError(path, "cannot list directory: " + ec.message());
        return;
      }
      for (; it != end; it.increment(ec)) {
        if (ec) break;
        std::string name = it->path().filename().string();
        if (name.empty() || name[0] == '.') continue;  // ..data, ..2024_*, editor swap files
        std::string ext = it->path().extension().string();
        if (ext != ".yaml" && ext != ".yml") continue;
        std::error_code fec;
        if (!fs::is_regular_file(fs::status(it->path(), fec)) || fec) continue;
        entries.push_back(it->path().string());
      }
      if (ec) {
        FileError(path, "cannot list directory: " + ec.message());
        return;
      }
      std::sort(entries.begin(), entries.end());
      if (entries.empty()) {
        FileError(path, "directory has no *.yaml or *.yml files", Diagnostic::Severity::kWarning);
      }
      for (const auto& e : entries) AddFile(e);
      return;
    }
    AddFile(path);
  }

  void AddFile(const std::string& path) {
    std::error_code ec;
    fs::path canonical = fs::canonical(path, ec);
    std::string key = ec ? path : canonical.string();
    if (!seen_.insert(key).second) return;
    struct stat sb {};
    if (::stat(path.c_str(), &sb) != 0) {
      FileError(path, std::string("cannot read: ") + std::strerror(errno));
      return;
    }
    const auto size = static_cast<uintmax_t>(sb.st_size);
    if (size > limits_.max_file_bytes) {
      FileError(path, "file is " + std::to_string(size) + " bytes; the limit is " +
                          std::to_string(limits_.max_file_bytes) + " bytes per file (split it)");
      return;
    }
    const FileStamp stamp{sb.st_dev, sb.st_ino, sb.st_size, Nanos(sb.st_mtim), Nanos(sb.st_ctim)};
    const CachedFile* before = nullptr;
    if (previous_) {
      if (auto it = previous_->find(path); it != previous_->end()) before = &it->second;
    }
    // Unchanged stamp, read well after the last modification: not read again.
    constexpr int64_t kRacyNs = 2'000'000'000;
    if (before && !force_read_ && before->stamp == stamp &&
        before->read_at_ns - std::max(stamp.mtime_ns, stamp.ctime_ns) > kRacyNs) {
      Reuse(path, *before);
      return;
    }
    const int64_t read_at = NowNanos();
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      FileError(path, "cannot open for reading");
      return;
    }
    std::string content(static_cast<size_t>(size), '\0');
    in.read(content.data(), static_cast<std::streamsize>(size));
    content.resize(static_cast<size_t>(in.gcount()));
    const std::size_t hash = std::hash<std::string_view>{}(content);
    ++stats_.files_read;
    if (before && before->content_hash == hash) {
      CachedFile& now = Reuse(path, *before);
      now.stamp = stamp;
      now.read_at_ns = read_at;
      return;
    }
    ++stats_.files_parsed;
    files_.push_back(path);
    FileResult parsed = Parse(content, path);
    Append(parsed);
    if (next_) next_->insert_or_assign(path, CachedFile{stamp, hash, read_at, std::move(parsed)});
  }

  CachedFile& Reuse(const std::string& path, const CachedFile& before) {
    ++stats_.files_reused;
    files_.push_back(path);
    Append(before.result);
    return next_->insert_or_assign(path, before).first->second;
  }

  // A file's content, parsed as if read from `file`.
  void AddContent(std::string_view content, const std::string& file) {
    files_.push_back(file);
    Append(Parse(content, file));
  }

  FileResult Parse(std::string_view content, const std::string& file) {
    std::vector<Diagnostic> saved_diagnostics = std::exchange(diagnostics_, {});
    std::vector<std::shared_ptr<const Intent>> saved_intents = std::exchange(intents_, {});
    ParseInto(content, file);
    FileResult r{std::exchange(intents_, std::move(saved_intents)),
                 std::exchange(diagnostics_, std::move(saved_diagnostics))};
    return r;
  }

  void Append(const FileResult& r) {
    intents_.insert(intents_.end(), r.intents.begin(), r.intents.end());
    diagnostics_.insert(diagnostics_.end(), r.diagnostics.begin(), r.diagnostics.end());
  }

  void ParseInto(std::string_view content, const std::string& file) {
    if (content.size() > limits_.max_file_bytes) {
      FileError(file, "file is " + std::to_string(content.size()) + " bytes; the limit is " +
                          std::to_string(limits_.max_file_bytes) + " bytes per file (split it)");
      return;
    }
    std::vector<YAML::Node> docs;
    try {
      std::string text(content);
      {
        std::istringstream in(text);
        YAML::Parser parser(in);
        ProgressGuard guard(content, limits_.max_documents);
        while (parser.HandleNextDocument(guard)) {
        }
      }
      docs = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      SourceLocation where{file, 0, 0};
      if (e.mark.line >= 0) where = {file, e.mark.line + 1, e.mark.column + 1};
      std::string msg = e.msg;
      if (dynamic_cast<const YAML::DeepRecursion*>(&e) != nullptr) {
        msg = "nested too deeply to parse; a DatabaseConnectivity document needs at most 6 levels";
      }
      diagnostics_.push_back({Diagnostic::Severity::kError, where, "", "YAML syntax error: " + msg});
      return;
    } catch (const std::exception& e) {
      FileError(file, std::string("cannot parse: ") + e.what());
      return;
    }
    if (docs.size() > limits_.max_documents) {
      FileError(file, "has " + std::to_string(docs.size()) + " documents; the limit is " +
                          std::to_string(limits_.max_documents));
      return;
    }
    size_t non_empty = 0;
    const FileName shared_name(file);  // one allocation for every location in the file
    for (const YAML::Node& doc : docs) {
      if (doc.IsNull()) continue;  // "---" separators around nothing, comment-only files
      ++non_empty;
      size_t first_diagnostic = diagnostics_.size();
      AddDocument(doc, shared_name);
      // Report in reading order: the literal-password scan runs before decoding.
      std::stable_sort(diagnostics_.begin() + static_cast<std::ptrdiff_t>(first_diagnostic),
                       diagnostics_.end(), [](const Diagnostic& a, const Diagnostic& b) {
                         return std::tie(a.where.line, a.where.column) <
                                std::tie(b.where.line, b.where.column);
                       });
    }
    if (non_empty == 0) {
      FileError(file, "contains no YAML documents", Diagnostic::Severity::kWarning);
    }
  }

  LoadResult Finish() {
    CrossChecks();
    LoadResult r;
    r.files = std::move(files_);
    r.diagnostics = std::move(diagnostics_);
    if (r.ok()) {
      auto state = std::make_shared<DesiredState>();
      state->intents = std::move(intents_);
      std::sort(state->intents.begin(), state->intents.end(),
                [](const auto& a, const auto& b) { return a->name < b->name; });
      r.state = std::move(state);
    }
    return r;
  }

 private:
  void AddDocument(const YAML::Node& doc, const FileName& file) {
    Sink sink(file, limits_, &diagnostics_);
    try {
      if (!internal::ScanDocument(sink, doc)) return;
      std::optional<Intent> intent = internal::DecodeDocument(sink, doc);
      if (!intent) return;
      internal::CheckIntent(sink, *intent);
      if (sink.errors() == 0) intents_.push_back(std::make_shared<const Intent>(std::move(*intent)));
    } catch (const std::exception& e) {
      // yaml-cpp throws on invalid node access; a bug here must not crash the
      // daemon, so it becomes an error on the document.
      sink.Error(SourceLocation{file, doc.Mark().line + 1, doc.Mark().column + 1}, "",
                 std::string("internal error while reading this document: ") + e.what());
    }
  }

  void FileError(const std::string& file, std::string message,
                 Diagnostic::Severity sev = Diagnostic::Severity::kError) {
    ++file_errors_;
    diagnostics_.push_back({sev, {file, 0, 0}, "", std::move(message)});
  }

  void Error(const SourceLocation& where, std::string path, std::string message) {
    diagnostics_.push_back({Diagnostic::Severity::kError, where, std::move(path), std::move(message)});
  }

  // Two writers must never fight through us: the same resource declared twice
  // must be declared identically.
  void CrossChecks() {
    std::map<std::string, const Intent*> names, instances, connectors, workloads, numbers;
    for (const auto& p : intents_) {
      const Intent& in = *p;
      if (auto [it, fresh] = names.emplace(in.name, &in); !fresh) {
        Error(in.where, "metadata.name",
              "intent \"" + in.name + "\" is also declared at " + ShortLocation(it->second->where) +
                  "; metadata.name must be unique across all files");
      }
      if (!in.project_number.empty()) {
        if (auto [it, fresh] = numbers.emplace(in.project, &in);
            !fresh && it->second->project_number != in.project_number) {
          Error(in.where, "spec.projectNumber",
                "project " + in.project + " has projectNumber " + in.project_number +
                    " here but " + it->second->project_number + " at " +
                    ShortLocation(it->second->where) + "; a project has one number");
        }
      }
      std::string ikey = in.project + "/" + in.instance.name;
      if (auto [it, fresh] = instances.emplace(ikey, &in); !fresh) {
        std::string diff = InstanceDifferences(*it->second, in);
        if (!diff.empty()) {
          Error(in.instance.where, "spec.instance",
                "instance " + ikey + " is also declared at " + ShortLocation(it->second->instance.where) +
                    " (intent \"" + it->second->name + "\") with different " + diff +
                    "; two files must not manage one instance differently: make them identical "
                    "or keep the instance in one file");
        }
      }
      if (in.connector) {
        std::string ckey = in.project + "/" + in.region + "/" + in.connector->name;
        if (auto [it, fresh] = connectors.emplace(ckey, &in); !fresh) {
          std::string diff =
              ConnectorDifferences(*it->second->connector, *in.connector, *it->second, in);
          if (!diff.empty()) {
            Error(in.connector->where, "spec.connector",
                  "connector " + ckey + " is also declared at " +
                      ShortLocation(it->second->connector->where) + " (intent \"" +
                      it->second->name + "\") with different " + diff +
                      "; make them identical or keep the connector in one file");
          }
        }
      }
      for (size_t i = 0; i < in.workloads.size(); ++i) {
        const Workload& w = in.workloads[i];
        std::string wkey = in.project + "/" + in.region + "/" + std::string(ToString(w.kind)) + "/" + w.name;
        auto [it, fresh] = workloads.emplace(wkey, &in);
        if (fresh || it->second == &in) continue;
        const Intent& other = *it->second;
        const Workload* ow = nullptr;
        for (const auto& x : other.workloads) {
          if (x.kind == w.kind && x.name == w.name) ow = &x;
        }
        std::string diff = ow ? WorkloadDifferences(*ow, w, other, in) : "";
        std::string what = std::string(ToString(w.kind)) + " " + w.name;
        std::string there = ow ? ShortLocation(ow->where) : ShortLocation(other.where);
        if (!diff.empty()) {
          Error(w.where, "spec.workloads[" + std::to_string(i) + "]",
                what + " is also declared at " + there + " (intent \"" + other.name +
                    "\") with different " + diff +
                    "; two files must not manage one workload differently: keep it in one file");
        } else {
          diagnostics_.push_back({Diagnostic::Severity::kWarning, w.where,
                                  "spec.workloads[" + std::to_string(i) + "]",
                                  what + " is also declared, identically, at " + there +
                                      "; harmless, but keep one"});
        }
      }
    }
  }

  Limits limits_;
  std::vector<Diagnostic> diagnostics_;
  std::vector<std::string> files_;
  std::set<std::string> seen_;
  std::vector<std::shared_ptr<const Intent>> intents_;
  // ConfigSource's cache: read from `previous_`, every file seen written to
  // `next_` (files gone since are thereby forgotten).
  const FileCache* previous_ = nullptr;
  FileCache* next_ = nullptr;
  bool force_read_ = false;
  ConfigSource::Stats stats_;
  int file_errors_ = 0;
};

}  // namespace

bool LoadResult::ok() const { return error_count() == 0; }

size_t LoadResult::error_count() const {
  return static_cast<size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::kError;
  }));
}

size_t LoadResult::warning_count() const { return diagnostics.size() - error_count(); }

LoadResult LoadPaths(const std::vector<std::string>& paths, const Limits& limits) {
  Loader loader(limits);
  for (const auto& p : paths) loader.AddPath(p);
  return loader.Finish();
}

struct ConfigSource::Cache {
  FileCache files;
  // The last load, when it had no error: handed out again while nothing
  // changed (a SIGHUP with every file as it was builds no cross-file
  // index of every intent, and keeps the very DesiredState).
  std::optional<LoadResult> last;
};

ConfigSource::ConfigSource(std::vector<std::string> paths, Limits limits)
    : paths_(std::move(paths)), limits_(limits), cache_(std::make_unique<Cache>()) {}

ConfigSource::~ConfigSource() = default;

LoadResult ConfigSource::Load(bool force_read) {
  auto next = std::make_unique<Cache>();
  Loader loader(limits_, &cache_->files, &next->files, force_read);
  for (const auto& p : paths_) loader.AddPath(p);
  // (The old cache goes below: its result is moved out, not copied.)
  LoadResult r = cache_->last && loader.Unchanged(cache_->last->files)
                     ? std::move(*cache_->last)
                     : loader.Finish();
  stats_ = loader.stats();
  if (r.ok()) next->last = r;
  cache_ = std::move(next);
  return r;
}

LoadResult LoadString(std::string_view yaml, std::string file_name, const Limits& limits) {
  Loader loader(limits);
  loader.AddContent(yaml, file_name);
  return loader.Finish();
}

std::string_view ToString(Diagnostic::Severity s) {
  return s == Diagnostic::Severity::kError ? "error" : "warning";
}

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out = d.where.file;
  if (d.where.line > 0) {
    out += ":" + std::to_string(d.where.line);
    if (d.where.column > 0) out += ":" + std::to_string(d.where.column);
  }
  out += ": ";
  out += ToString(d.severity);
  out += ": ";
  if (!d.path.empty()) out += d.path + ": ";
  out += d.message;
  return out;
}

std::vector<std::string> KnownKeyPaths() {
  std::vector<std::string> out;
  for (const auto& k : internal::Keys()) {
    out.push_back(k.parent.empty() ? std::string(k.key) : std::string(k.parent) + "." + std::string(k.key));
  }
  return out;
}

}  // namespace dbconnd::config
