#include "fcgi-app/handlers/send.h"

#include <unordered_set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "common/log.h"
#include "common/push_queue.h"
#include "fcgi-app/drafts.h"
#include "fcgi-app/event.h"
#include "fcgi-app/link_preview.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/realtime.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/store/polls.h"
#include "fcgi-app/store/push.h"
#include "fcgi-app/store/threads.h"

namespace streambed {

namespace {

const PgStatement kExistingUsers{"send_existing_users", "SELECT id FROM users WHERE id = ANY($1::text[])"};

// Channels with more members than this skip the per-member notifications of a new message
// (livestreams: their members watch, and a notification per member per message would not scale).
constexpr int kNotifyMemberLimit = 1000;

// notification.thread_message_new to the thread's other participants who are still members, each
// with its own counts: the kit's thread list shows "new replies" from it, and its unread threads
// badge follows unread_threads.
void NotifyThreadParticipants(Call& call, int64_t parent_pk, const SentMessage& sent, Outbox& outbox) {
    auto others = threads::UnreadOfOthers(call.db(), parent_pk, sent.message.user_id);
    if (others.empty()) return;
    JsonBuffer buf;
    JsonWriter w(buf);
    WriteMessage(w, sent.message, sent.context);
    std::string message(buf.GetString(), buf.GetSize());
    for (const auto& other : others) {
        Event n("notification.thread_message_new", sent.message.cid, sent.message.created_at);
        PutRaw(n.w(), "message", message);
        PutInt(n.w(), "unread_threads", other.unread_threads);
        PutInt(n.w(), "unread_thread_messages", other.unread_thread_messages);
        outbox.Publish(keys::UserTopic(other.user_id), n.Done());
    }
}

}  // namespace

std::string CheckedAttachments(const JsonValue& attachments, std::string_view field) {
    if (attachments.Size() > 30) throw BadRequest("at most 30 attachments", std::string(field));
    for (const auto& a : attachments.GetArray()) {
        if (!a.IsObject()) throw BadRequest("each attachment must be an object", std::string(field));
    }
    std::string text = ToJson(attachments);
    if (text.size() > 64 * 1024) throw BadRequest("attachments are larger than 64 KB", std::string(field));
    return text;
}

std::string StoredLocation(const JsonValue& request, const JsonValue* current, bool updating, std::string_view field) {
    auto name = [&](std::string_view k) { return std::string(field) + "." + std::string(k); };
    auto coordinate = [&](const char* key, double limit) -> std::optional<double> {
        auto v = json::OptNumber(request, key, name(key));
        if (!v && current != nullptr) v = json::OptNumber(*current, key, name(key));
        if (!v) return std::nullopt;
        if (!(*v >= -limit && *v <= limit))  // NaN fails too
            throw BadRequest(name(key) + " must be between " + std::to_string(static_cast<int>(-limit)) + " and " +
                                 std::to_string(static_cast<int>(limit)),
                             name(key));
        return v;
    };
    auto latitude = coordinate("latitude", 90);
    auto longitude = coordinate("longitude", 180);
    if (!latitude || !longitude)
        throw BadRequest(std::string(field) + " needs latitude and longitude", name("latitude"));
    auto device = json::OptString(request, "created_by_device_id", name("created_by_device_id"));
    if (!device && current != nullptr)
        device = json::OptString(*current, "created_by_device_id", name("created_by_device_id"));
    if (device && device->size() > 255)
        throw BadRequest(name("created_by_device_id") + " is longer than 255", name("created_by_device_id"));
    std::optional<std::string_view> end_at = json::OptString(request, "end_at", name("end_at"));
    if (end_at) {
        auto t = ParseTimestamp(*end_at);
        if (!t) throw BadRequest(name("end_at") + " must be an RFC 3339 time", name("end_at"));
        if (!updating && *t <= NowMicros()) throw BadRequest(name("end_at") + " must be in the future", name("end_at"));
    } else if (current != nullptr) {
        end_at = json::OptString(*current, "end_at", name("end_at"));
    }
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "latitude");
    w.Double(*latitude);
    PutKey(w, "longitude");
    w.Double(*longitude);
    if (device) PutString(w, "created_by_device_id", *device);
    if (end_at) PutTime(w, "end_at", *ParseTimestamp(*end_at));
    PutTime(w, "updated_at", NowMicros());
    w.EndObject();
    return std::string(buf.GetString(), buf.GetSize());
}

size_t CountCharacters(std::string_view s) {
    size_t n = 0;
    for (unsigned char c : s) {
        if ((c & 0xC0) != 0x80) ++n;
    }
    return n;
}

std::string RenderHtml(std::string_view text) {
    if (text.empty()) return "";
    std::string out = "<p>";
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&#39;"; break;
            case '\n': out += "<br/>"; break;
            default: out += c;
        }
    }
    out += "</p>\n";
    return out;
}

SentMessage SendMessage(Call& call, const Actor& actor, const OpenChannel& open, const JsonValue& m,
                        const SendOptions& options) {
    if (!m.IsObject()) throw BadRequest("message must be an object", "message");
    if (!actor.acting) throw BadRequest("user_id is required with a server token", "message.user_id");
    MessageRow fresh;  // as messages::Append will store it, all but what the store decides
    fresh.channel_pk = open.channel.pk;
    fresh.cid = open.channel.cid;
    fresh.user_id = actor.id();
    fresh.created_at = fresh.updated_at = kStoreStampMicros;
    if (auto id = json::OptString(m, "id", "message.id")) {
        if (id->empty() || id->size() > 255) throw BadRequest("message.id must be 1 to 255 characters", "message.id");
        fresh.id = std::string(*id);
    } else {
        fresh.id = NewUuid();
    }
    fresh.text = std::string(json::OptString(m, "text", "message.text").value_or(""));
    size_t max_length = static_cast<size_t>(std::min(open.type->max_message_length, call.config().max_message_length));
    if (CountCharacters(fresh.text) > max_length)
        throw ApiError(400, code::kMessageTooLong,
                       "message is too long: at most " + std::to_string(max_length) + " characters", "message.text");
    fresh.html = RenderHtml(fresh.text);
    std::string type(json::OptString(m, "type", "message.type").value_or("regular"));
    if (type.empty()) type = "regular";
    if (type != "regular" && type != "system")
        throw BadRequest("message.type must be regular or system", "message.type");
    if (type == "system" && !actor.admin()) throw Forbidden("only admins and server tokens send system messages");
    fresh.type = type;
    if (const JsonValue* attachments = json::OptArray(m, "attachments", "message.attachments"))
        fresh.attachments_json = CheckedAttachments(*attachments, "message.attachments");
    if (const JsonValue* location = json::OptObject(m, "shared_location", "message.shared_location")) {
        if (!open.type->shared_locations)
            throw BadRequest("shared locations are not enabled for channel type " + open.type->name,
                             "message.shared_location");
        fresh.shared_location_json = StoredLocation(*location, nullptr, false, "message.shared_location");
    }
    // A poll goes out in a message of its creator's, once (getstream.io's rules): the unique index
    // on messages.poll_id settles two sends of one poll at the same moment.
    std::optional<polls::PollRow> poll;
    if (auto poll_id = json::OptString(m, "poll_id", "message.poll_id"); poll_id && !poll_id->empty()) {
        if (!open.type->polls)
            throw BadRequest("polls are not enabled for channel type " + open.type->name, "message.poll_id");
        RequireCapability(open.caps, "send-poll");
        if (json::OptString(m, "parent_id", "message.parent_id").value_or("") != "")
            throw BadRequest("a poll is sent in a channel message, not in a thread reply", "message.poll_id");
        poll = polls::Find(call.db(), *poll_id, "", nullptr);
        if (!poll) throw BadRequest("poll " + std::string(*poll_id) + " does not exist", "message.poll_id");
        if (poll->created_by != actor.id())
            throw BadRequest("a poll can be sent only by the user who created it", "message.poll_id");
        if (poll->message_id)
            throw BadRequest("poll " + poll->id + " was sent already, in message " + *poll->message_id,
                             "message.poll_id");
        fresh.poll_id = poll->id;
    }
    if (fresh.text.empty() && fresh.attachments_json == "[]" && !fresh.shared_location_json && !fresh.poll_id &&
        type != "system")
        throw BadRequest("a message needs text, attachments, a shared location or a poll", "message.text");
    if (const JsonValue* mentions = json::OptArray(m, "mentioned_users", "message.mentioned_users")) {
        if (mentions->Size() > 100) throw BadRequest("at most 100 mentioned users", "message.mentioned_users");
        std::vector<std::string> ids;
        for (const auto& v : mentions->GetArray()) {
            // Ids on input; a client echoing full users back is tolerated.
            if (v.IsString()) ids.emplace_back(v.GetString(), v.GetStringLength());
            else if (v.IsObject() && v.HasMember("id") && v["id"].IsString()) ids.emplace_back(v["id"].GetString());
            else throw BadRequest("mentioned_users must list user ids", "message.mentioned_users");
        }
        if (!ids.empty()) {
            PgResult r = call.db().Run(kExistingUsers, PgParams().AddArray(ids));
            for (int i = 0; i < r.rows(); ++i) fresh.mentioned_users.emplace_back(r.Str(i, 0));
        }
    }
    std::optional<MessageRow> parent;
    if (auto parent_id = json::OptString(m, "parent_id", "message.parent_id"); parent_id && !parent_id->empty()) {
        RequireCapability(open.caps, "send-reply");
        parent = messages::Find(call.db(), *parent_id);
        if (!parent || parent->channel_pk != open.channel.pk)
            throw BadRequest("parent message " + std::string(*parent_id) + " is not in this channel", "message.parent_id");
        if (parent->parent_id) throw BadRequest("replies to replies are not supported; reply to the thread's parent", "message.parent_id");
        fresh.parent_id = parent->id;
        fresh.show_in_channel = json::OptBool(m, "show_in_channel", "message.show_in_channel").value_or(false);
        // getstream.io marks thread replies as type "reply" (STREAM-PROTOCOL.md §4.2, Sending).
        if (fresh.type == "regular") fresh.type = "reply";
    }
    std::optional<MessageRow> quoted_row;
    if (auto quoted = json::OptString(m, "quoted_message_id", "message.quoted_message_id"); quoted && !quoted->empty()) {
        RequireCapability(open.caps, "quote-message");
        quoted_row = messages::Find(call.db(), *quoted);
        if (!quoted_row || quoted_row->channel_pk != open.channel.pk)
            throw BadRequest("quoted message " + std::string(*quoted) + " is not in this channel", "message.quoted_message_id");
        fresh.quoted_message_id = quoted_row->id;
    }
    fresh.silent = json::OptBool(m, "silent", "message.silent").value_or(false);
    rapidjson::Document custom(rapidjson::kObjectType);
    for (auto it = m.MemberBegin(); it != m.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        if (IsReservedMessageField(key)) continue;
        custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                         custom.GetAllocator());
    }
    fresh.custom_json = ToJson(custom);
    if (fresh.custom_json.size() > 5 * 1024) throw BadRequest("message custom data is larger than 5 KB", "message");
    // A thread reply needs send-reply (checked above); anything else send-message.
    if (!fresh.parent_id) RequireCapability(open.caps, "send-message");

    // Slow mode: one message per cooldown period, unless the role skips it.
    if (open.channel.cooldown > 0 && !HasCapability(open.caps, "skip-slow-mode")) {
        auto last = messages::LastSentBy(call.db(), open.channel.pk, actor.id());
        if (last && NowMicros() - *last < int64_t{open.channel.cooldown} * 1000000)
            throw ApiError(429, code::kCooldown, "slow mode is on: wait before sending another message");
    }
    // The link preview, once the message is known to be allowed, and before anything is stored or
    // locked: the fetch may take seconds.
    if (open.type->url_enrichment && !options.skip_enrich_url && fresh.type != "system") {
        if (auto with_preview = RefreshLinkPreview(call, fresh.text, fresh.attachments_json, LinkPreviewRefresh::kAdd))
            fresh.attachments_json = std::move(*with_preview);
    }

    bool shown = !fresh.parent_id || fresh.show_in_channel;
    SentMessage sent;
    Outbox outbox;
    // message.new carries watcher_count (STREAM-PROTOCOL.md §5): the header's "N online" follows
    // it.
    int64_t watchers = ReplyInteger(call.redis().Command({"HLEN", keys::Watchers(open.channel.cid)}).get());
    // The users the events name, read before the message is stored: the events are written first.
    MessageContext& context = sent.context;
    context.users.Put(actor.user, true);
    context.users.Want(fresh.mentioned_users);
    if (parent) {
        context.users.Want(parent->user_id);
        context.users.Want(parent->mentioned_users);
        context.users.Want(parent->thread_participants);
    }
    if (poll) context.PutPoll(std::move(*poll), {});
    if (quoted_row) {
        context.users.Want(quoted_row->user_id);
        context.users.Want(quoted_row->mentioned_users);
        context.quoted.emplace(quoted_row->id, std::move(*quoted_row));
    }
    context.users.Load(call.db(), call.redis());

    // message.new is written before the message is stored, with tokens where its time and seq go
    // (common/json.h): the statement that stores the message fills them in and logs the event, so
    // nothing is left to do while the channel's row is locked.
    Event message_new("message.new", open.channel.cid, kStoreStampMicros);
    message_new.User(context.users, actor.id());
    PutKey(message_new.w(), "message");
    WriteMessage(message_new.w(), fresh, context);
    PutInt(message_new.w(), "watcher_count", watchers);
    message_new.SeqFromStore();

    messages::AppendWrites writes;
    writes.shown_in_channel = shown;
    writes.events = parent ? 2 : 1;
    writes.event_template = message_new.Done();
    writes.mark_read = open.membership && shown;
    writes.unhide = !options.keep_channel_hidden;
    // A top-level message is one statement, its own transaction: the channel's row is locked only
    // while it runs. A thread reply also updates its parent, in the same transaction, and before
    // the message is stored: the parent's row first, then the channel's, the order of a reaction
    // or an edit (which change the message, then log their event in its channel); the other order
    // deadlocked with them. Held, the parent's reactions cannot change, so they are read before
    // the channel's row is taken, which is then held for one round trip more than a top-level
    // send's, to the COMMIT.
    std::optional<PgTransaction> tx;
    std::optional<MessageRow> parent_after;
    if (parent) {
        tx.emplace(call.db());
        parent_after = messages::AddReply(call.db(), parent->pk, actor.id());
        context.Load(call.db(), call.redis(), {&*parent_after}, "");  // reads nothing unless it has reactions
    }
    auto appended = messages::Append(call.db(), fresh, writes);
    if (!appended) throw BadRequest("a message with id " + fresh.id + " already exists", "message.id");
    sent.message = std::move(appended->message);
    outbox.Publish(keys::ChannelTopic(open.channel.cid), std::move(appended->event));
    if (parent) {
        // Nothing on the client counts replies: the parent's new reply_count comes from here.
        Event updated("message.updated", open.channel.cid, sent.message.created_at);
        updated.User(context.users, actor.id());
        PutKey(updated.w(), "message");
        WriteMessage(updated.w(), *parent_after, context);
        int64_t seq = appended->first_seq + 1;
        updated.Seq(seq);
        outbox.Channel(open.channel.pk, open.channel.cid, seq, "message.updated", updated.Done());
        threads::QueueReply(call.db(), *parent, sent.message);
        outbox.Persist(call.db());
        tx->Commit();
    }

    // After the commit: what a failure here costs is a notification, never the message. The
    // events, the draft's deletion and the question of who to notify go to Redis in one round
    // trip, the events first.
    try {
        RedisBatch after_commit;
        outbox.Flush(after_commit);
        bool draft_deleted = false;
        drafts::Delete(after_commit, actor.id(), open.channel.cid, sent.message.parent_id, draft_deleted);
        bool notify = shown && !sent.message.silent && open.channel.member_count <= kNotifyMemberLimit;
        std::optional<AudienceQuery> audience_query;
        if (notify) {
            // Members with no live socket get a Web Push (API.md §3), queued by the audience
            // script itself; streambed-push skips those who muted the channel.
            std::optional<PushJobFrame> push;
            if (!options.skip_push && open.type->push_notifications)
                push = MessagePushJobFrame({open.channel.cid, sent.message.id, sent.message.text, actor.id(),
                                            actor.user.name.value_or(""), {}});
            audience_query.emplace(after_commit, open.channel.cid, actor.id(), std::move(push));
        }
        after_commit.Run(call.redis());
        if (draft_deleted) {
            Event d("draft.deleted", open.channel.cid, NowMicros());
            PutKey(d.w(), "draft");
            d.w().StartObject();
            PutString(d.w(), "channel_cid", open.channel.cid);
            PutOptString(d.w(), "parent_id", sent.message.parent_id);
            d.w().EndObject();
            outbox.Publish(keys::UserTopic(actor.id()), d.Done());
        }
        if (audience_query) {
            Audience audience = audience_query->Finish(
                call.redis(), {[&] { return members::UserIds(call.db(), open.channel.pk); },
                               [&] { return push_subscriptions::SubscribedUserIds(call.db()); }});
            if (!audience.online_not_watching.empty()) {
                Standing member;
                member.member = true;
                member.channel_role = "channel_member";
                auto caps = Capabilities(*open.type, open.channel, member);
                auto channel = channels::Find(call.db(), open.channel.cid);
                if (channel && channel->created_by) sent.context.users.Want(*channel->created_by);
                sent.context.users.Load(call.db(), call.redis());
                Event n("notification.message_new", open.channel.cid, sent.message.created_at);
                PutKey(n.w(), "channel");
                bool hidden = false;
                WriteChannel(n.w(), channel ? *channel : open.channel, *open.type, sent.context.users, &caps, &hidden);
                PutKey(n.w(), "message");
                WriteMessage(n.w(), sent.message, sent.context);
                std::string payload = n.Done();
                for (const auto& user : audience.online_not_watching) outbox.Publish(keys::UserTopic(user), payload);
            }
        }
        if (parent && !sent.message.silent && !sent.message.shadowed)
            NotifyThreadParticipants(call, parent->pk, sent, outbox);
        outbox.Flush(call.redis());
    } catch (const std::exception& e) {
        Log(LogLevel::kWarn, "send.fanout_failed").Str("message_id", sent.message.id).Str("error", e.what());
    }
    return sent;
}

}  // namespace streambed
