#include "fcgi-app/store/uploads.h"

namespace streambed {

namespace {
#define SB_UPLOAD_COLUMNS \
    "key, channel_pk, user_id, kind, path, coalesce(thumb_path, ''), name, mime_type, size, width, height"

const PgStatement kInsert{"upload_insert",
                          "INSERT INTO uploads (key, channel_pk, user_id, kind, path, thumb_path, name, mime_type, "
                          "size, width, height) VALUES ($1, $2, $3, $4, $5, nullif($6, ''), $7, $8, $9, $10, $11)"};
const PgStatement kFind{"upload_find", "SELECT " SB_UPLOAD_COLUMNS " FROM uploads WHERE key = $1"};
const PgStatement kDelete{"upload_delete", "DELETE FROM uploads WHERE key = $1"};
const PgStatement kDeleteOwned{"upload_delete_owned",
                               "DELETE FROM uploads WHERE channel_pk = $1 AND user_id = $2 AND key = ANY($3::text[]) "
                               "RETURNING " SB_UPLOAD_COLUMNS};
const PgStatement kDeleteForChannel{"upload_delete_for_channel",
                                    "DELETE FROM uploads WHERE channel_pk = $1 RETURNING " SB_UPLOAD_COLUMNS};

UploadRow Read(const PgResult& r, int i) {
    UploadRow u;
    u.key = std::string(r.Str(i, 0));
    u.channel_pk = r.Int(i, 1);
    u.user_id = std::string(r.Str(i, 2));
    u.kind = std::string(r.Str(i, 3));
    u.path = std::string(r.Str(i, 4));
    u.thumb_path = std::string(r.Str(i, 5));
    u.name = std::string(r.Str(i, 6));
    u.mime_type = std::string(r.Str(i, 7));
    u.size = r.Int(i, 8);
    u.width = r.OptInt(i, 9);
    u.height = r.OptInt(i, 10);
    return u;
}

std::vector<UploadRow> ReadAll(const PgResult& r) {
    std::vector<UploadRow> out;
    for (int i = 0; i < r.rows(); ++i) out.push_back(Read(r, i));
    return out;
}
}  // namespace

namespace uploads {

void Insert(Pg& db, const UploadRow& u) {
    db.Run(kInsert, PgParams()
                        .Add(u.key)
                        .Add(u.channel_pk)
                        .Add(u.user_id)
                        .Add(u.kind)
                        .Add(u.path)
                        .Add(u.thumb_path)
                        .Add(u.name)
                        .Add(u.mime_type)
                        .Add(u.size)
                        .Add(u.width)
                        .Add(u.height));
}

std::optional<UploadRow> Find(Pg& db, std::string_view key) {
    PgResult r = db.Run(kFind, PgParams().Add(key));
    if (r.empty()) return std::nullopt;
    return Read(r, 0);
}

void Delete(Pg& db, std::string_view key) { db.Run(kDelete, PgParams().Add(key)); }

std::vector<UploadRow> DeleteOwned(Pg& db, int64_t channel_pk, std::string_view user_id,
                                   const std::vector<std::string>& keys) {
    if (keys.empty()) return {};
    return ReadAll(db.Run(kDeleteOwned, PgParams().Add(channel_pk).Add(user_id).AddArray(keys)));
}

std::vector<UploadRow> DeleteForChannel(Pg& db, int64_t channel_pk) {
    return ReadAll(db.Run(kDeleteForChannel, PgParams().Add(channel_pk)));
}

}  // namespace uploads
}  // namespace streambed
