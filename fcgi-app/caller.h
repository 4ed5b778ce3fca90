#pragma once
// Who called: what the request's token says (auth.cpp fills it).

#include <cstdint>
#include <optional>
#include <string>

namespace streambed {

struct Caller {
    std::string user_id;  // the token's user; empty for a server token
    bool server = false;  // server token: admin rights, acts for the user named in the request
    bool anonymous = false;
    std::optional<int64_t> token_issued_at;
};

}  // namespace streambed
