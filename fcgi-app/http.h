#pragma once
// One HTTP request as the FastCGI worker sees it, and the reply a handler returns.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/url.h"

namespace streambed {

// A request body spooled to an unlinked temporary file and mapped read-only (upload routes): a
// 100 MB upload is never copied onto the heap. The file vanishes with the last reference.
class SpooledBody {
public:
    SpooledBody(int fd, size_t size);  // takes the descriptor; maps it
    ~SpooledBody();
    SpooledBody(const SpooledBody&) = delete;
    SpooledBody& operator=(const SpooledBody&) = delete;
    std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

private:
    int fd_;
    size_t size_;
    void* data_ = nullptr;
};

struct Request {
    std::string method;
    std::string path;  // raw and still percent-encoded, without the query string
    QueryParams query;
    std::string body;
    std::shared_ptr<const SpooledBody> spooled;  // instead of `body` on upload routes
    std::string authorization;  // the Authorization header, as sent
    std::string auth_type;      // stream-auth-type: "jwt" or "anonymous"
    std::string content_type;
    std::string request_id;  // nginx's $request_id, echoed in logs
    std::string remote_addr;
    std::string host;    // Host header
    std::string scheme;  // "http" or "https" as nginx saw it

    std::string_view Body() const { return spooled ? spooled->view() : std::string_view(body); }
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
