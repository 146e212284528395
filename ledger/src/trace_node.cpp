#include "witness/ledger/trace_node.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdio>
#include <string>

#include "witness/base/ascii.hpp"
#include "witness/base/endian.hpp"
#include "witness/base/utf8.hpp"

#include "json.hpp"
#include "node_data.hpp"
#include "sha256.hpp"

namespace witness::ledger {
namespace {

constexpr std::uint8_t kCanonicalEncodingVersion = 1;

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == ':' || c == '-';
}

// origin and kind.
Status validate_name(std::string_view field, std::string_view value) {
  if (auto ok = check_name(value); !ok) return ok.error().with_context(field);
  return ok_status();
}

// walk and tags: 1..256 bytes of valid UTF-8 without control characters.
Status validate_label(const std::string& field, std::string_view value) {
  if (value.empty()) return invalid_argument(field + ": empty");
  if (value.size() > kMaxNameBytes) {
    return invalid_argument(field + ": longer than 256 bytes (" + std::to_string(value.size()) +
                            ")");
  }
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return invalid_argument(field + ": control character");
  }
  if (first_invalid_utf8(value)) return invalid_argument(field + ": invalid UTF-8");
  return ok_status();
}

void put_str(std::string_view s, std::string& out) {
  put_be32(static_cast<std::uint32_t>(s.size()), out);
  out.append(s);
}

std::string two_digits(unsigned v) {
  std::string s(2, '0');
  s[0] = static_cast<char>('0' + (v / 10) % 10);
  s[1] = static_cast<char>('0' + v % 10);
  return s;
}

}  // namespace

Status check_name(std::string_view name) {
  if (name.empty()) return invalid_argument("empty");
  if (name.size() > kMaxNameBytes) {
    return invalid_argument("longer than " + std::to_string(kMaxNameBytes) + " bytes (" +
                            std::to_string(name.size()) + ")");
  }
  for (std::size_t i = 0; i < name.size(); ++i) {
    if (!is_name_char(name[i])) {
      return invalid_argument("invalid character '" + printable(name.substr(i, 1)) + "' at byte " +
                              std::to_string(i) + " (allowed: letters, digits and . _ : -)");
    }
  }
  return ok_status();
}

namespace detail {

void append_canonical_encoding(const TraceNode::Data& d, std::string& out) {
  out.push_back(static_cast<char>(kCanonicalEncodingVersion));
  put_str(d.origin, out);
  put_str(d.kind, out);
  put_be64(static_cast<std::uint64_t>(d.timestamp.time_since_epoch().count()), out);
  if (d.walk) {
    out.push_back('\x01');
    put_str(*d.walk, out);
  } else {
    out.push_back('\x00');
  }
  put_be32(static_cast<std::uint32_t>(d.links.size()), out);
  for (const Link& l : d.links) {
    out.push_back(static_cast<char>(l.relation));
    out.append(reinterpret_cast<const char*>(l.target.bytes.data()),  // NOLINT
               l.target.bytes.size());
  }
  put_be32(static_cast<std::uint32_t>(d.tags.size()), out);
  for (const auto& t : d.tags) put_str(t, out);
  put_str(d.payload, out);
}

}  // namespace detail

std::string_view relation_name(LinkRelation relation) {
  switch (relation) {
    case LinkRelation::kCauses:
      return "causes";
    case LinkRelation::kContinues:
      return "continues";
    case LinkRelation::kBranches:
      return "branches";
    case LinkRelation::kFulfills:
      return "fulfills";
  }
  return "unknown";
}

Result<LinkRelation> parse_relation(std::string_view name) {
  for (const auto r : {LinkRelation::kCauses, LinkRelation::kContinues, LinkRelation::kBranches,
                       LinkRelation::kFulfills}) {
    if (relation_name(r) == name) return r;
  }
  return invalid_argument("unknown relation \"" + std::string(name) +
                          "\" (expected causes, continues, branches or fulfills)");
}

std::string format_rfc3339(Timestamp t) {
  using std::chrono::days;
  using std::chrono::floor;
  using std::chrono::nanoseconds;
  const auto day = floor<days>(t);
  const std::chrono::year_month_day ymd(std::chrono::sys_days(day.time_since_epoch()));
  const auto since_midnight = t - day;
  const auto total_ns = static_cast<std::uint64_t>(since_midnight.count());
  const std::uint64_t secs = total_ns / 1'000'000'000ULL;
  const std::uint64_t frac = total_ns % 1'000'000'000ULL;
  std::string out;
  const int year = static_cast<int>(ymd.year());
  std::array<char, 16> ybuf{};
  std::snprintf(ybuf.data(), ybuf.size(), "%04d",
                year);  // NOLINT(cppcoreguidelines-pro-type-vararg)
  out += ybuf.data();
  out += '-';
  out += two_digits(static_cast<unsigned>(ymd.month()));
  out += '-';
  out += two_digits(static_cast<unsigned>(ymd.day()));
  out += 'T';
  out += two_digits(static_cast<unsigned>(secs / 3600));
  out += ':';
  out += two_digits(static_cast<unsigned>((secs / 60) % 60));
  out += ':';
  out += two_digits(static_cast<unsigned>(secs % 60));
  if (frac != 0) {
    // Milli-, micro- or nanosecond precision, whichever is exact: deterministic and short.
    std::string f = std::to_string(frac);
    f.insert(0, 9 - f.size(), '0');
    while (f.size() > 3 && f.ends_with("000")) f.resize(f.size() - 3);
    out += '.';
    out += f;
  }
  out += 'Z';
  return out;
}

Result<Timestamp> parse_time(std::string_view text) {
  std::int64_t ns = 0;
  const char* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, ns);
  if (!text.empty() && ec == std::errc() && ptr == end) {
    return Timestamp(std::chrono::nanoseconds(ns));
  }
  auto t = parse_rfc3339(text);
  if (!t) {
    return invalid_argument("expected nanoseconds since the epoch or RFC 3339, got \"" +
                            std::string(text) + "\"");
  }
  return *t;
}

Result<Timestamp> parse_rfc3339(std::string_view text) {
  const auto bad = [&](std::string_view what) {
    return invalid_argument("invalid RFC 3339 time \"" + std::string(text) +
                            "\": " + std::string(what));
  };
  const auto digits = [&](std::size_t pos, std::size_t n, int& out) -> bool {
    if (pos + n > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return false;
      out = out * 10 + (text[i] - '0');
    }
    return true;
  };
  int year = 0;
  int month = 0;
  int day = 0;
  int hour = 0;
  int minute = 0;
  int second = 0;
  if (!digits(0, 4, year) || text.size() < 20 || text[4] != '-' || !digits(5, 2, month) ||
      text[7] != '-' || !digits(8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !digits(11, 2, hour) ||
      text[13] != ':' || !digits(14, 2, minute) || text[16] != ':' || !digits(17, 2, second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm)");
  }
  const std::chrono::year_month_day ymd{std::chrono::year(year),
                                        std::chrono::month(static_cast<unsigned>(month)),
                                        std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return bad("no such date");
  if (hour > 23 || minute > 59 || second > 60) return bad("time of day out of range");
  if (second == 60) second = 59;  // leap second: clamp, as POSIX time has none
  std::size_t pos = 19;
  std::int64_t frac_ns = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n >= 9) return bad("more than 9 fractional digits");
      frac_ns = frac_ns * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return bad("empty fraction");
    for (; n < 9; ++n) frac_ns *= 10;
  }
  std::int64_t offset_s = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    int oh = 0;
    int om = 0;
    if (!digits(pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
        !digits(pos + 4, 2, om) || oh > 23 || om > 59) {
      return bad("invalid UTC offset");
    }
    offset_s = (text[pos] == '+' ? 1 : -1) * (std::int64_t{oh} * 3600 + std::int64_t{om} * 60);
    pos += 6;
  } else {
    return bad("missing UTC offset (Z or +hh:mm)");
  }
  if (pos != text.size()) return bad("trailing characters");
  const auto days_since_epoch = std::chrono::sys_days(ymd).time_since_epoch().count();
  // ns since epoch fits int64 only for about 1678..2262: compute with overflow checks.
  const std::int64_t seconds = static_cast<std::int64_t>(days_since_epoch) * 86400 +
                               std::int64_t{hour} * 3600 + std::int64_t{minute} * 60 + second -
                               offset_s;
  std::int64_t total = 0;
  if (__builtin_mul_overflow(seconds, std::int64_t{1'000'000'000}, &total) ||
      __builtin_add_overflow(total, frac_ns, &total) || total < kMinTimestampNs ||
      total > kMaxTimestampNs) {
    return bad("outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59.999999999Z");
  }
  return Timestamp(std::chrono::nanoseconds(total));
}

TraceNode::TraceNode(std::shared_ptr<const Data> data) : data_(std::move(data)) {}

namespace {

// TraceNode::create after the payload: validates every other field, then hashes.
// `payload` is the canonical JSON object text.
Result<TraceNode> finish_node(NodeDraft draft, std::string payload) {
  WITNESS_RETURN_IF_ERROR(validate_name("origin", draft.origin));
  WITNESS_RETURN_IF_ERROR(validate_name("kind", draft.kind));
  if (draft.walk) WITNESS_RETURN_IF_ERROR(validate_label("walk", *draft.walk));
  if (draft.tags.size() > kMaxTags) return invalid_argument("tags: more than 256 tags");
  for (std::size_t i = 0; i < draft.tags.size(); ++i) {
    WITNESS_RETURN_IF_ERROR(validate_label("tags[" + std::to_string(i) + "]", draft.tags[i]));
  }
  std::sort(draft.tags.begin(), draft.tags.end());
  if (auto dup = std::adjacent_find(draft.tags.begin(), draft.tags.end());
      dup != draft.tags.end()) {
    return invalid_argument("tags: duplicate tag \"" + *dup + "\"");
  }
  if (draft.links.size() > kMaxLinks) return invalid_argument("links: more than 1024 links");
  std::sort(draft.links.begin(), draft.links.end());
  if (auto dup = std::adjacent_find(draft.links.begin(), draft.links.end());
      dup != draft.links.end()) {
    return invalid_argument("links: duplicate link " + std::string(relation_name(dup->relation)) +
                            " " + dup->target.to_hex());
  }
  for (const Link& l : draft.links) {
    if (relation_name(l.relation) == "unknown") return invalid_argument("links: unknown relation");
  }
  if (payload.size() > kMaxPayloadBytes) {
    return invalid_argument("payload: larger than 1 MiB (" + std::to_string(payload.size()) +
                            " bytes canonical)");
  }
  auto data = std::make_shared<TraceNode::Data>();
  data->payload = std::move(payload);
  data->origin = std::move(draft.origin);
  data->kind = std::move(draft.kind);
  data->timestamp = draft.timestamp.value_or(
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()));
  if (const auto ns = data->timestamp.time_since_epoch().count();
      ns < kMinTimestampNs || ns > kMaxTimestampNs) {
    return invalid_argument("timestamp: " + std::to_string(ns) +
                            " ns is outside 1678-01-01T00:00:00Z..2261-12-31T23:59:59.999999999Z");
  }
  data->walk = std::move(draft.walk);
  data->links = std::move(draft.links);
  data->tags = std::move(draft.tags);
  data->signature = draft.signature;

  std::string enc;
  enc.reserve(64 + data->origin.size() + data->kind.size() + data->payload.size() +
              data->links.size() * 33);
  detail::append_canonical_encoding(*data, enc);
  data->id = Digest::sha256(enc);
  return detail::NodeAccess::make(std::move(data));
}

}  // namespace

Result<TraceNode> TraceNode::create(NodeDraft draft) {
  if (draft.payload_json.size() > 4 * kMaxPayloadBytes) {
    return invalid_argument("payload: larger than 1 MiB");
  }
  auto parsed = json::parse(draft.payload_json);
  if (!parsed) return parsed.error().with_context("payload");
  if (!parsed->is_object()) {
    return invalid_argument("payload: expected a JSON object, got " +
                            std::string(json::type_name(*parsed)));
  }
  std::string payload;
  payload.reserve(draft.payload_json.size());
  json::write_canonical(*parsed, payload);
  return finish_node(std::move(draft), std::move(payload));
}

namespace detail {
Result<TraceNode> create_with_canonical_payload(NodeDraft draft) {
  std::string payload = std::move(draft.payload_json);
  return finish_node(std::move(draft), std::move(payload));
}
}  // namespace detail

const NodeId& TraceNode::id() const { return data_->id; }
const std::string& TraceNode::origin() const { return data_->origin; }
const std::string& TraceNode::kind() const { return data_->kind; }
Timestamp TraceNode::timestamp() const { return data_->timestamp; }
const std::optional<std::string>& TraceNode::walk() const { return data_->walk; }
std::span<const Link> TraceNode::links() const { return data_->links; }
std::span<const std::string> TraceNode::tags() const { return data_->tags; }
const std::string& TraceNode::payload_json() const { return data_->payload; }
const std::optional<Signature>& TraceNode::signature() const { return data_->signature; }

std::string TraceNode::canonical_encoding() const {
  std::string out;
  detail::append_canonical_encoding(*data_, out);
  return out;
}

TraceNode TraceNode::with_signature(const Signature& signature) const {
  auto copy = std::make_shared<Data>(*data_);
  copy->signature = signature;
  return TraceNode(std::move(copy));
}

bool operator==(const TraceNode& a, const TraceNode& b) {
  return a.id() == b.id() && a.signature() == b.signature();
}

}  // namespace witness::ledger
