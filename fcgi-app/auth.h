#pragma once
// Who is calling: the token rules of API.md "Auth" and STREAM-PROTOCOL.md §1, per surface.

#include "common/config.h"
#include "fcgi-app/call.h"
#include "fcgi-app/http.h"
#include "fcgi-app/router.h"

namespace streambed {

// Throws ApiError: on the Stream surface 401 with getstream.io's code (2 bad api key, 40 expired,
// 41 not yet valid, 43 bad signature); on room surfaces 401 without a token and 403 with a bad
// one; on internal routes 403 unless a server token is given.
Caller Authenticate(const Request& request, Access access, const Config& config);

// The bare JWT from an Authorization header value ("Bearer " prefix accepted).
std::string_view BareToken(std::string_view authorization);

}  // namespace streambed
