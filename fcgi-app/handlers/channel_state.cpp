#include "fcgi-app/handlers/channel_state.h"

#include <algorithm>
#include <unordered_map>

#include "common/clock.h"
#include "common/errors.h"
#include "fcgi-app/drafts.h"
#include "fcgi-app/realtime.h"
#include "fcgi-app/store/channels.h"

namespace streambed {

namespace {

std::optional<int64_t> TimeField(const JsonValue& o, std::string_view key) {
    auto text = json::OptString(o, key, "messages." + std::string(key));
    if (!text) return std::nullopt;
    auto t = ParseTimestamp(*text);
    if (!t) throw BadRequest("messages." + std::string(key) + " must be an RFC 3339 time", std::string(key));
    return t;
}

std::optional<std::string> IdField(const JsonValue& o, std::string_view key) {
    auto v = json::OptString(o, key, "messages." + std::string(key));
    if (!v || v->empty()) return std::nullopt;
    return std::string(*v);
}

std::optional<int64_t> QueryTime(const Call& call, std::string_view key) {
    auto text = call.Query(key);
    if (!text || text->empty()) return std::nullopt;
    auto t = ParseTimestamp(*text);
    if (!t) throw BadRequest(std::string(key) + " must be an RFC 3339 time", std::string(key));
    return t;
}

std::optional<std::string> QueryId(const Call& call, std::string_view key) {
    auto v = call.Query(key);
    if (!v || v->empty()) return std::nullopt;
    return std::string(*v);
}

using Bound = messages::Bound;

// The (created_at, pk) of a cursor message, which must belong to the same list.
Bound BoundAt(Call& call, const std::string& id, Bound::Kind kind, int64_t channel_pk,
              const std::optional<std::string>& parent_id) {
    auto m = messages::Find(call.db(), id);
    if (!m || m->channel_pk != channel_pk || (parent_id && m->parent_id != parent_id))
        throw BadRequest("message " + id + " is not in this list", "id");
    Bound b;
    b.kind = kind;
    b.created_at = m->created_at;
    b.pk = m->pk;
    return b;
}

// A time bound: (t, 0) sorts before every message at t, (t, max) after every one.
Bound BoundAtTime(int64_t t, Bound::Kind kind) {
    Bound b;
    b.kind = kind;
    b.created_at = t;
    b.pk = (kind == Bound::Kind::kBefore || kind == Bound::Kind::kAtOrAfter) ? 0 : std::numeric_limits<int64_t>::max();
    return b;
}

bool IsAround(const Paging& p) { return p.id_around || p.created_at_around; }

// The bound of a page that is one read: every cursor but the "around" ones.
Bound OneReadBound(Call& call, const Paging& p, int64_t channel_pk, const std::optional<std::string>& parent) {
    using K = Bound::Kind;
    if (p.id_lt) return BoundAt(call, *p.id_lt, K::kBefore, channel_pk, parent);
    if (p.id_lte) return BoundAt(call, *p.id_lte, K::kBeforeOrAt, channel_pk, parent);
    if (p.id_gt) return BoundAt(call, *p.id_gt, K::kAfter, channel_pk, parent);
    if (p.id_gte) return BoundAt(call, *p.id_gte, K::kAtOrAfter, channel_pk, parent);
    if (p.created_at_before) return BoundAtTime(*p.created_at_before, K::kBefore);
    if (p.created_at_before_or_equal) return BoundAtTime(*p.created_at_before_or_equal, K::kBeforeOrAt);
    if (p.created_at_after) return BoundAtTime(*p.created_at_after, K::kAfter);
    if (p.created_at_after_or_equal) return BoundAtTime(*p.created_at_after_or_equal, K::kAtOrAfter);
    // No cursor: the newest page, for threads too. The thread list pages older replies with id_lt
    // from there (STREAM-PROTOCOL.md §6); an oldest-first page would hide every newer reply.
    return Bound::Newest();
}

template <typename Fetch>
std::vector<MessageRow> Page(Call& call, const Paging& p, int64_t channel_pk, const std::optional<std::string>& parent,
                             Fetch fetch) {
    using K = Bound::Kind;
    if (!IsAround(p)) return fetch(OneReadBound(call, p, channel_pk, parent), p.limit);
    // Half the page before the pivot, the pivot and the rest after it.
    Bound before = p.id_around ? BoundAt(call, *p.id_around, K::kBefore, channel_pk, parent)
                               : BoundAtTime(*p.created_at_around, K::kBefore);
    Bound after = before;
    after.kind = K::kAtOrAfter;
    if (!p.id_around) after = BoundAtTime(*p.created_at_around, K::kAtOrAfter);
    // Near either end one side is short: the page is filled from the other side, because the
    // client reads a short page as "nothing more in either direction" (STREAM-PROTOCOL.md §6).
    int half = p.limit / 2;
    auto older = fetch(before, half);
    auto newer = fetch(after, p.limit - static_cast<int>(older.size()));
    if (static_cast<int>(older.size()) == half && static_cast<int>(older.size() + newer.size()) < p.limit)
        older = fetch(before, p.limit - static_cast<int>(newer.size()));
    older.insert(older.end(), std::make_move_iterator(newer.begin()), std::make_move_iterator(newer.end()));
    return older;
}

}  // namespace

Paging Paging::FromJson(const JsonValue* o, int default_limit, int max_limit) {
    Paging p;
    p.limit = default_limit;
    if (o == nullptr || !o->IsObject()) return p;
    p.limit = BodyInt(*o, "limit", "messages.limit", default_limit, 0, max_limit);
    p.id_lt = IdField(*o, "id_lt");
    p.id_lte = IdField(*o, "id_lte");
    p.id_gt = IdField(*o, "id_gt");
    p.id_gte = IdField(*o, "id_gte");
    p.id_around = IdField(*o, "id_around");
    p.created_at_before = TimeField(*o, "created_at_before");
    p.created_at_before_or_equal = TimeField(*o, "created_at_before_or_equal");
    p.created_at_after = TimeField(*o, "created_at_after");
    p.created_at_after_or_equal = TimeField(*o, "created_at_after_or_equal");
    p.created_at_around = TimeField(*o, "created_at_around");
    return p;
}

Paging Paging::FromQuery(const Call& call, int default_limit, int max_limit) {
    Paging p;
    p.limit = QueryInt(call, "limit", default_limit, 0, max_limit);
    p.id_lt = QueryId(call, "id_lt");
    p.id_lte = QueryId(call, "id_lte");
    p.id_gt = QueryId(call, "id_gt");
    p.id_gte = QueryId(call, "id_gte");
    p.id_around = QueryId(call, "id_around");
    p.created_at_before = QueryTime(call, "created_at_before");
    p.created_at_before_or_equal = QueryTime(call, "created_at_before_or_equal");
    p.created_at_after = QueryTime(call, "created_at_after");
    p.created_at_after_or_equal = QueryTime(call, "created_at_after_or_equal");
    p.created_at_around = QueryTime(call, "created_at_around");
    return p;
}

std::optional<int64_t> VisibleAfter(const ChannelRow& channel, const std::optional<MemberRow>& membership) {
    std::optional<int64_t> after = channel.truncated_at;
    if (membership && membership->history_cleared_at && (!after || *membership->history_cleared_at > *after))
        after = membership->history_cleared_at;
    return after;
}

std::vector<MessageRow> PageOfThread(Call& call, const MessageRow& parent, const Paging& paging) {
    if (paging.limit == 0) return {};
    return Page(call, paging, parent.channel_pk, parent.id, [&](const Bound& b, int limit) {
        if (limit <= 0) return std::vector<MessageRow>{};
        return messages::ThreadPage(call.db(), parent.id, b, limit);
    });
}

void ChannelStates::Load(Call& call, const Actor& actor, std::vector<OpenChannel> channels,
                         const StateOptions& options) {
    channels_ = std::move(channels);
    std::vector<int64_t> pks;
    std::vector<std::string> cids;
    std::vector<std::pair<int64_t, std::optional<int64_t>>> latest;
    for (const auto& c : channels_) {
        pks.push_back(c.channel.pk);
        cids.push_back(c.channel.cid);
        latest.emplace_back(c.channel.pk, VisibleAfter(c.channel, c.membership));
    }
    // Three round trips to PostgreSQL whatever the number of channels: what depends only on the
    // channels (`rows`), then what depends on those rows (`named`: unread counts, users, quoted
    // messages, reactions), then the users that only quoted messages and reactions name, when
    // there are any. A page around a message, and a cursor message, are read before.
    PgBatch rows(call.db());
    PgBatch named(call.db());

    // Messages: a cursor page for one channel, or the newest of each channel in one query.
    if (options.paging && channels_.size() == 1) {
        const Paging& paging = *options.paging;
        const ChannelRow& channel = channels_[0].channel;
        if (paging.limit > 0 && IsAround(paging)) {
            messages_ = Page(call, paging, channel.pk, std::nullopt, [&](const Bound& b, int limit) {
                if (limit <= 0) return std::vector<MessageRow>{};
                return RunAlone<std::vector<MessageRow>>(call.db(), [&](PgBatch& batch, auto& into) {
                    messages::ChannelPage(batch, channel.pk, latest[0].second, b, limit, into);
                });
            });
        } else if (paging.limit > 0) {
            Bound bound = OneReadBound(call, paging, channel.pk, std::nullopt);
            messages::ChannelPage(rows, channel.pk, latest[0].second, bound, paging.limit, messages_);
        }
    } else if (options.message_limit > 0) {
        messages::LatestForChannels(rows, latest, options.message_limit, messages_);
    }
    messages::PinnedForChannels(rows, pks, 10, pinned_);

    // Members, and the read state of each of them.
    if (channels_.size() == 1 && options.member_offset > 0) {
        members::MemberQuery q;
        q.limit = options.member_limit;
        q.offset = options.member_offset;
        members::List(rows, named, pks[0], q, members_);
    } else if (options.member_limit > 0) {
        members::ListForChannels(rows, named, pks, options.member_limit, members_);
    }
    // The caller's own row, with its unread count, even when beyond the member page.
    std::vector<int64_t> member_of;
    for (const auto& c : channels_) {
        if (c.membership) member_of.push_back(c.channel.pk);
    }
    members::FindInChannels(rows, member_of, actor.id(), memberships_);
    if (options.presence_members > 0) members::UserIdsForChannels(rows, pks, options.presence_members, presence_ids_);
    rows.Run();

    std::unordered_map<std::string, WatcherSet> watchers;
    std::vector<std::optional<Draft>> draft_list;
    RedisBatch redis;
    Watchers(redis, cids, options.watcher_limit, watchers);
    std::vector<drafts::DraftPlace> draft_places;
    for (const auto& cid : cids) draft_places.push_back({cid, std::nullopt});
    drafts::LoadMany(redis, actor.id(), draft_places, draft_list);
    redis.Run(call.redis());

    std::unordered_map<int64_t, size_t> index;
    states_.resize(channels_.size());
    for (size_t i = 0; i < channels_.size(); ++i) {
        index[channels_[i].channel.pk] = i;
        ChannelState& s = states_[i];
        s.channel = &channels_[i].channel;
        s.type = channels_[i].type;
        s.caps = channels_[i].caps;
        auto& w = watchers[cids[i]];
        s.watchers = w.user_ids;
        s.watcher_count = w.count;
        context_.users.Want(w.user_ids);
        if (s.channel->created_by) context_.users.Want(*s.channel->created_by);
        if (draft_list[i]) {
            JsonBuffer buf;
            JsonWriter dw(buf);
            drafts::WriteStreamDraft(dw, *draft_list[i]);
            s.draft_json = JsonText(buf);
        }
    }
    for (const auto& m : memberships_) context_.users.Want(m.user_id);
    for (const auto& m : members_) context_.users.Want(m.user_id);
    std::vector<const MessageRow*> all;
    for (const auto& m : messages_) all.push_back(&m);
    for (const auto& m : pinned_) all.push_back(&m);
    context_.Load(named, all, actor.id());
    named.Run();  // the members' unread counts arrive here too
    context_.Settle(call.db(), call.redis());

    for (const auto& m : messages_) states_[index[m.channel_pk]].messages.push_back(&m);
    for (const auto& m : pinned_) states_[index[m.channel_pk]].pinned.push_back(&m);
    for (const auto& m : memberships_) states_[index[m.channel_pk]].membership = &m;
    for (const auto& m : members_) states_[index[m.channel_pk]].members.push_back(&m);
    // Read rows: every listed member's, and the caller's (its row seeds the unread badge); not
    // those of other members who turned read receipts off (privacy_settings).
    auto private_reads = [&](const MemberRow* r) {
        if (r->user_id == actor.id()) return false;
        const UserRow* u = context_.users.Find(r->user_id);
        return u != nullptr && !u->read_receipts;
    };
    for (auto& s : states_) {
        s.reads = s.members;
        if (s.membership != nullptr) {
            auto same = [&](const MemberRow* r) { return r->user_id == s.membership->user_id; };
            std::replace_if(s.reads.begin(), s.reads.end(), same, s.membership);
            if (std::none_of(s.reads.begin(), s.reads.end(), same)) s.reads.push_back(s.membership);
        }
        std::erase_if(s.reads, private_reads);
    }
}

}  // namespace streambed
