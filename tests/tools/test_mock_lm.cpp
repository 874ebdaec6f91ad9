// Tests for tools/dspy-mock-lm: the real binary, started on an ephemeral port, spoken to over loopback HTTP by a
// tiny blocking client written here (so these tests depend on nothing but POSIX sockets and OpenSSL).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "support/mock_lm_server.hpp"

extern char** environ;

namespace {

using Json = nlohmann::ordered_json;

const char* const kMockPath = dspy::test::mock_lm_path();

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// ---- the server process ---------------------------------------------------------------------------------------

using MockServer = dspy::test::MockLmServer;

// ---- a tiny blocking HTTP/1.1 client --------------------------------------------------------------------------

struct Response {
  int status = 0;  // 0: no response (closed or timed out)
  bool timed_out = false;
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;                            // de-chunked
};

class Conn {
 public:
  explicit Conn(int port, int timeout_ms = 10000) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      close(fd_);
      fd_ = -1;
    }
    timeval tv{timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Conn() {
    if (fd_ >= 0) close(fd_);
  }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  bool ok() const { return fd_ >= 0; }

  void send(const std::string& method, const std::string& path, const std::string& body = "",
            const std::vector<std::string>& headers = {}) {
    std::string req = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for (const auto& h : headers) req += h + "\r\n";
    if (!body.empty() || method == "POST") {
      req += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
    }
    req += "\r\n" + body;
    size_t off = 0;
    while (off < req.size()) {
      ssize_t n = ::send(fd_, req.data() + off, req.size() - off, MSG_NOSIGNAL);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  Response receive() {
    Response r;
    size_t header_end;
    while ((header_end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill(r)) return r;
    }
    std::istringstream head(buf_.substr(0, header_end));
    std::string line;
    std::getline(head, line);
    if (line.size() > 12) r.status = std::atoi(line.c_str() + 9);
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string v = line.substr(colon + 1);
      while (!v.empty() && v.front() == ' ') v.erase(0, 1);
      r.headers[lower(line.substr(0, colon))] = v;
    }
    buf_.erase(0, header_end + 4);
    if (r.headers.count("content-length")) {
      size_t len = std::stoul(r.headers["content-length"]);
      while (buf_.size() < len) {
        if (!fill(r)) return r;
      }
      r.body = buf_.substr(0, len);
      buf_.erase(0, len);
    } else if (lower(r.headers["transfer-encoding"]) == "chunked") {
      for (;;) {
        size_t eol;
        while ((eol = buf_.find("\r\n")) == std::string::npos) {
          if (!fill(r)) return r;
        }
        size_t len = std::stoul(buf_.substr(0, eol), nullptr, 16);
        while (buf_.size() < eol + 2 + len + 2) {
          if (!fill(r)) return r;
        }
        r.body += buf_.substr(eol + 2, len);
        buf_.erase(0, eol + 2 + len + 2);
        if (len == 0) break;
      }
    }
    return r;
  }

  Response request(const std::string& method, const std::string& path, const std::string& body = "",
                   const std::vector<std::string>& headers = {}) {
    send(method, path, body, headers);
    return receive();
  }

  // True when the peer closed the connection (read returns 0).
  bool closed_by_peer() {
    Response r;
    return !fill(r) && !r.timed_out;
  }

 private:
  bool fill(Response& r) {
    char tmp[16384];
    ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) r.timed_out = true;
    if (n <= 0) {
      r.status = r.status ? r.status : 0;
      return false;
    }
    buf_.append(tmp, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string buf_;
};

// ---- fixtures and helpers ------------------------------------------------------------------------------------

std::vector<Json> golden_cases(const std::string& file) {
  std::vector<Json> out;
  std::ifstream in(std::string(DSPY_GOLDEN_DIR) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) out.push_back(Json::parse(line));
  }
  return out;
}

Json golden_case(const std::string& file, const std::string& id) {
  for (auto& c : golden_cases(file)) {
    if (c["id"] == id) return c;
  }
  ADD_FAILURE() << "no golden case " << id << " in " << file;
  return Json::object();
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.erase(0, 1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

// Output field names of a golden case, from its signature spec (not from the prompt the server reads).
std::vector<std::string> output_names(const Json& c) {
  std::vector<std::string> names;
  const Json& sig = c.contains("effective_signature") ? c["effective_signature"] : c["signature"];
  if (sig.contains("fields")) {
    for (const auto& f : sig["fields"]) {
      if (f["io"] == "output") names.push_back(f["name"].get<std::string>());
    }
  } else {
    std::string s = sig["string"].get<std::string>();
    std::string outs = s.substr(s.find("->") + 2);
    int depth = 0;
    std::string cur;
    auto flush = [&] {
      std::string name = trim(cur.substr(0, cur.find(':')));
      if (!name.empty()) names.push_back(name);
      cur.clear();
    };
    for (char ch : outs) {
      if (ch == '[' || ch == '(') ++depth;
      if (ch == ']' || ch == ')') --depth;
      if (ch == ',' && depth == 0) {
        flush();
      } else {
        cur += ch;
      }
    }
    flush();
  }
  if (!c.contains("effective_signature") && c.value("module", "") == "ChainOfThought") {
    names.insert(names.begin(), "reasoning");
  }
  return names;
}

Json chat_body(const Json& messages, const Json& extra = Json::object()) {
  Json body = {{"model", "openai/mock"}, {"messages", messages}};
  for (auto it = extra.begin(); it != extra.end(); ++it) body[it.key()] = it.value();
  return body;
}

Json user_only(const std::string& text) { return Json::array({{{"role", "user"}, {"content", text}}}); }

std::string content_of(const Response& r, size_t choice = 0) {
  Json j = Json::parse(r.body);
  return j["choices"][choice]["message"]["content"].get<std::string>();
}

// The value text after "[[ ## name ## ]]\n" up to the next blank line.
std::string chat_field(const std::string& content, const std::string& name) {
  std::string marker = "[[ ## " + name + " ## ]]\n";
  size_t p = content.find(marker);
  if (p == std::string::npos) return "<missing>";
  p += marker.size();
  return content.substr(p, content.find("\n\n", p) - p);
}

// "data: ..." payloads of an SSE body, in order.
std::vector<std::string> sse_data(const std::string& body) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    std::string ev = body.substr(pos, end - pos);
    std::istringstream lines(ev);
    std::string line;
    while (std::getline(lines, line)) {
      if (line.rfind("data: ", 0) == 0) out.push_back(line.substr(6));
    }
    pos = end + 2;
  }
  return out;
}

class MockLm : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kMockPath) GTEST_SKIP() << "DSPY_MOCK_LM_PATH not defined: dspy-mock-lm is not part of this build";
  }
  std::unique_ptr<MockServer> start(std::vector<std::string> args = {}) {
    auto s = std::make_unique<MockServer>(std::move(args));
    EXPECT_GT(s->port(), 0) << "dspy-mock-lm did not report a port";
    return s;
  }
  void stream_reassembles(std::vector<std::string> args);
  static Response post(int port, const Json& body, const std::string& path = "/v1/chat/completions",
                       const std::vector<std::string>& headers = {}) {
    Conn c(port);
    return c.request("POST", path, body.dump(), headers);
  }
};

// ---- prompt-aware answers -------------------------------------------------------------------------------------

TEST_F(MockLm, ChatAdapterAnswersHaveEveryOutputFieldForEveryGoldenPrompt) {
  auto srv = start();
  Conn c(srv->port());  // one keep-alive connection for all cases
  int checked = 0;
  for (const auto& gc : golden_cases("chat_format.jsonl")) {
    if (!gc["expected"].contains("messages")) continue;
    Response r = c.request("POST", "/v1/chat/completions", chat_body(gc["expected"]["messages"]).dump());
    ASSERT_EQ(r.status, 200) << gc["id"];
    std::string content = content_of(r);
    for (const auto& name : output_names(gc)) {
      EXPECT_NE(content.find("[[ ## " + name + " ## ]]\n"), std::string::npos)
          << gc["id"] << ": no field " << name << " in\n"
          << content;
    }
    EXPECT_TRUE(content.size() >= 21 && content.compare(content.size() - 21, 21, "[[ ## completed ## ]]") == 0)
        << gc["id"] << ": " << content;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST_F(MockLm, ChatAdapterValuesFollowTheDeclaredTypes) {
  auto srv = start();
  Response r = post(srv->port(), chat_body(golden_case("chat_format.jsonl", "cf-fields-all-types")["expected"]["messages"]));
  ASSERT_EQ(r.status, 200);
  std::string content = content_of(r);
  EXPECT_EQ(chat_field(content, "picked"), "[0]");
  EXPECT_EQ(chat_field(content, "scores"), "{}");
  EXPECT_EQ(chat_field(content, "best"), "0");
  EXPECT_EQ(chat_field(content, "verdict"), "keep");  // first Literal option
  EXPECT_EQ(chat_field(content, "ok"), "True");

  r = post(srv->port(), chat_body(golden_case("chat_format.jsonl", "cf-basic")["expected"]["messages"]));
  EXPECT_NE(chat_field(content_of(r), "answer").find("What is the capital of France?"), std::string::npos);
}

TEST_F(MockLm, ReActStepsFinishSoLoopsTerminate) {
  auto srv = start();
  Response r = post(srv->port(), chat_body(golden_case("chat_format.jsonl", "cf-react-step-traj")["expected"]["messages"]));
  ASSERT_EQ(r.status, 200);
  std::string content = content_of(r);
  EXPECT_EQ(chat_field(content, "next_tool_name"), "finish");  // not the first option, 'search'
  EXPECT_EQ(chat_field(content, "next_tool_args"), "{}");
  EXPECT_NE(chat_field(content, "next_thought"), "<missing>");
}

TEST_F(MockLm, JsonAdapterAnswersAreObjectsWithTheFieldsInOrder) {
  auto srv = start();
  Conn c(srv->port());
  int checked = 0;
  for (const auto& gc : golden_cases("json_format.jsonl")) {
    if (!gc["expected"].contains("messages")) continue;
    Response r = c.request("POST", "/v1/chat/completions", chat_body(gc["expected"]["messages"]).dump());
    ASSERT_EQ(r.status, 200) << gc["id"];
    Json obj = Json::parse(content_of(r), nullptr, false);
    ASSERT_TRUE(obj.is_object()) << gc["id"] << ": " << content_of(r);
    std::vector<std::string> keys;
    for (auto it = obj.begin(); it != obj.end(); ++it) keys.push_back(it.key());
    EXPECT_EQ(keys, output_names(gc)) << gc["id"];
    ++checked;
  }
  EXPECT_GT(checked, 5);

  Json obj = Json::parse(content_of(
      post(srv->port(), chat_body(golden_case("json_format.jsonl", "jf-four-in-four-out")["expected"]["messages"]))));
  EXPECT_TRUE(obj["w"].is_string());
  EXPECT_EQ(obj["x"], 0);
  EXPECT_TRUE(obj["y"].is_array());
  EXPECT_EQ(obj["z"], true);
}

TEST_F(MockLm, SameRequestSameAnswer) {
  auto srv = start();
  Json body = chat_body(golden_case("chat_format.jsonl", "cf-demo-one")["expected"]["messages"]);
  EXPECT_EQ(content_of(post(srv->port(), body)), content_of(post(srv->port(), body)));
}

TEST_F(MockLm, ResponseHasOpenAIShapeAndNChoices) {
  auto srv = start();
  Json body = chat_body(golden_case("chat_format.jsonl", "cf-basic")["expected"]["messages"], {{"n", 3}});
  Response r = post(srv->port(), body);
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "application/json");
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "openai/mock");
  EXPECT_TRUE(j["id"].is_string());
  EXPECT_TRUE(j["created"].is_number_integer());
  ASSERT_EQ(j["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(j["choices"][i]["index"], i);
    EXPECT_EQ(j["choices"][i]["message"]["role"], "assistant");
    EXPECT_EQ(j["choices"][i]["finish_reason"], "stop");
    EXPECT_NE(content_of(r, static_cast<size_t>(i)).find("[[ ## answer ## ]]"), std::string::npos);
  }
  EXPECT_GT(j["usage"]["prompt_tokens"].get<int>(), 0);
  EXPECT_GT(j["usage"]["completion_tokens"].get<int>(), 0);
  EXPECT_EQ(j["usage"]["total_tokens"].get<int>(),
            j["usage"]["prompt_tokens"].get<int>() + j["usage"]["completion_tokens"].get<int>());
}

TEST_F(MockLm, RulesFileDecidesAnswersFirstMatchWins) {
  auto path = std::filesystem::temp_directory_path() / ("mock_rules_" + std::to_string(getpid()) + ".json");
  {
    std::ofstream f(path);
    f << R"([{"match": "capital of France", "fields": {"answer": "Paris"}},
             {"match": "capital", "fields": {"answer": "never reached"}},
             {"match": "raw please", "content": "just this text"},
             {"match": "break it", "status": 503}])";
  }
  auto srv = start({"--rules", path.string()});
  auto cf = golden_case("chat_format.jsonl", "cf-basic")["expected"]["messages"];
  EXPECT_EQ(content_of(post(srv->port(), chat_body(cf))), "[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]");
  auto jf = golden_case("json_format.jsonl", "jf-basic")["expected"]["messages"];
  EXPECT_EQ(Json::parse(content_of(post(srv->port(), chat_body(jf))))["answer"], "Paris");
  EXPECT_EQ(content_of(post(srv->port(), chat_body(user_only("raw please")))), "just this text");
  EXPECT_EQ(post(srv->port(), chat_body(user_only("break it"))).status, 503);
  // No rule matches: the default answer.
  EXPECT_NE(content_of(post(srv->port(), chat_body(user_only("hello")))).find("hello"), std::string::npos);
  std::filesystem::remove(path);
}

TEST_F(MockLm, RuleWithAListOfMatchesNeedsThemAll) {
  auto path = std::filesystem::temp_directory_path() / ("mock_rules_all_" + std::to_string(getpid()) + ".json");
  {
    std::ofstream f(path);
    f << R"([{"match": ["step two", "observation says Pellow"], "fields": {"answer": "Pellow"}},
             {"match": ["step two"], "fields": {"answer": "search again"}},
             {"match": [], "fields": {"answer": "anything"}}])";
  }
  auto srv = start({"--rules", path.string()});
  auto ask = [&](const std::string& text) { return content_of(post(srv->port(), chat_body(user_only(text)))); };
  EXPECT_EQ(ask("step two: the observation says Pellow"), "Pellow");
  EXPECT_EQ(ask("step two: the observation says Tolland"), "search again");
  EXPECT_EQ(ask("observation says Pellow, but no step"), "anything");
  std::filesystem::remove(path);
}

TEST_F(MockLm, RuleMatchListOfNonStringsIsRefused) {
  auto path = std::filesystem::temp_directory_path() / ("mock_bad_match_" + std::to_string(getpid()) + ".json");
  {
    std::ofstream f(path);
    f << R"([{"match": ["ok", 3], "content": "x"}])";
  }
  MockServer srv({"--rules", path.string()});
  EXPECT_EQ(srv.port(), 0);
  EXPECT_EQ(srv.wait_exit(), 1);
  std::filesystem::remove(path);
}

TEST_F(MockLm, BadRulesFileIsRefusedWithAClearMessage) {
  auto path = std::filesystem::temp_directory_path() / ("mock_bad_rules_" + std::to_string(getpid()) + ".json");
  {
    std::ofstream f(path);
    f << R"([{"match": 3, "content": "x"}])";
  }
  MockServer srv({"--rules", path.string()});
  EXPECT_EQ(srv.port(), 0);
  EXPECT_EQ(srv.wait_exit(), 1);
  std::filesystem::remove(path);
}

// ---- streaming ------------------------------------------------------------------------------------------------

TEST_F(MockLm, StreamReassemblesIntoTheSameContentAndEndsWithDone) {
  // Without a delay the events go out in one write; with one, each event is its own write.
  for (std::vector<std::string> args : {std::vector<std::string>{"--chunk-chars", "3"},
                                        std::vector<std::string>{"--chunk-chars", "3", "--chunk-delay-ms", "1"}}) {
    SCOPED_TRACE(args.size() == 2 ? "no delay" : "with delay");
    stream_reassembles(std::move(args));
  }
}

void MockLm::stream_reassembles(std::vector<std::string> args) {
  auto srv = start(std::move(args));
  Json messages = golden_case("chat_format.jsonl", "cf-basic")["expected"]["messages"];
  std::string expected = content_of(post(srv->port(), chat_body(messages)));

  Response r = post(srv->port(), chat_body(messages, {{"stream", true}, {"stream_options", {{"include_usage", true}}}}));
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.headers["content-type"], "text/event-stream");
  auto data = sse_data(r.body);
  ASSERT_GE(data.size(), 3u);
  EXPECT_EQ(data.back(), "[DONE]");
  std::string joined;
  bool saw_usage = false, saw_stop = false, marker_split = false;
  for (size_t i = 0; i + 1 < data.size(); ++i) {
    Json ev = Json::parse(data[i]);
    EXPECT_EQ(ev["object"], "chat.completion.chunk");
    if (ev.contains("usage") && ev["usage"].is_object()) saw_usage = true;
    for (const auto& ch : ev["choices"]) {
      if (ch["delta"].contains("content")) {
        std::string piece = ch["delta"]["content"].get<std::string>();
        EXPECT_LE(piece.size(), 3u);
        if (piece.find("[[") != std::string::npos && piece.find("]]") == std::string::npos) marker_split = true;
        joined += piece;
      }
      if (ch["finish_reason"] == "stop") saw_stop = true;
    }
  }
  EXPECT_EQ(joined, expected);
  EXPECT_TRUE(saw_usage);
  EXPECT_TRUE(saw_stop);
  EXPECT_TRUE(marker_split);  // markers arrive in pieces, as from a real LM
}

TEST_F(MockLm, StreamKeepsUtf8SequencesWholeUnlessAskedToSplitThem) {
  auto srv = start({"--chunk-chars", "1"});
  Response r = post(srv->port(), chat_body(user_only("Grüße aus 東京 🙂"), {{"stream", true}}));
  ASSERT_EQ(r.status, 200);
  std::string joined;
  for (const auto& d : sse_data(r.body)) {
    if (d == "[DONE]") continue;
    Json ev = Json::parse(d);  // throws on a delta holding half a UTF-8 sequence
    for (const auto& ch : ev["choices"]) {
      if (ch["delta"].contains("content")) joined += ch["delta"]["content"].get<std::string>();
    }
  }
  EXPECT_NE(joined.find("Grüße aus 東京 🙂"), std::string::npos);

  auto split = start({"--chunk-chars", "1", "--chunk-split-utf8"});
  r = post(split->port(), chat_body(user_only("東"), {{"stream", true}}));
  ASSERT_EQ(r.status, 200);
  // "東" is three bytes, so three one-byte deltas carry it: none of them is valid UTF-8 on its own.
  EXPECT_NE(r.body.find("\"content\":\"\xe6\"}"), std::string::npos);
}

TEST_F(MockLm, AnthropicMessagesShapeAndStream) {
  auto srv = start();
  Json body = {{"model", "claude-mock"},
               {"system", "Be brief."},
               {"max_tokens", 64},
               {"messages", user_only("What is up?")}};
  Response r = post(srv->port(), body, "/v1/messages");
  ASSERT_EQ(r.status, 200);
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["type"], "message");
  EXPECT_EQ(j["role"], "assistant");
  EXPECT_EQ(j["model"], "claude-mock");
  EXPECT_EQ(j["stop_reason"], "end_turn");
  EXPECT_EQ(j["content"][0]["type"], "text");
  std::string text = j["content"][0]["text"].get<std::string>();
  EXPECT_NE(text.find("What is up?"), std::string::npos);
  EXPECT_GT(j["usage"]["input_tokens"].get<int>(), 0);

  body["stream"] = true;
  r = post(srv->port(), body, "/v1/messages");
  ASSERT_EQ(r.status, 200);
  std::string joined;
  std::vector<std::string> types;
  for (const auto& d : sse_data(r.body)) {
    Json ev = Json::parse(d);
    types.push_back(ev["type"].get<std::string>());
    if (ev["type"] == "content_block_delta") joined += ev["delta"]["text"].get<std::string>();
  }
  EXPECT_EQ(joined, text);
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), "message_start");
  EXPECT_EQ(types.back(), "message_stop");
}

// ---- faults ---------------------------------------------------------------------------------------------------

TEST_F(MockLm, RateLimitGives429WithRetryAfter) {
  auto srv = start({"--fail-429", "1", "--retry-after", "7"});
  Response r = post(srv->port(), chat_body(user_only("hi")));
  EXPECT_EQ(r.status, 429);
  EXPECT_EQ(r.headers["retry-after"], "7");
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "rate_limit_exceeded");
}

TEST_F(MockLm, FailFirstFailsThenSucceedsAndStatsCountIt) {
  auto srv = start({"--fail-first", "2", "--fail-status", "503"});
  Conn c(srv->port());
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", chat_body(user_only("a")).dump()).status, 503);
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", chat_body(user_only("a")).dump()).status, 503);
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", chat_body(user_only("a")).dump()).status, 200);
  Json stats = Json::parse(c.request("GET", "/stats").body);
  EXPECT_EQ(stats["lm_requests"], 3);
  EXPECT_EQ(stats["by_status"]["503"], 2);
  EXPECT_EQ(stats["by_status"]["200"], 1);
}

TEST_F(MockLm, ServerErrorsAre5xx) {
  auto srv = start({"--fail-5xx", "1", "--seed", "42"});
  Response r = post(srv->port(), chat_body(user_only("a")));
  EXPECT_TRUE(r.status == 500 || r.status == 502 || r.status == 503) << r.status;
  EXPECT_EQ(Json::parse(r.body)["error"]["type"], "server_error");
}

TEST_F(MockLm, MalformedBodyIsNotJson) {
  auto srv = start({"--malformed", "1"});
  Response r = post(srv->port(), chat_body(user_only("a")));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
  EXPECT_FALSE(Json::accept(r.body));
}

TEST_F(MockLm, DropClosesWithoutAnswering) {
  auto srv = start({"--drop", "1"});
  Conn c(srv->port());
  c.send("POST", "/v1/chat/completions", chat_body(user_only("a")).dump());
  EXPECT_TRUE(c.closed_by_peer());
  Conn h(srv->port());
  EXPECT_EQ(h.request("GET", "/health").status, 200);  // the server itself is fine
}

TEST_F(MockLm, StallSendsNothingUntilTheClientGivesUp) {
  auto srv = start({"--stall-ms", "30000"});
  Conn c(srv->port(), /*timeout_ms=*/300);
  Response r = c.request("POST", "/v1/chat/completions", chat_body(user_only("a")).dump());
  EXPECT_EQ(r.status, 0);
  EXPECT_TRUE(r.timed_out);
}

TEST_F(MockLm, ApiKeyIsChecked) {
  auto srv = start({"--require-api-key", "sk-test"});
  Json body = chat_body(user_only("a"));
  Response r = post(srv->port(), body);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "invalid_api_key");
  EXPECT_EQ(post(srv->port(), body, "/v1/chat/completions", {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(post(srv->port(), body, "/v1/chat/completions", {"Authorization: Bearer sk-test"}).status, 200);
  Json anth = {{"model", "c"}, {"max_tokens", 8}, {"messages", user_only("a")}};
  EXPECT_EQ(post(srv->port(), anth, "/v1/messages", {"x-api-key: sk-test"}).status, 200);
  EXPECT_EQ(post(srv->port(), anth, "/v1/messages").status, 401);
}

TEST_F(MockLm, ContextWindowErrorUsesOpenAIsCode) {
  auto srv = start({"--context-window-error"});
  Response r = post(srv->port(), chat_body(user_only("a")));
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(Json::parse(r.body)["error"]["code"], "context_length_exceeded");

  auto sized = start({"--context-window-chars", "100"});
  EXPECT_EQ(post(sized->port(), chat_body(user_only("short"))).status, 200);
  EXPECT_EQ(post(sized->port(), chat_body(user_only(std::string(200, 'x')))).status, 400);
}

TEST_F(MockLm, RunningOutOfTokensCutsTheAnswerWithFinishReasonLength) {
  auto srv = start();
  Json messages = golden_case("chat_format.jsonl", "cf-basic")["expected"]["messages"];
  std::string full = content_of(post(srv->port(), chat_body(messages)));
  Response r = post(srv->port(), chat_body(messages, {{"max_tokens", 2}}));
  Json j = Json::parse(r.body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  std::string cut = j["choices"][0]["message"]["content"].get<std::string>();
  EXPECT_LT(cut.size(), full.size());
  EXPECT_EQ(full.rfind(cut, 0), 0u);  // a prefix of the full answer

  auto forced = start({"--finish-length", "1"});
  j = Json::parse(post(forced->port(), chat_body(messages)).body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(j["choices"][0]["message"]["content"].get<std::string>(), full.substr(0, full.size() / 2));
}

TEST_F(MockLm, BadRequestsGetClearErrors) {
  auto srv = start();
  Conn c(srv->port());
  Response r = c.request("POST", "/v1/chat/completions", "{not json");
  EXPECT_EQ(r.status, 400);
  EXPECT_TRUE(Json::parse(r.body)["error"]["message"].is_string());
  EXPECT_EQ(c.request("POST", "/v1/chat/completions", R"({"model": "m"})").status, 400);
  EXPECT_EQ(c.request("GET", "/nope").status, 404);
  EXPECT_EQ(c.request("GET", "/health").status, 200);
}

TEST_F(MockLm, StatsCountConcurrentRequestsInFlight) {
  auto srv = start({"--latency-ms", "1000"});
  std::vector<std::unique_ptr<Conn>> conns;
  for (int i = 0; i < 3; ++i) conns.push_back(std::make_unique<Conn>(srv->port()));
  for (auto& c : conns) c->send("POST", "/v1/chat/completions", chat_body(user_only("a")).dump());
  for (auto& c : conns) EXPECT_EQ(c->receive().status, 200);
  Json stats = Json::parse(Conn(srv->port()).request("GET", "/stats").body);
  EXPECT_EQ(stats["max_in_flight"], 3);
  EXPECT_EQ(stats["lm_requests"], 3);
  EXPECT_EQ(stats["in_flight"], 0);
  Conn(srv->port()).request("POST", "/stats/reset");
  stats = Json::parse(Conn(srv->port()).request("GET", "/stats").body);
  EXPECT_EQ(stats["lm_requests"], 0);
}

TEST_F(MockLm, StopsOnSigterm) {
  auto srv = start();
  EXPECT_EQ(srv->stop(), 0);
}

// ---- TLS ------------------------------------------------------------------------------------------------------

TEST_F(MockLm, ServesHttpsWithTheGivenCertificate) {
  if (std::system("command -v openssl >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI not installed";
  auto dir = std::filesystem::temp_directory_path() / ("mock_tls_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost "
                    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost -keyout " +
                    key + " -out " + cert + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto srv = start({"--tls-cert", cert, "--tls-key", key});

  SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
  ASSERT_EQ(SSL_CTX_load_verify_locations(ctx, cert.c_str(), nullptr), 1);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(srv->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  SSL* ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  SSL_set1_host(ssl, "127.0.0.1");
  ASSERT_EQ(SSL_connect(ssl), 1);
  EXPECT_EQ(SSL_get_verify_result(ssl), X509_V_OK);
  std::string req = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  SSL_write(ssl, req.data(), static_cast<int>(req.size()));
  std::string resp;
  char buf[4096];
  int n;
  while ((n = SSL_read(ssl, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  SSL_free(ssl);
  close(fd);
  SSL_CTX_free(ctx);
  std::filesystem::remove_all(dir);
}

}  // namespace
