#pragma once
// Channel state for one or many channels (ChannelAPIResponse), loaded with a fixed number of
// batched queries whatever the number of channels: messages, pinned messages, members and read
// state, watchers, drafts, then every user and reaction they refer to.

#include <optional>
#include <string>
#include <vector>

#include "fcgi-app/call.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/hydrate.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/wire.h"

namespace streambed {

// Which messages a page holds (STREAM-PROTOCOL.md §6), as the SDK asks for them.
struct Paging {
    int limit = 25;
    std::optional<std::string> id_lt, id_lte, id_gt, id_gte, id_around;
    std::optional<int64_t> created_at_before, created_at_before_or_equal, created_at_after, created_at_after_or_equal,
        created_at_around;

    static Paging FromJson(const JsonValue* object, int default_limit, int max_limit);
    static Paging FromQuery(const Call& call, int default_limit, int max_limit);
};

// Messages of a thread, ascending, resolved against (created_at, pk): cursors name messages by
// id, and ids are random, so the cursor message is looked up first. (A channel's page is part of
// its state: ChannelStates.)
std::vector<MessageRow> PageOfThread(Call& call, const MessageRow& parent, const Paging& paging);

// Messages at or before this are hidden from the member (truncation, cleared history).
std::optional<int64_t> VisibleAfter(const ChannelRow& channel, const std::optional<MemberRow>& membership);

struct StateOptions {
    int message_limit = 25;
    std::optional<Paging> paging;  // single-channel queries with cursors
    int member_limit = 100;
    int member_offset = 0;
    int watcher_limit = 25;
    int presence_members = 0;  // the ids of the first N members of each channel, for presence
};

class ChannelStates {
public:
    // Loads the state of `channels` (already opened for `actor`), in their order.
    void Load(Call& call, const Actor& actor, std::vector<OpenChannel> channels, const StateOptions& options);
    void Write(JsonWriter& w, size_t index) const { WriteChannelState(w, states_[index], context_); }
    size_t size() const { return states_.size(); }
    MessageContext& context() { return context_; }
    const std::vector<OpenChannel>& channels() const { return channels_; }
    // StateOptions::presence_members' ids, each once.
    const std::vector<std::string>& presence_ids() const { return presence_ids_; }

private:
    std::vector<OpenChannel> channels_;
    std::vector<MessageRow> messages_;
    std::vector<MessageRow> pinned_;
    std::vector<MemberRow> members_;
    std::vector<MemberRow> memberships_;
    std::vector<std::string> presence_ids_;
    std::vector<ChannelState> states_;
    MessageContext context_;
};

}  // namespace streambed
