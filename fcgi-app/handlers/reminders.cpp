// Message reminders (getstream.io's createReminder, updateReminder, deleteReminder and
// queryReminders; the kit's "Remind me" and "Save for later" message actions, shown where the
// channel type has user_message_reminders). A reminder is its user's alone: the routes act on the
// caller's, every event goes to the caller's connections only, and a message carries the
// caller's reminder as `reminder` (hydrate.h). streambed-push sends notification.reminder_due when
// the time comes (fcgi-app/reminder_events.h).

#include "fcgi-app/store/reminders.h"
#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/reminder_events.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

constexpr int kMaxRemindersPage = 100;
const OffsetCursor kCursor("reminders:");

// The message of /messages/{id}/reminders/, for a caller who can read it, in a channel whose
// type has reminders.
ActingOnMessage OpenReminderTarget(Call& call, const JsonValue& body) {
    auto named = NamedUser(body);
    if (!named) named = call.Query("user_id");
    ActingOnMessage target = LoadActorOnMessage(call, named, true, call.Param("id"));
    const ChannelTypeRow& type = *target.access.channel.type;
    if (!type.user_message_reminders)
        throw BadRequest("reminders are not enabled for channel type " + type.name +
                             " (user_message_reminders: updateChannelType turns them on)",
                         "id");
    if (target.access.message.type == "deleted") throw BadRequest("a deleted message cannot have a reminder", "id");
    return target;
}

// remind_at of a create or update: absent or null is none (saved for later).
std::optional<int64_t> RemindAt(const JsonValue& body) {
    const JsonValue* v = json::Find(body, "remind_at");
    if (v == nullptr || v->IsNull()) return std::nullopt;
    std::optional<int64_t> t;
    if (v->IsString()) t = ParseTimestamp(std::string_view(v->GetString(), v->GetStringLength()));
    if (!t) throw BadRequest("remind_at must be an RFC 3339 time, or null", "remind_at");
    return t;
}

// {"reminder"} and the event `type` to the user's connections.
Reply ReminderChanged(Call& call, std::string_view type, const reminders::ReminderRow& reminder,
                      const MessageRow& message, const Actor& actor) {
    MessageContext ctx;
    ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), {&message}, actor.id());
    PublishReminderEvent(call.redis(), type, reminder, message, ctx);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "reminder");
    WriteReminderWithMessage(w, reminder, message, ctx);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace

// POST /api/messages/{id}/reminders/ {"remind_at"?}: 400 when the caller has one already (the
// SDK's upsertReminder then updates it, matching getstream.io's words).
Reply HandleCreateReminder(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    auto [actor, access] = OpenReminderTarget(call, body);
    auto created =
        reminders::Create(call.db(), actor.id(), access.message.pk, access.channel.channel.pk, RemindAt(body));
    if (!created) throw BadRequest("user " + actor.id() + " already has reminder created for this message_id", "id");
    return ReminderChanged(call, "reminder.created", *created, access.message, actor);
}

// PATCH /api/messages/{id}/reminders/ {"remind_at"}: a new time, or null for none; the wait for
// notification.reminder_due starts over.
Reply HandleUpdateReminder(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    auto [actor, access] = OpenReminderTarget(call, body);
    auto updated = reminders::Update(call.db(), actor.id(), access.message.pk, RemindAt(body));
    if (!updated) throw ApiError(404, code::kNotFound, "reminder does not exist", "id");
    return ReminderChanged(call, "reminder.updated", *updated, access.message, actor);
}

// DELETE /api/messages/{id}/reminders/
Reply HandleDeleteReminder(Call& call) {
    auto [actor, access] = LoadActorOnMessage(call, call.Query("user_id"), true, call.Param("id"));
    auto deleted = reminders::Delete(call.db(), actor.id(), access.message.pk);
    if (!deleted) throw ApiError(404, code::kNotFound, "reminder does not exist", "id");
    MessageContext ctx;
    ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), {&access.message}, actor.id());
    PublishReminderEvent(call.redis(), "reminder.deleted", *deleted, access.message, ctx);
    return EmptyReply();
}

// POST /api/reminders/query/ {"filter", "sort", "limit", "next" | "prev"}: the caller's reminders
// on messages it can still read, by default the soonest first and those without a time last.
Reply HandleQueryReminders(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    int limit = BodyInt(body, "limit", "limit", 25, 1, kMaxRemindersPage);
    int offset = kCursor.Read(body);

    PgParams params;
    params.Add(actor.id());  // $1
    FilterCompiler filter(params);
    filter.AddField("remind_at", "r.remind_at", FilterCompiler::Kind::kTime);
    filter.AddField("created_at", "r.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "r.updated_at", FilterCompiler::Kind::kTime);
    filter.AddField("channel_cid", "ch.cid", FilterCompiler::Kind::kText);
    filter.AddField("message_id", "msg.id", FilterCompiler::Kind::kText);
    std::string where = filter.Compile(json::OptObject(body, "filter", "filter"));
    SortCompiler sort;
    sort.AddField("remind_at", "r.remind_at");
    sort.AddField("created_at", "r.created_at");
    sort.AddField("updated_at", "r.updated_at");
    std::string order = sort.Compile(json::OptArray(body, "sort", "sort"), "r.remind_at ASC", "r.message_pk DESC");

    auto rows = reminders::List(call.db(), where, order, std::move(params), limit + 1, offset);
    bool more = static_cast<int>(rows.size()) > limit;
    if (more) rows.pop_back();
    std::vector<const MessageRow*> refs;
    for (const auto& r : rows) refs.push_back(&*r.message);
    MessageContext ctx;
    ctx.users.Put(actor.user, true);
    ctx.Load(call.db(), call.redis(), refs, actor.id());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "reminders");
    w.StartArray();
    for (const auto& r : rows) WriteReminderWithMessage(w, r, *r.message, ctx);
    w.EndArray();
    kCursor.Write(w, offset, limit, more);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
