#include "gcp/endpoints.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>

#include "common/ascii.h"

namespace dbconnd::gcp {
namespace {

std::string Lower(std::string_view s) { return common::AsciiLower(s); }

std::string ValidNames() {
  std::string out;
  for (auto n : Endpoints::kNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

bool ValidHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
}

// Splits "scheme://authority" of a root or token URI; `rest` gets the path.
struct Parts {
  std::string scheme;
  std::string host;  // IPv6 keeps its brackets
  std::string port;  // digits or empty
  std::string rest;
};

StatusOr<Parts> Split(std::string_view url) {
  Parts p;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) {
    return InvalidArgumentError("expected scheme://host[:port], e.g. http://127.0.0.1:8080");
  }
  p.scheme = Lower(url.substr(0, sep));
  if (p.scheme != "http" && p.scheme != "https") {
    return InvalidArgumentError("scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  size_t path_start = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, path_start);
  p.rest = path_start == std::string_view::npos ? "" : std::string(rest.substr(path_start));
  if (authority.find('@') != std::string_view::npos) {
    return InvalidArgumentError("user info is not allowed in an endpoint URL");
  }
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return InvalidArgumentError("unterminated IPv6 host");
    p.host = Lower(authority.substr(0, close + 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return InvalidArgumentError("junk after IPv6 host");
      port = after.substr(1);
    }
    for (char c : p.host.substr(1, p.host.size() - 2)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') {
        return InvalidArgumentError("invalid IPv6 host");
      }
    }
  } else {
    size_t colon = authority.rfind(':');
    p.host = Lower(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
    if (!std::all_of(p.host.begin(), p.host.end(), ValidHostChar)) {
      return InvalidArgumentError("invalid character in host");
    }
  }
  if (p.host.empty() || p.host == "[]") return InvalidArgumentError("a host is required");
  if (!port.empty() || (authority.size() > 0 && authority.back() == ':')) {
    int value = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value < 1 ||
        value > 65535) {
      return InvalidArgumentError("port must be a number from 1 to 65535");
    }
    p.port = std::to_string(value);
  }
  return p;
}

std::string Join(const Parts& p) {
  return p.scheme + "://" + p.host + (p.port.empty() ? "" : ":" + p.port);
}

}  // namespace

GetEnv ProcessEnv() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

StatusOr<std::string> NormalizeServiceRoot(std::string_view url) {
  auto parts = Split(url);
  if (!parts.ok()) return parts.status();
  if (!parts->rest.empty() && parts->rest != "/") {
    return InvalidArgumentError(
        "an endpoint is a service root (scheme://host[:port]); no path, query or fragment");
  }
  return Join(*parts);
}

namespace {
std::string* MutableRoot(Endpoints& e, std::string_view name) {
  return const_cast<std::string*>(e.Find(name));
}
}  // namespace

const std::string* Endpoints::Find(std::string_view name) const {
  if (name == "sqladmin") return &sqladmin;
  if (name == "run") return &run;
  if (name == "vpcaccess") return &vpcaccess;
  if (name == "servicenetworking") return &servicenetworking;
  if (name == "compute") return &compute;
  if (name == "secretmanager") return &secretmanager;
  if (name == "cloudresourcemanager") return &cloudresourcemanager;
  if (name == "oauth2") return &oauth2;
  if (name == "metadata") return &metadata;
  return nullptr;
}

Status Endpoints::Set(std::string_view name, std::string_view url) {
  std::string lname = Lower(name);
  std::string* root = MutableRoot(*this, lname);
  if (root == nullptr) {
    return InvalidArgumentError("unknown endpoint name \"" + std::string(name) +
                                "\"; valid names: " + ValidNames());
  }
  auto normalized = NormalizeServiceRoot(url);
  if (!normalized.ok()) {
    return InvalidArgumentError("endpoint " + lname + ": " + normalized.status().message());
  }
  *root = *std::move(normalized);
  if (lname == "oauth2") oauth2_overridden = true;
  if (lname == "metadata") metadata_overridden = true;
  return OkStatus();
}

Status Endpoints::Override(std::string_view spec) {
  size_t eq = spec.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgumentError("expected NAME=URL (e.g. sqladmin=http://127.0.0.1:8080); "
                                "valid names: " + ValidNames());
  }
  return Set(spec.substr(0, eq), spec.substr(eq + 1));
}

Status Endpoints::ApplyEnvironment(const GetEnv& getenv_fn) {
  if (const char* host = getenv_fn("GCE_METADATA_HOST"); host != nullptr && *host != '\0') {
    Status s = Set("metadata", std::string("http://") + host);
    if (!s.ok()) return std::move(s).Annotate("GCE_METADATA_HOST");
  }
  for (std::string_view name : kNames) {
    std::string var = "DBCONND_ENDPOINT_";
    for (char c : name) var.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    const char* value = getenv_fn(var.c_str());
    if (value == nullptr || *value == '\0') continue;
    Status s = Set(name, value);
    if (!s.ok()) return std::move(s).Annotate(var);
  }
  return OkStatus();
}

bool IsLoopbackHost(std::string_view host_in) {
  std::string host = Lower(host_in);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1") return true;
  // 127.0.0.0/8, dotted quad only.
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      return false;
    }
  }
  return dots == 3;
}

Status Endpoints::CheckTransport(bool allow_insecure) const {
  if (allow_insecure) return OkStatus();
  for (std::string_view name : kNames) {
    // The metadata server speaks plain http on the host's own link.
    if (name == "metadata") continue;
    const std::string& root = *Find(name);
    auto parts = Split(root);
    if (!parts.ok() || parts->scheme != "http") continue;
    if (IsLoopbackHost(parts->host)) continue;
    return InvalidArgumentError(
        "endpoint " + std::string(name) + "=" + root +
        " is plain http to a host other than loopback: access tokens and database settings "
        "would cross the network unencrypted. Use https, or pass --allow-insecure-endpoints "
        "if the path is protected some other way");
  }
  return OkStatus();
}

std::string Endpoints::MetadataHost() const {
  auto parts = Split(metadata);
  if (!parts.ok()) return "";
  return parts->host;
}

std::string Endpoints::TokenUri() const { return oauth2 + "/token"; }

std::string Endpoints::ResolveTokenUri(std::string_view key_token_uri) const {
  if (key_token_uri.empty()) return TokenUri();
  if (!oauth2_overridden) return std::string(key_token_uri);
  auto parts = Split(key_token_uri);
  std::string path = parts.ok() && !parts->rest.empty() ? parts->rest : "/token";
  return oauth2 + path;
}

}  // namespace dbconnd::gcp
