#include "fcgi-app/http.h"

#include <sys/mman.h>
#include <unistd.h>

#include <stdexcept>

namespace streambed {

SpooledBody::SpooledBody(int fd, size_t size) : fd_(fd), size_(size) {
    if (size_ == 0) return;
    data_ = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
    if (data_ == MAP_FAILED) {
        data_ = nullptr;
        close(fd_);
        throw std::runtime_error("cannot map the spooled request body");
    }
}

SpooledBody::~SpooledBody() {
    if (data_ != nullptr) munmap(data_, size_);
    close(fd_);
}

std::string_view StatusText(int status) {
    switch (status) {
        case 200: return "OK";
        case 201: return "Created";
        case 204: return "No Content";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 409: return "Conflict";
        case 413: return "Payload Too Large";
        case 415: return "Unsupported Media Type";
        case 429: return "Too Many Requests";
        case 500: return "Internal Server Error";
        case 503: return "Service Unavailable";
        default: return "Status";
    }
}

}  // namespace streambed
