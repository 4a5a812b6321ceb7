#pragma once
// The one seam between gcp/ and the HTTP transport: gcp/ codes against the
// abstract net::HttpClient only, so tests substitute an in-memory fake.

#include "net/http_client.h"
