#include "k8s/cluster_config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <boost/json.hpp>

#include "common/base64.h"
#include "common/write_all.h"
#include "config/yaml_json.h"

namespace dbconnd::k8s {
namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return FailedPreconditionError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Trim(std::string s) {
  const char* ws = " \t\r\n";
  s.erase(0, s.find_first_not_of(ws) == std::string::npos ? s.size() : s.find_first_not_of(ws));
  auto last = s.find_last_not_of(ws);
  s.erase(last == std::string::npos ? 0 : last + 1);
  return s;
}

// Host as it goes into a URL authority: IPv6 literals need brackets.
std::string UrlHost(const std::string& host) {
  if (host.find(':') != std::string::npos && host.front() != '[') return "[" + host + "]";
  return host;
}

// Removes the file when the last ClusterConfig copy holding it goes away.
std::shared_ptr<const std::string> OwnTempFile(std::string path) {
  return std::shared_ptr<const std::string>(new std::string(std::move(path)),
                                            [](const std::string* p) {
                                              ::unlink(p->c_str());
                                              delete p;
                                            });
}

StatusOr<std::string> WritePrivateTempFile(const std::string& dir_in, const std::string& data) {
  std::string dir = dir_in;
  if (dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    dir = (t != nullptr && *t != '\0') ? t : "/tmp";
  }
  std::string templ = dir + "/dbconnd-k8s-ca-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  // mkstemp creates the file 0600, so the CA never sits world-readable.
  int fd = ::mkstemp(buf.data());
  if (fd < 0) {
    return FailedPreconditionError("cannot create a temporary CA file in " + dir + ": " +
                                   std::strerror(errno));
  }
  if (const int err = common::WriteAll(fd, data); err != 0) {
    ::close(fd);
    ::unlink(buf.data());
    return FailedPreconditionError(std::string("cannot write the temporary CA file: ") +
                                   std::strerror(err));
  }
  ::close(fd);
  return std::string(buf.data());
}

std::string ResolveRelative(const std::string& base_dir, const std::string& p) {
  if (p.empty() || p.front() == '/') return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

namespace json = boost::json;

const json::value* Field(const json::value* n, const char* key) {
  if (n == nullptr || !n->is_object()) return nullptr;
  return n->get_object().if_contains(key);
}

// `field` of the entry named `name` in a kubeconfig list such as `clusters`.
const json::value* FindNamed(const json::value* list, const std::string& name, const char* field) {
  if (list == nullptr || !list->is_array()) return nullptr;
  for (const auto& item : list->get_array()) {
    const json::value* n = Field(&item, "name");
    if (n && n->is_string() && n->get_string() == name) return Field(&item, field);
  }
  return nullptr;
}

// A scalar field's text; "" when absent, null or not a scalar.
std::string Str(const json::value* n, const char* key) {
  const json::value* v = Field(n, key);
  return v && v->is_string() ? std::string(v->get_string()) : "";
}

}  // namespace

GetEnv ProcessEnv() {
  return [](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

ClusterConfig ClusterConfig::Make(std::string server, std::string ca_file, std::string ns,
                                  std::string token, std::string token_file,
                                  std::string description) {
  ClusterConfig c;
  c.server_ = std::move(server);
  while (!c.server_.empty() && c.server_.back() == '/') c.server_.pop_back();
  c.ca_file_ = std::move(ca_file);
  if (!ns.empty()) c.namespace_ = std::move(ns);
  c.token_ = std::move(token);
  c.token_file_ = std::move(token_file);
  c.description_ = std::move(description);
  return c;
}

StatusOr<std::string> ClusterConfig::BearerToken() const {
  if (token_file_.empty()) {
    if (token_.empty()) return FailedPreconditionError("no bearer token configured (" + description_ + ")");
    return token_;
  }
  std::ifstream in(token_file_, std::ios::binary);
  if (!in) {
    return FailedPreconditionError("cannot read the Kubernetes token file " + token_file_ + ": " +
                                   std::strerror(errno));
  }
  std::ostringstream out;
  out << in.rdbuf();
  std::string token = Trim(out.str());
  if (token.empty()) return FailedPreconditionError("the Kubernetes token file " + token_file_ + " is empty");
  return token;
}

StatusOr<ClusterConfig> LoadInClusterConfig(std::string service_account_dir, GetEnv getenv_fn) {
  if (!getenv_fn) getenv_fn = ProcessEnv();
  auto host = getenv_fn("KUBERNETES_SERVICE_HOST");
  auto port = getenv_fn("KUBERNETES_SERVICE_PORT");
  std::vector<std::string> missing;
  if (!host || host->empty()) missing.push_back("KUBERNETES_SERVICE_HOST");
  if (!port || port->empty()) missing.push_back("KUBERNETES_SERVICE_PORT");
  const std::string token_file = service_account_dir + "/token";
  const std::string ca_file = service_account_dir + "/ca.crt";
  const std::string ns_file = service_account_dir + "/namespace";
  if (::access(token_file.c_str(), R_OK) != 0) missing.push_back(token_file);
  if (::access(ca_file.c_str(), R_OK) != 0) missing.push_back(ca_file);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return FailedPreconditionError(
        "not running in a Kubernetes pod with a service account: missing " + list +
        " (set automountServiceAccountToken, or pass --kubeconfig)");
  }
  ClusterConfig c;
  c.server_ = "https://" + UrlHost(*host) + ":" + *port;
  c.ca_file_ = ca_file;
  c.token_file_ = token_file;
  auto ns = ReadFile(ns_file);
  if (ns.ok() && !Trim(*ns).empty()) c.namespace_ = Trim(*ns);
  c.description_ = "in-cluster (service account dir " + service_account_dir + ")";
  // Fail now rather than on the first request when the token is unusable.
  auto token = c.BearerToken();
  if (!token.ok()) return token.status();
  return c;
}

StatusOr<ClusterConfig> LoadKubeconfig(std::string path, std::string context,
                                       std::string temp_dir) {
  auto text = ReadFile(path);
  if (!text.ok()) return FailedPreconditionError("kubeconfig: " + text.status().message());
  const std::string base_dir = fs::path(path).parent_path().string();
  const std::string where = "kubeconfig " + path;
  auto doc = config::YamlToJson(*text);
  if (!doc.ok()) return InvalidArgumentError(where + ": " + doc.status().message());
  const json::value* root = &*doc;
  if (!root->is_object()) return InvalidArgumentError(where + ": not a YAML mapping");
  if (context.empty()) context = Str(root, "current-context");
  if (context.empty()) {
    return FailedPreconditionError(where + ": no current-context set and none chosen");
  }
  const json::value* ctx = FindNamed(Field(root, "contexts"), context, "context");
  if (!ctx || !ctx->is_object()) return FailedPreconditionError(where + ": context \"" + context + "\" not found");
  const std::string cluster_name = Str(ctx, "cluster");
  const std::string user_name = Str(ctx, "user");
  const json::value* cluster = FindNamed(Field(root, "clusters"), cluster_name, "cluster");
  if (!cluster || !cluster->is_object()) {
    return FailedPreconditionError(where + ": cluster \"" + cluster_name + "\" of context \"" +
                                   context + "\" not found");
  }
  const std::string server = Str(cluster, "server");
  if (server.empty()) {
    return FailedPreconditionError(where + ": cluster \"" + cluster_name + "\" has no server");
  }
  if (server.rfind("https://", 0) != 0) {
    return FailedPreconditionError(where + ": cluster \"" + cluster_name +
                                   "\" server must be https:// (tokens are never sent in clear)");
  }
  if (Str(cluster, "insecure-skip-tls-verify") == "true") {
    return FailedPreconditionError(where + ": cluster \"" + cluster_name +
                                   "\" sets insecure-skip-tls-verify; dbconnd always verifies "
                                   "the API server certificate");
  }
  ClusterConfig c;
  c.server_ = server;
  while (!c.server_.empty() && c.server_.back() == '/') c.server_.pop_back();
  const std::string ca_data = Str(cluster, "certificate-authority-data");
  const std::string ca_path = Str(cluster, "certificate-authority");
  if (!ca_data.empty()) {
    auto pem = Base64Decode(ca_data, {.padding_optional = true, .skip_whitespace = true});
    if (!pem) {
      return InvalidArgumentError(where + ": cluster \"" + cluster_name +
                                  "\" certificate-authority-data is not base64");
    }
    // The HTTP client loads CAs from a file only.
    auto file = WritePrivateTempFile(temp_dir, *pem);
    if (!file.ok()) return file.status();
    c.ca_file_ = *file;
    c.owned_ca_file_ = OwnTempFile(*file);
  } else if (!ca_path.empty()) {
    c.ca_file_ = ResolveRelative(base_dir, ca_path);
    if (::access(c.ca_file_.c_str(), R_OK) != 0) {
      return FailedPreconditionError(where + ": certificate-authority " + c.ca_file_ +
                                     " is not readable");
    }
  }
  const std::string ns = Str(ctx, "namespace");
  if (!ns.empty()) c.namespace_ = ns;

  const json::value* user = FindNamed(Field(root, "users"), user_name, "user");
  if (!user || !user->is_object()) {
    return FailedPreconditionError(where + ": user \"" + user_name + "\" of context \"" +
                                   context + "\" not found or empty (a bearer token is needed)");
  }
  c.token_ = Str(user, "token");
  const std::string token_file = Str(user, "tokenFile");
  if (!token_file.empty()) c.token_file_ = ResolveRelative(base_dir, token_file);
  if (c.token_.empty() && c.token_file_.empty()) {
    std::string why;
    if (Field(user, "exec")) {
      why = "uses an exec credential plugin";
    } else if (Field(user, "auth-provider")) {
      why = "uses an auth-provider plugin";
    } else if (Field(user, "client-certificate") || Field(user, "client-certificate-data")) {
      why = "uses client certificates";
    } else {
      why = "has no token or tokenFile";
    }
    return FailedPreconditionError(
        where + ": user \"" + user_name + "\" " + why +
        "; dbconnd supports bearer tokens only (e.g. a ServiceAccount token in `token` or "
        "`tokenFile`)");
  }
  c.description_ = where + ", context " + context;
  auto token = c.BearerToken();
  if (!token.ok()) return token.status();
  return c;
}

StatusOr<ClusterConfig> LoadDefaultClusterConfig(std::string kubeconfig_path, GetEnv getenv_fn,
                                                 std::string service_account_dir) {
  if (!getenv_fn) getenv_fn = ProcessEnv();
  if (!kubeconfig_path.empty()) return LoadKubeconfig(kubeconfig_path);
  std::vector<std::string> tried;
  auto host = getenv_fn("KUBERNETES_SERVICE_HOST");
  if (host && !host->empty()) return LoadInClusterConfig(service_account_dir, getenv_fn);
  tried.push_back("in-cluster (KUBERNETES_SERVICE_HOST unset)");
  auto env = getenv_fn("KUBECONFIG");
  if (env && !env->empty()) {
    std::string first = env->substr(0, env->find(':'));
    return LoadKubeconfig(first);
  }
  tried.push_back("$KUBECONFIG (unset)");
  auto home = getenv_fn("HOME");
  if (home && !home->empty()) {
    std::string p = *home + "/.kube/config";
    if (::access(p.c_str(), R_OK) == 0) return LoadKubeconfig(p);
    tried.push_back(p + " (absent)");
  }
  std::string list;
  for (const auto& t : tried) list += (list.empty() ? "" : ", ") + t;
  return FailedPreconditionError("no Kubernetes API configuration found; tried " + list +
                                 "; pass --kubeconfig or run in a pod");
}

}  // namespace dbconnd::k8s
