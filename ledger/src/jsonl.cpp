#include "witness/ledger/jsonl.hpp"

#include <array>
#include <charconv>
#include <istream>
#include <ostream>

#include "hex.hpp"
#include "json.hpp"
#include "node_data.hpp"

namespace witness::ledger {
namespace {

Error field_error(std::string_view field, std::string_view what) {
  return invalid_argument(std::string(field) + ": " + std::string(what));
}

Result<std::string> expect_string(const json::Value& v, std::string_view field) {
  if (!v.is_string()) {
    return field_error(field, "expected a string, got " + std::string(json::type_name(v)));
  }
  return std::get<std::string>(v.v);
}

Result<std::uint64_t> parse_u64(std::string_view text, std::string_view field) {
  std::uint64_t n = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (text.empty() || ec != std::errc() || ptr != end) {
    return field_error(field, "\"" + std::string(text) + "\" is not a non-negative integer");
  }
  return n;
}

Result<Timestamp> parse_timestamp(const json::Value& v) {
  if (v.is_string()) {
    auto t = parse_rfc3339(std::get<std::string>(v.v));
    if (!t) return t.error().with_context("timestamp");
    return *t;
  }
  if (!v.is_number()) {
    return field_error("timestamp", "expected int64 nanoseconds or an RFC 3339 string, got " +
                                        std::string(json::type_name(v)));
  }
  const std::string& lit = std::get<json::Number>(v.v).literal;
  std::int64_t ns = 0;
  const auto* end = lit.data() + lit.size();
  const auto [ptr, ec] = std::from_chars(lit.data(), end, ns);
  if (ec == std::errc::result_out_of_range) return field_error("timestamp", "outside int64");
  if (ec != std::errc() || ptr != end) {
    return field_error("timestamp", "expected an integer number of nanoseconds, got " + lit);
  }
  return Timestamp(std::chrono::nanoseconds(ns));
}

Result<LinkSpec> parse_link(const json::Value& v, const std::string& field) {
  if (!v.is_object()) {
    return field_error(field, R"(expected an object {"relation": ..., "target": ...})");
  }
  LinkSpec spec;
  const json::Value* rel = v.find("relation");
  const json::Value* target = v.find("target");
  for (const auto& [k, _] : std::get<json::Object>(v.v)) {
    if (k != "relation" && k != "target") return field_error(field, "unknown field \"" + k + "\"");
  }
  if (rel == nullptr) return field_error(field + ".relation", "missing");
  if (target == nullptr) return field_error(field + ".target", "missing");
  WITNESS_ASSIGN_OR_RETURN(std::string rel_name, expect_string(*rel, field + ".relation"));
  auto r = parse_relation(rel_name);
  if (!r) return r.error().with_context(field + ".relation");
  spec.relation = *r;
  WITNESS_ASSIGN_OR_RETURN(std::string t, expect_string(*target, field + ".target"));
  if (t.starts_with("seq:")) {
    WITNESS_ASSIGN_OR_RETURN(auto n, parse_u64(std::string_view(t).substr(4), field + ".target"));
    spec.target = SeqRef{n};
  } else if (t.starts_with("line:")) {
    WITNESS_ASSIGN_OR_RETURN(auto n, parse_u64(std::string_view(t).substr(5), field + ".target"));
    if (n == 0) return field_error(field + ".target", "lines are numbered from 1");
    spec.target = LineRef{n};
  } else {
    auto id = Digest::from_hex(t);
    if (!id) {
      return field_error(field + ".target", "expected a 64-digit hex id, seq:N or line:N (" +
                                                id.error().message + ")");
    }
    spec.target = *id;
  }
  return spec;
}

}  // namespace

Result<std::string> canonicalize_json(std::string_view text) {
  WITNESS_ASSIGN_OR_RETURN(json::Value v, json::parse(text));
  std::string out;
  out.reserve(text.size());
  json::write_canonical(v, out);
  return out;
}

std::string quote_json_string(std::string_view s) {
  std::string out;
  json::write_string(s, out);
  return out;
}

std::string to_json_line(const TraceNode& node) {
  // Keys in RFC 8785 order (all ASCII, so bytewise): id, kind, links, origin, payload,
  // signature, tags, timestamp, walk. The timestamp is an RFC 3339 string: as a JSON number,
  // canonical form would round nanoseconds to a double.
  std::string out;
  out.reserve(256 + node.payload_json().size());
  out += R"({"id":")";
  out += node.id().to_hex();
  out += R"(","kind":)";
  json::write_string(node.kind(), out);
  out += ",\"links\":[";
  bool first = true;
  for (const Link& l : node.links()) {
    if (!first) out.push_back(',');
    first = false;
    out += R"({"relation":")";
    out += relation_name(l.relation);
    out += R"(","target":")";
    out += l.target.to_hex();
    out += "\"}";
  }
  out += "],\"origin\":";
  json::write_string(node.origin(), out);
  out += ",\"payload\":";
  out += node.payload_json();
  if (node.signature()) {
    out += R"(,"signature":")";
    out += detail::hex_encode(*node.signature());
    out += "\"";
  }
  out += ",\"tags\":[";
  first = true;
  for (const auto& t : node.tags()) {
    if (!first) out.push_back(',');
    first = false;
    json::write_string(t, out);
  }
  out += R"(],"timestamp":")";
  out += format_rfc3339(node.timestamp());
  out += "\"";
  if (node.walk()) {
    out += ",\"walk\":";
    json::write_string(*node.walk(), out);
  }
  out += "}";
  return out;
}

std::string to_entry_json(const Entry& entry) {
  std::string node = to_json_line(entry.node);
  return "{\"seq\":" + std::to_string(entry.seq) + "," + node.substr(1);
}

Result<NodeLine> parse_node_line(std::string_view line) {
  auto parsed = json::parse(line);
  if (!parsed) return parsed.error().with_context("invalid JSON");
  if (!parsed->is_object()) {
    return invalid_argument("expected a JSON object, got " + std::string(json::type_name(*parsed)));
  }
  NodeLine out;
  out.payload_canonical = true;  // the default "{}", or the payload written canonical below
  bool have_origin = false;
  bool have_kind = false;
  for (const auto& [key, value] : std::get<json::Object>(parsed->v)) {
    if (key == "origin") {
      WITNESS_ASSIGN_OR_RETURN(out.draft.origin, expect_string(value, "origin"));
      have_origin = true;
    } else if (key == "kind") {
      WITNESS_ASSIGN_OR_RETURN(out.draft.kind, expect_string(value, "kind"));
      have_kind = true;
    } else if (key == "timestamp") {
      if (!value.is_null()) {
        WITNESS_ASSIGN_OR_RETURN(out.draft.timestamp, parse_timestamp(value));
      }
    } else if (key == "walk") {
      if (!value.is_null()) {
        WITNESS_ASSIGN_OR_RETURN(out.draft.walk, expect_string(value, "walk"));
      }
    } else if (key == "links") {
      if (!value.is_array()) return field_error("links", "expected an array");
      const auto& items = std::get<json::Array>(value.v);
      for (std::size_t i = 0; i < items.size(); ++i) {
        WITNESS_ASSIGN_OR_RETURN(auto spec,
                                 parse_link(items[i], "links[" + std::to_string(i) + "]"));
        out.links.push_back(spec);
      }
    } else if (key == "tags") {
      if (!value.is_array()) return field_error("tags", "expected an array of strings");
      const auto& items = std::get<json::Array>(value.v);
      for (std::size_t i = 0; i < items.size(); ++i) {
        WITNESS_ASSIGN_OR_RETURN(auto tag,
                                 expect_string(items[i], "tags[" + std::to_string(i) + "]"));
        out.draft.tags.push_back(std::move(tag));
      }
    } else if (key == "payload") {
      if (!value.is_object()) {
        return field_error("payload",
                           "expected a JSON object, got " + std::string(json::type_name(value)));
      }
      out.draft.payload_json.clear();
      json::write_canonical(value, out.draft.payload_json);
      out.payload_canonical = true;
    } else if (key == "signature") {
      WITNESS_ASSIGN_OR_RETURN(std::string hex, expect_string(value, "signature"));
      if (hex.size() != 128) return field_error("signature", "expected 128 hex digits");
      Signature sig{};
      for (std::size_t half = 0; half < 2; ++half) {
        auto part = Digest::from_hex(std::string_view(hex).substr(half * 64, 64));
        if (!part) return part.error().with_context("signature");
        std::copy(part->bytes.begin(), part->bytes.end(),
                  sig.begin() + static_cast<long>(half * 32));
      }
      out.draft.signature = sig;
    } else if (key == "id") {
      WITNESS_ASSIGN_OR_RETURN(std::string hex, expect_string(value, "id"));
      auto id = Digest::from_hex(hex);
      if (!id) return id.error().with_context("id");
      out.id = *id;
    } else {
      return field_error(key,
                         "unknown field (expected origin, kind, timestamp, walk, links, "
                         "tags, payload, signature, id)");
    }
  }
  if (!have_origin) return field_error("origin", "missing");
  if (!have_kind) return field_error("kind", "missing");
  return out;
}

Result<TraceNode> resolve_node_line(NodeLine line, const Ledger* ledger,
                                    std::span<const NodeId> earlier) {
  for (std::size_t i = 0; i < line.links.size(); ++i) {
    const LinkSpec& spec = line.links[i];
    const std::string field = "links[" + std::to_string(i) + "].target";
    NodeId target;
    if (const auto* id = std::get_if<NodeId>(&spec.target)) {
      target = *id;
    } else if (const auto* s = std::get_if<SeqRef>(&spec.target)) {
      if (ledger == nullptr) return field_error(field, "seq:N needs a ledger");
      auto e = ledger->get(s->seq);
      if (!e) return field_error(field, "seq:" + std::to_string(s->seq) + ": no such entry");
      target = e->node.id();
    } else {
      const auto n = std::get<LineRef>(spec.target).line;
      if (n > earlier.size()) {
        return field_error(field, "line:" + std::to_string(n) + " is not an earlier line");
      }
      target = earlier[n - 1];
    }
    line.draft.links.push_back(Link{spec.relation, target});
  }
  WITNESS_ASSIGN_OR_RETURN(TraceNode node,
                           line.payload_canonical
                               ? detail::create_with_canonical_payload(std::move(line.draft))
                               : TraceNode::create(std::move(line.draft)));
  if (line.id && *line.id != node.id()) {
    return field_error("id", "does not match the content (recomputed " + node.id().to_hex() + ")");
  }
  return node;
}

Error batch_error_at_line(const Error& error, std::span<const std::uint64_t> lines) {
  constexpr std::string_view kPrefix = "node ";
  const std::string_view msg = error.message;
  if (!msg.starts_with(kPrefix)) return error;
  std::size_t index = 0;
  const auto* begin = msg.data() + kPrefix.size();
  const auto [ptr, ec] = std::from_chars(begin, msg.data() + msg.size(), index);
  if (ec != std::errc() || index >= lines.size() || std::string_view(ptr).substr(0, 2) != ": ") {
    return error;
  }
  return Error{error.code, "line " + std::to_string(lines[index]) +
                               std::string(msg.substr(static_cast<std::size_t>(ptr - msg.data())))};
}

Result<std::uint64_t> export_jsonl(const Ledger& ledger, const ReplayOptions& options,
                                   std::ostream& out,
                                   const std::function<void(SequenceNumber)>& progress) {
  std::uint64_t n = 0;
  WITNESS_RETURN_IF_ERROR(ledger.replay(options, [&](const Entry& e) -> Status {
    out << to_json_line(e.node) << '\n';
    if (!out) return io_error("export: write failed");
    ++n;
    if (progress) progress(e.seq);
    return ok_status();
  }));
  out.flush();
  if (!out) return io_error("export: write failed");
  return n;
}

LineRead read_line(std::istream& in, std::string& line, std::size_t max) {
  line.clear();
  if (in.rdbuf() == nullptr || !in.good()) return LineRead::kEnd;
  // istream::getline scans the stream's buffer for the newline (a character at a time through
  // the streambuf cost a detector run over JSON Lines 7% of its time). It stores at most n - 1
  // characters; with n - 1 stored and no newline next it sets failbit and leaves the rest
  // unread: at the cap, the stream stays inside the line.
  std::array<char, 4096> chunk{};
  for (;;) {
    const std::size_t room = max - line.size();  // room + 1 would wrap for max = SIZE_MAX
    const auto n = static_cast<std::streamsize>(room < chunk.size() ? room + 1 : chunk.size());
    in.getline(chunk.data(), n);
    const auto got = static_cast<std::size_t>(in.gcount());
    if (in.bad()) return LineRead::kEnd;
    if (in.eof()) {
      // The last line, without a newline (getline sets failbit when it stored nothing).
      line.append(chunk.data(), got);
      in.clear(std::ios::eofbit);
      return line.empty() ? LineRead::kEnd : LineRead::kLine;
    }
    if (!in.fail()) {
      line.append(chunk.data(), got - 1);  // the newline was extracted, not stored
      return LineRead::kLine;
    }
    line.append(chunk.data(), got);  // n - 1 stored, no newline yet
    in.clear();
    if (line.size() == max) return LineRead::kTooLong;
  }
}

Error line_too_long(std::uint64_t line_number) {
  return invalid_argument("line " + std::to_string(line_number) + ": longer than " +
                          std::to_string(kMaxLineBytes >> 20U) + " MiB (the input line cap)");
}

}  // namespace witness::ledger
