#pragma once
// Google resource names dbconnd builds, spelled in one place.
//
// A VPC network is "projects/P/global/networks/N". Which P depends on the
// API: Cloud SQL's settings.ipConfiguration.privateNetwork takes the project
// ID; Service Networking's connections (network= filter and body) take the
// project NUMBER, and refuse the ID.

#include <string>
#include <string_view>

namespace dbconnd::gcp {

// "projects/PROJECT/global/networks/NETWORK", PROJECT an ID or a number.
inline std::string NetworkName(std::string_view project, std::string_view network) {
  std::string out;
  out.reserve(26 + project.size() + network.size());
  out.append("projects/").append(project).append("/global/networks/").append(network);
  return out;
}

}  // namespace dbconnd::gcp
