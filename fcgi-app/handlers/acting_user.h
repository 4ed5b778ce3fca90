#pragma once
// Whose resource a call acts on: the token's user, or, with a server token, the user the request
// names (getstream.io's rule: server-side calls pass `user_id` in the body or the query).

#include <optional>
#include <string>
#include <string_view>

#include "fcgi-app/call.h"

namespace streambed {

// `named` is the user_id the request carries, if any. A server token must name a valid user id
// (400 otherwise); a user token may name only itself (403 otherwise); an anonymous caller has no
// resources (403).
std::string ActingUserId(const Call& call, std::optional<std::string_view> named);

}  // namespace streambed
