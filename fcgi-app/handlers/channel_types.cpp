// Channel types (getstream.io's server-side createChannelType, getChannelType, updateChannelType,
// listChannelTypes): the ChannelConfig every channel of a type reports and obeys. Server tokens only.
//
// Only settings streambed backs can be turned on. The others (reminders, ...)
// make the UI kit call routes this server does not have (STREAM-PROTOCOL.md §9, trap 17), so they
// may be set to false and nothing else; commands, automod and message retention keep the one value
// streambed has.

#include <array>
#include <string_view>

#include "common/errors.h"
#include "common/ids.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/store/channels.h"
#include "fcgi-app/wire.h"

namespace streambed {

namespace {

// Settings of getstream.io's whose features streambed does not have (the backed ones are
// kChannelTypeFlags).
constexpr std::array<std::string_view, 3> kUnbackedFlags = {"reminders", "mark_messages_pending",
                                                            "skip_last_msg_update_for_system_msgs"};
// The most a type may set; STREAMBED_MAX_MESSAGE_LENGTH (5,000 by default) caps every type's limit too.
constexpr int64_t kMaxMessageLengthLimit = 20000;

bool BackedFlag(std::string_view key) {
    for (const auto& flag : kChannelTypeFlags)
        if (key == flag.key) return true;
    return false;
}

bool UnbackedFlag(std::string_view key) {
    for (auto k : kUnbackedFlags)
        if (k == key) return true;
    return false;
}

void RequireServer(Call& call) {
    if (!call.caller().server) throw Forbidden("channel types are managed with a server token");
}

// The settings of a create or update body as a JSON object to merge into the stored ones. Every
// key is checked: an unknown or unbacked setting is refused, never silently dropped.
std::string SettingsPatch(const JsonValue& body, bool creating) {
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    for (auto it = body.MemberBegin(); it != body.MemberEnd(); ++it) {
        std::string_view key(it->name.GetString(), it->name.GetStringLength());
        const JsonValue& v = it->value;
        if (key == "name" && creating) continue;
        if (BackedFlag(key)) {
            if (!v.IsBool()) throw BadRequest(std::string(key) + " must be a boolean", std::string(key));
            PutBool(w, key, v.GetBool());
        } else if (UnbackedFlag(key)) {
            if (!v.IsBool() || v.GetBool())
                throw BadRequest(std::string(key) + " is not supported by this server; it can only be false",
                                 std::string(key));
            PutBool(w, key, false);
        } else if (key == "max_message_length") {
            if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > kMaxMessageLengthLimit)
                throw BadRequest("max_message_length must be an integer from 1 to 20000", "max_message_length");
            PutInt(w, key, v.GetInt64());
        } else if (key == "commands") {
            // The SDK's createChannelType sends ["all"] unless told otherwise: every command the
            // server has, which here is none. A named command (giphy, ...) is refused.
            bool none = v.IsArray();
            if (none)
                for (const auto& c : v.GetArray())
                    none = none && c.IsString() && std::string_view(c.GetString()) == "all";
            if (!none)
                throw BadRequest("this server has no commands: commands can only be [] or [\"all\"]", "commands");
            PutKey(w, "commands");
            w.StartArray();
            w.EndArray();
        } else if (key == "automod" || key == "message_retention") {
            std::string_view only = key == "automod" ? "disabled" : "infinite";
            if (!v.IsString() || std::string_view(v.GetString(), v.GetStringLength()) != only)
                throw BadRequest(std::string(key) + " can only be \"" + std::string(only) + "\"", std::string(key));
        } else {
            throw BadRequest("unknown channel type setting " + std::string(key), std::string(key));
        }
    }
    w.EndObject();
    return JsonText(buf);
}

Reply TypeReply(const ChannelTypeRow& type, int status = 200) {
    JsonBuffer buf;
    JsonWriter w(buf);
    WriteChannelConfig(w, type);
    return Reply::Json(JsonText(buf), status);
}

}  // namespace

// GET /api/channeltypes/
Reply HandleListChannelTypes(Call& call) {
    RequireServer(call);
    JsonBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    PutKey(w, "channel_types");
    w.StartObject();
    for (const auto& type : channels::AllTypes(call.db())) {
        PutKey(w, type.name);
        WriteChannelConfig(w, type);
    }
    w.EndObject();
    w.EndObject();
    return Reply::Json(JsonText(buf));
}

// GET /api/channeltypes/{name}/
Reply HandleGetChannelType(Call& call) {
    RequireServer(call);
    const ChannelTypeRow* type = channels::FindType(call.db(), call.Param("name"), true);
    if (type == nullptr) throw NotFound("no channel type " + call.Param("name"));
    return TypeReply(*type);
}

// POST /api/channeltypes/ {"name", ...settings}
Reply HandleCreateChannelType(Call& call) {
    RequireServer(call);
    auto body = ParseJsonObject(call.request().body);
    std::string name(json::RequireString(body, "name", "name"));
    if (!IsValidChannelType(name)) throw BadRequest("name must be 1 to 64 letters, digits, '_' or '-'", "name");
    auto created = channels::CreateType(call.db(), name, SettingsPatch(body, true));
    if (!created) throw BadRequest("a channel type named " + name + " already exists", "name");
    return TypeReply(*created, 201);
}

// PUT /api/channeltypes/{name}/ {...settings}
Reply HandleUpdateChannelType(Call& call) {
    RequireServer(call);
    auto body = ParseJsonObject(call.request().body);
    auto updated = channels::UpdateType(call.db(), call.Param("name"), SettingsPatch(body, false));
    if (!updated) throw NotFound("no channel type " + call.Param("name"));
    return TypeReply(*updated);
}

}  // namespace streambed
