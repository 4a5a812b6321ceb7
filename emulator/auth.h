#pragma once
// Crypto for the emulator's OAuth2 endpoint: RS256 JWT verification with a
// registered service-account public key, and token minting/hashing. Issued
// tokens are stored only as SHA-256 hashes so state dumps hold no secrets.

#include <boost/json/object.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace dbconnd::emulator {

// Returns the decoded claims when `jwt` is a well-formed RS256 JWT signed by
// the key in `public_key_pem` (SubjectPublicKeyInfo, PKCS#1 or an X.509
// certificate). Does not check claims. UNAUTHENTICATED otherwise.
StatusOr<boost::json::object> VerifyRs256(std::string_view jwt, std::string_view public_key_pem);

// Decodes the claims of a JWT without verifying it (to find "iss").
StatusOr<boost::json::object> PeekClaims(std::string_view jwt);

// Checks that the PEM parses as a public key.
Status CheckPublicKey(std::string_view public_key_pem);

// "ya29.emu." + 48 hex chars from the OS RNG.
std::string MintToken();
std::string Sha256Hex(std::string_view data);

}  // namespace dbconnd::emulator
