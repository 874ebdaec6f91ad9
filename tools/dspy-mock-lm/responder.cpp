#include "responder.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace mocklm {
namespace {

constexpr std::string_view kOutputsHeader = "Your output fields are:\n";
constexpr std::string_view kOutputsEnd = "\nAll interactions will be structured";
constexpr std::string_view kChatRequest = "Respond with the corresponding output fields, starting with the field ";
constexpr std::string_view kJsonRequest = "Respond with a JSON object in the following order of fields: ";
constexpr std::string_view kTypeNote = " (must be formatted as a valid Python ";

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// Length of a bracketed type annotation starting at s[0], ending before the ')' that closes the enclosing
// parenthesis at depth 0. Quotes inside Literal[...] may hold brackets and parentheses, so they are skipped whole.
size_t type_length(std::string_view s) {
  int depth = 0;
  char quote = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '(' || c == '{') {
      ++depth;
    } else if (c == ']' || c == '}') {
      --depth;
    } else if (c == ')') {
      if (depth == 0) return i;
      --depth;
    } else if (c == '\n') {
      return std::string_view::npos;
    }
  }
  return std::string_view::npos;
}

// "1. `answer` (str): desc" lines of the system message's output section.
void fields_from_system(std::string_view system, std::vector<OutputField>& out) {
  size_t start = system.find(kOutputsHeader);
  if (start == std::string_view::npos) return;
  start += kOutputsHeader.size();
  size_t end = system.find(kOutputsEnd, start);
  std::string_view section = system.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
  size_t pos = 0;
  while (pos < section.size()) {
    size_t eol = section.find('\n', pos);
    std::string_view line = section.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    // Match `<digits>. \`name\` (type)`; anything else is a description continuation line.
    size_t i = 0;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i > 0 && starts_with(line.substr(i), ". `")) {
      i += 3;
      size_t close = line.find('`', i);
      if (close != std::string_view::npos && starts_with(line.substr(close + 1), " (")) {
        std::string_view rest = section.substr(pos + close + 3);
        size_t len = type_length(rest);
        if (len != std::string_view::npos) out.push_back({line.substr(i, close - i), rest.substr(0, len)});
      }
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
}

// Optional " (must be formatted as a valid Python T)" after a field name in the final user message.
std::string_view type_note(std::string_view after) {
  if (!starts_with(after, kTypeNote)) return "str";
  after.remove_prefix(kTypeNote.size());
  size_t len = type_length(after);
  return len == std::string_view::npos ? std::string_view("str") : after.substr(0, len);
}

// Fallback when there is no system message: the final user message names every output field too.
void fields_from_user(std::string_view user, Format format, std::vector<OutputField>& out) {
  if (format == Format::Chat) {
    size_t pos = user.find(kChatRequest);
    if (pos == std::string_view::npos) return;
    std::string_view s = user.substr(pos + kChatRequest.size());
    for (size_t p = s.find("`[[ ## "); p != std::string_view::npos; p = s.find("`[[ ## ", p)) {
      size_t name_start = p + 7;
      size_t name_end = s.find(" ## ]]`", name_start);
      if (name_end == std::string_view::npos) break;
      std::string_view name = s.substr(name_start, name_end - name_start);
      p = name_end + 7;
      if (name != "completed") out.push_back({name, type_note(s.substr(p))});
    }
  } else if (format == Format::Json) {
    size_t pos = user.find(kJsonRequest);
    if (pos == std::string_view::npos) return;
    std::string_view s = user.substr(pos + kJsonRequest.size());
    s = s.substr(0, s.find('\n'));
    size_t p = 0;
    while ((p = s.find('`', p)) != std::string_view::npos) {
      size_t close = s.find('`', p + 1);
      if (close == std::string_view::npos) break;
      out.push_back({s.substr(p + 1, close - p - 1), type_note(s.substr(close + 1))});
      // Skip the type note so backticks inside it are not taken for field names.
      p = close + 1;
      if (starts_with(s.substr(p), kTypeNote)) {
        size_t len = type_length(s.substr(p + kTypeNote.size()));
        if (len == std::string_view::npos) break;
        p += kTypeNote.size() + len + 1;
      }
    }
  }
}

std::string_view question_of(std::string_view user) {
  std::string_view body = user;
  if (starts_with(body, "[[ ## ")) {
    size_t nl = body.find(" ## ]]");
    if (nl != std::string_view::npos) {
      body.remove_prefix(nl + 6);
      if (!body.empty() && body.front() == '\n') body.remove_prefix(1);
      size_t next = body.find("\n\n[[ ## ");
      if (next != std::string_view::npos) body = body.substr(0, next);
    }
  }
  size_t respond = body.find("\n\nRespond with ");
  if (respond != std::string_view::npos) body = body.substr(0, respond);
  return trim(body);
}

// The question as it appears inside an answer: one line, at most ~80 bytes (cut on a UTF-8 boundary), and no
// "[[" so an echoed prompt can never forge a field marker.
void append_question(std::string_view q, std::string& out) {
  if (q.size() > 80) {
    size_t cut = 80;
    while (cut > 0 && (static_cast<unsigned char>(q[cut]) & 0xC0) == 0x80) --cut;
    q = q.substr(0, cut);
  }
  char prev = 0;
  for (char c : q) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
    if (c == '[' && prev == '[') out.push_back(' ');
    out.push_back(c);
    prev = c;
  }
}

// Splits "A, B, C" at top-level commas (outside brackets and quotes).
template <class F>
void for_each_arg(std::string_view s, F&& f) {
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quote) {
      if (c == '\\') {
        ++i;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '(' || c == '{') {
      ++depth;
    } else if (c == ']' || c == ')' || c == '}') {
      --depth;
    } else if (c == ',' && depth == 0) {
      if (!f(trim(s.substr(start, i - start)))) return;
      start = i + 1;
    }
  }
  f(trim(s.substr(start)));
}

bool is_none(std::string_view t) { return t == "NoneType" || t == "None"; }

// Optional[T], Union[T, None], T | None -> T (first non-None alternative).
std::string_view strip_optional(std::string_view t) {
  t = trim(t);
  for (int guard = 0; guard < 8; ++guard) {
    if (starts_with(t, "typing.")) t.remove_prefix(7);
    if (starts_with(t, "Optional[") && t.back() == ']') {
      t = trim(t.substr(9, t.size() - 10));
      continue;
    }
    std::string_view inner;
    if (starts_with(t, "Union[") && t.back() == ']') {
      inner = t.substr(6, t.size() - 7);
    } else if (t.find(" | ") != std::string_view::npos && t.find('[') == std::string_view::npos) {
      inner = t;  // simple "A | B" without nested brackets
    } else {
      return t;
    }
    std::string_view pick;
    if (inner == t) {
      size_t p = 0;
      while (p <= t.size()) {
        size_t bar = t.find(" | ", p);
        std::string_view alt = trim(t.substr(p, bar == std::string_view::npos ? std::string_view::npos : bar - p));
        if (!is_none(alt)) {
          pick = alt;
          break;
        }
        if (bar == std::string_view::npos) break;
        p = bar + 3;
      }
    } else {
      for_each_arg(inner, [&](std::string_view alt) {
        if (is_none(alt)) return true;
        pick = alt;
        return false;
      });
    }
    if (pick.empty()) return "NoneType";
    t = pick;
  }
  return t;
}

bool has_generic(std::string_view t, std::initializer_list<std::string_view> names, std::string_view& inner) {
  if (t.empty() || t.back() != ']') return false;
  for (auto n : names) {
    if (starts_with(t, n) && t.size() > n.size() && t[n.size()] == '[') {
      inner = trim(t.substr(n.size() + 1, t.size() - n.size() - 2));
      return true;
    }
  }
  return false;
}

struct Ctx {
  std::string_view field;
  std::string_view question;
  int choice;
};

void append_sentence(const Ctx& ctx, std::string& out) {
  out += "Mock ";
  out += ctx.field;
  out += " for: ";
  append_question(ctx.question, out);
  if (ctx.choice > 0) {
    out += " (choice ";
    out += std::to_string(ctx.choice + 1);
    out += ')';
  }
}

// A Literal option ('x', "x", 1, True) as raw text (top level of a ChatAdapter answer) or as JSON.
void append_literal(std::string_view opt, bool json, std::string& out) {
  if (opt.size() >= 2 && (opt.front() == '\'' || opt.front() == '"') && opt.back() == opt.front()) {
    std::string raw;
    for (size_t i = 1; i + 1 < opt.size(); ++i) {
      if (opt[i] == '\\' && i + 2 < opt.size()) ++i;
      raw.push_back(opt[i]);
    }
    if (json) {
      out.push_back('"');
      append_json_escaped(raw, out);
      out.push_back('"');
    } else {
      out += raw;
    }
  } else if (json && opt == "True") {
    out += "true";
  } else if (json && opt == "False") {
    out += "false";
  } else if (json && is_none(opt)) {
    out += "null";
  } else {
    out += opt;
  }
}

// `json`: render as a JSON value (inside a JSON answer or a container); otherwise as DSPy's ChatAdapter text.
void append_value(std::string_view type, const Ctx& ctx, bool json, std::string& out) {
  std::string_view t = strip_optional(type);
  std::string_view inner;
  if (t == "str" || t == "Any" || t.empty()) {
    if (json) out.push_back('"');
    size_t from = out.size();
    append_sentence(ctx, out);
    if (json) {
      std::string raw = out.substr(from);
      out.resize(from);
      append_json_escaped(raw, out);
      out.push_back('"');
    }
  } else if (t == "int") {
    out += '0';
  } else if (t == "float") {
    out += "0.0";
  } else if (t == "bool") {
    out += json ? "true" : "True";
  } else if (is_none(t)) {
    out += json ? "null" : "None";
  } else if (has_generic(t, {"Literal"}, inner)) {
    std::string_view pick;
    // ReAct must be able to stop: prefer the finish tool when it is offered.
    if (ctx.field == "next_tool_name") {
      for_each_arg(inner, [&](std::string_view opt) {
        if (opt == "'finish'" || opt == "\"finish\"") {
          pick = opt;
          return false;
        }
        return true;
      });
    }
    if (pick.empty()) {
      for_each_arg(inner, [&](std::string_view opt) {
        pick = opt;
        return false;
      });
    }
    append_literal(pick, json, out);
  } else if (has_generic(t, {"list", "List", "set", "Set", "frozenset", "Sequence"}, inner)) {
    out.push_back('[');
    append_value(inner, ctx, true, out);
    out.push_back(']');
  } else if (has_generic(t, {"tuple", "Tuple"}, inner)) {
    out.push_back('[');
    bool first = true;
    for_each_arg(inner, [&](std::string_view a) {
      if (a == "...") return false;
      if (!first) out += ", ";
      first = false;
      append_value(a, ctx, true, out);
      return true;
    });
    out.push_back(']');
  } else {
    // dict[...] (ReAct's next_tool_args must be {} so `finish` takes no arguments) and unknown classes.
    out += "{}";
  }
}

void append_rule_value(const nlohmann::json& v, bool json, std::string& out) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    if (json) {
      out.push_back('"');
      append_json_escaped(s, out);
      out.push_back('"');
    } else {
      out += s;
    }
  } else {
    out += v.dump();
  }
}

}  // namespace

void append_json_escaped(std::string_view s, std::string& out) {
  static constexpr char kHex[] = "0123456789abcdef";
  size_t run = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        out += "\\u00";
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
}

std::vector<Rule> load_rules(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open rules file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded()) throw std::runtime_error("rules file '" + path + "' is not valid JSON");
  if (!j.is_array()) throw std::runtime_error("rules file '" + path + "' must hold a JSON array of rules");
  std::vector<Rule> rules;
  for (size_t i = 0; i < j.size(); ++i) {
    const auto& r = j[i];
    auto bad = [&](const std::string& why) {
      return std::runtime_error("rules file '" + path + "', rule " + std::to_string(i) + ": " + why);
    };
    if (!r.is_object()) throw bad("must be an object");
    Rule rule;
    if (r.contains("match")) {
      // A list matches when every string occurs: a multi-step script (ReAct) keys a step on its question *and*
      // on what the trajectory holds so far.
      const auto& m = r["match"];
      if (m.is_string()) {
        rule.match.push_back(m.get<std::string>());
      } else if (m.is_array() && std::all_of(m.begin(), m.end(), [](const auto& x) { return x.is_string(); })) {
        for (const auto& x : m) rule.match.push_back(x.get<std::string>());
      } else {
        throw bad("\"match\" must be a string or a list of strings");
      }
    }
    if (r.contains("content")) {
      if (!r["content"].is_string()) throw bad("\"content\" must be a string");
      rule.has_content = true;
      rule.content = r["content"].get<std::string>();
    }
    if (r.contains("fields")) {
      if (!r["fields"].is_object()) throw bad("\"fields\" must be an object of field name -> value");
      rule.fields = r["fields"];
    }
    if (r.contains("status")) {
      if (!r["status"].is_number_integer() || r["status"].get<int>() < 100 || r["status"].get<int>() > 599) {
        throw bad("\"status\" must be an HTTP status code");
      }
      rule.status = r["status"].get<int>();
    }
    if (!rule.has_content && rule.fields.is_null() && rule.status == 0) {
      throw bad("needs \"fields\", \"content\" or \"status\"");
    }
    rules.push_back(std::move(rule));
  }
  return rules;
}

void analyze(std::string_view system, std::string_view last_user, bool json_hint, const std::vector<Rule>& rules,
             Analysis& out) {
  out.fields.clear();
  out.rule = nullptr;
  if (last_user.find(kJsonRequest) != std::string_view::npos) {
    out.format = Format::Json;
  } else if (last_user.find(kChatRequest) != std::string_view::npos ||
             system.find("[[ ## completed ## ]]") != std::string_view::npos) {
    out.format = Format::Chat;
  } else if (json_hint) {
    out.format = Format::Json;
  } else {
    out.format = Format::Plain;
  }
  if (out.format != Format::Plain) {
    fields_from_system(system, out.fields);
    if (out.fields.empty()) fields_from_user(last_user, out.format, out.fields);
  }
  out.question = question_of(last_user);
  for (const auto& r : rules) {
    if (std::all_of(r.match.begin(), r.match.end(),
                    [&](const std::string& m) { return last_user.find(m) != std::string_view::npos; })) {
      out.rule = &r;
      break;
    }
  }
}

void render(const Analysis& a, int choice, std::string& out) {
  const Rule* rule = a.rule;
  if (rule && rule->has_content) {
    out += rule->content;
    return;
  }
  auto rule_value = [&](std::string_view name) -> const nlohmann::json* {
    if (!rule || !rule->fields.is_object()) return nullptr;
    auto it = rule->fields.find(name);
    return it == rule->fields.end() ? nullptr : &*it;
  };
  switch (a.format) {
    case Format::Chat:
      for (const auto& f : a.fields) {
        out += "[[ ## ";
        out += f.name;
        out += " ## ]]\n";
        if (const auto* v = rule_value(f.name)) {
          append_rule_value(*v, false, out);
        } else {
          append_value(f.type, Ctx{f.name, a.question, choice}, false, out);
        }
        out += "\n\n";
      }
      out += "[[ ## completed ## ]]";
      break;
    case Format::Json: {
      if (a.fields.empty()) {
        out += "{}";
        break;
      }
      out += "{\n";
      bool first = true;
      for (const auto& f : a.fields) {
        if (!first) out += ",\n";
        first = false;
        out += "  \"";
        append_json_escaped(f.name, out);
        out += "\": ";
        if (const auto* v = rule_value(f.name)) {
          append_rule_value(*v, true, out);
        } else {
          append_value(f.type, Ctx{f.name, a.question, choice}, true, out);
        }
      }
      out += "\n}";
      break;
    }
    case Format::Plain:
      if (rule && rule->fields.is_object() && !rule->fields.empty()) {
        if (rule->fields.size() == 1) {
          append_rule_value(rule->fields.begin().value(), false, out);
        } else {
          out += rule->fields.dump();
        }
      } else {
        append_sentence(Ctx{"reply", a.question, choice}, out);
      }
      break;
  }
}

}  // namespace mocklm
