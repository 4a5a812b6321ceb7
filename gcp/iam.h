#pragma once
// What dbconnd reads about secrets and IAM, to check run-time prerequisites
// before a workload is patched: a Secret Manager version's metadata (never
// its payload) and IAM policies (a secret's, a project's). Google's shapes:
// secretmanager v1 SecretVersion, Policy (same in cloudresourcemanager v3).

#include <string>
#include <vector>

namespace dbconnd::gcp {

struct SecretVersionInfo {
  std::string name;   // projects/NUMBER/secrets/S/versions/N (Google answers with the number)
  std::string state;  // ENABLED, DISABLED, DESTROYED
};

struct IamBinding {
  std::string role;                  // roles/secretmanager.secretAccessor
  std::vector<std::string> members;  // serviceAccount:EMAIL, user:..., group:..., allUsers
  bool conditional = false;          // has a condition: granted only sometimes
};

struct IamPolicy {
  std::vector<IamBinding> bindings;  // absent in an empty policy: []
};

}  // namespace dbconnd::gcp
