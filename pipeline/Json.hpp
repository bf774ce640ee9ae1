#pragma once
// A minimal JSON value for machine-readable summaries (`--json`, run.json). Objects keep
// insertion order so that files diff well between runs.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace satsal {

class Json {
public:
    enum class Kind { Null, Bool, Number, Integer, String, Array, Object };

    Json() = default;
    Json(std::nullptr_t) {}
    Json(bool value) : kind_(Kind::Bool), bool_(value) {}
    Json(double value) : kind_(Kind::Number), number_(value) {}
    Json(float value) : kind_(Kind::Number), number_(value) {}
    Json(int value) : kind_(Kind::Integer), integer_(value) {}
    Json(long value) : kind_(Kind::Integer), integer_(value) {}
    Json(long long value) : kind_(Kind::Integer), integer_(value) {}
    Json(unsigned long value) : kind_(Kind::Integer), integer_(static_cast<int64_t>(value)) {}
    Json(unsigned long long value) : kind_(Kind::Integer), integer_(static_cast<int64_t>(value)) {}
    Json(const char* value) : kind_(Kind::String), string_(value) {}
    Json(std::string value) : kind_(Kind::String), string_(std::move(value)) {}
    template <typename T>
    Json(const std::vector<T>& values) : kind_(Kind::Array) {
        for (const auto& value : values) items_.emplace_back(value);
    }

    static Json object() { Json j; j.kind_ = Kind::Object; return j; }
    static Json array() { Json j; j.kind_ = Kind::Array; return j; }

    /// Object member access; inserts (keeping order) when absent. Turns a null into an object.
    Json& operator[](const std::string& key);
    /// Appends to an array. Turns a null into an array.
    Json& push_back(Json value);

    Kind kind() const { return kind_; }
    /// Serialized text; indent < 0 gives one line.
    std::string dump(int indent = 2) const;

private:
    void dump_to(std::string& out, int indent, int depth) const;

    Kind kind_ = Kind::Null;
    bool bool_ = false;
    double number_ = 0;
    int64_t integer_ = 0;
    std::string string_;
    std::vector<Json> items_;
    std::vector<std::pair<std::string, Json>> members_;
};

/// JSON string literal with escapes.
std::string json_quote(const std::string& text);

}  // namespace satsal
