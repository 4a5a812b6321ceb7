#include "config/model.h"

namespace dbconnd::config {

std::string_view ToString(SslMode m) {
  switch (m) {
    case SslMode::kAllowUnencryptedAndEncrypted: return "ALLOW_UNENCRYPTED_AND_ENCRYPTED";
    case SslMode::kEncryptedOnly: return "ENCRYPTED_ONLY";
    case SslMode::kTrustedClientCertificateRequired: return "TRUSTED_CLIENT_CERTIFICATE_REQUIRED";
  }
  return "";
}

std::string_view ToString(ConnectionMethod m) {
  switch (m) {
    case ConnectionMethod::kPrivateIp: return "privateIp";
    case ConnectionMethod::kCloudSqlSocket: return "cloudSqlSocket";
    case ConnectionMethod::kPublicIp: return "publicIp";
    case ConnectionMethod::kPsc: return "psc";
  }
  return "";
}

std::string_view ToString(WorkloadKind k) { return k == WorkloadKind::kJob ? "job" : "service"; }
std::string_view ToString(PolicyMode m) { return m == PolicyMode::kEnforce ? "enforce" : "observe"; }
std::string_view ToString(VpcEgress e) {
  return e == VpcEgress::kPrivateRangesOnly ? "PRIVATE_RANGES_ONLY" : "ALL_TRAFFIC";
}

std::string_view ToString(ConnectorEnforcement e) {
  return e == ConnectorEnforcement::kRequired ? "REQUIRED" : "NOT_REQUIRED";
}

}  // namespace dbconnd::config
