#include "reconcilers/db_url.h"

#include "config/cidr.h"

namespace dbconnd::reconcilers {

SecretVersionRef ParseSecretVersion(std::string_view ref) {
  constexpr std::string_view kVersions = "/versions/";
  const auto pos = ref.rfind(kVersions);
  if (pos == std::string_view::npos) return {std::string(ref), "latest"};
  return {std::string(ref.substr(0, pos)), std::string(ref.substr(pos + kVersions.size()))};
}

std::optional<int> CidrPrefixLength(std::string_view cidr) {
  // The loader's parser (config/cidr.h), lenient about host bits: live
  // values were accepted by Google already. A bare address is a /32.
  if (cidr.find('/') == std::string_view::npos) {
    return config::ParseIpv4Address(cidr).ok() ? std::optional<int>(32) : std::nullopt;
  }
  auto parsed = config::ParseIpv4CidrLenient(cidr);
  if (!parsed.ok()) return std::nullopt;
  return parsed->prefix;
}

std::string CidrAddress(std::string_view cidr) {
  return std::string(cidr.substr(0, cidr.find('/')));
}

}  // namespace dbconnd::reconcilers
