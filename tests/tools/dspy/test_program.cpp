// Program files: validation messages name the key and what was expected; loading builds the module, LM,
// adapter and tools, applies overrides and state, and never shows the API key.
#include "program.hpp"

#include <gtest/gtest.h>

#include "dspy/predict/predict.hpp"
#include "dspy/predict/react.hpp"
#include "tools/dspy/cli_test_util.hpp"

namespace dspy::cli {
namespace {

using dspy::test::TempDir;
using dspy::test::write_file;

Json base() {
    return Json{{"module", "ChainOfThought"},
                {"signature", "question -> answer"},
                {"lm", {{"model", "openai/gpt-4o-mini"}, {"temperature", 0.0}}}};
}

std::string error_of(const Json& j) {
    try {
        (void)parse_program(j);
    } catch (const ProgramError& e) {
        return e.what();
    }
    return "no error";
}

TEST(CliProgram, ParsesAValidProgram) {
    Json j = base();
    j["instructions"] = "Be brief.";
    j["adapter"] = "json";
    ProgramSpec s = parse_program(j);
    EXPECT_EQ(s.module, "ChainOfThought");
    EXPECT_EQ(s.signature, "question -> answer");
    EXPECT_EQ(s.instructions, "Be brief.");
    EXPECT_EQ(s.adapter, "json");
    EXPECT_EQ(s.lm.at("model"), "openai/gpt-4o-mini");
}

TEST(CliProgram, ErrorsNameTheKeyAndWhatWasExpected) {
    Json j = base();
    j["lm"]["temperature"] = "hot";
    EXPECT_EQ(error_of(j), R"(program.json: "lm.temperature" must be a number, got "hot")");
    j = base();
    j["lm"]["max_tokens"] = 0;
    EXPECT_EQ(error_of(j), R"(program.json: "lm.max_tokens" must be a positive integer, got 0)");
    j = base();
    j["lm"]["cache"] = "yes";
    EXPECT_EQ(error_of(j), R"(program.json: "lm.cache" must be true or false, got "yes")");
    j = base();
    j["module"] = "Predictor";
    EXPECT_EQ(error_of(j),
              R"(program.json: "module" must be one of "Predict", "ChainOfThought", "ReAct", got "Predictor")");
    j = base();
    j["adapter"] = "xml";
    EXPECT_EQ(error_of(j), R"(program.json: "adapter" must be "chat" or "json", got "xml")");
    j = base();
    j.erase("signature");
    EXPECT_EQ(error_of(j), R"(program.json: "signature" is required, e.g. "question -> answer")");
    j = base();
    j["lm"].erase("model");
    EXPECT_EQ(error_of(j), R"(program.json: "lm.model" is required, e.g. "openai/gpt-4o-mini")");
    j = base();
    j["modle"] = "Predict";
    EXPECT_NE(error_of(j).find(R"(unknown key "modle")"), std::string::npos);
    EXPECT_EQ(error_of(Json::array()), "program.json: a program must be a JSON object, got an array");
}

TEST(CliProgram, ToolsNeedReActAndKnownNames) {
    Json j = base();
    j["tools"] = {"calculator"};
    EXPECT_EQ(error_of(j), R"(program.json: "tools" needs "module": "ReAct", got module "ChainOfThought")");
    j["module"] = "ReAct";
    j["tools"] = {"calculator", "shell"};
    EXPECT_EQ(error_of(j),
              R"(program.json: "tools[1].name" must be one of "calculator", "search", "lookup", got "shell")");
    j["tools"] = {"calculator", {{"name", "search"}, {"corpus", "c.jsonl"}, {"k", 2}}};
    EXPECT_EQ(parse_program(j).tools.size(), 2u);
}

TEST(CliProgram, ReadProgramReportsBadJsonWithTheFileName) {
    TempDir dir;
    write_file(dir / "p.json", "{\"module\": ");
    try {
        (void)read_program(dir / "p.json");
        FAIL() << "no error";
    } catch (const ProgramError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("p.json: not valid JSON", 0), 0u) << e.what();
    }
    EXPECT_THROW((void)read_program(dir / "missing.json"), ProgramError);
}

TEST(CliProgram, LoadBuildsTheModuleAndAppliesOverrides) {
    Json j = base();
    j["lm"]["api_key"] = "sk-secret-123";
    auto p = load_program(parse_program(j), {.model = "openai/other", .api_base = "http://127.0.0.1:9/v1",
                                             .no_cache = true, .use_env = false});
    EXPECT_EQ(p.lm->model(), "openai/other");
    EXPECT_EQ(p.output_names(), (std::vector<std::string>{"reasoning", "answer"}));
    EXPECT_EQ(p.input_names(), (std::vector<std::string>{"question"}));
    ASSERT_EQ(p.module->predictors().size(), 1u);
    EXPECT_EQ(p.module->predictors()[0]->lm(), p.lm);
    const std::string described = p.describe().dump();
    EXPECT_EQ(described.find("sk-secret"), std::string::npos);
    EXPECT_EQ(p.describe().at("lm").at("model"), "openai/other");
    EXPECT_EQ(p.select_inputs(Json{{"question", "q"}, {"id", 3}}), (Json{{"question", "q"}}));
    try {
        (void)p.select_inputs(Json{{"id", 3}});
        FAIL();
    } catch (const ProgramError& e) {
        EXPECT_STREQ(e.what(), "missing input field \"question\"");
    }
}

TEST(CliProgram, LoadBuildsReActWithBuiltinTools) {
    TempDir dir;
    write_file(dir / "corpus.jsonl", R"({"title": "Paris", "text": "Paris is the capital of France."})" "\n");
    Json j = base();
    j["module"] = "ReAct";
    j["tools"] = {"calculator", {{"name", "search"}, {"corpus", "corpus.jsonl"}}, {{"name", "lookup"}, {"corpus", "corpus.jsonl"}}};
    j["max_iters"] = 4;
    auto p = load_program(parse_program(j, "agent.json", dir.path()), {.use_env = false});
    auto* react = dynamic_cast<ReAct*>(p.module.get());
    ASSERT_NE(react, nullptr);
    EXPECT_EQ(react->max_iters(), 4);
    ASSERT_NE(react->tool("search"), nullptr);
    EXPECT_EQ((*react->tool("calculator"))("expression", "6*7"), Json(42));
    EXPECT_EQ((*react->tool("lookup"))("title", "paris"), Json("Paris is the capital of France."));

    j["tools"] = {"search"};
    try {
        (void)load_program(parse_program(j, "agent.json", dir.path()), {.use_env = false});
        FAIL();
    } catch (const ProgramError& e) {
        EXPECT_NE(std::string(e.what()).find("agent.json: the \"search\" tool needs \"corpus\""), std::string::npos)
            << e.what();
    }
}

TEST(CliProgram, LoadsSavedStateAndNamesABadStateFile) {
    TempDir dir;
    {
        auto p = load_program(parse_program(base()), {.use_env = false});
        auto* pr = p.module->predictors()[0];
        pr->demos().push_back(Example({{"question", "1+1?"}, {"reasoning", "add"}, {"answer", "2"}}));
        p.module->save(dir / "saved.json");
    }
    Json j = base();
    j["state"] = "saved.json";
    auto p = load_program(parse_program(j, "program.json", dir.path()), {.use_env = false});
    ASSERT_EQ(p.module->predictors()[0]->demos().size(), 1u);
    EXPECT_EQ(p.module->predictors()[0]->demos()[0].at("answer"), "2");

    write_file(dir / "bad.json", "[1, 2]");
    j["state"] = "bad.json";
    try {
        (void)load_program(parse_program(j, "program.json", dir.path()), {.use_env = false});
        FAIL();
    } catch (const ProgramError& e) {
        EXPECT_NE(std::string(e.what()).find("\"state\""), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace dspy::cli
