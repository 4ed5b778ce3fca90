#include "fcgi-app/unread.h"

#include <algorithm>

namespace streambed::unread {

std::optional<int> Count(const Window& window, int64_t read_until, std::string_view user_id,
                         const std::vector<std::string>& muted) {
    int count = 0;
    for (const Candidate& c : window.newest_first) {
        if (c.created_at <= read_until) return count;  // everything after read_until was seen
        if (c.user_id == user_id || std::find(muted.begin(), muted.end(), c.user_id) != muted.end()) continue;
        if (++count >= kMaxCount) return kMaxCount;
    }
    if (window.complete) return count;
    return std::nullopt;
}

}  // namespace streambed::unread
