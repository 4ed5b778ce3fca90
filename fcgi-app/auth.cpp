#include "fcgi-app/auth.h"

#include "common/clock.h"
#include "common/errors.h"
#include "common/jwt.h"

namespace streambed {

std::string_view BareToken(std::string_view authorization) {
    constexpr std::string_view kBearer = "Bearer ";
    if (authorization.size() > kBearer.size() && authorization.substr(0, kBearer.size()) == kBearer)
        authorization.remove_prefix(kBearer.size());
    return authorization;
}

namespace {

int StreamCode(TokenError error) {
    switch (error) {
        case TokenError::kExpired: return code::kTokenExpired;
        case TokenError::kNotYetValid: return code::kTokenNotValidYet;
        case TokenError::kMissingClaim: return code::kAuthFailed;
        default: return code::kTokenSignature;
    }
}

// A JWT from the Authorization header, verified. `bad_status` is 401 on the Stream surface and
// 403 on the room surfaces.
Caller FromToken(std::string_view token, const Config& config, int bad_status) {
    TokenPolicy policy;
    policy.allow_dev_tokens = config.dev_mode;
    TokenResult result = VerifyToken(token, config.api_secret, policy, NowSeconds());
    if (!result.ok()) throw ApiError(bad_status, StreamCode(result.error), "JWTAuth error: " + result.reason);
    if (result.token.scope == "ws") {
        // Tickets travel in URLs: they open a WebSocket and nothing else.
        throw ApiError(bad_status, code::kTokenSignature,
                       "JWTAuth error: WebSocket tickets are accepted only by the WebSocket endpoints");
    }
    Caller caller;
    caller.user_id = result.token.user_id;
    caller.server = result.token.server;
    caller.token_issued_at = result.token.issued_at;
    return caller;
}

}  // namespace

Caller Authenticate(const Request& request, Access access, const Config& config) {
    switch (access) {
        case Access::kPublic: return Caller{};

        case Access::kStream: {
            auto api_key = request.query.Get("api_key");
            if (!api_key || *api_key != config.api_key)
                throw Unauthorized(code::kBadApiKey, "api_key not valid, make sure the API key of your app is right");
            if (request.auth_type == "anonymous" && request.authorization.empty()) {
                Caller caller;
                caller.anonymous = true;
                return caller;
            }
            if (request.authorization.empty())
                throw Unauthorized(code::kAuthFailed, "Authorization header is missing");
            Caller caller = FromToken(BareToken(request.authorization), config, 401);
            auto query_user = request.query.Get("user_id");
            if (!caller.server && query_user && !query_user->empty() && *query_user != caller.user_id)
                throw Unauthorized(code::kAuthFailed, "user_id in the query does not match the token");
            return caller;
        }

        case Access::kRoom: {
            if (request.authorization.empty()) throw Unauthorized(code::kAuthFailed, "Authorization header is missing");
            return FromToken(BareToken(request.authorization), config, 403);
        }

        case Access::kInternal: {
            Caller caller = request.authorization.empty()
                                ? throw Forbidden("internal route: server token required")
                                : FromToken(BareToken(request.authorization), config, 403);
            if (!caller.server) throw Forbidden("internal route: server token required");
            return caller;
        }
    }
    throw Forbidden("unknown access rule");
}

}  // namespace streambed
