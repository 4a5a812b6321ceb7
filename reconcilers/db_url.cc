#include "reconcilers/db_url.h"

#include <cctype>

namespace dbconnd::reconcilers {

SecretVersionRef ParseSecretVersion(std::string_view ref) {
  constexpr std::string_view kVersions = "/versions/";
  const auto pos = ref.rfind(kVersions);
  if (pos == std::string_view::npos) return {std::string(ref), "latest"};
  return {std::string(ref.substr(0, pos)), std::string(ref.substr(pos + kVersions.size()))};
}

std::optional<int> CidrPrefixLength(std::string_view cidr) {
  const auto slash = cidr.find('/');
  std::string_view addr = cidr.substr(0, slash);
  int dots = 0;
  for (char c : addr) {
    if (c == '.') {
      ++dots;
    } else if (!std::isdigit(static_cast<unsigned char>(c))) {
      return std::nullopt;
    }
  }
  if (dots != 3) return std::nullopt;
  if (slash == std::string_view::npos) return 32;
  std::string_view len = cidr.substr(slash + 1);
  if (len.empty() || len.size() > 2) return std::nullopt;
  int n = 0;
  for (char c : len) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > 32) return std::nullopt;
  return n;
}

std::string CidrAddress(std::string_view cidr) {
  return std::string(cidr.substr(0, cidr.find('/')));
}

}  // namespace dbconnd::reconcilers
