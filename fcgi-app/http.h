#pragma once
// One HTTP request as the FastCGI worker sees it, and the reply a handler returns.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/url.h"

namespace streambed {

struct Request {
    std::string method;
    std::string path;  // raw and still percent-encoded, without the query string
    QueryParams query;
    std::string body;
    std::string authorization;  // the Authorization header, as sent
    std::string auth_type;      // stream-auth-type: "jwt" or "anonymous"
    std::string content_type;
    std::string request_id;  // nginx's $request_id, echoed in logs
    std::string remote_addr;
    std::string host;    // Host header
    std::string scheme;  // "http" or "https" as nginx saw it
};

struct Reply {
    int status = 200;
    std::string body;  // a JSON object; the framework adds "duration" to it
    std::string content_type = "application/json; charset=utf-8";
    std::vector<std::pair<std::string, std::string>> headers;

    static Reply Json(std::string body, int status = 200) {
        Reply r;
        r.status = status;
        r.body = std::move(body);
        return r;
    }
};

// "200 OK" style status line text for the FastCGI Status header.
std::string_view StatusText(int status);

}  // namespace streambed
