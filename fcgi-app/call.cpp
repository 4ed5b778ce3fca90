#include "fcgi-app/call.h"

#include "common/errors.h"

namespace streambed {

const std::string& Call::Param(std::string_view name) const {
    for (const auto& [k, v] : params_) {
        if (k == name) return v;
    }
    throw BadRequest("missing path parameter " + std::string(name));
}

bool Call::HasParam(std::string_view name) const {
    for (const auto& [k, v] : params_) {
        if (k == name) return true;
    }
    return false;
}

}  // namespace streambed
