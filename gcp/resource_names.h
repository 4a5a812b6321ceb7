#pragma once
// Google resource names dbconnd builds, spelled in one place.
//
// A VPC network is "projects/P/global/networks/N". Which P depends on the
// API: Cloud SQL's settings.ipConfiguration.privateNetwork takes the project
// ID; Service Networking's connections (network= filter and body) take the
// project NUMBER, and refuse the ID.
//
// The builders join the segments as given. A REST client that puts a name
// in a URL passes segments through EncodeSegment (rest_client.h) first.

#include <initializer_list>
#include <string>
#include <string_view>

namespace dbconnd::gcp {

namespace names_internal {
inline std::string Join(std::initializer_list<std::string_view> parts) {
  std::size_t size = 0;
  for (auto p : parts) size += p.size();
  std::string out;
  out.reserve(size);
  for (auto p : parts) out.append(p);
  return out;
}
}  // namespace names_internal

// "projects/PROJECT/global/networks/NETWORK", PROJECT an ID or a number.
inline std::string NetworkName(std::string_view project, std::string_view network) {
  return names_internal::Join({"projects/", project, "/global/networks/", network});
}

// A reserved peering range is a Compute global address:
// "projects/PROJECT/global/addresses/RANGE".
inline std::string GlobalAddressName(std::string_view project, std::string_view range) {
  return names_internal::Join({"projects/", project, "/global/addresses/", range});
}

// The parent of a project's Compute resources: "projects/PROJECT/global"
// (global addresses and operations), or with a REGION
// "projects/PROJECT/regions/REGION" (addresses, forwardingRules,
// subnetworks and operations of that region).
inline std::string ComputeScopeName(std::string_view project, std::string_view region) {
  if (region.empty()) return names_internal::Join({"projects/", project, "/global"});
  return names_internal::Join({"projects/", project, "/regions/", region});
}

// "projects/PROJECT/locations/REGION": the parent of connectors (VPC Access)
// and of jobs and services (Cloud Run v2).
inline std::string LocationName(std::string_view project, std::string_view region) {
  return names_internal::Join({"projects/", project, "/locations/", region});
}

// "projects/PROJECT/locations/REGION/connectors/CONNECTOR": what Cloud Run's
// vpcAccess.connector takes.
inline std::string ConnectorName(std::string_view project, std::string_view region,
                                 std::string_view connector) {
  return names_internal::Join(
      {"projects/", project, "/locations/", region, "/connectors/", connector});
}

// A Cloud SQL instance's connection name "PROJECT:REGION:INSTANCE" (the
// instance's connectionName; the Cloud SQL connectors' and the run.googleapis.com
// /cloudsql-instances annotation's spelling).
inline std::string SqlConnectionName(std::string_view project, std::string_view region,
                                     std::string_view instance) {
  return names_internal::Join({project, ":", region, ":", instance});
}

// Service Networking's producer service for private services access, as
// connections name it in their `service` field.
inline constexpr std::string_view kServiceNetworkingService =
    "services/servicenetworking.googleapis.com";

// The collection of private services access connections:
// "services/servicenetworking.googleapis.com/connections".
inline std::string ServiceNetworkingConnections() {
  return names_internal::Join({kServiceNetworkingService, "/connections"});
}

}  // namespace dbconnd::gcp
