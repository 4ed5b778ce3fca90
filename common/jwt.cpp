#include "common/jwt.h"

#include <openssl/crypto.h>

#include <chrono>
#include <cmath>

#include <jwt/jwt.hpp>
#include <rapidjson/document.h>

#include "common/base64.h"

namespace streambed {

namespace {

TokenResult Fail(TokenError error, std::string reason) {
    TokenResult r;
    r.error = error;
    r.reason = std::move(reason);
    return r;
}

// `lenient` also takes the standard alphabet: the SDK's devToken() encodes with btoa().
bool DecodeJsonPart(std::string_view part, rapidjson::Document& doc, bool lenient) {
    auto bytes = Base64UrlDecode(part);
    if (!bytes && lenient) bytes = Base64Decode(part);
    if (!bytes) return false;
    doc.Parse(bytes->data(), bytes->size());
    return !doc.HasParseError() && doc.IsObject();
}

// A NumericDate claim: nullopt when absent; `bad` set when present but not a finite number.
std::optional<int64_t> NumericDate(const rapidjson::Document& payload, const char* name, bool& bad) {
    auto it = payload.FindMember(name);
    if (it == payload.MemberEnd() || it->value.IsNull()) return std::nullopt;
    if (!it->value.IsNumber() || !std::isfinite(it->value.GetDouble()) || std::abs(it->value.GetDouble()) > 1e15) {
        bad = true;
        return std::nullopt;
    }
    return static_cast<int64_t>(std::floor(it->value.GetDouble()));
}

jwt::jwt_object NewHs256(std::string_view key) {
    return jwt::jwt_object{jwt::params::algorithm("HS256"), jwt::params::secret(std::string(key))};
}

}  // namespace

TokenResult VerifyToken(std::string_view token, std::string_view secret, const TokenPolicy& policy,
                        int64_t now_seconds) {
    if (token.empty()) return Fail(TokenError::kMalformed, "token is empty");
    if (token.size() > kMaxTokenBytes) return Fail(TokenError::kMalformed, "token is too long");

    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
        return Fail(TokenError::kMalformed, "token must have three parts");
    std::string_view header_part = token.substr(0, dot1);
    std::string_view payload_part = token.substr(dot1 + 1, dot2 - dot1 - 1);
    std::string_view signature_part = token.substr(dot2 + 1);
    if (header_part.empty() || payload_part.empty()) return Fail(TokenError::kMalformed, "token is malformed");

    bool dev_signature = signature_part == "devtoken";
    rapidjson::Document header;
    rapidjson::Document payload;
    if (!DecodeJsonPart(header_part, header, dev_signature))
        return Fail(TokenError::kMalformed, "token header is malformed");
    if (!DecodeJsonPart(payload_part, payload, dev_signature))
        return Fail(TokenError::kMalformed, "token payload is malformed");

    // Only HS256: the algorithm is the server's choice, never the token's (RFC 8725 §2.1).
    auto alg = header.FindMember("alg");
    if (alg == header.MemberEnd() || !alg->value.IsString() || std::string_view(alg->value.GetString()) != "HS256")
        return Fail(TokenError::kAlgorithm, "token algorithm must be HS256");
    // We know no critical extensions, so a token that requires one cannot be honoured (RFC 7515 §4.1.11).
    if (header.HasMember("crit")) return Fail(TokenError::kAlgorithm, "token header has unsupported crit");
    // jku, x5u, jwk and kid are ignored: the only key is the app secret, so they cannot inject one.

    Token out;
    if (dev_signature) {
        if (!policy.allow_dev_tokens) return Fail(TokenError::kSignature, "development tokens are disabled");
        out.dev = true;
    } else {
        auto expected = jwt::HMACSign<jwt::algo::HS256>::sign(
            jwt::string_view(secret.data(), secret.size()),
            jwt::string_view(token.data(), header_part.size() + 1 + payload_part.size()));
        auto given = Base64UrlDecode(signature_part);
        if (expected.second || !given || given->size() != expected.first.size() ||
            CRYPTO_memcmp(given->data(), expected.first.data(), given->size()) != 0) {
            return Fail(TokenError::kSignature, "token signature is not valid");
        }
    }

    bool bad_date = false;
    out.expires_at = NumericDate(payload, "exp", bad_date);
    auto not_before = NumericDate(payload, "nbf", bad_date);
    out.issued_at = NumericDate(payload, "iat", bad_date);
    if (bad_date) return Fail(TokenError::kMalformed, "token exp, nbf and iat must be numbers");
    if (out.expires_at && *out.expires_at + policy.leeway_seconds < now_seconds)
        return Fail(TokenError::kExpired, "token has expired");
    if (not_before && *not_before - policy.leeway_seconds > now_seconds)
        return Fail(TokenError::kNotYetValid, "token is not valid yet");

    auto server = payload.FindMember("server");
    if (server != payload.MemberEnd() && server->value.IsBool() && server->value.GetBool()) {
        // A development token can never be a server token: that would be admin without a secret.
        if (out.dev) return Fail(TokenError::kSignature, "development tokens cannot be server tokens");
        out.server = true;
    }
    auto user = payload.FindMember("user_id");
    if (user != payload.MemberEnd() && user->value.IsString() && user->value.GetStringLength() > 0) {
        out.user_id.assign(user->value.GetString(), user->value.GetStringLength());
    } else if (user != payload.MemberEnd() && !user->value.IsNull()) {
        return Fail(TokenError::kMissingClaim, "token user_id must be a non-empty string");
    }
    if (!out.server && out.user_id.empty()) return Fail(TokenError::kMissingClaim, "token has no user_id claim");

    auto scope = payload.FindMember("scope");
    if (scope != payload.MemberEnd() && scope->value.IsString()) out.scope = scope->value.GetString();
    auto cid = payload.FindMember("cid");
    if (cid != payload.MemberEnd() && cid->value.IsString()) out.cid = cid->value.GetString();

    TokenResult result;
    result.token = std::move(out);
    return result;
}

std::string SignUserToken(std::string_view user_id, std::string_view secret, std::optional<int64_t> expires_at,
                          std::optional<int64_t> issued_at) {
    jwt::jwt_object obj = NewHs256(secret);
    obj.add_claim("user_id", std::string(user_id));
    if (issued_at) obj.add_claim("iat", *issued_at);
    if (expires_at) obj.add_claim("exp", *expires_at);
    return obj.signature();
}

std::string SignServerToken(std::string_view secret) {
    jwt::jwt_object obj = NewHs256(secret);
    obj.add_claim("server", true);
    return obj.signature();
}

std::string SignWsTicket(std::string_view user_id, std::string_view cid, int64_t issued_at, int64_t expires_at,
                         std::string_view secret) {
    jwt::jwt_object obj = NewHs256(secret);
    obj.add_claim("user_id", std::string(user_id));
    obj.add_claim("scope", std::string("ws"));
    if (!cid.empty()) obj.add_claim("cid", std::string(cid));
    obj.add_claim("iat", issued_at);
    obj.add_claim("exp", expires_at);
    return obj.signature();
}

}  // namespace streambed
