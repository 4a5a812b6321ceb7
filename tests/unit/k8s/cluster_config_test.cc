#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "common/base64.h"
#include "k8s/cluster_config.h"
#include "test_util.h"

using dbconnd::Base64Decode;
using dbconnd::Base64DecodeOptions;
using dbconnd::StatusCode;
using dbconnd::k8s::ClusterConfig;
using dbconnd::k8s::GetEnv;
using dbconnd::k8s::LoadDefaultClusterConfig;
using dbconnd::k8s::LoadInClusterConfig;
using dbconnd::k8s::LoadKubeconfig;
using dbconnd::k8s::testing::TempDir;

namespace {

GetEnv Env(std::map<std::string, std::string> vars) {
  return [vars](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const char kPem[] = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";
// base64 of kPem
std::string PemBase64() {
  static const char* tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string in = kPem, out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 18; k >= 0; k -= 6) out += tbl[(v >> k) & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += tbl[(v >> 18) & 63];
    out += tbl[(v >> 12) & 63];
    out += tbl[(v >> 6) & 63];
    out += "=";
  }
  return out;
}

std::string ServiceAccountDir(const TempDir& dir, const std::string& token = "sa-token-1\n") {
  dir.Write("sa/token", token);
  dir.Write("sa/ca.crt", kPem);
  dir.Write("sa/namespace", "dbconnd-system");
  return (dir.path / "sa").string();
}

}  // namespace

TEST_CASE("in-cluster config reads the service account and service env", "[k8s][config]") {
  TempDir dir;
  std::string sa = ServiceAccountDir(dir);
  auto c = LoadInClusterConfig(sa, Env({{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                        {"KUBERNETES_SERVICE_PORT", "443"}}));
  REQUIRE(c.ok());
  CHECK(c->server() == "https://10.96.0.1:443");
  CHECK(c->ca_file() == sa + "/ca.crt");
  CHECK(c->default_namespace() == "dbconnd-system");
  CHECK(c->Describe().find("sa-token") == std::string::npos);
  auto t = c->BearerToken();
  REQUIRE(t.ok());
  CHECK(*t == "sa-token-1");

  // The kubelet rotates projected tokens: the next request sees the new one.
  dir.Write("sa/token", "sa-token-2");
  t = c->BearerToken();
  REQUIRE(t.ok());
  CHECK(*t == "sa-token-2");
}

TEST_CASE("in-cluster config brackets an IPv6 service host", "[k8s][config]") {
  TempDir dir;
  auto c = LoadInClusterConfig(ServiceAccountDir(dir), Env({{"KUBERNETES_SERVICE_HOST", "fd00:10:96::1"},
                                                            {"KUBERNETES_SERVICE_PORT", "6443"}}));
  REQUIRE(c.ok());
  CHECK(c->server() == "https://[fd00:10:96::1]:6443");
}

TEST_CASE("in-cluster config names everything that is missing", "[k8s][config]") {
  TempDir dir;
  auto c = LoadInClusterConfig((dir.path / "nothing").string(), Env({}));
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == StatusCode::kFailedPrecondition);
  const std::string& m = c.status().message();
  CHECK(m.find("KUBERNETES_SERVICE_HOST") != std::string::npos);
  CHECK(m.find("KUBERNETES_SERVICE_PORT") != std::string::npos);
  CHECK(m.find("nothing/token") != std::string::npos);
  CHECK(m.find("nothing/ca.crt") != std::string::npos);

  // An empty token file is an error that does not print the file content.
  std::string sa = ServiceAccountDir(dir, "  \n");
  auto empty = LoadInClusterConfig(sa, Env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}}));
  REQUIRE_FALSE(empty.ok());
  CHECK(empty.status().message().find("is empty") != std::string::npos);
}

TEST_CASE("kubeconfig: current context, CA data in a private temp file, token", "[k8s][config]") {
  TempDir dir;
  std::string kubeconfig = dir.Write("kube/config", R"(apiVersion: v1
kind: Config
current-context: prod
contexts:
- name: other
  context: {cluster: c2, user: u2}
- name: prod
  context:
    cluster: gke-prod
    user: deployer
    namespace: dbconnd
clusters:
- name: c2
  cluster: {server: "https://other.example:443"}
- name: gke-prod
  cluster:
    server: https://34.1.2.3/
    certificate-authority-data: )" + PemBase64() + R"(
users:
- name: u2
  user: {token: wrong}
- name: deployer
  user:
    token: secret-token-xyz
)");
  std::string ca_path;
  {
    auto c = LoadKubeconfig(kubeconfig, "", dir.path.string());
    REQUIRE(c.ok());
    CHECK(c->server() == "https://34.1.2.3");
    CHECK(c->default_namespace() == "dbconnd");
    CHECK(c->Describe().find("context prod") != std::string::npos);
    CHECK(c->Describe().find("secret-token") == std::string::npos);
    auto t = c->BearerToken();
    REQUIRE(t.ok());
    CHECK(*t == "secret-token-xyz");
    ca_path = c->ca_file();
    REQUIRE(std::filesystem::exists(ca_path));
    struct stat st {};
    REQUIRE(::stat(ca_path.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    std::ifstream in(ca_path);
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    CHECK(content == kPem);
    ClusterConfig copy = *c;  // copies share the file
    c = dbconnd::InternalError("drop");
    CHECK(std::filesystem::exists(ca_path));
  }
  // The last copy removed the temporary CA.
  CHECK_FALSE(std::filesystem::exists(ca_path));

  // Another context chosen explicitly.
  auto other = LoadKubeconfig(kubeconfig, "other", dir.path.string());
  REQUIRE(other.ok());
  CHECK(other->server() == "https://other.example:443");
  CHECK(other->default_namespace() == "default");
  CHECK(other->ca_file().empty());
}

TEST_CASE("kubeconfig: relative certificate-authority and tokenFile", "[k8s][config]") {
  TempDir dir;
  dir.Write("kube/certs/ca.pem", kPem);
  dir.Write("kube/tok", "file-token\n");
  std::string kubeconfig = dir.Write("kube/config", R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://k8s.example:6443", certificate-authority: certs/ca.pem}}]
users: [{name: u, user: {tokenFile: tok}}]
)");
  auto c = LoadKubeconfig(kubeconfig);
  REQUIRE(c.ok());
  CHECK(c->ca_file() == (dir.path / "kube/certs/ca.pem").string());
  auto t = c->BearerToken();
  REQUIRE(t.ok());
  CHECK(*t == "file-token");
}

TEST_CASE("kubeconfig: unsupported or broken setups fail clearly without secrets", "[k8s][config]") {
  TempDir dir;
  auto load = [&](const std::string& users, const std::string& cluster_extra = "",
                  const std::string& server = "https://k.example") {
    std::string p = dir.Write("config", "current-context: x\n"
                                        "contexts: [{name: x, context: {cluster: c, user: u}}]\n"
                                        "clusters: [{name: c, cluster: {server: \"" + server + "\"" +
                                            cluster_extra + "}}]\nusers: " + users + "\n");
    return LoadKubeconfig(p, "", dir.path.string());
  };
  auto exec = load("[{name: u, user: {exec: {command: gke-gcloud-auth-plugin}}}]");
  REQUIRE_FALSE(exec.ok());
  CHECK(exec.status().code() == StatusCode::kFailedPrecondition);
  CHECK(exec.status().message().find("exec credential plugin") != std::string::npos);

  auto certs = load("[{name: u, user: {client-certificate-data: QUJD, client-key-data: c2VjcmV0}}]");
  REQUIRE_FALSE(certs.ok());
  CHECK(certs.status().message().find("client certificates") != std::string::npos);
  CHECK(certs.status().message().find("c2VjcmV0") == std::string::npos);

  auto insecure = load("[{name: u, user: {token: t0ps3cret}}]", ", insecure-skip-tls-verify: true");
  REQUIRE_FALSE(insecure.ok());
  CHECK(insecure.status().message().find("insecure-skip-tls-verify") != std::string::npos);
  CHECK(insecure.status().message().find("t0ps3cret") == std::string::npos);

  auto plain = load("[{name: u, user: {token: t0ps3cret}}]", "", "http://k.example");
  REQUIRE_FALSE(plain.ok());
  CHECK(plain.status().message().find("https://") != std::string::npos);

  auto bad_ca = load("[{name: u, user: {token: t}}]", ", certificate-authority-data: \"%%%\"");
  REQUIRE_FALSE(bad_ca.ok());
  CHECK(bad_ca.status().message().find("not base64") != std::string::npos);

  std::string p = dir.Write("nocontext", "contexts: []\n");
  auto none = LoadKubeconfig(p);
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().message().find("no current-context") != std::string::npos);
  auto missing = LoadKubeconfig(p, "ghost");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().message().find("\"ghost\" not found") != std::string::npos);

  std::string broken = dir.Write("broken", "current-context: [unclosed\n");
  auto syntax = LoadKubeconfig(broken);
  REQUIRE_FALSE(syntax.ok());
  CHECK(syntax.status().code() == StatusCode::kInvalidArgument);
}

TEST_CASE("default discovery: explicit, in-cluster, KUBECONFIG, HOME", "[k8s][config]") {
  TempDir dir;
  std::string sa = ServiceAccountDir(dir);
  std::string kc = dir.Write("kc", R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://from-kubeconfig:443"}}]
users: [{name: u, user: {token: t}}]
)");
  dir.Write("home/.kube/config", R"(current-context: x
contexts: [{name: x, context: {cluster: c, user: u}}]
clusters: [{name: c, cluster: {server: "https://from-home:443"}}]
users: [{name: u, user: {token: t}}]
)");
  auto in_cluster_env = Env({{"KUBERNETES_SERVICE_HOST", "10.0.0.1"},
                             {"KUBERNETES_SERVICE_PORT", "443"},
                             {"KUBECONFIG", kc}});
  auto a = LoadDefaultClusterConfig(kc, in_cluster_env, sa);
  REQUIRE(a.ok());
  CHECK(a->server() == "https://from-kubeconfig:443");
  auto b = LoadDefaultClusterConfig("", in_cluster_env, sa);
  REQUIRE(b.ok());
  CHECK(b->server() == "https://10.0.0.1:443");
  auto c = LoadDefaultClusterConfig("", Env({{"KUBECONFIG", kc + ":/nonexistent"}}), sa);
  REQUIRE(c.ok());
  CHECK(c->server() == "https://from-kubeconfig:443");
  auto d = LoadDefaultClusterConfig("", Env({{"HOME", (dir.path / "home").string()}}), sa);
  REQUIRE(d.ok());
  CHECK(d->server() == "https://from-home:443");
  auto e = LoadDefaultClusterConfig("", Env({{"HOME", (dir.path / "nohome").string()}}), sa);
  REQUIRE_FALSE(e.ok());
  CHECK(e.status().message().find("KUBERNETES_SERVICE_HOST unset") != std::string::npos);
}

TEST_CASE("certificate-authority-data as kubeconfig writers emit it", "[k8s][config]") {
  // Unpadded or line-wrapped data is accepted, as kubectl accepts it.
  const Base64DecodeOptions kubeconfig{.padding_optional = true, .skip_whitespace = true};
  CHECK(*Base64Decode("aGVsbG8=", kubeconfig) == "hello");
  CHECK(*Base64Decode("aGVsbG8", kubeconfig) == "hello");
  CHECK(*Base64Decode("aGVs\nbG8=\n", kubeconfig) == "hello");
  CHECK(*Base64Decode(PemBase64(), kubeconfig) == kPem);
  CHECK_FALSE(Base64Decode("a$b=", kubeconfig));
  CHECK_FALSE(Base64Decode("aGVsbG8=x", kubeconfig));
}
