#pragma once
// Link previews: getstream.io's URL enrichment (the channel type setting url_enrichment). The first
// link in a message's text becomes an attachment made from the page's Open Graph tags, before the
// send is answered, as getstream.io does it; the kit shows it as a card under the message. The
// composer of the UI kit asks for the same attachment ahead of sending (GET /og, client.enrichURL).
//
// Fetching a page a user names is server-side request forgery waiting to happen, so a fetch:
//  - goes only to http(s) hosts on the public internet: the host as written and every address its
//    name resolves to are checked by the push endpoint rules (common/push_endpoint.h), and the
//    connection goes to a checked address, so a DNS answer cannot steer it inside; loopback is
//    allowed in development mode only (the tests' pages live there);
//  - follows at most 3 redirects, each checked the same way;
//  - is bounded in time as a whole (STREAMBED_LINK_PREVIEW_TIMEOUT_MS, name lookup included) and
//    reads at most 512 KB of a page; nothing of the page is stored but the attachment's fields;
//  - is cached in Redis by link (an hour; a failure five minutes), so a link posted in many
//    channels, or a hostile page, is fetched once, not once per message.

#include <optional>
#include <string>
#include <string_view>

#include "fcgi-app/call.h"

namespace streambed {

struct LinkPreviewResult {
    std::optional<std::string> attachment;  // the attachment object's JSON text
    std::string problem;                    // why there is none, worded for a client
};

// The preview of `link` (an absolute http(s) URL), from the cache or fetched now.
LinkPreviewResult PreviewLink(Call& call, std::string_view link);

enum class LinkPreviewRefresh {
    kAdd,        // a new message: a preview is added when it has none
    kDropStale,  // an edit: previews of links no longer in the text go, then as kAdd
};

// The message's attachments (`attachments_json`, a JSON array's text) with a preview of the first
// link in `text` added when it has none and one can be made. nullopt when nothing changed.
// Previews a client supplied (the composer's, with og_scrape_url) count: while one's link is in
// the text, nothing is fetched.
std::optional<std::string> RefreshLinkPreview(Call& call, std::string_view text, std::string_view attachments_json,
                                              LinkPreviewRefresh how);

}  // namespace streambed
