#pragma once
// Small pure helpers for secret references and CIDRs (connection URLs: common/db_url.h). Kept
// here (not in config/) so the planner does not depend on work elsewhere.

#include <optional>
#include <string>
#include <string_view>

#include "common/db_url.h"

namespace dbconnd::reconcilers {

// Connection URL parsing lives in common/ (the fuzz build covers it).
using ::dbconnd::DbUrl;
using ::dbconnd::EncodeUserInfo;
using ::dbconnd::ParseDbUrl;
using ::dbconnd::QueryParam;
using ::dbconnd::RedactUrl;

// "projects/P/secrets/S/versions/V" -> {"projects/P/secrets/S", "V"};
// without "/versions/" the version is "latest".
struct SecretVersionRef {
  std::string secret;
  std::string version;
};
SecretVersionRef ParseSecretVersion(std::string_view ref);

// Prefix length of an IPv4 CIDR ("10.0.0.0/8" -> 8, bare address -> 32), or
// nullopt when malformed.
std::optional<int> CidrPrefixLength(std::string_view cidr);
// The address part of a CIDR ("10.20.0.0/16" -> "10.20.0.0").
std::string CidrAddress(std::string_view cidr);

}  // namespace dbconnd::reconcilers
