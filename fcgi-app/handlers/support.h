#pragma once
// What most handlers do first: find out who acts (the caller, or the user a server token names),
// open the channel with that user's standing and capabilities, and read common parameters.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.h"
#include "fcgi-app/call.h"
#include "fcgi-app/model.h"
#include "fcgi-app/permissions.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/store/messages.h"
#include "fcgi-app/store/users.h"

namespace streambed {

// The user on whose behalf a request acts.
struct Actor {
    UserRow user;            // stored user, or a transient one for anonymous callers
    bool server = false;     // server token (admin rights)
    bool anonymous = false;  // no token
    bool acting = true;      // false: a server token that names no user
    const std::string& id() const { return user.id; }
    bool admin() const { return server || user.role == "admin"; }
    bool banned() const;     // app-wide ban in force
};

// Client tokens act for their own user. Server tokens act for `named` (a user id from the body or
// query, as getstream.io does); with `required` a server token must name one. Refuses tokens issued
// before the user's revoke_tokens_issued_before (401, code 42). Unknown users are created, as
// getstream.io creates users on first use of a valid token.
Actor LoadActor(Call& call, std::optional<std::string_view> named, bool required = true);
// For routes over a user's own resources (devices, push subscriptions): like LoadActor, and a
// user token naming someone else is refused (403) instead of ignored.
Actor LoadOwner(Call& call, std::optional<std::string_view> named);
// The user id a server-side body names: "user_id", or "user": {"id"} (message bodies use both).
std::optional<std::string_view> NamedUser(const JsonValue& body);

struct OpenChannel {
    ChannelRow channel;
    const ChannelTypeRow* type = nullptr;
    std::optional<MemberRow> membership;
    Standing standing;
    std::vector<std::string_view> caps;
};
// 404 for an unknown channel type or channel, 403 (code 17) when the actor may not read it.
OpenChannel OpenForActor(Call& call, std::string_view cid, const Actor& actor);
// LoadActor and a channel's view for that actor in one round trip (the view needs only the
// actor's id): a channel route's first two reads. The view is nullopt when there is no such
// channel; a missing channel type is 404.
struct ActorWithView {
    Actor actor;
    std::optional<channels::ChannelView> view;
};
ActorWithView LoadActorWithView(Call& call, std::optional<std::string_view> named, bool required,
                                const std::string& cid);
// LoadActor and OpenForActor, in one round trip.
struct ActingIn {
    Actor actor;
    OpenChannel open;
};
ActingIn LoadActorIn(Call& call, std::optional<std::string_view> named, bool required, std::string_view type,
                     std::string_view id);
OpenChannel OpenForActor(Call& call, std::string_view type, std::string_view id, const Actor& actor);
// The message a route names ({id} of /messages/{id}/...), and the actor's standing in its channel.
struct MessageAccess {
    MessageRow message;
    OpenChannel channel;
};
// LoadActor, the message and its channel, in one round trip: 404 for a message that does not
// exist, then StandingIn's refusals (403 for an actor who may not read its channel).
struct ActingOnMessage {
    Actor actor;
    MessageAccess access;
};
ActingOnMessage LoadActorOnMessage(Call& call, std::optional<std::string_view> named, bool required,
                                   const std::string& message_id);
// The same for a channel row already loaded (with the actor's membership).
OpenChannel StandingIn(Call& call, channels::ChannelView view, const Actor& actor);

// Path parameters {type} and {id} validated (400 naming the field).
std::pair<std::string, std::string> ChannelPath(const Call& call);

// `limit` style numbers from the query string or JSON, with bounds (400 outside them).
int QueryInt(const Call& call, std::string_view key, int fallback, int min, int max);
int BodyInt(const JsonValue& body, std::string_view key, std::string_view field, int fallback, int min, int max);

// Offset pages behind cursors opaque to the client ("<prefix><offset>" in `next` and `prev`), as
// queryThreads and queryReminders hand them out. Offsets stop at kMaxOffset.
class OffsetCursor {
public:
    static constexpr int kMaxOffset = 10000;
    explicit OffsetCursor(std::string_view prefix) : prefix_(prefix) {}
    // The offset the body's `next` or `prev` asks for, 0 with neither; 400 for both, or for a
    // cursor this route did not give.
    int Read(const JsonValue& body) const;
    // `next` and `prev` of the page at `offset` with `limit` rows; `more` when there are rows after it.
    void Write(JsonWriter& w, int offset, int limit, bool more) const;

private:
    std::string_view prefix_;
};

// A query-string value that the SDK sends JSON-encoded (payload=..., sort=...).
rapidjson::Document QueryJson(const Call& call, std::string_view key);

// {"duration"} only: the reply of routes that answer with nothing else.
Reply EmptyReply();

std::string JsonText(const JsonBuffer& buffer);

}  // namespace streambed
