#pragma once
// Rows of the chat model as the store reads them (sql/002_chat.sql). Times are microseconds since
// the epoch; JSON columns are kept as their text (written to the wire without re-parsing where
// possible).

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace streambed {

struct ChannelTypeRow {
    std::string name;
    std::string policy;       // "members" or "public_read"
    std::string config_json;  // the ChannelConfig flags, without name and times
    int64_t created_at = 0;
    int64_t updated_at = 0;
    // Flags read on hot paths, parsed once from config_json.
    bool typing_events = true;
    bool read_events = true;
    bool connect_events = true;
    bool reactions = true;
    bool replies = true;
    bool quotes = true;
    bool uploads = false;
    bool search = false;
    bool mutes = true;
    bool custom_events = true;
    bool push_notifications = true;
    bool delivery_events = false;
    bool url_enrichment = false;
    bool user_message_reminders = false;
    bool shared_locations = false;
    bool polls = false;
    int max_message_length = 5000;
    // The config as WriteChannelConfig writes it, made on first use. A reload of the type replaces
    // the whole row, and this with it.
    mutable std::string config_wire;

    bool public_read() const { return policy == "public_read"; }
};

// The boolean settings of a channel type that streambed backs, each with its field and the value
// a type's stored settings fall back to: read from the database by one table, and the only ones
// the channel type routes let an app turn on.
struct ChannelTypeFlag {
    const char* key;
    bool ChannelTypeRow::*field;
    bool fallback;
};
inline constexpr ChannelTypeFlag kChannelTypeFlags[] = {
    {"typing_events", &ChannelTypeRow::typing_events, true},
    {"read_events", &ChannelTypeRow::read_events, true},
    {"connect_events", &ChannelTypeRow::connect_events, true},
    {"reactions", &ChannelTypeRow::reactions, true},
    {"replies", &ChannelTypeRow::replies, true},
    {"quotes", &ChannelTypeRow::quotes, true},
    {"uploads", &ChannelTypeRow::uploads, false},
    {"search", &ChannelTypeRow::search, false},
    {"mutes", &ChannelTypeRow::mutes, true},
    {"custom_events", &ChannelTypeRow::custom_events, true},
    {"push_notifications", &ChannelTypeRow::push_notifications, true},
    {"delivery_events", &ChannelTypeRow::delivery_events, false},
    {"url_enrichment", &ChannelTypeRow::url_enrichment, false},
    {"user_message_reminders", &ChannelTypeRow::user_message_reminders, false},
    {"shared_locations", &ChannelTypeRow::shared_locations, false},
    {"polls", &ChannelTypeRow::polls, false},
};

struct ChannelRow {
    int64_t pk = 0;
    std::string cid;
    std::string type;
    std::string id;
    std::optional<std::string> name;
    std::optional<std::string> image;
    std::string custom_json = "{}";
    std::optional<std::string> team;
    std::optional<std::string> created_by;
    bool frozen = false;
    bool disabled = false;
    int cooldown = 0;
    int member_count = 0;
    std::optional<int64_t> last_message_at;
    std::optional<int64_t> truncated_at;
    int64_t event_seq = 0;
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

struct MemberRow {
    int64_t channel_pk = 0;
    std::string user_id;
    std::string channel_role = "channel_member";  // channel_member, channel_moderator, owner
    bool invited = false;
    std::optional<int64_t> invite_accepted_at;
    std::optional<int64_t> invite_rejected_at;
    bool notifications_muted = false;
    bool hidden = false;
    std::optional<int64_t> history_cleared_at;
    std::optional<int64_t> pinned_at;
    std::optional<int64_t> archived_at;
    int64_t last_read_at = 0;
    std::optional<std::string> last_read_message_id;
    // Delivery receipts (sql/080): the newest channel message a device of this member confirmed.
    std::optional<int64_t> last_delivered_at;
    std::optional<std::string> last_delivered_message_id;
    int64_t created_at = 0;
    int64_t updated_at = 0;
    // From channel_bans.
    bool banned = false;
    bool shadow_banned = false;
    std::optional<int64_t> ban_expires;
    // Unread messages for this member (computed by the query that loaded the row, capped).
    int64_t unread_messages = 0;
};

struct MessageRow {
    int64_t pk = 0;
    std::string id;
    int64_t channel_pk = 0;
    std::string cid;
    std::string user_id;
    std::string type = "regular";
    std::string text;
    std::string html;
    std::string attachments_json = "[]";
    std::vector<std::string> mentioned_users;
    std::string custom_json = "{}";
    std::optional<std::string> parent_id;
    bool show_in_channel = false;
    std::optional<std::string> quoted_message_id;
    int reply_count = 0;
    int deleted_reply_count = 0;
    std::vector<std::string> thread_participants;
    bool silent = false;
    bool shadowed = false;
    bool pinned = false;
    std::optional<int64_t> pinned_at;
    std::optional<std::string> pinned_by;
    std::optional<int64_t> pin_expires;
    std::string reaction_groups_json = "{}";
    // sql/140: {latitude, longitude, created_by_device_id, end_at?, updated_at} (wire times), or none.
    std::optional<std::string> shared_location_json;
    std::optional<std::string> poll_id;  // the poll the message carries (sql/150_polls.sql)
    int64_t created_at = 0;
    int64_t updated_at = 0;
    std::optional<int64_t> deleted_at;
    std::optional<int64_t> message_text_updated_at;
};

struct ReactionRow {
    int64_t message_pk = 0;
    std::string message_id;
    std::string user_id;
    std::string type;
    int score = 1;
    std::string custom_json = "{}";
    int64_t created_at = 0;
    int64_t updated_at = 0;
};

}  // namespace streambed
