#pragma once
// Query strings and percent-encoding, as browsers and the SDK produce them.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace streambed {

// nullopt on a malformed escape ("%4", "%zz"), a NUL (encoded or raw), or a result that is not UTF-8.
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
std::string PercentEncode(std::string_view text);

class QueryParams {
public:
    // nullopt when any pair is malformed. Empty text gives no parameters.
    static std::optional<QueryParams> Parse(std::string_view query);

    // The first value for `key`.
    std::optional<std::string_view> Get(std::string_view key) const;
    bool Has(std::string_view key) const { return Get(key).has_value(); }
    const std::vector<std::pair<std::string, std::string>>& pairs() const { return pairs_; }

private:
    std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace streambed
