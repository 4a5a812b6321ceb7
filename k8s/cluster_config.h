#pragma once
// Where the Kubernetes API is and how to authenticate to it: the pod's
// service account (in-cluster) or a kubeconfig's current context
// (out-of-cluster runs). Only bearer tokens are supported; verification of
// the API server's certificate is always on.
//
// Secrets: the bearer token is never put into a Status message, and
// Describe() never contains it.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace dbconnd::k8s {

inline constexpr char kServiceAccountDir[] = "/var/run/secrets/kubernetes.io/serviceaccount";

using GetEnv = std::function<std::optional<std::string>(std::string_view)>;
// The process environment.
GetEnv ProcessEnv();

class ClusterConfig {
 public:
  // "https://10.96.0.1:443" or "https://[fd00::1]:443"; no trailing slash.
  const std::string& server() const { return server_; }
  // PEM bundle for net::ClientOptions::ca_file; empty = the system store.
  // For a kubeconfig with certificate-authority-data this is a private (0600)
  // temporary file that lives as long as any copy of this ClusterConfig.
  const std::string& ca_file() const { return ca_file_; }
  // The namespace to work in when the caller names none.
  const std::string& default_namespace() const { return namespace_; }
  // Safe to log: "in-cluster (service account dir /var/run/...)" or
  // "kubeconfig /home/u/.kube/config, context gke_x".
  const std::string& Describe() const { return description_; }

  // The bearer token to send now. A token file is re-read on every call
  // because projected service-account tokens are rotated by the kubelet
  // (about hourly) and the file is tiny. Errors: FAILED_PRECONDITION naming
  // the file (never its content) when it is missing or empty.
  StatusOr<std::string> BearerToken() const;

  // Builds a config by hand (tests, --kube-api-server overrides).
  static ClusterConfig Make(std::string server, std::string ca_file, std::string ns,
                            std::string token, std::string token_file, std::string description);

 private:
  friend StatusOr<ClusterConfig> LoadInClusterConfig(std::string, GetEnv);
  friend StatusOr<ClusterConfig> LoadKubeconfig(std::string, std::string, std::string);

  std::string server_;
  std::string ca_file_;
  std::string namespace_ = "default";
  std::string token_;       // static token (kubeconfig `token`): a secret
  std::string token_file_;  // re-read per request when set
  std::string description_;
  // Keeps a temporary CA file alive; the last copy removes it.
  std::shared_ptr<const std::string> owned_ca_file_;
};

// In-cluster: KUBERNETES_SERVICE_HOST / KUBERNETES_SERVICE_PORT (an IPv6 host
// is bracketed), `service_account_dir`/token (re-read per request), ca.crt
// and namespace. Errors: FAILED_PRECONDITION naming what is missing.
StatusOr<ClusterConfig> LoadInClusterConfig(std::string service_account_dir = kServiceAccountDir,
                                            GetEnv getenv_fn = ProcessEnv());

// A kubeconfig file: `context` (empty = current-context) selects the cluster
// (server, certificate-authority or certificate-authority-data) and the user
// (token or tokenFile). Relative paths are relative to the kubeconfig's
// directory, as kubectl resolves them. Base64 CA data is written to a 0600
// file in `temp_dir` (empty = $TMPDIR or /tmp). Client certificates, exec and
// auth-provider plugins and insecure-skip-tls-verify are refused with
// FAILED_PRECONDITION saying so. Only the first file of a KUBECONFIG list is
// read by LoadDefaultClusterConfig.
StatusOr<ClusterConfig> LoadKubeconfig(std::string path, std::string context = "",
                                       std::string temp_dir = "");

// Discovery like client-go's: an explicit kubeconfig path wins; else
// in-cluster when KUBERNETES_SERVICE_HOST is set; else the first entry of
// $KUBECONFIG; else $HOME/.kube/config. FAILED_PRECONDITION listing what was
// tried when nothing fits.
StatusOr<ClusterConfig> LoadDefaultClusterConfig(std::string kubeconfig_path = "",
                                                 GetEnv getenv_fn = ProcessEnv(),
                                                 std::string service_account_dir =
                                                     kServiceAccountDir);

}  // namespace dbconnd::k8s
