// libFuzzer target for the Dockerfile front end: arbitrary bytes go through
// parse -> load -> stage selection -> expansion and .dockerignore matching.
// Any crash, hang or sanitizer report is a bug; errors are the expected
// outcome for most inputs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "engine/dockerfile/dockerignore.h"
#include "engine/dockerfile/instructions.h"
#include "engine/dockerfile/parser.h"

using namespace strata::engine::dockerfile;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const Variables vars{{"A", "a b"}, {"EMPTY", ""}, {"HOME", "/root"}};

  if (auto tree = parse(text)) {
    if (auto dockerfile = load(*tree)) {
      (void)stages_for_target(*dockerfile, "", vars);
      for (auto& stage : dockerfile->stages)
        for (auto& instruction : stage.instructions)
          (void)expand_variables(instruction, vars, dockerfile->escape, dockerfile->file);
    }
  }
  ShellLex lex;
  (void)lex.expand(text, vars);
  (void)lex.split_words(text);
  if (auto rules = IgnoreRules::parse(text)) {
    (void)rules->excluded(text);
    (void)rules->may_contain_included(text);
  }
  return 0;
}
