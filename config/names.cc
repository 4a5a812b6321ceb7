#include "config/names.h"

#include <string>

namespace dbconnd::config {
namespace {

bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Short, printable echo of user text for messages (the text is a name, not a
// secret: names are checked only after the literal-password scan).
std::string Q(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) out += (c >= 0x20 && c < 0x7f) ? c : '?';
  if (s.size() > 80) out += "...";
  return out + "\"";
}

// [a-z]([-a-z0-9]*[a-z0-9])? : the common Google ID shape.
bool IsLowerDashName(std::string_view s) {
  if (s.empty() || !IsLower(s.front())) return false;
  if (s.back() == '-') return false;
  for (char c : s) {
    if (!IsLower(c) && !IsDigit(c) && c != '-') return false;
  }
  return true;
}

Status CheckLowerDash(std::string_view s, std::string_view what, size_t max_len) {
  if (s.empty()) return InvalidArgumentError(std::string(what) + " must not be empty");
  if (s.size() > max_len) {
    return InvalidArgumentError(std::string(what) + " " + Q(s) + " is " +
                                std::to_string(s.size()) + " characters long; the limit is " +
                                std::to_string(max_len));
  }
  if (!IsLowerDashName(s)) {
    return InvalidArgumentError(std::string(what) + " " + Q(s) +
                                " must start with a lowercase letter, contain only lowercase "
                                "letters, digits and hyphens, and not end with a hyphen");
  }
  return OkStatus();
}

}  // namespace

Status CheckProjectId(std::string_view id) {
  if (id.find(':') != std::string_view::npos) {
    return InvalidArgumentError("project " + Q(id) +
                                ": domain-scoped project IDs (example.com:proj) are not supported");
  }
  if (id.size() < 6 || id.size() > 30) {
    return InvalidArgumentError("project " + Q(id) +
                                " must be 6 to 30 characters long (the project ID, not its "
                                "display name)");
  }
  return CheckLowerDash(id, "project", 30);
}

Status CheckProjectNumber(std::string_view number) {
  bool digits = !number.empty() && number.size() <= 20 && number[0] != '0';
  for (char c : number) digits = digits && IsDigit(c);
  if (!digits) {
    return InvalidArgumentError("projectNumber " + Q(number) +
                                " must be the project's number, e.g. 493827161123 (gcloud "
                                "projects describe PROJECT --format='value(projectNumber)')");
  }
  return OkStatus();
}

Status CheckRegion(std::string_view region) {
  // letters, '-', letters, digits: "us-central1", "northamerica-northeast2".
  size_t i = 0;
  auto letters = [&] {
    size_t s = i;
    while (i < region.size() && IsLower(region[i])) ++i;
    return i > s;
  };
  bool ok = letters() && i < region.size() && region[i++] == '-' && letters();
  size_t digits_start = i;
  while (ok && i < region.size() && IsDigit(region[i])) ++i;
  ok = ok && i > digits_start && i == region.size() && region.size() <= 40;
  if (!ok) {
    return InvalidArgumentError("region " + Q(region) +
                                " is not a Google Cloud region; write one like us-central1 or "
                                "europe-west4 (a region, not a zone such as us-central1-a)");
  }
  return OkStatus();
}

Status CheckInstanceId(std::string_view id, std::string_view project) {
  // Cloud SQL caps "project:instance" at 98 characters.
  size_t max = project.size() < 97 ? 97 - project.size() : 1;
  return CheckLowerDash(id, "instance name", max);
}

Status CheckConnectorId(std::string_view id) {
  DBCONND_RETURN_IF_ERROR(CheckLowerDash(id, "connector name", 25));
  size_t cost = id.size();
  for (char c : id) cost += c == '-' ? 1 : 0;
  if (cost >= 21) {
    return InvalidArgumentError("connector name " + Q(id) + " counts as " + std::to_string(cost) +
                                " characters (each hyphen counts twice); it must count fewer "
                                "than 21, e.g. drop hyphens or shorten it");
  }
  return OkStatus();
}

Status CheckCloudRunJobName(std::string_view name) { return CheckLowerDash(name, "job name", 63); }
Status CheckCloudRunServiceName(std::string_view name) {
  return CheckLowerDash(name, "service name", 49);
}

Status CheckRfc1035Name(std::string_view name, std::string_view what) {
  return CheckLowerDash(name, what, 63);
}

Status CheckEnvVarName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 255 && !IsDigit(name[0]);
  for (char c : name) {
    ok = ok && (IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z') || c == '_');
  }
  if (!ok) {
    return InvalidArgumentError("environment variable name " + Q(name) +
                                " may contain only letters, digits and underscores and must not "
                                "start with a digit, e.g. DATABASE_URL");
  }
  return OkStatus();
}

Status CheckSecretVersionRef(std::string_view ref) {
  // projects/P/secrets/S/versions/V with non-empty, slash-free parts.
  constexpr std::string_view kParts[] = {"projects", "secrets", "versions"};
  std::string_view rest = ref;
  bool ok = true;
  for (std::string_view part : kParts) {
    if (rest.substr(0, part.size() + 1) != std::string(part) + "/") { ok = false; break; }
    rest.remove_prefix(part.size() + 1);
    size_t slash = rest.find('/');
    std::string_view value = rest.substr(0, slash);
    if (value.empty() || value.size() > 255) { ok = false; break; }
    for (char c : value) {
      bool good = IsLower(c) || IsDigit(c) || (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
      if (!good) ok = false;
    }
    if (part == "versions") { ok = ok && slash == std::string_view::npos; break; }
    if (slash == std::string_view::npos) { ok = false; break; }
    rest.remove_prefix(slash + 1);
  }
  if (!ok) {
    // Never echo the value: if it is not a reference it may be the password.
    return InvalidArgumentError(
        "passwordSecret must be a Secret Manager reference "
        "projects/PROJECT/secrets/NAME/versions/VERSION (e.g. versions/latest), never the "
        "password itself");
  }
  return OkStatus();
}

}  // namespace dbconnd::config
