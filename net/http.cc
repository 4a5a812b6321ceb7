#include "net/http.h"

#include <strings.h>

namespace dbconnd::net {

const std::string* FindHeader(const std::vector<Header>& headers, std::string_view name) {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      return &h.value;
    }
  }
  return nullptr;
}

namespace {
void Set(std::vector<Header>& headers, std::string name, std::string value) {
  for (auto& h : headers) {
    if (h.name.size() == name.size() &&
        strncasecmp(h.name.data(), name.data(), name.size()) == 0) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}
}  // namespace

void HttpRequest::SetHeader(std::string name, std::string value) {
  Set(headers, std::move(name), std::move(value));
}
void HttpResponse::SetHeader(std::string name, std::string value) {
  Set(headers, std::move(name), std::move(value));
}

}  // namespace dbconnd::net
