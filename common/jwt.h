#pragma once
// Tokens: getstream.io's HS256 JWTs (user, server and development tokens) and our signed
// WebSocket tickets. Signing uses cpp-jwt. Verification parses the token itself and uses
// cpp-jwt's HMAC only to compute the expected signature, because cpp-jwt's own decode checks
// `exp` before the signature, compares signatures in variable time, and wraps `nbf - leeway`
// around zero. The order here is RFC 8725's: shape, algorithm, signature, then claims.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace streambed {

enum class TokenError {
    kNone,
    kMalformed,     // not three base64url parts of JSON objects, or too long
    kAlgorithm,     // anything but HS256 (none, RS256, ES256, ...)
    kSignature,     // wrong signature
    kExpired,       // exp + leeway < now
    kNotYetValid,   // nbf - leeway > now
    kMissingClaim,  // neither user_id nor server: true
};

struct Token {
    std::string user_id;  // empty for a server token
    bool server = false;
    bool dev = false;  // development token (literal signature "devtoken")
    std::optional<int64_t> issued_at;
    std::optional<int64_t> expires_at;
    // "ws" on tickets minted by GET /api/ws-auth/: accepted only by the WebSocket endpoints.
    std::string scope;
    // On a ticket scoped to one room, the room's cid.
    std::string cid;
};

struct TokenPolicy {
    bool allow_dev_tokens = false;
    int64_t leeway_seconds = 5;
};

struct TokenResult {
    TokenError error = TokenError::kNone;
    std::string reason;  // for the client; never contains the token or the secret
    Token token;
    bool ok() const { return error == TokenError::kNone; }
};

// Longer tokens are refused before any parsing (getstream.io's tokens are a few hundred bytes).
constexpr size_t kMaxTokenBytes = 8192;

TokenResult VerifyToken(std::string_view jwt, std::string_view secret, const TokenPolicy& policy, int64_t now_seconds);

std::string SignUserToken(std::string_view user_id, std::string_view secret,
                          std::optional<int64_t> expires_at = std::nullopt,
                          std::optional<int64_t> issued_at = std::nullopt);
std::string SignServerToken(std::string_view secret);
std::string SignWsTicket(std::string_view user_id, std::string_view cid, int64_t issued_at, int64_t expires_at,
                         std::string_view secret);

}  // namespace streambed
