// Threads as getstream.io lists them (stream-chat's queryThreads, getThread and
// partialUpdateThread; the kit's ThreadList). The replies are messages (handlers/send.cpp starts
// and continues a thread); the thread's own state is in store/threads.h.

#include <map>
#include <type_traits>
#include <unordered_map>

#include "common/clock.h"
#include "common/errors.h"
#include "common/keys.h"
#include "fcgi-app/drafts.h"
#include "fcgi-app/event.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/membership.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/store/threads.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

constexpr int kMaxThreadsPage = 100;
const OffsetCursor kCursor("threads:");

struct ThreadLimits {
    int replies = 3;
    int participants = 100;
    int members = 100;  // of each thread's channel
};

// Everything the threads of a page refer to, read in two round trips to PostgreSQL whatever their
// number (the parents, newest replies, participants, channels' members and views together, then
// what the messages refer to, the users and the members' unread counts), then Redis for presence
// and the caller's drafts.
class ThreadPage {
public:
    ThreadPage(Call& call, const Actor& actor, std::vector<threads::ThreadRow> rows, const ThreadLimits& limits)
        : actor_(actor), rows_(std::move(rows)) {
        std::vector<std::string> parent_ids;
        std::vector<int64_t> parent_pks;
        std::vector<int64_t> channel_pks;
        std::map<std::string, std::optional<channels::ChannelView>> views;
        for (const auto& t : rows_) {
            parent_ids.push_back(t.parent_id);
            parent_pks.push_back(t.parent_pk);
            if (views.emplace(t.cid, std::nullopt).second) channel_pks.push_back(t.channel_pk);
        }
        if (rows_.empty()) return;
        PgBatch reads(call.db());
        PgBatch second(call.db());  // what the first batch's rows lead to
        messages::FindMany(reads, parent_ids, parents_);
        if (limits.replies > 0) threads::LatestReplies(reads, parent_ids, limits.replies, replies_);
        if (limits.participants > 0) threads::Participants(reads, parent_pks, limits.participants, participants_);
        if (limits.members > 0) members::ListForChannels(reads, second, channel_pks, limits.members, members_);
        for (auto& [cid, view] : views) channels::FindView(reads, cid, actor.id(), view);
        reads.Run();
        for (auto& [cid, view] : views) {
            if (!view) continue;  // deleted meanwhile
            try {
                opened_.emplace(cid, StandingIn(call, std::move(*view), actor));
            } catch (const ApiError&) {
                // No longer readable by the caller (banned, say): its threads are left out.
            }
        }
        std::vector<const MessageRow*> messages;
        for (const auto& m : parents_) messages.push_back(&m);
        for (const auto& m : replies_) messages.push_back(&m);
        for (const auto& t : rows_) context_.users.Want(t.created_by);
        for (const auto& p : participants_) context_.users.Want(p.user_id);
        for (const auto& m : members_) context_.users.Want(m.user_id);
        for (const auto& [cid, open] : opened_) {
            if (open.channel.created_by) context_.users.Want(*open.channel.created_by);
        }
        context_.users.Put(actor.user, true);
        context_.Load(second, messages, actor.id());
        second.Run();
        // What each thread refers to, by thread and by channel, for Write.
        for (const auto& m : parents_) parent_of_[m.pk] = &m;
        for (const auto& m : replies_) replies_of_[*m.parent_id].push_back(&m);
        for (const auto& p : participants_) participants_of_[p.parent_pk].push_back(&p);
        for (const auto& m : members_) members_of_[m.channel_pk].push_back(&m);
        context_.Settle(call.db(), call.redis());
        // The caller's draft of each thread: the SDK's thread composer starts from it.
        std::vector<drafts::DraftPlace> places;
        for (const auto& t : rows_) places.push_back({t.cid, t.parent_id});
        RedisBatch redis;
        drafts::LoadMany(redis, actor.id(), places, drafts_);
        redis.Run(call.redis());
    }

    // The cids of the threads written: what `watch` subscribes to.
    std::vector<std::string> Cids() const {
        std::vector<std::string> cids;
        for (const auto& [cid, open] : opened_) cids.push_back(cid);
        return cids;
    }

    // Writes each thread whose parent and channel are still there, in the page's order.
    void WriteAll(JsonWriter& w) const {
        for (size_t i = 0; i < rows_.size(); ++i) Write(w, i);
    }
    bool WriteOne(JsonWriter& w) const { return !rows_.empty() && Write(w, 0); }

private:
    bool Write(JsonWriter& w, size_t i) const {
        const threads::ThreadRow& t = rows_[i];
        auto open = opened_.find(t.cid);
        auto parent = parent_of_.find(t.parent_pk);
        if (open == opened_.end() || parent == parent_of_.end()) return false;
        ThreadView view;
        view.thread = &t;
        view.parent = parent->second;
        view.channel = &open->second.channel;
        view.type = open->second.type;
        view.caps = &open->second.caps;
        view.caller = actor_.id();
        auto listed = [](const auto& by_key, const auto& key) {
            auto found = by_key.find(key);
            return found == by_key.end() ? std::decay_t<decltype(found->second)>{} : found->second;
        };
        view.replies = listed(replies_of_, t.parent_id);
        view.participants = listed(participants_of_, t.parent_pk);
        view.members = listed(members_of_, t.channel_pk);
        if (drafts_[i]) view.draft = &*drafts_[i];
        WriteThread(w, view, context_);
        return true;
    }

    const Actor& actor_;
    std::vector<threads::ThreadRow> rows_;
    std::vector<MessageRow> parents_;
    std::vector<MessageRow> replies_;
    std::vector<threads::ParticipantRow> participants_;
    std::vector<MemberRow> members_;
    std::unordered_map<int64_t, const MessageRow*> parent_of_;
    std::unordered_map<std::string, std::vector<const MessageRow*>> replies_of_;
    std::unordered_map<int64_t, std::vector<const threads::ParticipantRow*>> participants_of_;
    std::unordered_map<int64_t, std::vector<const MemberRow*>> members_of_;
    std::map<std::string, OpenChannel> opened_;
    MessageContext context_;
    std::vector<std::optional<Draft>> drafts_;  // by row
};

// The thread of message `message_id` (a top-level message with replies) for an actor who can
// read its channel; 404 when there is none.
struct OpenThread {
    Actor actor;
    MessageAccess access;
    threads::ThreadRow thread;
};
OpenThread LoadThread(Call& call, std::optional<std::string_view> named, bool required, const std::string& message_id) {
    auto [actor, access] = LoadActorOnMessage(call, named, required, message_id);
    std::optional<threads::ThreadRow> thread;
    if (!access.message.parent_id) thread = threads::Find(call.db(), access.message.pk, actor.id());
    if (!thread) throw NotFound("message " + message_id + " has no thread");
    return OpenThread{std::move(actor), std::move(access), std::move(*thread)};
}

Reply ThreadReply(Call& call, const Actor& actor, threads::ThreadRow thread, const ThreadLimits& limits, bool watch) {
    std::vector<threads::ThreadRow> rows;
    rows.push_back(std::move(thread));
    ThreadPage page(call, actor, std::move(rows), limits);
    if (watch) WatchForCaller(call, actor, page.Cids());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "thread");
    if (!page.WriteOne(w)) throw NotFound("the thread is gone");
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace

// POST /api/threads/ {"limit", "reply_limit", "participant_limit", "member_limit", "watch",
// "filter", "sort", "next"}: the threads the user takes part in, by default unread ones first,
// then by their newest reply.
Reply HandleQueryThreads(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    int limit = BodyInt(body, "limit", "limit", 10, 1, kMaxThreadsPage);
    ThreadLimits limits;
    limits.replies = BodyInt(body, "reply_limit", "reply_limit", 3, 0, 10);
    limits.participants = BodyInt(body, "participant_limit", "participant_limit", 100, 0, 100);
    limits.members = BodyInt(body, "member_limit", "member_limit", 100, 0, 100);
    bool watch = json::OptBool(body, "watch", "watch").value_or(false);
    int offset = kCursor.Read(body);

    PgParams params;
    params.Add(actor.id());  // $1
    FilterCompiler filter(params);
    filter.AddField("channel_cid", "c.cid", FilterCompiler::Kind::kText);
    filter.AddField("parent_message_id", "pm.id", FilterCompiler::Kind::kText);
    filter.AddField("created_by_user_id", "t.created_by", FilterCompiler::Kind::kText);
    filter.AddField("created_at", "t.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "t.updated_at", FilterCompiler::Kind::kTime);
    filter.AddField("last_message_at", "t.last_message_at", FilterCompiler::Kind::kTime);
    filter.AllowCustom("t.custom");
    const JsonValue* filter_json = json::OptObject(body, "filter", "filter");
    std::string where = filter.Compile(filter_json);

    SortCompiler sort;
    sort.AddField("has_unread", "(q.unread > 0)");
    sort.AddField("last_message_at", "q.last_message_at");
    sort.AddField("created_at", "q.created_at");
    sort.AddField("updated_at", "q.updated_at");
    sort.AddField("reply_count", "q.reply_count");
    sort.AddField("participant_count", "q.participants");
    sort.AddField("active_participant_count", "q.participants");
    sort.AddField("parent_message_id", "q.parent_id");
    std::string order = sort.Compile(json::OptArray(body, "sort", "sort"),
                                     "(q.unread > 0) DESC, q.last_message_at DESC", "q.parent_pk DESC");

    // One more than asked: whether there is a next page.
    auto rows = threads::List(call.db(), where, order, std::move(params), limit + 1, offset);
    bool more = static_cast<int>(rows.size()) > limit;
    if (more) rows.pop_back();
    ThreadPage page(call, actor, std::move(rows), limits);
    if (watch) WatchForCaller(call, actor, page.Cids());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "threads");
    w.StartArray();
    page.WriteAll(w);
    w.EndArray();
    kCursor.Write(w, offset, limit, more);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/threads/{id}/?reply_limit=&participant_limit=&member_limit=&watch=
Reply HandleGetThread(Call& call) {
    auto [actor, access, thread] = LoadThread(call, call.Query("user_id"), false, call.Param("id"));
    ThreadLimits limits;
    limits.replies = QueryInt(call, "reply_limit", 3, 0, 10);
    limits.participants = QueryInt(call, "participant_limit", 100, 0, 100);
    limits.members = QueryInt(call, "member_limit", 100, 0, 100);
    bool watch = call.Query("watch").value_or("") == "true";
    return ThreadReply(call, actor, std::move(thread), limits, watch);
}

// PATCH /api/threads/{id}/ {"set": {"title"?, ...custom}, "unset": [...]}: the parent's author,
// channel moderators and admins may rename a thread and change its custom data; the channel's
// watchers get thread.updated.
Reply HandleUpdateThread(Call& call) {
    constexpr size_t kMaxCustomBytes = 5 * 1024;
    auto body = ParseJsonObject(call.request().body);
    auto [actor, access, thread] = LoadThread(call, NamedUser(body), true, call.Param("id"));
    const OpenChannel& open = access.channel;
    if (!actor.admin() && actor.id() != access.message.user_id && !HasCapability(open.caps, "update-any-message"))
        throw Forbidden("only the thread's author, channel moderators and admins change a thread");
    const JsonValue* set = json::OptObject(body, "set", "set");
    const JsonValue* unset = json::OptArray(body, "unset", "unset");
    if (set == nullptr && unset == nullptr) throw BadRequest("set or unset is required", "set");

    std::optional<std::string> title;
    rapidjson::Document custom_set(rapidjson::kObjectType);
    if (set != nullptr) {
        for (auto it = set->MemberBegin(); it != set->MemberEnd(); ++it) {
            std::string_view key(it->name.GetString(), it->name.GetStringLength());
            if (key == "title") {
                if (!it->value.IsString()) throw BadRequest("title must be a string", "set.title");
                title = std::string(it->value.GetString(), it->value.GetStringLength());
                if (CountCharacters(*title) > 255) throw BadRequest("title is at most 255 characters", "set.title");
                continue;
            }
            if (IsReservedThreadField(key) || key.empty() || key.size() > 64)
                throw BadRequest("cannot set " + std::string(key) + " on a thread", "set");
            custom_set.AddMember(JsonValue(it->name, custom_set.GetAllocator()),
                                 JsonValue(it->value, custom_set.GetAllocator()), custom_set.GetAllocator());
        }
    }
    std::vector<std::string> custom_unset;
    if (unset != nullptr) {
        if (unset->Size() > 100) throw BadRequest("unset lists at most 100 fields", "unset");
        for (const auto& v : unset->GetArray()) {
            if (!v.IsString()) throw BadRequest("unset lists field names", "unset");
            std::string_view key(v.GetString(), v.GetStringLength());
            if (key == "title") {
                title = std::string();
                continue;
            }
            if (IsReservedThreadField(key))
                throw BadRequest("cannot unset " + std::string(key) + " on a thread", "unset");
            custom_unset.emplace_back(key);
        }
    }
    std::string custom_set_json = ToJson(custom_set);
    if (custom_set_json.size() + thread.custom_json.size() > kMaxCustomBytes)
        throw BadRequest("a thread's custom data is at most 5 KB", "set");

    Outbox outbox;
    {
        // The channel's row first (its seq), then the thread's: a reply locks them in that order.
        PgTransaction tx(call.db());
        int64_t seq = channels::ReserveEventSeq(call.db(), open.channel.pk, 1);
        auto updated = threads::Update(call.db(), thread.parent_pk, title, custom_set_json, custom_unset);
        if (!updated) throw NotFound("the thread is gone");
        updated->own = std::move(thread.own);
        thread = std::move(*updated);
        UserDirectory users;
        users.Put(actor.user, true);
        Event e("thread.updated", open.channel.cid, thread.updated_at);
        e.User(users, actor.id());
        PutKey(e.w(), "thread");
        WriteThreadSummary(e.w(), thread, access.message);
        e.Seq(seq);
        outbox.Channel(open.channel.pk, open.channel.cid, seq, "thread.updated", e.Done());
        outbox.Persist(call.db());
        tx.Commit();
    }
    outbox.Flush(call.redis());
    ThreadLimits limits;
    return ThreadReply(call, actor, std::move(thread), limits, false);
}

}  // namespace streambed
