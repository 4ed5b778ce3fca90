// Unread counts for a page of members, from one read of each channel's newest messages.
//
// A channel state lists up to 100 members, each with its unread count (getstream.io's
// `read[].unread_messages`). Counting with one index range scan per member costs members ×
// unread index entries: 100 members of a busy channel, each with hundreds of unread messages, made
// the member page the most expensive statement of a channel query. Instead the store reads each
// channel's newest countable messages once (timestamp and sender, newest first, back to the oldest
// read position on the page) and every member's count is taken from that window here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace streambed::unread {

// Counting stops here, as getstream.io's does: its SDKs document "the backend limit of 255" for a
// channel's unread count (stream-chat-react-native's ChannelPreviewUnreadCount.maxUnreadCount). A
// badge needs no more, and the cost of a count stays bounded: the window below is what a channel
// query reads per channel when a listed member has read nothing.
constexpr int kMaxCount = 255;
// How many of a channel's newest countable messages one window holds: the cap plus room for the
// member's own messages and those of users it muted, which do not count.
constexpr int kWindowSize = kMaxCount + 200;

struct Candidate {
    int64_t created_at = 0;  // micros
    std::string user_id;
};

// A channel's newest countable messages (not thread-only, silent, shadowed, deleted or system)
// created after `since`, newest first. `complete` when it holds all of them (fewer than
// kWindowSize were found).
struct Window {
    std::vector<Candidate> newest_first;
    bool complete = true;
};

// The unread count of a member whose messages count from `read_until` (micros, exclusive: the
// latest of its last read, its cleared history and the channel's truncation), or nullopt when the
// window cannot tell: it ends before `read_until` and more messages may lie beyond it. `muted`
// lists the users whose messages the member does not count.
std::optional<int> Count(const Window& window, int64_t read_until, std::string_view user_id,
                         const std::vector<std::string>& muted);

}  // namespace streambed::unread
