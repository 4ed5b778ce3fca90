// GET /api/og/?url=...: getstream.io's getOG (client.enrichURL), the preview the UI kit's composer
// shows under a link while the message is being written (fcgi-app/link_preview.h). Any
// authenticated caller; the preview is the same for everyone and holds only what the page says.

#include "common/errors.h"
#include "fcgi-app/handlers/handlers.h"
#include "fcgi-app/handlers/support.h"
#include "fcgi-app/link_preview.h"

namespace streambed {

Reply HandleGetLinkPreview(Call& call) {
    LoadActor(call, call.Query("user_id"), false);
    auto url = call.Query("url");
    if (!url || url->empty()) throw BadRequest("url is required", "url");
    if (url->size() > 2048) throw BadRequest("url is longer than 2,048 characters", "url");
    LinkPreviewResult preview = PreviewLink(call, *url);
    if (!preview.attachment) throw BadRequest("no preview of this link: " + preview.problem, "url");
    Reply reply;
    reply.body = std::move(*preview.attachment);
    return reply;
}

}  // namespace streambed
