#pragma once
// Pure field-level diffs: (desired, live) -> changes with an impact class.
//
// A desired resource is a copy of the live one with the intent's fields
// applied (or, for something that does not exist yet, the resource to
// create). Fields the intent does not own therefore compare equal and never
// show up: in sync means an empty vector, which is what makes a converged
// system cost zero writes.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gcp/types.h"
#include "reconcilers/plan.h"

namespace dbconnd::reconcilers {

// Change paths of the Cloud SQL instance fields DiffInstance compares: the
// differ writes them, the journal keys prior values by them and rollback
// reads them back. Compared as whole values (or taken apart with
// ParseInstancePath), never matched as display text.
inline constexpr std::string_view kIpv4EnabledPath = "settings.ipConfiguration.ipv4Enabled";
inline constexpr std::string_view kSslModePath = "settings.ipConfiguration.sslMode";
inline constexpr std::string_view kPrivateNetworkPath = "settings.ipConfiguration.privateNetwork";
inline constexpr std::string_view kAllocatedIpRangePath =
    "settings.ipConfiguration.allocatedIpRange";
// "settings.ipConfiguration.authorizedNetworks[<cidr>]" and
// "settings.databaseFlags[<name>]": a list member keyed by CIDR / flag name.
inline constexpr std::string_view kAuthorizedNetworksPath =
    "settings.ipConfiguration.authorizedNetworks";
inline constexpr std::string_view kDatabaseFlagsPath = "settings.databaseFlags";
inline constexpr std::string_view kConnectorEnforcementPath = "settings.connectorEnforcement";

// An instance change path taken apart.
struct InstancePath {
  enum class Field {
    kIpv4Enabled,
    kSslMode,
    kPrivateNetwork,
    kAllocatedIpRange,
    kAuthorizedNetwork,  // key: the CIDR
    kDatabaseFlag,       // key: the flag name
    kConnectorEnforcement,
  };
  Field field = Field::kIpv4Enabled;
  std::string key;
};
// nullopt for a path DiffInstance never produces.
std::optional<InstancePath> ParseInstancePath(std::string_view path);

// Compares ipv4Enabled, privateNetwork, allocatedIpRange, authorizedNetworks
// (as a set keyed by CIDR; order is not significant; expiration times as
// instants, so "…T00:00:00Z" and "…T01:00:00+01:00" are the same), sslMode
// and databaseFlags (as a map keyed by name).
std::vector<FieldChange> DiffInstance(const gcp::SqlInstance& desired,
                                      const gcp::SqlInstance& live);
// The change path of one authorized network, keyed by its CIDR:
// "settings.ipConfiguration.authorizedNetworks[203.0.113.0/24]".
std::string AuthorizedNetworkPath(std::string_view cidr);
// "settings.databaseFlags[cloudsql.iam_authentication]".
std::string DatabaseFlagPath(std::string_view name);

// Two entries for the same CIDR that Cloud SQL treats alike: same label, and
// expiration times that are the same instant (or both unset).
bool SameAclEntry(const gcp::AclEntry& a, const gcp::AclEntry& b);

// The PATCH that turns `live` into `desired`: only differing fields are
// engaged; lists are sent whole (Cloud SQL replaces them); settings_version is
// live's.
gcp::SqlInstancePatch MakeInstancePatch(const gcp::SqlInstance& desired,
                                        const gcp::SqlInstance& live);

// network and ipCidrRange only; both are immutable, so any change carries the
// replace marker. Machine type and instance counts are creation-time defaults
// that dbconnd does not take over from whoever tuned them later.
std::vector<FieldChange> DiffConnector(const gcp::Connector& desired, const gcp::Connector& live);

// Containers (matched by position; the planner never adds or drops one):
// env vars by name, volume mounts by name; Cloud SQL volumes by name;
// vpcAccess. Values of password-like env vars are never shown.
std::vector<FieldChange> DiffWorkload(const gcp::RunWorkload& desired,
                                      const gcp::RunWorkload& live);

std::vector<FieldChange> DiffGlobalAddress(const gcp::GlobalAddress& desired,
                                           const gcp::GlobalAddress& live);

// "https://www.googleapis.com/compute/v1/projects/P/global/networks/N",
// "/projects/P/global/networks/N" -> "projects/P/global/networks/N".
std::string NormalizeNetwork(std::string_view network);
// The short network name: the text after the last '/'.
std::string NetworkShortName(std::string_view network);

// How an env var is shown in a plan: secret refs by reference, literals with
// any URL password redacted, password-like names fully masked.
std::string DisplayEnvValue(const gcp::EnvVar& env);

}  // namespace dbconnd::reconcilers
