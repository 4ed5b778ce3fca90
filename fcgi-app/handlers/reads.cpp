// Read state, typing and custom events (STREAM-PROTOCOL.md §4.4).

#include <algorithm>
#include <map>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/store/threads.h"

namespace streambed {

namespace {

const PgStatement kLatestMessageId{"read_latest_message",
                                   "SELECT id, sb_micros(created_at) FROM messages WHERE channel_pk = $1 "
                                   "AND (parent_id IS NULL OR show_in_channel) ORDER BY created_at DESC, pk DESC LIMIT 1"};
// Mark unread's new read point: the last message shown in the channel before the first unread one.
#define SB_SHOWN_BEFORE(at, pk)                                                                       \
    "SELECT b.id FROM messages b WHERE b.channel_pk = $1 AND (b.parent_id IS NULL OR b.show_in_channel) " \
    "AND (b.created_at, b.pk) < (" at ", " pk ") ORDER BY b.created_at DESC, b.pk DESC LIMIT 1"
// $1 channel pk, $2 the first unread message's id: that message (none when it is not in this
// channel) and the one shown before it, in one round trip.
const PgStatement kUnreadFromMessage{"read_unread_from_message",
                                     "SELECT f.id, sb_micros(f.created_at), (" SB_SHOWN_BEFORE("f.created_at", "f.pk")
                                     ") FROM messages f WHERE f.channel_pk = $1 AND f.id = $2"};
// $1 channel pk, $2 the first unread time (micros).
const PgStatement kUnreadFromTime{"read_unread_from_time", SB_SHOWN_BEFORE("sb_time($2)", "0")};
#undef SB_SHOWN_BEFORE

// notification.mark_read / mark_unread carry the user's totals; an exact `unread_channels` matters
// (0 clears every badge in the list).
void PutUnreadTotals(JsonWriter& w, const members::UnreadSummary& s) {
    PutInt(w, "total_unread_count", s.total_unread_count);
    PutInt(w, "unread_count", s.total_unread_count);
    PutInt(w, "unread_channels", s.unread_channels);
    PutInt(w, "unread_threads", s.unread_threads());
}

std::string ReadEvent(const OpenChannel& open, const UserDirectory& users, const std::string& user_id, int64_t at,
                      const std::optional<std::string>& last_read_message_id, int64_t seq,
                      const std::optional<std::string>& thread_id) {
    // created_at is the read time: the client takes it as last_read.
    Event e("message.read", open.channel.cid, at);
    e.User(users, user_id);
    PutOptString(e.w(), "last_read_message_id", last_read_message_id);
    if (thread_id) {
        PutKey(e.w(), "thread");
        e.w().StartObject();
        PutString(e.w(), "parent_message_id", *thread_id);
        PutString(e.w(), "channel_cid", open.channel.cid);
        e.w().EndObject();
    }
    if (seq > 0) e.Seq(seq);
    return e.Done();
}

// The parent message of thread `thread_id`, which must be in the channel (400 naming `field`).
MessageRow ThreadParentIn(Call& call, const OpenChannel& open, std::string_view thread_id, const char* field) {
    auto parent = messages::Find(call.db(), thread_id);
    if (!parent || parent->channel_pk != open.channel.pk || parent->parent_id)
        throw BadRequest("thread " + std::string(thread_id) + " is not a thread of this channel", field);
    return std::move(*parent);
}

// Mark unread in a thread ({"thread_id", "message_id"?}): from that reply, or from the newest
// reply by someone else. notification.mark_unread goes without cid: the SDK hands an event with a
// cid to that channel, whose handler would take the thread's counts for the channel's.
Reply MarkThreadUnread(Call& call, const Actor& actor, const OpenChannel& open, std::string_view thread_id,
                       std::optional<std::string_view> from_reply) {
    MessageRow parent = ThreadParentIn(call, open, thread_id, "thread_id");
    if (from_reply) {
        auto reply = messages::Find(call.db(), *from_reply);
        if (!reply || reply->parent_id != parent.id)
            throw BadRequest("message " + std::string(*from_reply) + " is not a reply of this thread", "message_id");
    }
    // The mark and the user's new totals in one round trip (one implicit transaction).
    std::optional<threads::MarkedUnread> marked;
    members::UnreadSummary summary;
    PgBatch mark(call.db());
    threads::MarkUnread(mark, parent.pk, actor.id(), from_reply.value_or(""), marked);
    members::Unread(mark, actor.id(), summary);
    mark.Run();
    if (!marked) return EmptyReply();  // no part in the thread, or nothing to be unread
    UserDirectory users;
    users.Put(actor.user, true);
    Event n("notification.mark_unread", "", NowMicros());
    n.User(users, actor.id());
    PutString(n.w(), "thread_id", parent.id);
    PutString(n.w(), "channel_cid", open.channel.cid);
    PutString(n.w(), "first_unread_message_id", marked->first_unread_message_id);
    PutOptString(n.w(), "last_read_message_id", marked->participant.last_read_message_id);
    PutTime(n.w(), "last_read_at", marked->participant.last_read_at);
    PutInt(n.w(), "unread_messages", marked->participant.unread_messages);
    PutUnreadTotals(n.w(), summary);
    Outbox outbox;
    outbox.Publish(keys::UserTopic(actor.id()), n.Done());
    outbox.Flush(call.redis());
    return EmptyReply();
}

}  // namespace

// POST /api/channels/{type}/{id}/read/ {"message_id"?, "thread_id"?}
Reply HandleMarkRead(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), true, type, id);
    RequireCapability(open.caps, "read-events");
    if (!open.membership) throw BadRequest("only members have read state", "user_id");
    UserDirectory users;
    users.Put(actor.user, true);
    int64_t now = NowMicros();
    auto thread_id = json::OptString(body, "thread_id", "thread_id");
    if (thread_id) {
        // A thread's read point is the participant's own (sql/100_threads.sql); the channel's does
        // not move. Announced like any read (STREAM-PROTOCOL.md §5): message.read with `thread` to
        // the watchers (the client skips channel read updates for it), notification.mark_read with
        // thread_id and the new totals to the user. A member who takes no part in the thread has
        // no read state in it, and is answered all the same.
        MessageRow parent = ThreadParentIn(call, open, *thread_id, "thread_id");
        // The read and the user's new totals in one round trip (one implicit transaction).
        std::optional<threads::ParticipantRow> read;
        members::UnreadSummary summary;
        PgBatch mark(call.db());
        threads::MarkRead(mark, parent.pk, actor.id(), now, read);
        members::Unread(mark, actor.id(), summary);
        mark.Run();
        std::optional<std::string> last_read_id = read ? read->last_read_message_id : std::nullopt;
        if (read) now = read->last_read_at;
        std::string event = ReadEvent(open, users, actor.id(), now, last_read_id, 0, parent.id);
        Event n("notification.mark_read", open.channel.cid, now);
        n.User(users, actor.id());
        PutString(n.w(), "thread_id", parent.id);
        PutOptString(n.w(), "last_read_message_id", last_read_id);
        PutUnreadTotals(n.w(), summary);
        Outbox outbox;
        if (actor.user.read_receipts) outbox.Publish(keys::ChannelTopic(open.channel.cid), event);
        outbox.Publish(keys::UserTopic(actor.id()), n.Done());
        outbox.Flush(call.redis());
        JsonBuffer buf;
        JsonWriter w(buf);
        w.StartObject();
        PutRaw(w, "event", event);
        w.EndObject();
        return Reply::Json(JsonText(buf));
    }
    std::optional<std::string> last;
    auto message_id = json::OptString(body, "message_id", "message_id");
    if (message_id) {
        // Read up to that message, not beyond it.
        auto m = messages::Find(call.db(), *message_id);
        if (!m || m->channel_pk != open.channel.pk) throw BadRequest("message is not in this channel", "message_id");
        last = m->id;
        now = m->created_at;
    }
    Outbox outbox;
    std::string event;
    {
        PgTransaction tx(call.db());
        // The channel's row first, then the member's, in the order of a send (which stamps the
        // channel, then marks its sender's read): the other order could deadlock with it. The
        // newest message is read once the row is held, in the same round trip: no send can slip
        // in between, so the read point covers every message before it.
        // A user who turned read receipts off (privacy_settings) reads for itself: the channel's
        // watchers are not told, so no seq is taken (0 of them, which still locks the row).
        bool told = actor.user.read_receipts;
        int64_t seq = 0;
        PgBatch locked(call.db());
        channels::ReserveEventSeq(locked, open.channel.pk, told ? 1 : 0, seq);
        if (!message_id) {
            locked.Add(kLatestMessageId, PgParams().Add(open.channel.pk), [&](const PgResult& r) {
                if (r.empty()) return;
                last = std::string(r.Str(0, 0));
                // During a burst, stamps run ahead of the clock (each message is >= 1 ms after
                // the previous): reading "now" must still cover the newest message.
                now = std::max(now, r.Int(0, 1));
            });
        }
        locked.Run();
        if (!told) seq = 0;
        // Its row is not read: it leaves with the COMMIT, as the event's log row does.
        members::QueueMarkRead(call.db(), open.channel.pk, actor.id(), now, last);
        event = ReadEvent(open, users, actor.id(), now, last, seq, std::nullopt);
        if (told) outbox.Channel(open.channel.pk, open.channel.cid, seq, "message.read", event);
        outbox.Persist(call.db());
        tx.Commit();
    }
    // After the COMMIT, not with it: read inside the transaction, the totals would keep the
    // channel's row locked for one more statement (docs/performance.md, "Tried and left out").
    auto summary = members::Unread(call.db(), actor.id());
    Event n("notification.mark_read", open.channel.cid, now);
    n.User(users, actor.id());
    PutOptString(n.w(), "last_read_message_id", last);
    PutInt(n.w(), "unread_messages", 0);
    PutUnreadTotals(n.w(), summary);
    outbox.Publish(keys::UserTopic(actor.id()), n.Done());
    outbox.Flush(call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutRaw(w, "event", event);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/channels/{type}/{id}/unread/ {"message_id"} or {"message_timestamp"}
Reply HandleMarkUnread(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    auto [actor, open] = LoadActorIn(call, NamedUser(body), true, type, id);
    RequireCapability(open.caps, "read-events");
    if (!open.membership) throw BadRequest("only members have read state", "user_id");
    if (auto thread_id = json::OptString(body, "thread_id", "thread_id"))
        return MarkThreadUnread(call, actor, open, *thread_id, json::OptString(body, "message_id", "message_id"));
    // The first unread message: everything before it stays read.
    int64_t first_at = 0;
    std::string first_id;
    std::optional<std::string> last_read_id;
    if (auto message_id = json::OptString(body, "message_id", "message_id")) {
        PgResult r = call.db().Run(kUnreadFromMessage, PgParams().Add(open.channel.pk).Add(*message_id));
        if (r.empty()) throw BadRequest("message is not in this channel", "message_id");
        first_id = std::string(r.Str(0, 0));
        first_at = r.Int(0, 1);
        last_read_id = r.OptStr(0, 2);
    } else if (auto ts = json::OptString(body, "message_timestamp", "message_timestamp")) {
        auto t = ParseTimestamp(*ts);
        if (!t) throw BadRequest("message_timestamp must be an RFC 3339 time", "message_timestamp");
        first_at = *t;
        PgResult r = call.db().Run(kUnreadFromTime, PgParams().Add(open.channel.pk).Add(first_at));
        if (!r.empty()) last_read_id = std::string(r.Str(0, 0));
    } else {
        throw BadRequest("message_id or message_timestamp is required", "message_id");
    }
    int64_t last_read_at = first_at - 1;
    // The member's update and the user's totals in one round trip: one implicit transaction, so
    // the totals count the read point just set.
    std::optional<MemberRow> member;
    members::UnreadSummary summary;
    PgBatch mark(call.db());
    members::MarkRead(mark, open.channel.pk, actor.id(), last_read_at, last_read_id, member);
    members::Unread(mark, actor.id(), summary);
    mark.Run();
    UserDirectory users;
    users.Put(actor.user, true);
    Event n("notification.mark_unread", open.channel.cid, NowMicros());
    n.User(users, actor.id());
    if (!first_id.empty()) PutString(n.w(), "first_unread_message_id", first_id);
    PutOptString(n.w(), "last_read_message_id", last_read_id);
    PutTime(n.w(), "last_read_at", last_read_at);
    PutInt(n.w(), "unread_messages", member ? member->unread_messages : 0);
    PutUnreadTotals(n.w(), summary);
    Outbox outbox;
    outbox.Publish(keys::UserTopic(actor.id()), n.Done());
    outbox.Flush(call.redis());
    return EmptyReply();
}

// POST /api/channels/read/: mark every channel read.
Reply HandleMarkAllRead(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    // One transaction from the reads to the logged events: a seq reserved is a seq written, or
    // neither (a gap in a channel's log would stall every client that resumes by seq).
    // Three statements whatever the number of channels: the reads, a seq in each channel, and the
    // threads' read points.
    PgTransaction tx(call.db());
    int64_t now = NowMicros();
    auto marked = members::MarkAllRead(call.db(), actor.id());
    std::vector<int64_t> pks;
    pks.reserve(marked.size());
    // With read receipts off (privacy_settings), no channel is told.
    if (actor.user.read_receipts)
        for (const auto& m : marked) pks.push_back(m.channel_pk);
    auto seqs = channels::ReserveEventSeqs(call.db(), pks);
    // The threads last, with the COMMIT: a reply holds its channel's row when it moves its
    // participants' rows, so taking those rows before the channels' could deadlock with it.
    threads::QueueMarkAllRead(call.db(), actor.id(), now);
    UserDirectory users;
    users.Put(actor.user, true);
    Outbox outbox;
    for (const auto& m : marked) {
        auto seq_of = seqs.find(m.channel_pk);
        if (seq_of == seqs.end()) continue;  // the channel was deleted meanwhile: nobody to tell
        int64_t seq = seq_of->second;
        Event e("message.read", m.cid, now);
        e.User(users, actor.id());
        PutOptString(e.w(), "last_read_message_id", m.last_read_message_id);
        e.Seq(seq);
        outbox.Channel(m.channel_pk, m.cid, seq, "message.read", e.Done());
    }
    outbox.Persist(call.db());
    tx.Commit();
    // "Mark all read" is the one mark_read without cid: the client clears every badge.
    Event n("notification.mark_read", "", now);
    n.User(users, actor.id());
    PutUnreadTotals(n.w(), members::UnreadSummary{});
    outbox.Publish(keys::UserTopic(actor.id()), n.Done());
    outbox.Flush(call.redis());
    return EmptyReply();
}

// POST /api/channels/delivered/ {"latest_delivered_messages": [{"cid", "id", "parent_id"?}]}
// Delivery receipts: a device of the caller has received these messages (stream-chat reports them
// about a second after they arrive, in channel types with delivery_events). Each channel whose
// delivered point moves tells its watchers with message.delivered, logged with a seq like
// message.read. An entry for a channel without delivery_events, one the caller is not a member of
// or is banned from, a message not shown in that channel, or one at or before the point already
// confirmed changes nothing: the SDK reports what its state holds, and a channel that changed
// meanwhile must not cost the other channels of the report (it drops a refused report whole).
// Thread replies are skipped: getstream.io tracks delivery of channel messages only.
Reply HandleMarkDelivered(Call& call) {
    constexpr rapidjson::SizeType kMaxEntries = 100;  // the SDK sends at most 100 a request
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    const JsonValue* list = json::OptArray(body, "latest_delivered_messages", "latest_delivered_messages");
    if (list == nullptr) throw BadRequest("latest_delivered_messages is required", "latest_delivered_messages");
    if (list->Size() > kMaxEntries)
        throw BadRequest("latest_delivered_messages holds at most 100 entries", "latest_delivered_messages");
    std::vector<members::DeliveryAsked> asked;
    for (const auto& item : list->GetArray()) {
        if (!item.IsObject())
            throw BadRequest("each of latest_delivered_messages must be an object", "latest_delivered_messages");
        std::string_view cid = json::RequireString(item, "cid", "latest_delivered_messages.cid");
        if (!ParseCid(cid)) throw BadRequest("cid must be type:id", "latest_delivered_messages.cid");
        std::string_view id = json::RequireString(item, "id", "latest_delivered_messages.id");
        if (id.empty() || id.size() > 255) throw BadRequest("id must be a message id", "latest_delivered_messages.id");
        if (json::OptString(item, "parent_id", "latest_delivered_messages.parent_id")) continue;
        asked.push_back({std::string(cid), std::string(id)});
    }
    // A user who turned delivery receipts off (privacy_settings) confirms nothing to anyone.
    if (!actor.user.delivery_receipts) return EmptyReply();
    auto delivery_types = channels::DeliveryEventTypes(call.db());
    if (asked.empty() || delivery_types.empty()) return EmptyReply();
    UserDirectory users;
    users.Put(actor.user, true);
    Outbox outbox;
    {
        // One transaction from the points to the logged events, as mark all read: a seq reserved
        // is a seq written.
        PgTransaction tx(call.db());
        auto moved = members::MarkDelivered(call.db(), actor.id(), asked, delivery_types);
        if (moved.empty()) return EmptyReply();
        std::vector<int64_t> pks;
        pks.reserve(moved.size());
        for (const auto& d : moved) pks.push_back(d.channel_pk);
        auto seqs = channels::ReserveEventSeqs(call.db(), pks);
        int64_t now = NowMicros();
        for (const auto& d : moved) {
            auto seq_of = seqs.find(d.channel_pk);
            if (seq_of == seqs.end()) continue;  // deleted meanwhile: nobody to tell
            Event e("message.delivered", d.cid, now);
            e.User(users, actor.id());
            PutTime(e.w(), "last_delivered_at", d.at);
            PutString(e.w(), "last_delivered_message_id", d.message_id);
            e.Seq(seq_of->second);
            outbox.Channel(d.channel_pk, d.cid, seq_of->second, "message.delivered", e.Done());
        }
        outbox.Persist(call.db());
        tx.Commit();
    }
    outbox.Flush(call.redis());
    return EmptyReply();
}

// POST /api/channels/{type}/{id}/event/ {"event": {"type": "typing.start", "parent_id"?, ...}}
Reply HandleSendEvent(Call& call) {
    auto [type, id] = ChannelPath(call);
    auto body = ParseJsonObject(call.request().body);
    const JsonValue* event = json::OptObject(body, "event", "event");
    if (event == nullptr) throw BadRequest("event is required", "event");
    auto [actor, open] = LoadActorIn(call, NamedUser(*event) ? NamedUser(*event) : NamedUser(body), true, type, id);
    std::string event_type(json::RequireString(*event, "type", "event.type"));
    bool typing = event_type == "typing.start" || event_type == "typing.stop";
    if (typing) {
        RequireCapability(open.caps, "send-typing-events");
    } else {
        // Custom events: any name outside getstream.io's own namespaces.
        if (event_type.empty() || event_type.size() > 64 || event_type.find('.') != std::string::npos)
            throw BadRequest("custom event types are names without a dot, at most 64 characters", "event.type");
        RequireCapability(open.caps, "send-custom-events");
    }
    UserDirectory users;
    users.Put(actor.user, true);
    Event e(event_type, open.channel.cid, NowMicros());
    e.User(users, actor.id());
    if (auto parent = json::OptString(*event, "parent_id", "event.parent_id")) PutString(e.w(), "parent_id", *parent);
    if (!typing) {
        for (auto it = event->MemberBegin(); it != event->MemberEnd(); ++it) {
            std::string_view k = it->name.GetString();
            if (k == "type" || k == "cid" || k == "channel_id" || k == "channel_type" || k == "created_at" ||
                k == "user" || k == "user_id" || k == "parent_id")
                continue;
            PutKey(e.w(), k);
            it->value.Accept(e.w());
        }
    }
    std::string payload = e.Done();
    if (payload.size() > 5 * 1024) throw BadRequest("the event is larger than 5 KB", "event");
    // A user who turned typing indicators off (privacy_settings) is answered, and nobody is told.
    if (!typing || actor.user.typing_indicators) {
        Outbox outbox;
        outbox.Publish(keys::ChannelTopic(open.channel.cid), payload);
        outbox.Flush(call.redis());
    }
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutRaw(w, "event", payload);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/unread/
Reply HandleGetUnread(Call& call) {
    Actor actor = LoadActor(call, call.Query("user_id"), true);
    auto summary = members::Unread(call.db(), actor.id());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutInt(w, "total_unread_count", summary.total_unread_count);
    PutInt(w, "total_unread_threads_count", summary.unread_threads());
    PutKey(w, "channels");
    w.StartArray();
    std::map<std::string, std::pair<int64_t, int64_t>> by_type;
    for (const auto& c : summary.channels) {
        w.StartObject();
        PutString(w, "channel_id", c.cid);
        PutInt(w, "unread_count", c.unread_messages);
        PutTime(w, "last_read", c.last_read_at);
        w.EndObject();
        auto& t = by_type[c.cid.substr(0, c.cid.find(':'))];
        t.first += c.unread_messages > 0 ? 1 : 0;
        t.second += c.unread_messages;
    }
    w.EndArray();
    PutKey(w, "channel_type");
    w.StartArray();
    for (const auto& [name, counts] : by_type) {
        w.StartObject();
        PutString(w, "channel_type", name);
        PutInt(w, "channel_count", counts.first);
        PutInt(w, "unread_count", counts.second);
        w.EndObject();
    }
    w.EndArray();
    PutKey(w, "threads");
    w.StartArray();
    for (const auto& t : summary.threads) {
        w.StartObject();
        PutString(w, "parent_message_id", t.parent_id);
        PutInt(w, "unread_count", t.unread_messages);
        PutTime(w, "last_read", t.last_read_at);
        PutOptString(w, "last_read_message_id", t.last_read_message_id);
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
