// Polls (getstream.io's createPoll, getPoll, updatePoll, partialUpdatePoll, deletePoll, the poll
// option routes, castPollVote, removePollVote, queryPolls and queryPollVotes): the kit's poll
// composer and the poll in a message, shown where the channel type has `polls`.
//
// A user creates a poll, then sends it in a message (handlers/send.cpp); from then on it belongs
// to that message's channel: whoever can read the channel can read the poll, members with
// cast-poll-vote vote, and every change goes to the channel's watchers as a poll.* event, logged
// with the channel's other events. Before it is sent, only its creator (and admins) see it. Only
// the creator (or an admin) changes the poll itself; a member may suggest options where the poll
// allows it. An anonymous poll tells no one but the voter who voted for what: its votes go out
// without their users, and the voter's own connections get their vote with its user as well.

#include <functional>
#include <unordered_set>

#include "common/clock.h"
#include "common/errors.h"
#include "common/ids.h"
#include "common/keys.h"
#include "fcgi-app/event.h"
#include "fcgi-app/filters.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/send.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/outbox.h"
#include "fcgi-app/poll_votes.h"
#include "fcgi-app/store/polls.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

// getstream.io's limits where it states them (100 options, 2 to 10 votes in the kit), and bounds
// of the same size for the rest.
constexpr size_t kMaxNameCharacters = 255;
constexpr size_t kMaxDescriptionCharacters = 2000;
constexpr size_t kMaxOptions = 100;
constexpr size_t kMaxOptionCharacters = 255;
constexpr size_t kMaxAnswerCharacters = 500;
constexpr int64_t kMaxVotesAllowed = 10;
constexpr size_t kMaxCustomBytes = 5 * 1024;
constexpr int kMaxPage = 100;
const OffsetCursor kPollCursor("polls:");
const OffsetCursor kVoteCursor("votes:");

// A text field of a poll: present (when `required`), a string, and within `max` characters.
std::optional<std::string> TextField(const JsonValue& obj, std::string_view key, std::string_view field, size_t max,
                                     bool required) {
    auto v = json::OptString(obj, key, field);
    if (!v || v->empty()) {
        if (required) throw BadRequest(std::string(field) + " is required", std::string(field));
        return v ? std::optional<std::string>("") : std::nullopt;
    }
    if (CountCharacters(*v) > max)
        throw BadRequest(std::string(field) + " is longer than " + std::to_string(max) + " characters",
                         std::string(field));
    return std::string(*v);
}

// Custom data: the fields of `obj` that are not a poll's own, beside `extra` ones the route reads.
std::string CustomOf(const JsonValue& obj, std::string_view field, std::initializer_list<std::string_view> extra) {
    rapidjson::Document custom(rapidjson::kObjectType);
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        bool skip = IsReservedPollField(key);
        for (auto e : extra) skip = skip || key == e;
        if (skip) continue;
        custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                         custom.GetAllocator());
    }
    std::string json = ToJson(custom);
    if (json.size() > kMaxCustomBytes)
        throw BadRequest(std::string(field) + " custom data is larger than 5 KB", std::string(field));
    return json;
}

// One setting of a create, update or partial update into `s`; false for a key that is not one.
bool ApplySetting(polls::Settings& s, std::string_view key, const JsonValue& obj) {
    std::string field(key);
    if (key == "name") {
        s.name = *TextField(obj, key, field, kMaxNameCharacters, true);
    } else if (key == "description") {
        s.description = TextField(obj, key, field, kMaxDescriptionCharacters, false).value_or("");
    } else if (key == "voting_visibility") {
        auto v = json::OptString(obj, key, field).value_or("public");
        if (v != "public" && v != "anonymous") throw BadRequest("voting_visibility must be public or anonymous", field);
        s.voting_visibility = std::string(v);
    } else if (key == "max_votes_allowed") {
        const JsonValue* v = json::Find(obj, key);
        if (v->IsNull()) {
            s.max_votes_allowed.reset();
        } else {
            if (!v->IsInt64() || v->GetInt64() < 1 || v->GetInt64() > kMaxVotesAllowed)
                throw BadRequest("max_votes_allowed must be a number from 1 to 10", field);
            s.max_votes_allowed = v->GetInt64();
        }
    } else if (key == "enforce_unique_vote" || key == "allow_user_suggested_options" || key == "allow_answers" ||
               key == "is_closed") {
        bool value = json::OptBool(obj, key, field).value_or(false);
        if (key == "enforce_unique_vote")
            s.enforce_unique_vote = value;
        else if (key == "allow_user_suggested_options")
            s.allow_user_suggested_options = value;
        else if (key == "allow_answers")
            s.allow_answers = value;
        else
            s.is_closed = value;
    } else {
        return false;
    }
    return true;
}

// The rules between settings, after all of them are applied.
void CheckSettings(const polls::Settings& s) {
    if (s.name.empty()) throw BadRequest("name is required", "name");
    if (s.enforce_unique_vote && s.max_votes_allowed.value_or(1) > 1)
        throw BadRequest(
            "a poll with enforce_unique_vote takes one vote per user: max_votes_allowed must be 1 or unset",
            "max_votes_allowed");
}

// The settings a create or a full update gives (a full update resets what it leaves out).
polls::Settings SettingsOf(const JsonValue& body) {
    polls::Settings s;
    for (auto it = body.MemberBegin(); it != body.MemberEnd(); ++it)
        ApplySetting(s, std::string_view(it->name.GetString(), it->name.GetStringLength()), body);
    s.custom_json = CustomOf(body, "poll", {"user_id", "user"});
    CheckSettings(s);
    return s;
}

polls::NewOption OptionOf(const JsonValue& o, std::string_view field, bool id_required) {
    if (!o.IsObject()) throw BadRequest(std::string(field) + " must be an object", std::string(field));
    polls::NewOption option;
    auto id = json::OptString(o, "id", std::string(field) + ".id");
    if (id && (id->empty() || id->size() > 255))
        throw BadRequest(std::string(field) + ".id must be 1 to 255 characters", std::string(field) + ".id");
    if (!id && id_required) throw BadRequest(std::string(field) + ".id is required", std::string(field) + ".id");
    option.id = id ? std::string(*id) : NewUuid();
    option.text = *TextField(o, "text", std::string(field) + ".text", kMaxOptionCharacters, true);
    option.custom_json = CustomOf(o, field, {"user_id", "user"});
    return option;
}

// A create's or a full update's options: at most 100, texts and ids each unique.
std::vector<polls::NewOption> OptionsOf(const JsonValue& body) {
    std::vector<polls::NewOption> options;
    const JsonValue* list = json::OptArray(body, "options", "options");
    if (list == nullptr) return options;
    if (list->Size() > kMaxOptions) throw BadRequest("a poll has at most 100 options", "options");
    std::unordered_set<std::string> ids, texts;
    for (const auto& o : list->GetArray()) {
        options.push_back(OptionOf(o, "options", false));
        if (!ids.insert(options.back().id).second) throw BadRequest("option ids must be unique", "options");
        if (!texts.insert(options.back().text).second)
            throw BadRequest("option texts must be unique: " + options.back().text + " is there twice", "options");
    }
    return options;
}

// The poll a route names, with who acts on it and where it was sent.
struct PollTarget {
    Actor actor;
    polls::PollRow poll;
    std::vector<polls::VoteRow> own;  // the actor's votes
    std::optional<MessageRow> message;
    std::optional<OpenChannel> channel;  // the message's channel, as the actor stands in it
    bool owner() const { return actor.admin() || poll.created_by == actor.id(); }
};

// 404 for a poll that does not exist, or that the actor may not see: one not sent yet is its
// creator's; one sent is for whoever can read the channel (403 from the channel otherwise).
PollTarget OpenPoll(Call& call, std::optional<std::string_view> named, std::string_view poll_id) {
    PollTarget t{LoadActor(call, named, false), {}, {}, {}, {}};
    auto poll = polls::Find(call.db(), poll_id, t.actor.acting ? t.actor.id() : "", &t.own);
    if (!poll) throw NotFound("poll " + std::string(poll_id) + " does not exist");
    t.poll = std::move(*poll);
    if (t.poll.message_id) t.message = messages::Find(call.db(), *t.poll.message_id);
    if (t.message) {
        if (t.owner()) {
            // Its creator keeps it even after leaving the channel; the channel is still where it lives.
            try {
                t.channel = OpenForActor(call, t.message->cid, t.actor);
            } catch (const ApiError&) {
            }
        } else {
            t.channel = OpenForActor(call, t.message->cid, t.actor);
        }
    } else if (!t.owner()) {
        throw NotFound("poll " + std::string(poll_id) + " does not exist");
    }
    return t;
}

std::optional<std::string_view> NamedIn(Call& call, const JsonValue* body) {
    std::optional<std::string_view> named;
    if (body != nullptr) named = NamedUser(*body);
    if (!named) named = call.Query("user_id");
    return named;
}

void RequireOwner(const PollTarget& t) {
    if (!t.owner()) throw Forbidden("only the poll's creator can change it");
}

// A context holding the poll (as `reader` sees it) and the users it names, loaded.
MessageContext PollContext(Call& call, const Actor& actor, polls::PollRow poll, std::vector<polls::VoteRow> own) {
    MessageContext ctx;
    if (actor.acting) ctx.users.Put(actor.user, true);
    ctx.PutPoll(std::move(poll), std::move(own));
    ctx.users.Load(call.db(), call.redis());
    return ctx;
}

// After a change in transaction `tx` (which holds the poll's row): the poll as it now is, and
// `type` about it (with `vote`, for a vote event) to the channel it was sent in, logged with the
// channel's events and committed; a poll not sent yet has no one to tell, and just commits.
// Returns the context holding the new state, for the reply.
MessageContext CommitPollChange(Call& call, PgTransaction& tx, const PollTarget& t, std::string_view type,
                                const polls::VoteRow* vote) {
    std::vector<polls::VoteRow> own;
    auto now = polls::Find(call.db(), t.poll.id, t.actor.acting ? t.actor.id() : "", &own);
    polls::PollRow poll = now ? std::move(*now) : t.poll;  // deleted: the poll as it was
    MessageContext ctx = PollContext(call, t.actor, std::move(poll), std::move(own));
    if (!t.message) {
        tx.Commit();
        return ctx;
    }
    const polls::PollRow& state = ctx.polls.at(t.poll.id);
    bool anonymous_vote = vote != nullptr && state.anonymous();
    auto write = [&](bool with_user, bool seq) {
        Event e(type, t.message->cid, NowMicros());
        if (with_user && t.actor.acting) e.User(ctx.users, t.actor.id());
        PutString(e.w(), "message_id", t.message->id);
        PutKey(e.w(), "poll");
        WritePoll(e.w(), state, ctx.users, nullptr);  // to every watcher: no one's own votes
        if (vote != nullptr) {
            PutKey(e.w(), "poll_vote");
            WritePollVote(e.w(), *vote, ctx.users, with_user);
        }
        if (seq) e.SeqFromStore();
        return e.Done();
    };
    Outbox outbox;
    outbox.LogAndCommit(tx, t.message->channel_pk, t.message->cid, {{std::string(type), write(!anonymous_vote, true)}});
    // The voter's own clients learn that the vote is theirs (the SDK marks its own votes by the
    // event's user_id), which the channel's copy of an anonymous vote does not say.
    if (anonymous_vote) outbox.Publish(keys::UserTopic(t.actor.id()), write(true, false));
    outbox.Flush(call.redis());
    return ctx;
}

// {"<key>": ...} with what `write` writes there: the poll routes' replies.
Reply Wrapped(std::string_view key, const std::function<void(JsonWriter&)>& write) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, key);
    write(w);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

Reply PollReply(const MessageContext& ctx, const polls::PollRow& poll) {
    auto own = ctx.own_poll_votes.find(poll.id);
    return Wrapped("poll", [&](JsonWriter& w) {
        WritePoll(w, poll, ctx.users, own == ctx.own_poll_votes.end() ? nullptr : &own->second);
    });
}

Reply OptionReply(const MessageContext& ctx, const std::string& poll_id, const std::string& option_id) {
    const polls::PollRow& poll = ctx.polls.at(poll_id);
    for (const auto& o : poll.options)
        if (o.id == option_id) return Wrapped("poll_option", [&](JsonWriter& w) { WritePollOption(w, poll, o); });
    throw NotFound("poll option " + option_id + " does not exist");
}

// Locks the poll's row for a change, and refuses one to a poll that is gone meanwhile.
void LockPoll(Call& call, const PollTarget& t) {
    if (!polls::Lock(call.db(), t.poll.id)) throw NotFound("poll " + t.poll.id + " does not exist");
}

// New settings, under the poll's lock (LockPoll): a poll's voters were promised its visibility,
// so it cannot change once anyone has voted (an anonymous poll made public would name them).
void UpdateSettings(Call& call, const PollTarget& t, const polls::Settings& settings,
                    const std::vector<polls::NewOption>* options) {
    LockPoll(call, t);
    if (settings.voting_visibility != t.poll.settings.voting_visibility) {
        auto now = polls::Find(call.db(), t.poll.id, "", nullptr);
        if (now && now->vote_count + now->answers_count > 0)
            throw BadRequest("voting_visibility cannot change once the poll has votes", "voting_visibility");
    }
    try {
        polls::Update(call.db(), t.poll.pk, settings, options);
    } catch (const PgError& e) {
        if (!e.IsUniqueViolation()) throw;
        throw BadRequest("option texts must be unique", "options");
    }
}

// The message a vote route names, carrying the poll it names, and the voter's standing there.
ActingOnMessage OpenVoteTarget(Call& call, const JsonValue* body) {
    ActingOnMessage target = LoadActorOnMessage(call, NamedIn(call, body), true, call.Param("id"));
    const std::string& poll_id = call.Param("poll_id");
    if (target.access.message.poll_id != poll_id)
        throw NotFound("message " + target.access.message.id + " does not carry poll " + poll_id);
    if (target.access.message.type == "deleted") throw BadRequest("the poll's message was deleted", "id");
    RequireCapability(target.access.channel.caps, "cast-poll-vote");
    return target;
}

// The poll of a vote route, read with the voter's votes under its row lock, which the caller's
// open transaction holds until it ends.
PollTarget LockVotedPoll(Call& call, ActingOnMessage target) {
    PollTarget t{std::move(target.actor), {}, {}, std::move(target.access.message), std::move(target.access.channel)};
    const std::string& poll_id = call.Param("poll_id");
    std::optional<polls::PollRow> poll;
    if (polls::Lock(call.db(), poll_id)) poll = polls::Find(call.db(), poll_id, t.actor.id(), &t.own);
    if (!poll) throw NotFound("poll " + poll_id + " does not exist");
    t.poll = std::move(*poll);
    return t;
}

Reply VoteReply(const MessageContext& ctx, const polls::VoteRow& vote) {
    return Wrapped("vote", [&](JsonWriter& w) { WritePollVote(w, vote, ctx.users, true); });
}

}  // namespace

// POST /api/polls/ {name, options, ...}: a poll of the caller's, not sent yet.
Reply HandleCreatePoll(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedUser(body), true);
    if (actor.anonymous) throw Forbidden("anonymous users cannot create polls");
    polls::Settings settings = SettingsOf(body);
    std::vector<polls::NewOption> options = OptionsOf(body);
    auto id = json::OptString(body, "id", "id");
    if (id && (id->empty() || id->size() > 255)) throw BadRequest("id must be 1 to 255 characters", "id");
    std::string poll_id = id ? std::string(*id) : NewUuid();
    if (!polls::Create(call.db(), poll_id, actor.id(), settings, options))
        throw BadRequest("a poll with id " + poll_id + " already exists", "id");
    std::vector<polls::VoteRow> own;
    auto poll = polls::Find(call.db(), poll_id, actor.id(), &own);
    if (!poll) throw NotFound("poll " + poll_id + " does not exist");
    polls::PollRow row = *poll;
    return PollReply(PollContext(call, actor, std::move(*poll), std::move(own)), row);
}

// GET /api/polls/{id}/
Reply HandleGetPoll(Call& call) {
    PollTarget t = OpenPoll(call, NamedIn(call, nullptr), call.Param("id"));
    polls::PollRow row = t.poll;
    return PollReply(PollContext(call, t.actor, std::move(t.poll), std::move(t.own)), row);
}

// PUT /api/polls/ {id, name, options?, ...}: every setting replaced (left out: its default); with
// options, the poll's options become these, kept by id, the others removed with their votes.
Reply HandleUpdatePoll(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    PollTarget t = OpenPoll(call, NamedIn(call, &body), json::RequireString(body, "id", "id"));
    RequireOwner(t);
    polls::Settings settings = SettingsOf(body);
    std::optional<std::vector<polls::NewOption>> options;
    if (json::OptArray(body, "options", "options") != nullptr) options = OptionsOf(body);
    PgTransaction tx(call.db());
    UpdateSettings(call, t, settings, options ? &*options : nullptr);
    bool closing = settings.is_closed && !t.poll.settings.is_closed;
    MessageContext ctx = CommitPollChange(call, tx, t, closing ? "poll.closed" : "poll.updated", nullptr);
    return PollReply(ctx, ctx.polls.at(t.poll.id));
}

// PATCH /api/polls/{id}/ {set, unset}: the SDK's partialUpdatePoll and closePoll.
Reply HandlePartialUpdatePoll(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    PollTarget t = OpenPoll(call, NamedIn(call, &body), call.Param("id"));
    RequireOwner(t);
    polls::Settings settings = t.poll.settings;
    rapidjson::Document custom;
    custom.Parse(settings.custom_json.c_str());
    if (!custom.IsObject()) custom.SetObject();
    if (const JsonValue* set = json::OptObject(body, "set", "set")) {
        for (auto it = set->MemberBegin(); it != set->MemberEnd(); ++it) {
            std::string_view key(it->name.GetString(), it->name.GetStringLength());
            if (key == "options")
                throw BadRequest("options change through the option routes or updatePoll", "set.options");
            if (ApplySetting(settings, key, *set) || IsReservedPollField(key)) continue;
            custom.RemoveMember(it->name);
            custom.AddMember(JsonValue(it->name, custom.GetAllocator()), JsonValue(it->value, custom.GetAllocator()),
                             custom.GetAllocator());
        }
    }
    if (const JsonValue* unset = json::OptArray(body, "unset", "unset")) {
        polls::Settings defaults;
        for (const auto& k : unset->GetArray()) {
            if (!k.IsString()) throw BadRequest("unset must list field names", "unset");
            std::string_view key(k.GetString(), k.GetStringLength());
            if (key == "name") throw BadRequest("a poll's name cannot be unset", "unset");
            if (key == "description")
                settings.description = defaults.description;
            else if (key == "voting_visibility")
                settings.voting_visibility = defaults.voting_visibility;
            else if (key == "enforce_unique_vote")
                settings.enforce_unique_vote = false;
            else if (key == "max_votes_allowed")
                settings.max_votes_allowed.reset();
            else if (key == "allow_user_suggested_options")
                settings.allow_user_suggested_options = false;
            else if (key == "allow_answers")
                settings.allow_answers = false;
            else if (key == "is_closed")
                settings.is_closed = false;
            else if (custom.HasMember(k))
                custom.RemoveMember(k);
        }
    }
    settings.custom_json = ToJson(custom);
    if (settings.custom_json.size() > kMaxCustomBytes) throw BadRequest("poll custom data is larger than 5 KB", "set");
    CheckSettings(settings);
    PgTransaction tx(call.db());
    UpdateSettings(call, t, settings, nullptr);
    bool closing = settings.is_closed && !t.poll.settings.is_closed;
    MessageContext ctx = CommitPollChange(call, tx, t, closing ? "poll.closed" : "poll.updated", nullptr);
    return PollReply(ctx, ctx.polls.at(t.poll.id));
}

// DELETE /api/polls/{id}/: the poll, its options and votes; its message stays, without it.
Reply HandleDeletePoll(Call& call) {
    PollTarget t = OpenPoll(call, NamedIn(call, nullptr), call.Param("id"));
    RequireOwner(t);
    PgTransaction tx(call.db());
    LockPoll(call, t);
    polls::Delete(call.db(), t.poll.pk);
    CommitPollChange(call, tx, t, "poll.deleted", nullptr);
    return EmptyReply();
}

// POST /api/polls/{id}/options/ {text, ...}: by the creator, or by a voter where the poll takes
// suggestions.
Reply HandleCreatePollOption(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    PollTarget t = OpenPoll(call, NamedIn(call, &body), call.Param("id"));
    if (!t.owner()) {
        if (!t.poll.settings.allow_user_suggested_options)
            throw Forbidden("only the poll's creator can add options to it (allow_user_suggested_options is off)");
        if (!t.channel) throw Forbidden("you are not allowed to suggest options to this poll");
        RequireCapability(t.channel->caps, "cast-poll-vote");
    }
    if (t.poll.settings.is_closed) throw BadRequest("the poll is closed", "id");
    if (t.poll.options.size() >= kMaxOptions) throw BadRequest("a poll has at most 100 options", "text");
    polls::NewOption option = OptionOf(body, "option", false);
    PgTransaction tx(call.db());
    LockPoll(call, t);
    if (!polls::AddOption(call.db(), t.poll.pk, option))
        throw BadRequest("the poll has an option with the text " + option.text + " already", "text");
    MessageContext ctx = CommitPollChange(call, tx, t, "poll.updated", nullptr);
    return OptionReply(ctx, t.poll.id, option.id);
}

// GET /api/polls/{id}/options/{option_id}/
Reply HandleGetPollOption(Call& call) {
    PollTarget t = OpenPoll(call, NamedIn(call, nullptr), call.Param("id"));
    std::string id = t.poll.id;
    return OptionReply(PollContext(call, t.actor, std::move(t.poll), {}), id, call.Param("option_id"));
}

// PUT /api/polls/{id}/options/ {id, text, ...}: the creator's.
Reply HandleUpdatePollOption(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    PollTarget t = OpenPoll(call, NamedIn(call, &body), call.Param("id"));
    RequireOwner(t);
    polls::NewOption option = OptionOf(body, "option", true);
    PgTransaction tx(call.db());
    LockPoll(call, t);
    try {
        if (!polls::UpdateOption(call.db(), t.poll.pk, option))
            throw NotFound("poll option " + option.id + " does not exist");
    } catch (const PgError& e) {
        if (!e.IsUniqueViolation()) throw;
        throw BadRequest("the poll has an option with the text " + option.text + " already", "text");
    }
    MessageContext ctx = CommitPollChange(call, tx, t, "poll.updated", nullptr);
    return OptionReply(ctx, t.poll.id, option.id);
}

// DELETE /api/polls/{id}/options/{option_id}/: the option and its votes; the creator's.
Reply HandleDeletePollOption(Call& call) {
    PollTarget t = OpenPoll(call, NamedIn(call, nullptr), call.Param("id"));
    RequireOwner(t);
    PgTransaction tx(call.db());
    LockPoll(call, t);
    if (!polls::DeleteOption(call.db(), t.poll.pk, call.Param("option_id")))
        throw NotFound("poll option " + call.Param("option_id") + " does not exist");
    CommitPollChange(call, tx, t, "poll.updated", nullptr);
    return EmptyReply();
}

// POST /api/messages/{id}/polls/{poll_id}/vote/ {vote: {option_id} | {answer_text}}. A vote for an
// option the voter chose already is answered with that vote and changes nothing. With
// enforce_unique_vote a new choice moves the voter's vote (poll.vote_changed); otherwise it is
// added, up to max_votes_allowed. A second answer replaces the first.
Reply HandleCastPollVote(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    ActingOnMessage target = OpenVoteTarget(call, &body);
    const JsonValue* vote = json::OptObject(body, "vote", "vote");
    if (vote == nullptr) throw BadRequest("vote is required", "vote");
    auto option_id = json::OptString(*vote, "option_id", "vote.option_id");
    auto answer = TextField(*vote, "answer_text", "vote.answer_text", kMaxAnswerCharacters, false);
    if (answer && answer->empty()) answer.reset();
    if (option_id.has_value() == answer.has_value())
        throw BadRequest("a vote has either an option_id or an answer_text", "vote");

    PgTransaction tx(call.db());
    PollTarget t = LockVotedPoll(call, std::move(target));
    std::optional<std::string> chosen;
    if (option_id) chosen = std::string(*option_id);
    polls::VotePlan plan = polls::PlanVote(t.poll, t.own, chosen, answer.has_value());
    polls::VoteRow cast;
    std::string type = "poll.vote_casted";
    switch (plan.kind) {
        case polls::VotePlan::Kind::kRefuse:
            throw BadRequest(plan.refusal, plan.field);
        case polls::VotePlan::Kind::kKeep:
            return VoteReply(PollContext(call, t.actor, t.poll, {}), *plan.vote);
        case polls::VotePlan::Kind::kMove:
            cast = polls::ChangeVote(call.db(), plan.vote->id, chosen, answer);
            type = "poll.vote_changed";
            break;
        case polls::VotePlan::Kind::kAdd:
            cast = polls::InsertVote(call.db(), t.poll.pk, NewUuid(), t.actor.id(), chosen, answer);
            break;
    }
    MessageContext ctx = CommitPollChange(call, tx, t, type, &cast);
    return VoteReply(ctx, cast);
}

// DELETE /api/messages/{id}/polls/{poll_id}/vote/{vote_id}/: one of the voter's own votes.
Reply HandleRemovePollVote(Call& call) {
    ActingOnMessage target = OpenVoteTarget(call, nullptr);
    PgTransaction tx(call.db());
    PollTarget t = LockVotedPoll(call, std::move(target));
    if (t.poll.settings.is_closed) throw BadRequest("the poll is closed", "poll_id");
    bool own = false;
    for (const auto& v : t.own) own = own || v.id == call.Param("vote_id");
    if (!own) throw NotFound("vote " + call.Param("vote_id") + " does not exist");
    auto removed = polls::DeleteVote(call.db(), t.poll.pk, call.Param("vote_id"));
    if (!removed) throw NotFound("vote " + call.Param("vote_id") + " does not exist");
    MessageContext ctx = CommitPollChange(call, tx, t, "poll.vote_removed", &*removed);
    return VoteReply(ctx, *removed);
}

// POST /api/polls/query/ {filter, sort, limit, next | prev}: the polls the caller created or can
// read where they were sent; with a server token and no user, all of them.
Reply HandleQueryPolls(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    Actor actor = LoadActor(call, NamedIn(call, &body), false);
    int limit = BodyInt(body, "limit", "limit", 10, 1, kMaxPage);
    int offset = kPollCursor.Read(body);
    PgParams params;
    std::string visible = "true";
    if (actor.acting && !actor.admin()) {
        params.Add(actor.id());  // $1
        // clang-format off
        visible = "p.created_by = $1 OR EXISTS (SELECT 1 FROM messages pm JOIN channels pc ON pc.pk = pm.channel_pk "
                  "JOIN channel_types pt ON pt.name = pc.type "
                  "LEFT JOIN members me ON me.channel_pk = pc.pk AND me.user_id = $1 "
                  "WHERE pm.poll_id = p.id AND pm.deleted_at IS NULL "
                  "AND (me.user_id IS NOT NULL OR pt.policy = 'public_read') "
                  "AND NOT EXISTS (SELECT 1 FROM channel_bans xb WHERE xb.channel_pk = pc.pk AND xb.user_id = $1 "
                  "  AND (xb.expires IS NULL OR xb.expires > now())))";
        // clang-format on
    }
    FilterCompiler filter(params);
    filter.AddField("id", "p.id", FilterCompiler::Kind::kText);
    filter.AddField("name", "p.name", FilterCompiler::Kind::kText);
    filter.AddField("created_by_id", "p.created_by", FilterCompiler::Kind::kText);
    filter.AddField("voting_visibility", "p.voting_visibility", FilterCompiler::Kind::kText);
    filter.AddField("is_closed", "p.is_closed", FilterCompiler::Kind::kBool);
    filter.AddField("enforce_unique_vote", "p.enforce_unique_vote", FilterCompiler::Kind::kBool);
    filter.AddField("allow_answers", "p.allow_answers", FilterCompiler::Kind::kBool);
    filter.AddField("allow_user_suggested_options", "p.allow_user_suggested_options", FilterCompiler::Kind::kBool);
    filter.AddField("max_votes_allowed", "p.max_votes_allowed", FilterCompiler::Kind::kInt);
    filter.AddField("created_at", "p.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "p.updated_at", FilterCompiler::Kind::kTime);
    std::string where = "(" + visible + ") AND " + filter.Compile(json::OptObject(body, "filter", "filter"));
    SortCompiler sort;
    sort.AddField("created_at", "p.created_at");
    sort.AddField("updated_at", "p.updated_at");
    sort.AddField("name", "p.name");
    std::string order = sort.Compile(json::OptArray(body, "sort", "sort"), "p.created_at DESC", "p.pk DESC");

    auto ids = polls::QueryIds(call.db(), where, order, std::move(params), limit + 1, offset);
    bool more = static_cast<int>(ids.size()) > limit;
    if (more) ids.pop_back();
    std::vector<polls::PollRow> rows;
    std::vector<polls::VoteRow> own;
    PgBatch batch(call.db());
    polls::Load(batch, ids, actor.acting ? actor.id() : "", rows, own);
    batch.Run();
    MessageContext ctx;
    if (actor.acting) ctx.users.Put(actor.user, true);
    std::unordered_map<std::string, std::vector<polls::VoteRow>> own_by_poll;
    for (auto& v : own) own_by_poll[v.poll_id].push_back(std::move(v));
    for (auto& p : rows) {
        auto mine = std::move(own_by_poll[p.id]);
        ctx.PutPoll(std::move(p), std::move(mine));
    }
    ctx.users.Load(call.db(), call.redis());

    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "polls");
    w.StartArray();
    for (const auto& id : ids) {
        auto it = ctx.polls.find(id);
        if (it == ctx.polls.end()) continue;  // deleted since
        auto mine = ctx.own_poll_votes.find(id);
        WritePoll(w, it->second, ctx.users, mine == ctx.own_poll_votes.end() ? nullptr : &mine->second);
    }
    w.EndArray();
    kPollCursor.Write(w, offset, limit, more);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// POST /api/polls/{id}/votes/ {filter, sort, limit, next | prev}: the SDK's queryPollVotes and
// queryPollAnswers (filter is_answer). In an anonymous poll votes come without their users, but
// the caller's own; and who voted cannot be asked (no user_id filter) but by an admin.
Reply HandleQueryPollVotes(Call& call) {
    auto body = ParseJsonObject(call.request().body);
    PollTarget t = OpenPoll(call, NamedIn(call, &body), call.Param("id"));
    if (!t.owner()) {
        if (!t.channel) throw NotFound("poll " + t.poll.id + " does not exist");
        RequireCapability(t.channel->caps, "query-poll-votes");
    }
    int limit = BodyInt(body, "limit", "limit", 10, 1, kMaxPage);
    int offset = kVoteCursor.Read(body);
    const JsonValue* filter_body = json::OptObject(body, "filter", "filter");
    bool hide_users = t.poll.anonymous() && !t.actor.admin();
    if (hide_users && filter_body != nullptr && json::Find(*filter_body, "user_id") != nullptr)
        throw BadRequest("who voted in an anonymous poll cannot be asked (filter user_id)", "filter.user_id");
    PgParams params;
    params.Add(t.poll.pk);  // $1
    FilterCompiler filter(params);
    filter.AddField("id", "v.id", FilterCompiler::Kind::kText);
    filter.AddField("option_id", "v.option_id", FilterCompiler::Kind::kText);
    filter.AddField("user_id", "v.user_id", FilterCompiler::Kind::kText);
    filter.AddField("is_answer", "(v.option_id IS NULL)", FilterCompiler::Kind::kBool);
    filter.AddField("created_at", "v.created_at", FilterCompiler::Kind::kTime);
    filter.AddField("updated_at", "v.updated_at", FilterCompiler::Kind::kTime);
    std::string where = filter.Compile(filter_body);
    SortCompiler sort;
    sort.AddField("created_at", "v.created_at");
    sort.AddField("updated_at", "v.updated_at");
    std::string order = sort.Compile(json::OptArray(body, "sort", "sort"), "v.created_at DESC", "v.id");
    auto votes = polls::QueryVotes(call.db(), where, order, std::move(params), limit + 1, offset);
    bool more = static_cast<int>(votes.size()) > limit;
    if (more) votes.pop_back();

    MessageContext ctx;
    if (t.actor.acting) ctx.users.Put(t.actor.user, true);
    for (const auto& v : votes)
        if (!hide_users || v.user_id == t.actor.id()) ctx.users.Want(v.user_id);
    ctx.users.Load(call.db(), call.redis());
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "votes");
    w.StartArray();
    for (const auto& v : votes) WritePollVote(w, v, ctx.users, !hide_users || v.user_id == t.actor.id());
    w.EndArray();
    kVoteCursor.Write(w, offset, limit, more);
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

}  // namespace streambed
