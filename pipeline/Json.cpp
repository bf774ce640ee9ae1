#include "pipeline/Json.hpp"

#include <cmath>
#include <cstdio>

namespace satsal {

Json& Json::operator[](const std::string& key) {
    if (kind_ == Kind::Null) kind_ = Kind::Object;
    for (auto& member : members_) {
        if (member.first == key) return member.second;
    }
    members_.emplace_back(key, Json());
    return members_.back().second;
}

Json& Json::push_back(Json value) {
    if (kind_ == Kind::Null) kind_ = Kind::Array;
    items_.push_back(std::move(value));
    return items_.back();
}

std::string json_quote(const std::string& text) {
    std::string out = "\"";
    for (unsigned char c : text) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            default:
                if (c < 0x20) {
                    char buffer[8];
                    std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
                    out += buffer;
                } else {
                    out += static_cast<char>(c);
                }
        }
    }
    out += '"';
    return out;
}

std::string Json::dump(int indent) const {
    std::string out;
    dump_to(out, indent, 0);
    return out;
}

void Json::dump_to(std::string& out, int indent, int depth) const {
    auto newline = [&](int level) {
        if (indent < 0) return;
        out += '\n';
        out.append(static_cast<std::size_t>(indent * level), ' ');
    };
    switch (kind_) {
        case Kind::Null: out += "null"; break;
        case Kind::Bool: out += bool_ ? "true" : "false"; break;
        case Kind::Integer: out += std::to_string(integer_); break;
        case Kind::Number: {
            if (!std::isfinite(number_)) {  // JSON has no NaN/Inf
                out += "null";
                break;
            }
            char buffer[32];
            std::snprintf(buffer, sizeof buffer, "%.9g", number_);
            out += buffer;
            break;
        }
        case Kind::String: out += json_quote(string_); break;
        case Kind::Array: {
            out += '[';
            for (std::size_t i = 0; i < items_.size(); ++i) {
                if (i) out += indent < 0 ? ", " : ",";
                newline(depth + 1);
                items_[i].dump_to(out, indent, depth + 1);
            }
            if (!items_.empty()) newline(depth);
            out += ']';
            break;
        }
        case Kind::Object: {
            out += '{';
            for (std::size_t i = 0; i < members_.size(); ++i) {
                if (i) out += indent < 0 ? ", " : ",";
                newline(depth + 1);
                out += json_quote(members_[i].first);
                out += ": ";
                members_[i].second.dump_to(out, indent, depth + 1);
            }
            if (!members_.empty()) newline(depth);
            out += '}';
            break;
        }
    }
}

}  // namespace satsal
