#include "fcgi-app/handlers/acting_user.h"

#include "common/errors.h"
#include "fcgi-app/store/users.h"

namespace streambed {

std::string ActingUserId(const Call& call, std::optional<std::string_view> named) {
    const Caller& caller = call.caller();
    if (caller.server) {
        if (!named || named->empty()) throw BadRequest("user_id is required with a server token", "user_id");
        if (!IsValidUserId(*named)) throw BadRequest("user_id has characters outside [A-Za-z0-9@_.!-]", "user_id");
        return std::string(*named);
    }
    if (caller.anonymous || caller.user_id.empty()) throw Forbidden("anonymous users cannot do this");
    if (named && !named->empty() && *named != caller.user_id)
        throw Forbidden("user_id can only be set with a server token; it must match the token's user otherwise");
    return caller.user_id;
}

}  // namespace streambed
