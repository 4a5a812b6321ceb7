#pragma once
// Plain HTTP message types shared by the client and the server. No Beast here:
// callers above net/ never see it.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace dbconnd::net {

struct Header {
  std::string name;
  std::string value;
};

// Case-insensitive lookup; nullptr when absent.
const std::string* FindHeader(const std::vector<Header>& headers, std::string_view name);

struct HttpRequest {
  std::string method = "GET";
  // Client side: an absolute URL, "https://host[:port]/path?query".
  // Server side: the request target as received, "/path?query".
  std::string url;
  std::vector<Header> headers;
  std::string body;
  // Server side only: the peer, "127.0.0.1:54321".
  std::string remote;

  const std::string* FindHeader(std::string_view name) const {
    return net::FindHeader(headers, name);
  }
  void SetHeader(std::string name, std::string value);
};

struct HttpResponse {
  int status = 200;
  std::vector<Header> headers;
  std::string body;

  const std::string* FindHeader(std::string_view name) const {
    return net::FindHeader(headers, name);
  }
  void SetHeader(std::string name, std::string value);
};

// Per-request deadlines. Each phase is bounded separately and the whole
// request is bounded by `total`; a timeout names the phase that ran out.
struct Deadlines {
  std::chrono::milliseconds connect{10'000};
  std::chrono::milliseconds handshake{10'000};
  std::chrono::milliseconds write{30'000};
  std::chrono::milliseconds read{60'000};
  std::chrono::milliseconds total{120'000};
};

}  // namespace dbconnd::net
