#pragma once
// Google resource-name rules, checked at load time so a bad name fails in
// `dbconnd validate` instead of as a 400 in the middle of an apply. Each
// returns OK or InvalidArgument with a message saying what to write.

#include <string_view>

#include "common/status.h"

namespace dbconnd::config {

// 6-30 chars, [a-z][a-z0-9-]*[a-z0-9].
Status CheckProjectId(std::string_view id);
// Decimal digits, no leading zero, at most 20 digits.
Status CheckProjectNumber(std::string_view number);
// e.g. us-central1, europe-west4, northamerica-northeast1.
Status CheckRegion(std::string_view region);
// Cloud SQL instance ID: [a-z][a-z0-9-]*, no trailing hyphen, and
// "project:instance" at most 98 chars.
Status CheckInstanceId(std::string_view id, std::string_view project);
// Serverless VPC Access connector ID: [a-z][-a-z0-9]*[a-z0-9], shorter than
// 21 chars where each hyphen counts as two.
Status CheckConnectorId(std::string_view id);
// Cloud Run job (<= 63) / service (<= 49) ID: [a-z]([-a-z0-9]*[a-z0-9])?.
Status CheckCloudRunJobName(std::string_view name);
Status CheckCloudRunServiceName(std::string_view name);
// RFC 1035 label, 1-63 chars: VPC networks, PSA range names, metadata.name,
// container names.
Status CheckRfc1035Name(std::string_view name, std::string_view what);
// Environment variable name: [A-Za-z_][A-Za-z0-9_]*.
Status CheckEnvVarName(std::string_view name);
// "projects/P/secrets/S/versions/V".
Status CheckSecretVersionRef(std::string_view ref);

}  // namespace dbconnd::config
