#pragma once
// The one write path of a new message, shared by getstream.io's send route, the room socket's
// message.send (through the gateway) and channel updates that carry a message.

#include <string>

#include "fcgi-app/call.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/hydrate.h"

namespace streambed {

struct SentMessage {
    MessageRow message;
    MessageContext context;  // what the message refers to, for the reply
};

struct SendOptions {
    bool skip_push = false;
    bool skip_enrich_url = false;      // no link preview (fcgi-app/link_preview.h)
    bool keep_channel_hidden = false;  // members who hid the channel keep it hidden
};

// Validates `message` (getstream.io's MessageRequest), checks the actor's capabilities and slow
// mode, persists it in one transaction with its events, then fans out: message.new to watchers,
// notification.message_new to members online elsewhere, push jobs for members offline, and the
// sender's draft deleted. A duplicate id is 400 with code 4 and "already exists".
SentMessage SendMessage(Call& call, const Actor& actor, const OpenChannel& channel, const JsonValue& message,
                        const SendOptions& options);

// A message's attachments as stored, after the limits every write of them obeys: at most 30, each
// an object, 64 KB in all. `field` names them in the error.
std::string CheckedAttachments(const JsonValue& attachments, std::string_view field);

// A shared location as the message stores it (sql/140), from getstream.io's SharedLocationRequest
// `request`: latitude and longitude in range, created_by_device_id, and end_at (a live location,
// which `updating` may set to any time, ending it; a new one must end in the future). Fields
// `request` leaves out keep their value in `current` (an update's). `field` names them in errors.
std::string StoredLocation(const JsonValue& request, const JsonValue* current, bool updating, std::string_view field);

// html of a message text: escaped, paragraphs and line breaks kept.
std::string RenderHtml(std::string_view text);
// Characters (code points) in UTF-8 text: what the length limit counts.
size_t CountCharacters(std::string_view utf8);

}  // namespace streambed
