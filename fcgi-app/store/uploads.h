#pragma once
// Stored uploads (sql/004_uploads.sql): one row per file or image, with where it lies.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fcgi-app/store/pg.h"

namespace streambed {

struct UploadRow {
    std::string key;
    int64_t channel_pk = 0;
    std::string user_id;
    std::string kind;        // "image" or "file"
    std::string path;        // relative to STREAMBED_UPLOAD_DIR
    std::string thumb_path;  // empty when none
    std::string name;
    std::string mime_type;
    int64_t size = 0;
    std::optional<int64_t> width;
    std::optional<int64_t> height;
};

namespace uploads {

void Insert(Pg& db, const UploadRow& row);
std::optional<UploadRow> Find(Pg& db, std::string_view key);
// Removes the row; the caller removes the files once its transaction commits.
void Delete(Pg& db, std::string_view key);
// The rows among `keys` uploaded to the channel by `user_id` (a message's own files), removed.
std::vector<UploadRow> DeleteOwned(Pg& db, int64_t channel_pk, std::string_view user_id,
                                   const std::vector<std::string>& keys);
// Every upload of a channel, removed (before the channel itself goes).
std::vector<UploadRow> DeleteForChannel(Pg& db, int64_t channel_pk);

}  // namespace uploads
}  // namespace streambed
