#include "config/decode.h"

#include <algorithm>
#include <array>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "common/duration.h"
#include "common/redact.h"
#include "common/rfc3339.h"
#include "config/cidr.h"
#include "config/names.h"

namespace dbconnd::config::internal {
namespace {

constexpr KeySpec kKeys[] = {
    {"", "apiVersion"},
    {"", "kind"},
    {"", "metadata"},
    {"", "spec"},
    {"metadata", "name"},
    {"metadata", "labels", true},
    {"metadata", "annotations", true},
    {"spec", "project"},
    {"spec", "projectNumber"},
    {"spec", "region"},
    {"spec", "instance"},
    {"spec", "connector"},
    {"spec", "workloads"},
    {"spec", "policy"},
    {"spec.instance", "name"},
    {"spec.instance", "sslMode"},
    {"spec.instance", "iamAuthentication"},
    {"spec.instance", "publicIp"},
    {"spec.instance", "privateIp"},
    {"spec.instance", "psc"},
    {"spec.instance.psc", "enabled"},
    {"spec.instance.psc", "allowedConsumerProjects"},
    {"spec.instance", "connectorEnforcement"},
    {"spec.instance.publicIp", "enabled"},
    {"spec.instance.publicIp", "authorizedNetworks"},
    {"spec.instance.publicIp.authorizedNetworks[]", "name"},
    {"spec.instance.publicIp.authorizedNetworks[]", "cidr"},
    {"spec.instance.publicIp.authorizedNetworks[]", "expires"},
    {"spec.instance.privateIp", "network"},
    {"spec.instance.privateIp", "servicesAccess"},
    {"spec.instance.privateIp.servicesAccess", "rangeName"},
    {"spec.instance.privateIp.servicesAccess", "cidr"},
    {"spec.instance.privateIp.servicesAccess", "prefixLength"},
    {"spec.connector", "name"},
    {"spec.connector", "network"},
    {"spec.connector", "ipCidrRange"},
    {"spec.connector", "minInstances"},
    {"spec.connector", "maxInstances"},
    {"spec.connector", "machineType"},
    {"spec.connector", "minThroughput"},
    {"spec.connector", "maxThroughput"},
    {"spec.connector", "subnet"},
    {"spec.connector.subnet", "name"},
    {"spec.connector.subnet", "projectId"},
    {"spec.workloads[]", "job"},
    {"spec.workloads[]", "service"},
    {"spec.workloads[]", "method"},
    {"spec.workloads[]", "container"},
    {"spec.workloads[]", "urlEnv"},
    {"spec.workloads[]", "egress"},
    {"spec.workloads[]", "directVpc"},
    {"spec.workloads[].directVpc", "network"},
    {"spec.workloads[].directVpc", "subnetwork"},
    {"spec.workloads[].directVpc", "tags"},
    {"spec.workloads[]", "psc"},
    {"spec.workloads[].psc", "endpoint"},
    {"spec.workloads[].psc", "address"},
    {"spec.workloads[].psc", "network"},
    {"spec.workloads[].psc", "subnetwork"},
    {"spec.workloads[]", "database"},
    {"spec.workloads[].database", "name"},
    {"spec.workloads[].database", "user"},
    {"spec.workloads[].database", "passwordSecret"},
    {"spec.workloads[].database", "passwordEnv"},
    {"spec.policy", "mode"},
    {"spec.policy", "pruneAuthorizedNetworks"},
    {"spec.policy", "allowWorldOpen"},
    {"spec.policy", "paused"},
    {"spec.policy", "allowIrreversible"},
    {"spec.policy", "allowReplace"},
    {"spec.policy", "verify"},
    {"spec.policy", "resyncInterval"},
};

constexpr std::string_view kLiteralPasswordMessage =
    "a literal password is written here; dbconnd never accepts passwords in its files. Store "
    "it in Secret Manager (gcloud secrets create NAME --data-file=-) and reference it with "
    "database.passwordSecret: projects/PROJECT/secrets/NAME/versions/latest";

SourceLocation Loc(const Sink& sink, const YAML::Node& n) {
  YAML::Mark m = n.Mark();
  if (m.line < 0 || m.column < 0) return {sink.file(), 0, 0};
  return {sink.file(), m.line + 1, m.column + 1};
}

std::string Join(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string s(parent);
  s += '.';
  s += key;
  return s;
}

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

// Short, printable echo of user text. Only used for values already known not
// to hold a password (names, enums, keys).
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 64)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 64) out += "...";
  return out + "\"";
}

std::string TypeName(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "the single value " + Q(n.Scalar());
    default: return "nothing";
  }
}

// Lowercase with '_' and '-' dropped: "ssl_mode" and "SSLMode" both "sslmode".
std::string Normalize(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '_' || c == '-') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

bool IsPlaceholder(std::string_view v) {
  // $(VAR) is Cloud Run's env interpolation; ${VAR} and $VAR shell style.
  return !v.empty() && v[0] == '$';
}

bool IsPasswordKey(std::string_view key) {
  std::string k = Normalize(key);
  if (k == "passwordsecret" || k == "passwordenv") return false;
  return k == "passwd" || k == "pwd" || k == "pass" ||
         (k.size() >= 8 && k.compare(k.size() - 8, 8, "password") == 0);
}

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Every form (common/redact.h): URL userinfo with any characters,
// password=/pwd= in query strings, libpq DSNs (quoted values too), JDBC and
// ODBC strings. One linear scan.
bool HasLiteralPassword(std::string_view v) { return ::dbconnd::HasLiteralPassword(v); }

class Scanner {
 public:
  explicit Scanner(Sink& sink) : sink_(sink) {}

  bool Run(const YAML::Node& root) {
    Walk(root, "", 0);
    return !stop_;
  }

 private:
  void Walk(const YAML::Node& n, const std::string& path, int depth) {
    if (stop_) return;
    const Limits& lim = sink_.limits();
    if (++visited_ > lim.max_nodes) {
      sink_.Error(Loc(sink_, n), path,
                  "the document expands to more than " + std::to_string(lim.max_nodes) +
                      " values (each use of an alias counts again); write the values out "
                      "without alias chains or split the document");
      stop_ = true;
      return;
    }
    if (depth > lim.max_depth) {
      sink_.Error(Loc(sink_, n), path,
                  "nested more than " + std::to_string(lim.max_depth) +
                      " levels deep; a DatabaseConnectivity document needs at most 6");
      stop_ = true;
      return;
    }
    switch (n.Type()) {
      case YAML::NodeType::Scalar: {
        const std::string& s = n.Scalar();
        if (s.size() > lim.max_scalar_bytes) {
          sink_.Error(Loc(sink_, n), path,
                      "value is " + std::to_string(s.size()) + " bytes long; the limit is " +
                          std::to_string(lim.max_scalar_bytes));
          stop_ = true;
          return;
        }
        if (HasLiteralPassword(s)) sink_.Error(Loc(sink_, n), path, std::string(kLiteralPasswordMessage));
        return;
      }
      case YAML::NodeType::Sequence: {
        size_t i = 0;
        for (const auto& item : n) {
          Walk(item, Index(path, i++), depth + 1);
          if (stop_) return;
        }
        return;
      }
      case YAML::NodeType::Map: {
        for (const auto& kv : n) {
          const YAML::Node& key = kv.first;
          const YAML::Node& value = kv.second;
          std::string child = path;
          if (key.IsScalar()) {
            if (key.Scalar().size() > lim.max_scalar_bytes) {
              Walk(key, path, depth + 1);  // reports the size
              return;
            }
            child = Join(path, key.Scalar().substr(0, 64));
            if (IsPasswordKey(key.Scalar()) && value.IsScalar() && !value.Scalar().empty() &&
                !IsPlaceholder(value.Scalar())) {
              sink_.Error(Loc(sink_, value), child, std::string(kLiteralPasswordMessage));
            }
          } else {
            Walk(key, path, depth + 1);
          }
          Walk(value, child, depth + 1);
          if (stop_) return;
        }
        return;
      }
      default:
        return;
    }
  }

  Sink& sink_;
  size_t visited_ = 0;
  bool stop_ = false;
};

struct Field {
  YAML::Node key;
  YAML::Node value;
};

struct MapView {
  YAML::Node node;
  std::string path;
  std::map<std::string, Field, std::less<>> fields;

  const Field* Get(std::string_view k) const {
    auto it = fields.find(k);
    return it == fields.end() ? nullptr : &it->second;
  }
};

std::string AllowedList(std::string_view pattern) {
  std::string out;
  for (const KeySpec& k : kKeys) {
    if (k.parent != pattern) continue;
    if (!out.empty()) out += ", ";
    out += k.key;
  }
  return out;
}

std::string UnknownKeyMessage(std::string_view key, std::string_view pattern, std::string_view path) {
  std::string where = path.empty() ? "at the top level" : "in " + std::string(path);
  std::string msg = "unknown key " + Q(key) + " " + where;
  std::string norm = Normalize(key);
  // Near miss at this level first.
  std::string_view best;
  size_t best_distance = norm.size() <= 4 ? 1 : 2;
  bool found = false;
  if (norm.size() <= 64) {
    for (const KeySpec& k : kKeys) {
      if (k.parent != pattern) continue;
      size_t d = EditDistance(norm, Normalize(k.key));
      if (d <= best_distance) {
        if (!found || d < best_distance) best = k.key;
        best_distance = d;
        found = true;
      }
    }
  }
  if (found) return msg + "; did you mean " + Q(best) + "?";
  // The right key at the wrong level.
  for (const KeySpec& k : kKeys) {
    if (Normalize(k.key) == norm && k.parent != pattern) {
      return msg + "; " + Q(k.key) + " belongs in " + Join(k.parent, k.key) + " (check indentation)";
    }
  }
  std::string allowed = AllowedList(pattern);
  return msg + (allowed.empty() ? std::string() : "; allowed keys here: " + allowed);
}

bool IsBoolText(std::string_view s, bool* value) {
  if (s == "true" || s == "True" || s == "TRUE") { *value = true; return true; }
  if (s == "false" || s == "False" || s == "FALSE") { *value = false; return true; }
  return false;
}

bool IsPlain(const YAML::Node& n) { return n.Tag() == "?"; }

// RFC 3339 date-time: 2025-07-01T00:00:00Z, fractional seconds and offsets allowed.
bool IsRfc3339(std::string_view s) { return ParseRfc3339(s).has_value(); }

Status CheckNetworkName(std::string_view name) {
  if (name.find('/') != std::string_view::npos) {
    size_t slash = name.rfind('/');
    return InvalidArgumentError("write the short network name " + Q(name.substr(slash + 1)) +
                                ", not a resource path");
  }
  return CheckRfc1035Name(name, "network");
}

// A short subnetwork name, or "projects/P/regions/R/subnetworks/N" for a
// subnetwork shared from a Shared VPC host project.
Status CheckSubnetworkRef(std::string_view ref) {
  if (ref.find('/') == std::string_view::npos) return CheckRfc1035Name(ref, "subnetwork");
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (parts.size() < 7) {
    size_t slash = ref.find('/', pos);
    parts.push_back(ref.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos));
    if (slash == std::string_view::npos) break;
    pos = slash + 1;
  }
  const Status bad = InvalidArgumentError(
      "write a short subnetwork name (default) or projects/HOST_PROJECT/regions/REGION/subnetworks/NAME");
  if (parts.size() != 6 || parts[0] != "projects" || parts[2] != "regions" || parts[4] != "subnetworks") {
    return bad;
  }
  if (!CheckProjectId(parts[1]).ok() && !CheckProjectNumber(parts[1]).ok()) return bad;
  if (Status s = CheckRegion(parts[3]); !s.ok()) return s;
  return CheckRfc1035Name(parts[5], "subnetwork");
}

Status CheckDatabaseIdentifier(std::string_view s, std::string_view what, bool allow_email) {
  bool ok = !s.empty() && s.size() <= 63;
  for (char c : s) {
    ok = ok && (IsWordChar(c) || c == '-' || c == '.' || c == '$' || (allow_email && c == '@'));
  }
  if (!ok) {
    return InvalidArgumentError(std::string(what) + " " + Q(s) +
                                " must be 1-63 characters of letters, digits, '_', '-', '.'" +
                                (allow_email ? ", '@'" : "") + " or '$'");
  }
  return OkStatus();
}

class Decoder {
 public:
  explicit Decoder(Sink& sink) : sink_(sink) {}

  std::optional<Intent> Document(const YAML::Node& root) {
    if (!root.IsMap()) {
      sink_.Error(Loc(sink_, root), "",
                  "a document must be a mapping with apiVersion: " + std::string(kApiVersion) +
                      ", kind: " + kKind + ", metadata and spec; got " + TypeName(root));
      return std::nullopt;
    }
    auto top = ReadMap(root, "");
    if (!top) return std::nullopt;
    auto kind = Str(*top, "kind", true, kKind);
    if (kind && *kind != kKind) {
      sink_.Error(sink_.At("kind"), "kind",
                  "kind " + Q(*kind) + " is not handled by dbconnd; write kind: " + kKind +
                      " (and keep other resources out of the files dbconnd reads)");
      return std::nullopt;
    }
    auto api = Str(*top, "apiVersion", true, kApiVersion);
    if (api && *api != kApiVersion) {
      sink_.Error(sink_.At("apiVersion"), "apiVersion",
                  "apiVersion " + Q(*api) + " is not supported; write apiVersion: " + kApiVersion);
    }
    Intent intent;
    intent.where = Loc(sink_, root);
    if (auto meta = SubMap(*top, "metadata", true, "{name: my-app}")) {
      if (auto name = Str(*meta, "name", true, "a short name for this intent, e.g. saleor")) {
        Check(CheckRfc1035Name(*name, "metadata.name"), "metadata.name");
        intent.name = *name;
      }
      for (std::string_view free : {"labels", "annotations"}) {
        const Field* f = meta->Get(free);
        if (f && !f->value.IsMap() && !f->value.IsNull()) {
          sink_.Error(Loc(sink_, f->value), Join("metadata", free),
                      "expected a mapping of names to values, got " + TypeName(f->value));
        }
      }
    }
    if (auto spec = SubMap(*top, "spec", true, "the connectivity intent (see docs/CONFIG.md)")) {
      Spec(*spec, intent);
    }
    return intent;
  }

 private:
  void Check(const Status& st, const std::string& path) {
    if (!st.ok()) sink_.Error(sink_.At(path), path, st.message());
  }

  std::optional<MapView> ReadMap(const YAML::Node& n, std::string path) {
    if (!n.IsMap()) {
      sink_.Error(Loc(sink_, n), path,
                  "expected a mapping (key: value lines), got " + TypeName(n));
      return std::nullopt;
    }
    MapView view{n, path, {}};
    std::string pattern = PatternOf(path);
    for (const auto& kv : n) {
      const YAML::Node& key = kv.first;
      if (!key.IsScalar()) {
        sink_.Error(Loc(sink_, key), path, "keys must be plain names, got " + TypeName(key));
        continue;
      }
      const std::string& k = key.Scalar();
      if (auto it = view.fields.find(k); it != view.fields.end()) {
        sink_.Error(Loc(sink_, key), Join(path, k),
                    "duplicate key " + Q(k) + " (first written at line " +
                        std::to_string(Loc(sink_, it->second.key).line) + "); keep only one");
        continue;
      }
      bool known = false;
      for (const KeySpec& spec : kKeys) {
        if (spec.parent == pattern && spec.key == k) known = true;
      }
      if (!known) {
        // A literal password under any key was already reported by the scan.
        if (!IsPasswordKey(k)) {
          sink_.Error(Loc(sink_, key), Join(path, k.substr(0, 64)), UnknownKeyMessage(k, pattern, path));
        }
        continue;
      }
      view.fields.emplace(k, Field{key, kv.second});
    }
    return view;
  }

  // The value of `key`, or nullptr when absent or null (reported if required).
  const YAML::Node* Value(const MapView& m, std::string_view key, bool required,
                          std::string_view hint) {
    std::string path = Join(m.path, key);
    const Field* f = m.Get(key);
    if (f == nullptr || f->value.IsNull()) {
      if (required) {
        SourceLocation at = f ? Loc(sink_, f->key) : Loc(sink_, m.node);
        sink_.Error(at, path,
                    std::string(f ? "has no value" : "missing required field") + "; write " +
                        std::string(key) + ": " + std::string(hint));
      }
      return nullptr;
    }
    SourceLocation at = Loc(sink_, f->value);
    if (at.line == 0) at = Loc(sink_, f->key);
    sink_.Record(path, at);
    return &f->value;
  }

  std::optional<std::string> Str(const MapView& m, std::string_view key, bool required,
                                 std::string_view hint) {
    const YAML::Node* v = Value(m, key, required, hint);
    if (!v) return std::nullopt;
    if (!v->IsScalar()) {
      std::string path = Join(m.path, key);
      sink_.Error(sink_.At(path), path, "expected a single value such as " + std::string(hint) +
                                            ", got " + TypeName(*v));
      return std::nullopt;
    }
    return v->Scalar();
  }

  std::optional<bool> Bool(const MapView& m, std::string_view key, bool required = false) {
    const YAML::Node* v = Value(m, key, required, "true or false");
    if (!v) return std::nullopt;
    std::string path = Join(m.path, key);
    bool b = false;
    if (!v->IsScalar() || !IsBoolText(v->Scalar(), &b)) {
      sink_.Error(sink_.At(path), path,
                  "expected true or false, got " + TypeName(*v));
      return std::nullopt;
    }
    if (!IsPlain(*v)) {
      sink_.Error(sink_.At(path), path,
                  "expected true or false without quotes; a quoted " + Q(v->Scalar()) +
                      " is text");
      return std::nullopt;
    }
    return b;
  }

  std::optional<int> Int(const MapView& m, std::string_view key, int min, int max) {
    std::string range = std::to_string(min) + " to " + std::to_string(max);
    const YAML::Node* v = Value(m, key, false, "a whole number from " + range);
    if (!v) return std::nullopt;
    std::string path = Join(m.path, key);
    long long n = 0;
    bool ok = v->IsScalar() && IsPlain(*v) && !v->Scalar().empty() && v->Scalar().size() <= 9;
    if (ok) {
      for (char c : v->Scalar()) {
        ok = ok && c >= '0' && c <= '9';
        n = n * 10 + (c - '0');
      }
    }
    if (!ok) {
      sink_.Error(sink_.At(path), path, "expected a whole number from " + range + ", got " + TypeName(*v));
      return std::nullopt;
    }
    if (n < min || n > max) {
      sink_.Error(sink_.At(path), path,
                  std::string(key) + " " + std::to_string(n) + " is out of range; write a number from " + range);
      return std::nullopt;
    }
    return static_cast<int>(n);
  }

  // Index into `allowed`, or nullopt.
  std::optional<size_t> Enum(const MapView& m, std::string_view key, bool required,
                             std::span<const std::string_view> allowed) {
    std::string list;
    for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
    auto s = Str(m, key, required, "one of " + list);
    if (!s) return std::nullopt;
    for (size_t i = 0; i < allowed.size(); ++i) {
      if (*s == allowed[i]) return i;
    }
    std::string path = Join(m.path, key);
    for (auto a : allowed) {
      if (Normalize(*s) == Normalize(a)) {
        sink_.Error(sink_.At(path), path,
                    Q(*s) + " is not spelled as dbconnd expects; write " + std::string(a));
        return std::nullopt;
      }
    }
    sink_.Error(sink_.At(path), path, "unknown value " + Q(*s) + "; write one of: " + list);
    return std::nullopt;
  }

  std::optional<MapView> SubMap(const MapView& m, std::string_view key, bool required,
                                std::string_view hint) {
    const YAML::Node* v = Value(m, key, required, hint);
    if (!v) return std::nullopt;
    return ReadMap(*v, Join(m.path, key));
  }

  // Items of a list-valued key, with their paths; empty when absent.
  std::vector<std::pair<YAML::Node, std::string>> List(const MapView& m, std::string_view key) {
    std::vector<std::pair<YAML::Node, std::string>> out;
    const YAML::Node* v = Value(m, key, false, "");
    if (!v) return out;
    std::string path = Join(m.path, key);
    if (!v->IsSequence()) {
      sink_.Error(sink_.At(path), path,
                  "expected a list (lines starting with \"- \"), got " + TypeName(*v));
      return out;
    }
    if (v->size() > sink_.limits().max_list_items) {
      sink_.Error(sink_.At(path), path,
                  "has " + std::to_string(v->size()) + " items; the limit is " +
                      std::to_string(sink_.limits().max_list_items) + " (split the intent)");
      return out;
    }
    size_t i = 0;
    for (const auto& item : *v) out.emplace_back(item, Index(path, i++));
    return out;
  }

  std::optional<std::string> Cidr(const MapView& m, std::string_view key, bool required,
                                   std::string_view what, std::string_view hint) {
    auto s = Str(m, key, required, hint);
    if (!s) return std::nullopt;
    auto parsed = ParseIpv4Cidr(*s);
    if (!parsed.ok()) {
      Check(InvalidArgumentError(std::string(what) + " " + parsed.status().message()), Join(m.path, key));
      return std::nullopt;
    }
    return parsed->ToString();
  }

  void Spec(const MapView& spec, Intent& intent) {
    if (auto project = Str(spec, "project", true, "the project ID, e.g. my-project-123")) {
      Check(CheckProjectId(*project), "spec.project");
      intent.project = *project;
    }
    if (auto number = Str(spec, "projectNumber", false, "the project number, e.g. 493827161123")) {
      Check(CheckProjectNumber(*number), "spec.projectNumber");
      intent.project_number = *number;
    }
    if (auto region = Str(spec, "region", true, "the region, e.g. us-central1")) {
      Check(CheckRegion(*region), "spec.region");
      intent.region = *region;
    }
    if (auto inst = SubMap(spec, "instance", true, "{name: my-instance}")) {
      DecodeInstance(*inst, intent);
    }
    if (auto conn = SubMap(spec, "connector", false, "")) {
      intent.connector = DecodeConnector(*conn);
    }
    for (auto& [node, path] : List(spec, "workloads")) {
      if (auto w = DecodeWorkload(node, path)) intent.workloads.push_back(std::move(*w));
    }
    if (auto pol = SubMap(spec, "policy", false, "")) DecodePolicy(*pol, intent.policy);
  }

  void DecodeInstance(const MapView& m, Intent& intent) {
    Instance& inst = intent.instance;
    inst.where = Loc(sink_, m.node);
    if (auto name = Str(m, "name", true, "the Cloud SQL instance ID, e.g. saleor-db-demo")) {
      Check(CheckInstanceId(*name, intent.project), "spec.instance.name");
      inst.name = *name;
    }
    if (auto i = Enum(m, "sslMode", false, kSslModeNames)) inst.ssl_mode = static_cast<SslMode>(*i);
    inst.iam_authentication = Bool(m, "iamAuthentication");
    if (auto i = Enum(m, "connectorEnforcement", false, kConnectorEnforcementNames)) {
      inst.connector_enforcement = static_cast<ConnectorEnforcement>(*i);
    }
    if (auto pub = SubMap(m, "publicIp", false, "")) {
      PublicIp p;
      if (auto e = Bool(*pub, "enabled", true)) p.enabled = *e;
      for (auto& [node, path] : List(*pub, "authorizedNetworks")) {
        auto net = ReadMap(node, path);
        if (!net) continue;
        AuthorizedNetwork a;
        a.where = Loc(sink_, node);
        if (auto name = Str(*net, "name", true, "a label, e.g. office")) {
          bool ok = !name->empty() && name->size() <= 63;
          for (char c : *name) ok = ok && c >= 0x20 && c < 0x7f;
          if (!ok) {
            Check(InvalidArgumentError("authorized network name must be 1-63 printable characters"),
                  path + ".name");
          }
          a.name = *name;
        }
        if (auto cidr = Cidr(*net, "cidr", true, "authorized network cidr", "203.0.113.0/24")) {
          a.cidr = *cidr;
        }
        if (auto exp = Str(*net, "expires", false, "2025-12-31T00:00:00Z")) {
          if (!IsRfc3339(*exp)) {
            Check(InvalidArgumentError("expires " + Q(*exp) +
                                       " is not an RFC 3339 time; write e.g. 2025-12-31T23:59:59Z"),
                  path + ".expires");
          }
          a.expires = *exp;
        }
        p.authorized_networks.push_back(std::move(a));
      }
      inst.public_ip = std::move(p);
    }
    if (auto priv = SubMap(m, "privateIp", false, "")) {
      PrivateIp p;
      if (auto net = Str(*priv, "network", true, "the VPC network name, e.g. default")) {
        Check(CheckNetworkName(*net), priv->path + ".network");
        p.network = *net;
      }
      if (auto psa = SubMap(*priv, "servicesAccess", false, "")) {
        const std::string& base = psa->path;
        if (auto name = Str(*psa, "rangeName", false, "google-managed-services-default")) {
          Check(CheckRfc1035Name(*name, "rangeName"), base + ".rangeName");
          p.services_access.range_name = *name;
        }
        auto cidr = Cidr(*psa, "cidr", false, "private services access cidr", "10.20.0.0/16");
        auto prefix = Int(*psa, "prefixLength", 8, 24);
        if (cidr) {
          p.services_access.cidr = *cidr;
          int cidr_prefix = ParseIpv4Cidr(*cidr)->prefix;
          if (prefix && *prefix != cidr_prefix) {
            Check(InvalidArgumentError("prefixLength " + std::to_string(*prefix) +
                                       " does not match cidr " + *cidr + "; remove prefixLength or write " +
                                       std::to_string(cidr_prefix)),
                  base + ".prefixLength");
          }
          p.services_access.prefix_length = cidr_prefix;
        } else if (prefix) {
          p.services_access.prefix_length = *prefix;
        }
      }
      if (p.services_access.range_name.empty() && !p.network.empty()) {
        p.services_access.range_name = "google-managed-services-" + p.network;
      }
      inst.private_ip = std::move(p);
    }
    if (auto pv = SubMap(m, "psc", false, "{enabled: true, allowedConsumerProjects: [PROJECT]}")) {
      Psc p;
      if (auto e = Bool(*pv, "enabled")) p.enabled = *e;
      for (auto& [node, path] : List(*pv, "allowedConsumerProjects")) {
        if (!node.IsScalar()) {
          sink_.Error(sink_.At(path), path, "expected a project ID or number, got " + TypeName(node));
          continue;
        }
        const std::string v = node.Scalar();
        if (!CheckProjectId(v).ok() && !CheckProjectNumber(v).ok()) {
          Check(CheckProjectId(v), path);
          continue;
        }
        if (std::find(p.allowed_consumer_projects.begin(), p.allowed_consumer_projects.end(), v) !=
            p.allowed_consumer_projects.end()) {
          sink_.Error(sink_.At(path), path, "project " + v + " is listed twice; list each project once");
          continue;
        }
        p.allowed_consumer_projects.push_back(v);
      }
      inst.psc = std::move(p);
    }
  }

  Connector DecodeConnector(const MapView& m) {
    Connector c;
    c.where = Loc(sink_, m.node);
    if (auto name = Str(m, "name", true, "the connector ID, e.g. app-connector")) {
      Check(CheckConnectorId(*name), "spec.connector.name");
      c.name = *name;
    }
    // Serverless VPC Access takes a subnet, or a network and an unused
    // range, never both.
    const bool has_subnet = m.Get("subnet") != nullptr;
    if (has_subnet) {
      if (m.Get("network") || m.Get("ipCidrRange")) {
        sink_.Error(c.where, "spec.connector.subnet",
                    "a connector takes subnet, or network and ipCidrRange, not both; remove network "
                    "and ipCidrRange (the subnet decides them)");
      }
      if (auto sub = SubMap(m, "subnet", false, "{name: SUBNET, projectId: HOST_PROJECT}")) {
        ConnectorSubnet cs;
        if (auto name = Str(*sub, "name", true, "the subnet name, e.g. serverless-28")) {
          Check(CheckRfc1035Name(*name, "subnet name"), sub->path + ".name");
          cs.name = *name;
        }
        if (auto project = Str(*sub, "projectId", false, "the Shared VPC host project ID")) {
          Check(CheckProjectId(*project), sub->path + ".projectId");
          cs.project_id = *project;
        }
        c.subnet = std::move(cs);
      }
    } else {
      if (auto net = Str(m, "network", true, "the VPC network name, e.g. default")) {
        Check(CheckNetworkName(*net), "spec.connector.network");
        c.network = *net;
      }
      if (auto cidr = Cidr(m, "ipCidrRange", true, "connector ipCidrRange", "10.8.0.0/28")) {
        c.ip_cidr_range = *cidr;
      }
    }
    const bool instances = m.Get("minInstances") || m.Get("maxInstances");
    if (auto n = Int(m, "minInstances", 2, 9)) c.min_instances = *n;
    if (auto n = Int(m, "maxInstances", 3, 10)) c.max_instances = *n;
    if (auto n = Int(m, "minThroughput", 200, 900)) c.min_throughput = *n;
    if (auto n = Int(m, "maxThroughput", 300, 1000)) c.max_throughput = *n;
    if (c.by_throughput()) {
      if (instances) {
        sink_.Error(c.where, "spec.connector",
                    "declare minInstances/maxInstances or minThroughput/maxThroughput, not both "
                    "(Serverless VPC Access lets instances win and ignores the throughput)");
      }
      if (c.min_throughput == 0) c.min_throughput = 200;
      if (c.max_throughput == 0) c.max_throughput = 1000;
      for (const auto& [key, v] : {std::pair<const char*, int>{"minThroughput", c.min_throughput},
                                   std::pair<const char*, int>{"maxThroughput", c.max_throughput}}) {
        if (v % 100 != 0) {
          sink_.Error(c.where, std::string("spec.connector.") + key,
                      std::string(key) + " " + std::to_string(v) + " must be a multiple of 100 (Mbps)");
        }
      }
      if (c.min_throughput >= c.max_throughput) {
        sink_.Error(c.where, "spec.connector.maxThroughput",
                    "maxThroughput (" + std::to_string(c.max_throughput) +
                        ") must be greater than minThroughput (" + std::to_string(c.min_throughput) + ")");
      }
    }
    static constexpr std::array<std::string_view, 3> kMachines = {"e2-micro", "f1-micro",
                                                                   "e2-standard-4"};
    if (auto i = Enum(m, "machineType", false, kMachines)) c.machine_type = std::string(kMachines[*i]);
    return c;
  }

  std::optional<Workload> DecodeWorkload(const YAML::Node& node, const std::string& path) {
    auto m = ReadMap(node, path);
    if (!m) return std::nullopt;
    Workload w;
    w.where = Loc(sink_, node);
    auto job = Str(*m, "job", false, "the Cloud Run job name");
    auto service = Str(*m, "service", false, "the Cloud Run service name");
    if (job && service) {
      sink_.Error(w.where, path,
                  "a workload is either job: NAME or service: NAME, not both; split it into two "
                  "workloads");
    } else if (job) {
      w.kind = WorkloadKind::kJob;
      w.name = *job;
      Check(CheckCloudRunJobName(*job), path + ".job");
    } else if (service) {
      w.kind = WorkloadKind::kService;
      w.name = *service;
      Check(CheckCloudRunServiceName(*service), path + ".service");
    } else if (!m->Get("job") && !m->Get("service")) {
      sink_.Error(w.where, path, "missing the workload's name; write job: NAME or service: NAME");
    }
    if (auto i = Enum(*m, "method", true, kConnectionMethodNames)) {
      w.method = static_cast<ConnectionMethod>(*i);
    }
    if (auto c = Str(*m, "container", false, "the container name")) {
      Check(CheckRfc1035Name(*c, "container"), path + ".container");
      w.container = *c;
    }
    if (auto e = Str(*m, "urlEnv", false, "DATABASE_URL")) {
      Check(CheckEnvVarName(*e), path + ".urlEnv");
      w.url_env = *e;
    }
    if (auto i = Enum(*m, "egress", false, kVpcEgressNames)) w.egress = static_cast<VpcEgress>(*i);
    if (auto dv = SubMap(*m, "directVpc", false, "{network: default, subnetwork: default}")) {
      DirectVpc d;
      if (auto net = Str(*dv, "network", true, "the VPC network name, e.g. default")) {
        Check(CheckNetworkName(*net), dv->path + ".network");
        d.network = *net;
      }
      if (auto sub = Str(*dv, "subnetwork", false, "the subnetwork name, e.g. default")) {
        Check(CheckSubnetworkRef(*sub), dv->path + ".subnetwork");
        d.subnetwork = *sub;
      }
      for (auto& [tag, tag_path] : List(*dv, "tags")) {
        if (!tag.IsScalar()) {
          sink_.Error(sink_.At(tag_path), tag_path, "expected a network tag, got " + TypeName(tag));
          continue;
        }
        Check(CheckRfc1035Name(tag.Scalar(), "network tag"), tag_path);
        d.tags.push_back(tag.Scalar());
      }
      w.direct_vpc = std::move(d);
    }
    if (auto pv = SubMap(*m, "psc", false, "{endpoint: NAME, address: NAME, network: default}")) {
      PscEndpoint p;
      if (auto v = Str(*pv, "endpoint", true, "the forwarding rule name, e.g. saleor-db-psc")) {
        Check(CheckRfc1035Name(*v, "endpoint"), pv->path + ".endpoint");
        p.endpoint = *v;
      }
      if (auto v = Str(*pv, "address", true, "the internal address name, e.g. saleor-db-psc-ip")) {
        Check(CheckRfc1035Name(*v, "address"), pv->path + ".address");
        p.address = *v;
      }
      if (auto v = Str(*pv, "network", true, "the VPC network name, e.g. default")) {
        Check(CheckNetworkName(*v), pv->path + ".network");
        p.network = *v;
      }
      if (auto v = Str(*pv, "subnetwork", false, "the subnetwork name, e.g. default")) {
        Check(CheckSubnetworkRef(*v), pv->path + ".subnetwork");
        p.subnetwork = *v;
      }
      w.psc = std::move(p);
    }
    if (auto db = SubMap(*m, "database", true, "{name: DB, user: USER, passwordSecret: projects/P/secrets/S/versions/latest}")) {
      if (auto name = Str(*db, "name", true, "the database name, e.g. saleor")) {
        Check(CheckDatabaseIdentifier(*name, "database name", false), db->path + ".name");
        w.database.name = *name;
      }
      if (auto user = Str(*db, "user", true, "the database user, e.g. saleor")) {
        Check(CheckDatabaseIdentifier(*user, "database user", true), db->path + ".user");
        w.database.user = *user;
      }
      if (auto secret = Str(*db, "passwordSecret", false, "projects/P/secrets/S/versions/latest")) {
        Check(CheckSecretVersionRef(*secret), db->path + ".passwordSecret");
        w.database.password_secret = *secret;
      }
      if (auto env = Str(*db, "passwordEnv", false, "PGPASSWORD")) {
        Check(CheckEnvVarName(*env), db->path + ".passwordEnv");
        w.database.password_env = *env;
      }
    }
    return w;
  }

  void DecodePolicy(const MapView& m, Policy& p) {
    if (auto i = Enum(m, "mode", false, kPolicyModeNames)) p.mode = static_cast<PolicyMode>(*i);
    if (auto b = Bool(m, "pruneAuthorizedNetworks")) p.prune_authorized_networks = *b;
    if (auto b = Bool(m, "allowWorldOpen")) p.allow_world_open = *b;
    if (auto b = Bool(m, "paused")) p.paused = *b;
    if (auto b = Bool(m, "allowIrreversible")) p.allow_irreversible = *b;
    if (auto b = Bool(m, "allowReplace")) p.allow_replace = *b;
    if (auto b = Bool(m, "verify")) p.verify = *b;
    const std::string path = "spec.policy.resyncInterval";
    if (const YAML::Node* v = Value(m, "resyncInterval", false, "60s")) {
      // The shared grammar without bounds first, so a malformed value and
      // an out-of-range one get their own messages.
      auto d = v->IsScalar() ? ParseDuration(v->Scalar(), "", {std::chrono::milliseconds(0)})
                             : StatusOr<std::chrono::milliseconds>(InvalidArgumentError("not a scalar"));
      if (!d.ok()) {
        sink_.Error(sink_.At(path), path,
                    "expected a duration with a unit such as 60s, 5m or 1h30m, got " + TypeName(*v) +
                        (v->IsScalar() ? " (" + d.status().message() + ")" : ""));
      } else if (*d < std::chrono::seconds(10) || *d > std::chrono::hours(24) ||
                 d->count() % 1000 != 0) {
        sink_.Error(sink_.At(path), path,
                    "resyncInterval must be whole seconds between 10s and 24h; write e.g. 60s or 5m");
      } else {
        p.resync_interval = std::chrono::duration_cast<std::chrono::seconds>(*d);
      }
    }
  }

  Sink& sink_;
};

}  // namespace

std::span<const KeySpec> Keys() { return kKeys; }

std::string PatternOf(std::string_view path) {
  std::string out;
  bool in_index = false;
  for (char c : path) {
    if (c == '[') { in_index = true; out += c; continue; }
    if (c == ']') in_index = false;
    if (!in_index) out += c;
  }
  return out;
}

bool ScanDocument(Sink& sink, const YAML::Node& root) { return Scanner(sink).Run(root); }

std::optional<Intent> DecodeDocument(Sink& sink, const YAML::Node& root) {
  return Decoder(sink).Document(root);
}

}  // namespace dbconnd::config::internal
