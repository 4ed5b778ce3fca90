#include "fcgi-app/wire.h"

#include <array>
#include <unordered_set>

namespace streambed {

void WriteCustomFields(JsonWriter& w, std::string_view custom_json, bool (*reserved)(std::string_view)) {
    if (custom_json.size() <= 2) return;  // "{}"
    rapidjson::Document doc;
    doc.Parse(custom_json.data(), custom_json.size());
    if (doc.HasParseError() || !doc.IsObject()) return;
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (reserved(key)) continue;
        PutKey(w, key);
        it->value.Accept(w);
    }
}

namespace {
void WriteUserFields(JsonWriter& w, const UserRow& u, bool online, bool with_privacy) {
    PutString(w, "id", u.id);
    if (u.name) PutString(w, "name", *u.name);
    if (u.image) PutString(w, "image", *u.image);
    PutString(w, "role", u.role);
    PutBool(w, "online", online && !u.invisible);
    if (u.last_active) PutTime(w, "last_active", *u.last_active);
    PutTime(w, "created_at", u.created_at);
    PutTime(w, "updated_at", u.updated_at);
    PutBool(w, "banned", u.banned);
    PutRaw(w, "teams", u.teams_json);
    PutString(w, "language", u.language);
    if (u.deactivated_at) PutTime(w, "deactivated_at", *u.deactivated_at);
    if (u.deleted_at) PutTime(w, "deleted_at", *u.deleted_at);
    // Only when set, unless asked for: most users never change them, and every member list
    // carries its users.
    if (with_privacy || u.privacy_json != "{}") PutRaw(w, "privacy_settings", u.privacy_json);
    WriteCustomFields(w, u.custom_json, IsReservedUserField);
}
}  // namespace

bool IsReservedMessageField(std::string_view key) {
    // The MessageResponse's own fields, and what the SDK adds to its local copy and sends back on
    // an edit (status, error, __html, ...).
    // clang-format off
    static const std::unordered_set<std::string_view> kReserved = {
        "id", "text", "html", "type", "cid", "user", "user_id", "attachments", "mentioned_users", "mentioned_channel",
        "mentioned_here", "mentioned_roles", "mentioned_group_ids", "parent_id", "show_in_channel", "quoted_message_id",
        "quoted_message", "reply_count", "deleted_reply_count", "thread_participants", "latest_reactions",
        "own_reactions", "reaction_groups", "reaction_counts", "reaction_scores", "silent", "shadowed", "pinned",
        "pinned_at", "pinned_by", "pin_expires", "restricted_visibility", "created_at", "updated_at", "deleted_at",
        "message_text_updated_at", "i18n", "command", "args", "status", "channel", "poll_id", "poll",
        "before_message_send_failed", "error", "errorStatusCode", "__html", "member", "channel_role", "reminder", "shared_location", "type_"};
    // clang-format on
    return kReserved.count(key) > 0;
}

void WriteUser(JsonWriter& w, const UserRow& user, bool online, bool with_privacy) {
    w.StartObject();
    WriteUserFields(w, user, online, with_privacy);
    w.EndObject();
}

void WriteUserById(JsonWriter& w, const UserDirectory& users, const std::string& user_id) {
    if (const UserRow* u = users.Find(user_id)) {
        WriteUser(w, *u, users.Online(user_id));
        return;
    }
    w.StartObject();
    PutString(w, "id", user_id);
    w.EndObject();
}

void WriteOwnUser(JsonWriter& w, const UserRow& user, bool online, const OwnUserExtras& extras) {
    w.StartObject();
    // The user's own client always learns its privacy settings (the SDK reads them before it
    // sends typing events or delivery reports), none set included.
    WriteUserFields(w, user, online, true);
    PutBool(w, "invisible", user.invisible);
    PutRaw(w, "devices", extras.devices_json);
    PutRaw(w, "mutes", extras.mutes_json);
    PutRaw(w, "channel_mutes", extras.channel_mutes_json);
    PutRaw(w, "blocked_user_ids", extras.blocked_user_ids_json);
    PutInt(w, "total_unread_count", extras.unread.total_unread_count);
    PutInt(w, "unread_count", extras.unread.total_unread_count);
    PutInt(w, "unread_channels", extras.unread.unread_channels);
    PutInt(w, "unread_threads", extras.unread.unread_threads);
    w.EndObject();
}

// ---- Push ----

void WritePushSubscription(JsonWriter& w, const PushSubscriptionRow& s) {
    w.StartObject();
    PutString(w, "id", s.id);
    PutString(w, "endpoint", s.endpoint);
    PutTime(w, "created_at", s.created_at);
    w.EndObject();
}

void WriteDevice(JsonWriter& w, const DeviceRow& d) {
    w.StartObject();
    PutString(w, "id", d.id);
    PutString(w, "push_provider", d.push_provider);
    if (d.push_provider_name) PutString(w, "push_provider_name", *d.push_provider_name);
    PutString(w, "user_id", d.user_id);
    PutTime(w, "created_at", d.created_at);
    PutBool(w, "disabled", d.disabled);
    if (d.disabled_reason) PutString(w, "disabled_reason", *d.disabled_reason);
    w.EndObject();
}

}  // namespace streambed

namespace streambed {

namespace {

bool IsReservedChannelField(std::string_view key) {
    static constexpr std::array<std::string_view, 28> kReserved = {
        "id", "type", "cid", "name", "image", "created_by", "created_by_id", "created_at", "updated_at",
        "deleted_at", "last_message_at", "frozen", "disabled", "member_count", "members", "cooldown", "hidden",
        "truncated_at", "team", "config", "own_capabilities", "messages", "watchers", "watcher_count", "read",
        "membership", "pinned_messages", "blocked"};
    for (auto r : kReserved) {
        if (r == key) return true;
    }
    return false;
}

void WriteReactionList(JsonWriter& w, std::string_view key, const std::vector<ReactionRow>* reactions,
                       const UserDirectory& users) {
    PutKey(w, key);
    w.StartArray();
    if (reactions != nullptr) {
        for (const auto& r : *reactions) WriteReaction(w, r, users);
    }
    w.EndArray();
}

// reaction_counts and reaction_scores, derived from reaction_groups so the three always agree.
void WriteReactionTotals(JsonWriter& w, const std::string& groups_json) {
    rapidjson::Document d;
    d.Parse(groups_json.c_str());
    PutRaw(w, "reaction_groups", d.IsObject() ? groups_json : std::string("{}"));
    constexpr std::pair<const char*, const char*> kTotals[] = {{"reaction_counts", "count"},
                                                               {"reaction_scores", "sum_scores"}};
    for (const auto& [key, field] : kTotals) {
        PutKey(w, key);
        w.StartObject();
        if (d.IsObject()) {
            for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) {
                auto v = it->value.FindMember(field);
                if (v == it->value.MemberEnd() || !v->value.IsInt64()) continue;
                PutInt(w, std::string_view(it->name.GetString(), it->name.GetStringLength()), v->value.GetInt64());
            }
        }
        w.EndObject();
    }
}

void WriteMessageFields(JsonWriter& w, const MessageRow& m, const MessageContext& ctx, bool with_quote) {
    PutString(w, "id", m.id);
    PutString(w, "text", m.text);
    PutString(w, "html", m.html);
    PutString(w, "type", m.type);
    PutString(w, "cid", m.cid);
    PutKey(w, "user");
    WriteUserById(w, ctx.users, m.user_id);
    PutRaw(w, "attachments", m.attachments_json);
    PutKey(w, "mentioned_users");
    w.StartArray();
    for (const auto& id : m.mentioned_users) WriteUserById(w, ctx.users, id);
    w.EndArray();
    PutOptString(w, "parent_id", m.parent_id);
    PutBool(w, "show_in_channel", m.show_in_channel);
    PutOptString(w, "quoted_message_id", m.quoted_message_id);
    if (with_quote && m.quoted_message_id) {
        auto q = ctx.quoted.find(*m.quoted_message_id);
        if (q != ctx.quoted.end()) {
            // The quote is embedded without its own quote: one level, as getstream.io does.
            PutKey(w, "quoted_message");
            w.StartObject();
            WriteMessageFields(w, q->second, ctx, false);
            w.EndObject();
        }
    }
    PutInt(w, "reply_count", m.reply_count);
    PutInt(w, "deleted_reply_count", m.deleted_reply_count);
    PutKey(w, "thread_participants");
    w.StartArray();
    for (const auto& id : m.thread_participants) WriteUserById(w, ctx.users, id);
    w.EndArray();
    auto latest = ctx.latest_reactions.find(m.pk);
    WriteReactionList(w, "latest_reactions", latest == ctx.latest_reactions.end() ? nullptr : &latest->second, ctx.users);
    auto own = ctx.own_reactions.find(m.pk);
    WriteReactionList(w, "own_reactions", own == ctx.own_reactions.end() ? nullptr : &own->second, ctx.users);
    if (auto reminder = ctx.own_reminders.find(m.pk); reminder != ctx.own_reminders.end()) {
        PutKey(w, "reminder");
        WriteReminder(w, reminder->second);
    }
    WriteReactionTotals(w, m.reaction_groups_json);
    PutBool(w, "silent", m.silent);
    PutBool(w, "shadowed", m.shadowed);
    PutBool(w, "pinned", m.pinned);
    PutOptTime(w, "pinned_at", m.pinned_at);
    if (m.pinned_by) {
        PutKey(w, "pinned_by");
        WriteUserById(w, ctx.users, *m.pinned_by);
    } else {
        PutNull(w, "pinned_by");
    }
    PutOptTime(w, "pin_expires", m.pin_expires);
    PutKey(w, "restricted_visibility");
    w.StartArray();
    w.EndArray();
    PutTime(w, "created_at", m.created_at);
    PutTime(w, "updated_at", m.updated_at);
    PutOptTime(w, "deleted_at", m.deleted_at);
    PutOptTime(w, "message_text_updated_at", m.message_text_updated_at);
    if (m.shared_location_json) {
        PutKey(w, "shared_location");
        WriteSharedLocation(w, m);
    }
    if (m.poll_id) {
        PutString(w, "poll_id", *m.poll_id);
        if (auto poll = ctx.polls.find(*m.poll_id); poll != ctx.polls.end()) {
            auto mine = ctx.own_poll_votes.find(*m.poll_id);
            PutKey(w, "poll");
            WritePoll(w, poll->second, ctx.users, mine == ctx.own_poll_votes.end() ? nullptr : &mine->second);
        }
    }
    WriteCustomFields(w, m.custom_json, IsReservedMessageField);
}

}  // namespace

void WriteSharedLocation(JsonWriter& w, const MessageRow& m) {
    w.StartObject();
    PutString(w, "channel_cid", m.cid);
    PutString(w, "message_id", m.id);
    PutString(w, "user_id", m.user_id);
    PutTime(w, "created_at", m.created_at);
    // The location's own fields as the message stores them (sql/140).
    rapidjson::Document location;
    if (m.shared_location_json) location.Parse(m.shared_location_json->c_str());
    if (location.IsObject()) {
        for (auto it = location.MemberBegin(); it != location.MemberEnd(); ++it) {
            PutKey(w, std::string_view(it->name.GetString(), it->name.GetStringLength()));
            it->value.Accept(w);
        }
    }
    w.EndObject();
}

bool IsReservedPollField(std::string_view key) {
    // clang-format off
    static const std::unordered_set<std::string_view> kReserved = {
        "id", "name", "description", "voting_visibility", "enforce_unique_vote", "max_votes_allowed",
        "allow_user_suggested_options", "allow_answers", "is_closed", "options", "vote_counts_by_option",
        "vote_count", "answers_count", "latest_votes_by_option", "latest_answers", "own_votes", "created_by",
        "created_by_id", "created_at", "updated_at", "user_id", "user", "poll_id", "text", "position", "votes",
        "custom"};
    // clang-format on
    return kReserved.count(key) > 0;
}

void WritePollVote(JsonWriter& w, const polls::VoteRow& v, const UserDirectory& users, bool with_user) {
    w.StartObject();
    PutString(w, "id", v.id);
    PutString(w, "poll_id", v.poll_id);
    PutOptString(w, "option_id", v.option_id);
    if (v.answer_text) {
        PutString(w, "answer_text", *v.answer_text);
        PutBool(w, "is_answer", true);
    }
    if (with_user) {
        PutString(w, "user_id", v.user_id);
        PutKey(w, "user");
        WriteUserById(w, users, v.user_id);
    }
    PutTime(w, "created_at", v.created_at);
    PutTime(w, "updated_at", v.updated_at);
    w.EndObject();
}

void WritePoll(JsonWriter& w, const polls::PollRow& p, const UserDirectory& users,
               const std::vector<polls::VoteRow>* own) {
    const polls::Settings& s = p.settings;
    bool with_users = !p.anonymous();
    w.StartObject();
    PutString(w, "id", p.id);
    PutString(w, "name", s.name);
    PutString(w, "description", s.description);
    PutString(w, "voting_visibility", s.voting_visibility);
    PutBool(w, "enforce_unique_vote", s.enforce_unique_vote);
    if (s.max_votes_allowed)
        PutInt(w, "max_votes_allowed", *s.max_votes_allowed);
    else
        PutNull(w, "max_votes_allowed");
    PutBool(w, "allow_user_suggested_options", s.allow_user_suggested_options);
    PutBool(w, "allow_answers", s.allow_answers);
    PutBool(w, "is_closed", s.is_closed);
    PutKey(w, "options");
    w.StartArray();
    for (const auto& o : p.options) {
        w.StartObject();
        PutString(w, "id", o.id);
        PutString(w, "text", o.text);
        PutInt(w, "position", o.position);
        WriteCustomFields(w, o.custom_json, IsReservedPollField);
        w.EndObject();
    }
    w.EndArray();
    // Options without votes are left out, as getstream.io does: the SDK takes every option listed
    // with the highest count as a winner, and with all at zero that would be all of them.
    PutKey(w, "vote_counts_by_option");
    w.StartObject();
    for (const auto& o : p.options)
        if (o.vote_count > 0) PutInt(w, o.id, o.vote_count);
    w.EndObject();
    PutInt(w, "vote_count", p.vote_count);
    PutInt(w, "answers_count", p.answers_count);
    // Who voted for what is not told in an anonymous poll; the tallies are.
    PutKey(w, "latest_votes_by_option");
    w.StartObject();
    if (with_users) {
        for (const auto& o : p.options) {
            bool any = false;
            for (const auto& v : p.latest_votes) {
                if (v.option_id != o.id) continue;
                if (!any) {
                    PutKey(w, o.id);
                    w.StartArray();
                    any = true;
                }
                WritePollVote(w, v, users, true);
            }
            if (any) w.EndArray();
        }
    }
    w.EndObject();
    PutKey(w, "latest_answers");
    w.StartArray();
    for (const auto& v : p.latest_answers) WritePollVote(w, v, users, with_users);
    w.EndArray();
    PutKey(w, "own_votes");
    w.StartArray();
    if (own != nullptr)
        for (const auto& v : *own) WritePollVote(w, v, users, true);
    w.EndArray();
    PutString(w, "created_by_id", p.created_by);
    PutKey(w, "created_by");
    WriteUserById(w, users, p.created_by);
    PutTime(w, "created_at", p.created_at);
    PutTime(w, "updated_at", p.updated_at);
    WriteCustomFields(w, s.custom_json, IsReservedPollField);
    w.EndObject();
}

void WritePollOption(JsonWriter& w, const polls::PollRow& poll, const polls::OptionRow& o) {
    w.StartObject();
    PutString(w, "id", o.id);
    PutString(w, "poll_id", poll.id);
    PutString(w, "text", o.text);
    PutInt(w, "position", o.position);
    PutInt(w, "vote_count", o.vote_count);
    PutTime(w, "created_at", o.created_at);
    PutTime(w, "updated_at", o.updated_at);
    WriteCustomFields(w, o.custom_json, IsReservedPollField);
    w.EndObject();
}

void WriteReminder(JsonWriter& w, const reminders::ReminderRow& r, const std::function<void()>& extra) {
    w.StartObject();
    PutString(w, "channel_cid", r.cid);
    PutString(w, "message_id", r.message_id);
    PutString(w, "user_id", r.user_id);
    PutOptTime(w, "remind_at", r.remind_at);
    PutTime(w, "created_at", r.created_at);
    PutTime(w, "updated_at", r.updated_at);
    if (extra) extra();
    w.EndObject();
}

void WriteChannelConfig(JsonWriter& w, const ChannelTypeRow& type) {
    // Made once per type as loaded rather than once per channel written (a queryChannels page
    // writes a config for each of its channels, and so do the events that carry a channel).
    if (type.config_wire.empty()) {
        JsonBuffer buf;
        JsonWriter c(buf);
        c.StartObject();
        PutString(c, "name", type.name);
        rapidjson::Document d;
        d.Parse(type.config_json.c_str());
        if (d.IsObject()) {
            for (auto it = d.MemberBegin(); it != d.MemberEnd(); ++it) {
                PutKey(c, std::string_view(it->name.GetString(), it->name.GetStringLength()));
                it->value.Accept(c);
            }
        }
        PutTime(c, "created_at", type.created_at);
        PutTime(c, "updated_at", type.updated_at);
        c.EndObject();
        type.config_wire.assign(buf.GetString(), buf.GetSize());
    }
    w.RawValue(type.config_wire.data(), type.config_wire.size(), rapidjson::kObjectType);
}

void WriteChannel(JsonWriter& w, const ChannelRow& c, const ChannelTypeRow& type, const UserDirectory& users,
                  const std::vector<std::string_view>* caps, const bool* hidden,
                  const std::vector<const MemberRow*>* members) {
    w.StartObject();
    PutString(w, "id", c.id);
    PutString(w, "type", c.type);
    PutString(w, "cid", c.cid);
    if (c.name) PutString(w, "name", *c.name);
    if (c.image) PutString(w, "image", *c.image);
    if (c.created_by) {
        PutKey(w, "created_by");
        WriteUserById(w, users, *c.created_by);
    }
    PutTime(w, "created_at", c.created_at);
    PutTime(w, "updated_at", c.updated_at);
    PutOptTime(w, "last_message_at", c.last_message_at);
    PutBool(w, "frozen", c.frozen);
    PutBool(w, "disabled", c.disabled);
    PutInt(w, "member_count", c.member_count);
    PutInt(w, "cooldown", c.cooldown);
    if (hidden != nullptr) PutBool(w, "hidden", *hidden);
    PutOptTime(w, "truncated_at", c.truncated_at);
    if (c.team) PutString(w, "team", *c.team);
    PutKey(w, "config");
    WriteChannelConfig(w, type);
    if (caps != nullptr) {
        PutKey(w, "own_capabilities");
        w.StartArray();
        for (auto cap : *caps) WriteString(w, cap);
        w.EndArray();
    }
    if (members != nullptr) {
        PutKey(w, "members");
        w.StartArray();
        for (const MemberRow* m : *members) WriteMember(w, *m, users);
        w.EndArray();
    }
    WriteCustomFields(w, c.custom_json, IsReservedChannelField);
    w.EndObject();
}

void WriteMember(JsonWriter& w, const MemberRow& m, const UserDirectory& users) {
    w.StartObject();
    PutString(w, "user_id", m.user_id);
    PutKey(w, "user");
    WriteUserById(w, users, m.user_id);
    // getstream.io's legacy `role` next to channel_role.
    std::string_view role = m.channel_role == "owner"               ? "owner"
                            : m.channel_role == "channel_moderator" ? "moderator"
                                                                    : "member";
    PutString(w, "role", role);
    PutString(w, "channel_role", m.channel_role);
    PutBool(w, "is_moderator", m.channel_role != "channel_member");
    PutTime(w, "created_at", m.created_at);
    PutTime(w, "updated_at", m.updated_at);
    PutBool(w, "banned", m.banned);
    PutBool(w, "shadow_banned", m.shadow_banned);
    if (m.ban_expires) PutTime(w, "ban_expires", *m.ban_expires);
    PutBool(w, "notifications_muted", m.notifications_muted);
    PutString(w, "status", m.invited && !m.invite_accepted_at ? "pending" : "member");
    PutBool(w, "invited", m.invited);
    if (m.invite_accepted_at) PutTime(w, "invite_accepted_at", *m.invite_accepted_at);
    if (m.invite_rejected_at) PutTime(w, "invite_rejected_at", *m.invite_rejected_at);
    PutOptTime(w, "pinned_at", m.pinned_at);
    PutOptTime(w, "archived_at", m.archived_at);
    w.EndObject();
}

void WriteRead(JsonWriter& w, const MemberRow& m, const UserDirectory& users) {
    w.StartObject();
    PutKey(w, "user");
    WriteUserById(w, users, m.user_id);
    PutTime(w, "last_read", m.last_read_at);
    PutOptString(w, "last_read_message_id", m.last_read_message_id);
    // Only once a device of the member confirmed a delivery (delivery_events).
    if (m.last_delivered_at) PutTime(w, "last_delivered_at", *m.last_delivered_at);
    if (m.last_delivered_message_id) PutString(w, "last_delivered_message_id", *m.last_delivered_message_id);
    PutInt(w, "unread_messages", m.unread_messages);
    w.EndObject();
}

bool IsReservedThreadField(std::string_view key) {
    static constexpr std::array<std::string_view, 25> kReserved = {"id",
                                                                   "type",
                                                                   "user",
                                                                   "custom",
                                                                   "channel",
                                                                   "channel_cid",
                                                                   "parent_message",
                                                                   "parent_message_id",
                                                                   "created_at",
                                                                   "updated_at",
                                                                   "deleted_at",
                                                                   "last_message_at",
                                                                   "created_by",
                                                                   "created_by_user_id",
                                                                   "reply_count",
                                                                   "participant_count",
                                                                   "active_participant_count",
                                                                   "participants",
                                                                   "thread_participants",
                                                                   "latest_replies",
                                                                   "read",
                                                                   "draft",
                                                                   "title",
                                                                   "duration",
                                                                   "cid"};
    for (auto r : kReserved) {
        if (r == key) return true;
    }
    return false;
}

namespace {
// The scalar fields of a ThreadResponse, shared by the full object and thread.updated's.
void WriteThreadFields(JsonWriter& w, const threads::ThreadRow& t, const MessageRow& parent) {
    PutString(w, "parent_message_id", t.parent_id);
    PutString(w, "channel_cid", t.cid);
    PutString(w, "title", t.title);
    PutString(w, "created_by_user_id", t.created_by);
    PutTime(w, "created_at", t.created_at);
    PutTime(w, "updated_at", t.updated_at);
    PutTime(w, "last_message_at", t.last_message_at);
    if (parent.deleted_at) PutTime(w, "deleted_at", *parent.deleted_at);
    PutInt(w, "reply_count", parent.reply_count);
    PutInt(w, "participant_count", t.participant_count);
    PutInt(w, "active_participant_count", t.participant_count);
    WriteCustomFields(w, t.custom_json, IsReservedThreadField);
}

void WriteThreadRead(JsonWriter& w, const threads::ParticipantRow& p, const UserDirectory& users) {
    w.StartObject();
    PutKey(w, "user");
    WriteUserById(w, users, p.user_id);
    PutTime(w, "last_read", p.last_read_at);
    PutOptString(w, "last_read_message_id", p.last_read_message_id);
    PutInt(w, "unread_messages", p.unread_messages);
    w.EndObject();
}
}  // namespace

void WriteThreadSummary(JsonWriter& w, const threads::ThreadRow& thread, const MessageRow& parent) {
    w.StartObject();
    WriteThreadFields(w, thread, parent);
    w.EndObject();
}

void WriteThread(JsonWriter& w, const ThreadView& v, const MessageContext& context) {
    const UserDirectory& users = context.users;
    w.StartObject();
    WriteThreadFields(w, *v.thread, *v.parent);
    PutKey(w, "created_by");
    WriteUserById(w, users, v.thread->created_by);
    PutKey(w, "parent_message");
    WriteMessage(w, *v.parent, context);
    PutKey(w, "channel");
    WriteChannel(w, *v.channel, *v.type, users, v.caps, nullptr, &v.members);
    PutKey(w, "latest_replies");
    w.StartArray();
    for (const MessageRow* reply : v.replies) WriteMessage(w, *reply, context);
    w.EndArray();
    PutKey(w, "thread_participants");
    w.StartArray();
    for (const threads::ParticipantRow* p : v.participants) {
        w.StartObject();
        PutString(w, "channel_cid", v.thread->cid);
        PutString(w, "thread_id", v.thread->parent_id);
        PutString(w, "user_id", p->user_id);
        PutKey(w, "user");
        WriteUserById(w, users, p->user_id);
        PutTime(w, "created_at", p->created_at);
        PutTime(w, "last_read_at", p->last_read_at);
        if (p->last_thread_message_at) PutTime(w, "last_thread_message_at", *p->last_thread_message_at);
        w.EndObject();
    }
    w.EndArray();
    PutKey(w, "read");
    w.StartArray();
    for (const threads::ParticipantRow* p : v.participants) {
        if (p->user_id == v.caller) continue;  // the caller's own row comes last, listed or not
        const UserRow* user = users.Find(p->user_id);
        if (user != nullptr && !user->read_receipts) continue;
        WriteThreadRead(w, *p, users);
    }
    if (v.thread->own) WriteThreadRead(w, *v.thread->own, users);
    w.EndArray();
    if (v.draft != nullptr) {
        PutKey(w, "draft");
        drafts::WriteStreamDraft(w, *v.draft);
    }
    w.EndObject();
}

void WriteReaction(JsonWriter& w, const ReactionRow& r, const UserDirectory& users) {
    w.StartObject();
    PutString(w, "message_id", r.message_id);
    PutString(w, "user_id", r.user_id);
    PutKey(w, "user");
    WriteUserById(w, users, r.user_id);
    PutString(w, "type", r.type);
    PutInt(w, "score", r.score);
    PutTime(w, "created_at", r.created_at);
    PutTime(w, "updated_at", r.updated_at);
    WriteCustomFields(w, r.custom_json, [](std::string_view k) {
        return k == "message_id" || k == "user_id" || k == "user" || k == "type" || k == "score" ||
               k == "created_at" || k == "updated_at";
    });
    w.EndObject();
}

void WriteMessage(JsonWriter& w, const MessageRow& message, const MessageContext& context) {
    w.StartObject();
    WriteMessageFields(w, message, context, true);
    w.EndObject();
}

void WriteChannelState(JsonWriter& w, const ChannelState& s, const MessageContext& ctx) {
    w.StartObject();
    PutKey(w, "channel");
    bool hidden = s.membership != nullptr && s.membership->hidden;
    WriteChannel(w, *s.channel, *s.type, ctx.users, &s.caps, &hidden);
    PutKey(w, "messages");
    w.StartArray();
    for (const MessageRow* m : s.messages) WriteMessage(w, *m, ctx);
    w.EndArray();
    PutKey(w, "pinned_messages");
    w.StartArray();
    for (const MessageRow* m : s.pinned) WriteMessage(w, *m, ctx);
    w.EndArray();
    PutKey(w, "members");
    w.StartArray();
    for (const MemberRow* m : s.members) WriteMember(w, *m, ctx.users);
    w.EndArray();
    PutKey(w, "membership");
    if (s.membership != nullptr) {
        WriteMember(w, *s.membership, ctx.users);
    } else {
        w.Null();
    }
    PutKey(w, "read");
    w.StartArray();
    for (const MemberRow* m : s.reads) WriteRead(w, *m, ctx.users);
    w.EndArray();
    PutInt(w, "watcher_count", s.watcher_count);
    PutKey(w, "watchers");
    w.StartArray();
    for (const auto& id : s.watchers) WriteUserById(w, ctx.users, id);
    w.EndArray();
    PutKey(w, "pending_messages");
    w.StartArray();
    w.EndArray();
    PutBool(w, "hidden", hidden);
    if (!s.draft_json.empty()) PutRaw(w, "draft", s.draft_json);
    w.EndObject();
}

}  // namespace streambed
