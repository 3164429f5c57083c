// Dockerfile meaning: typed commands, stages, --target selection, the
// instructions that get variable expansion, and file:line errors.
#include "engine/dockerfile/instructions.h"

#include <gtest/gtest.h>

using namespace std::chrono_literals;

namespace strata::engine::dockerfile {
namespace {

Result<Dockerfile> load_text(std::string_view text) {
  auto tree = parse(text);
  if (!tree) return std::unexpected(tree.error());
  return load(*tree);
}

Dockerfile loaded(std::string_view text) {
  auto df = load_text(text);
  EXPECT_TRUE(df.has_value()) << (df ? "" : df.error().message);
  return df.value_or(Dockerfile{});
}

std::string load_error(std::string_view text) {
  auto df = load_text(text);
  EXPECT_FALSE(df.has_value()) << text;
  return df ? "" : df.error().message;
}

// The single instruction after "FROM scratch".
template <class T>
T only(std::string_view instruction) {
  auto df = loaded("FROM scratch\n" + std::string(instruction) + "\n");
  if (df.stages.size() != 1 || df.stages[0].instructions.size() != 1) {
    ADD_FAILURE() << "expected one instruction: " << instruction;
    return T{};
  }
  const auto* cmd = std::get_if<T>(&df.stages[0].instructions[0].command);
  if (!cmd) {
    ADD_FAILURE() << "unexpected command type for " << instruction;
    return T{};
  }
  return *cmd;
}

std::string instruction_error(std::string_view instruction) {
  return load_error("FROM scratch\n" + std::string(instruction) + "\n");
}

// The command after expanding `instruction` with `vars`.
template <class T>
Result<T> expanded(std::string_view instruction, const Variables& vars) {
  auto df = loaded("FROM scratch\n" + std::string(instruction) + "\n");
  auto& inst = df.stages.at(0).instructions.at(0);
  if (auto ok = expand_variables(inst, vars, df.escape, df.file); !ok) return std::unexpected(ok.error());
  return std::get<T>(inst.command);
}

bool starts_with(const std::string& s, std::string_view prefix) { return s.rfind(prefix, 0) == 0; }

TEST(Instructions, FromWithPlatformAndCaseInsensitiveStageName) {
  auto df = loaded("FROM --platform=linux/arm64 alpine:3.19 as Builder\n");
  ASSERT_EQ(df.stages.size(), 1u);
  EXPECT_EQ(df.stages[0].from.image, "alpine:3.19");
  EXPECT_EQ(df.stages[0].from.name, "builder");
  EXPECT_EQ(df.stages[0].from.platform, "linux/arm64");
  EXPECT_EQ(df.stages[0].line, 1);
}

TEST(Instructions, FromRejectsWrongArgumentCountAndBadNames) {
  EXPECT_EQ(load_error("FROM a b\n"), "Dockerfile:1: FROM requires either one or three arguments: image [AS name]");
  EXPECT_TRUE(starts_with(load_error("FROM\n"), "Dockerfile:1: FROM requires"));
  EXPECT_TRUE(starts_with(load_error("FROM a AS 1x\n"), "Dockerfile:1: invalid stage name"));
}

TEST(Instructions, UnknownInstructionNamesFileAndLine) {
  EXPECT_EQ(load_error("FROM a\n\nFOO bar\n"), "Dockerfile:3: unknown instruction: FOO");
}

TEST(Instructions, UnknownOrDuplicateOrValuelessFlagsAreErrors) {
  EXPECT_EQ(instruction_error("COPY --frm=x a b"), "Dockerfile:2: unknown flag for COPY: --frm=x");
  EXPECT_TRUE(starts_with(instruction_error("ADD --from=x a b"), "Dockerfile:2: unknown flag for ADD"));
  EXPECT_TRUE(starts_with(instruction_error("COPY --from=a --from=b x y"), "Dockerfile:2: duplicate flag"));
  EXPECT_TRUE(starts_with(instruction_error("COPY --from x y"), "Dockerfile:2: missing a value on flag --from"));
  EXPECT_TRUE(starts_with(instruction_error("COPY --link=maybe x y"), "Dockerfile:2: --link takes true or false"));
  EXPECT_TRUE(starts_with(instruction_error("ENV --x=1 A=b"), "Dockerfile:2: unknown flag for ENV"));
}

TEST(Instructions, RunShellAndExecForms) {
  auto shell = only<RunCommand>("RUN echo $HOME && ls");
  EXPECT_EQ(shell.command.shell, "echo $HOME && ls");
  EXPECT_FALSE(shell.command.exec);
  auto exec = only<RunCommand>("RUN [\"/bin/echo\", \"$HOME\"]");
  ASSERT_TRUE(exec.command.exec);
  EXPECT_EQ(*exec.command.exec, (std::vector<std::string>{"/bin/echo", "$HOME"}));
}

TEST(Instructions, RunIsNeverExpandedByTheBuilder) {
  auto run = expanded<RunCommand>("RUN echo $HOME", {{"HOME", "/root"}});
  EXPECT_EQ(run.value().command.shell, "echo $HOME");
}

TEST(Instructions, RunNetworkModes) {
  EXPECT_EQ(only<RunCommand>("RUN --network=none x").network, NetworkMode::kNone);
  EXPECT_EQ(only<RunCommand>("RUN --network=host x").network, NetworkMode::kHost);
  EXPECT_EQ(only<RunCommand>("RUN --network=default x").network, NetworkMode::kDefault);
  EXPECT_TRUE(starts_with(instruction_error("RUN --network=bridge x"), "Dockerfile:2: unsupported --network=bridge"));
}

TEST(Instructions, RunSecretMountDefaultsTargetToRunSecrets) {
  auto run = only<RunCommand>("RUN --mount=type=secret,id=npmrc,required=true cat /run/secrets/npmrc");
  ASSERT_EQ(run.mounts.size(), 1u);
  EXPECT_EQ(run.mounts[0].type, MountType::kSecret);
  EXPECT_EQ(run.mounts[0].id, "npmrc");
  EXPECT_EQ(run.mounts[0].target, "/run/secrets/npmrc");
  EXPECT_TRUE(run.mounts[0].required);
}

TEST(Instructions, RunSecretMountIdDefaultsToTargetName) {
  auto run = only<RunCommand>("RUN --mount=type=secret,target=/etc/token,mode=0400 x");
  EXPECT_EQ(run.mounts.at(0).id, "token");
  EXPECT_EQ(run.mounts.at(0).mode, 0400u);
  auto env = only<RunCommand>("RUN --mount=type=secret,id=tok,env=TOKEN x");
  EXPECT_EQ(env.mounts.at(0).env, "TOKEN");
  EXPECT_EQ(env.mounts.at(0).target, "");
}

TEST(Instructions, RunCacheAndBindMounts) {
  auto run = only<RunCommand>(
      "RUN --mount=type=cache,target=/root/.cache,sharing=locked "
      "--mount=type=bind,from=build,source=/out,target=/in make");
  ASSERT_EQ(run.mounts.size(), 2u);
  EXPECT_EQ(run.mounts[0].type, MountType::kCache);
  EXPECT_EQ(run.mounts[0].id, "/root/.cache");
  EXPECT_EQ(run.mounts[0].sharing, CacheSharing::kLocked);
  EXPECT_FALSE(run.mounts[0].read_only);
  EXPECT_EQ(run.mounts[1].type, MountType::kBind);
  EXPECT_EQ(run.mounts[1].from, "build");
  EXPECT_EQ(run.mounts[1].source, "/out");
  EXPECT_TRUE(run.mounts[1].read_only);
  EXPECT_FALSE(only<RunCommand>("RUN --mount=target=/x,rw x").mounts.at(0).read_only);
}

TEST(Instructions, BadMountsAreErrors) {
  EXPECT_TRUE(starts_with(instruction_error("RUN --mount=type=ssh x"), "Dockerfile:2: --mount=type=ssh: unsupported mount type"));
  EXPECT_NE(instruction_error("RUN --mount=type=cache x").find("needs target="), std::string::npos);
  EXPECT_NE(instruction_error("RUN --mount=type=secret x").find("needs id= or target="), std::string::npos);
  EXPECT_NE(instruction_error("RUN --mount=type=cache,target=/x,sharing=all x").find("invalid value"), std::string::npos);
  EXPECT_NE(instruction_error("RUN --mount=type=cache,target=/x,bogus=1 x").find("unknown option \"bogus\""), std::string::npos);
  EXPECT_NE(instruction_error("RUN --mount=type=secret,id=a,required=yes x").find("invalid value"), std::string::npos);
}

TEST(Instructions, RunWithoutCommandIsAnError) {
  EXPECT_EQ(instruction_error("RUN"), "Dockerfile:2: RUN requires at least one argument");
  EXPECT_EQ(instruction_error("RUN []"), "Dockerfile:2: RUN requires at least one argument");
}

TEST(Instructions, RunKeepsHeredocs) {
  auto run = only<RunCommand>("RUN <<EOF\necho hi\nEOF");
  ASSERT_EQ(run.command.heredocs.size(), 1u);
  EXPECT_EQ(run.command.heredocs[0].content, "echo hi\n");
  EXPECT_EQ(run.command.shell, "<<EOF");
}

TEST(Instructions, CopyWithFlagsSourcesAndDest) {
  auto copy = only<CopyCommand>("COPY --from=build --chown=app:app --chmod=0755 --link a \"b c\" /dst/");
  EXPECT_FALSE(copy.is_add);
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.chown, "app:app");
  EXPECT_EQ(copy.chmod, "0755");
  EXPECT_TRUE(copy.link);
  EXPECT_EQ(copy.sources, (std::vector<std::string>{"a", "\"b c\""}));
  EXPECT_EQ(copy.dest, "/dst/");
}

TEST(Instructions, CopyJsonFormKeepsStringsLiteral) {
  auto copy = expanded<CopyCommand>("COPY [\"it's $F\", \"/d\"]", {{"F", "x"}}).value();
  EXPECT_TRUE(copy.exec_form);
  EXPECT_EQ(copy.sources, std::vector<std::string>{"it's x"});
  EXPECT_EQ(copy.dest, "/d");
}

TEST(Instructions, CopyHeredocSourcesAreInlineFiles) {
  auto copy = expanded<CopyCommand>("COPY <<A <<'B' /etc/\nv=$V\nA\nv=$V\nB", {{"V", "1"}}).value();
  EXPECT_TRUE(copy.sources.empty());
  ASSERT_EQ(copy.inline_sources.size(), 2u);
  EXPECT_EQ(copy.inline_sources[0].content, "v=1\n");
  EXPECT_EQ(copy.inline_sources[1].content, "v=$V\n");
  EXPECT_EQ(copy.dest, "/etc/");
}

TEST(Instructions, CopyNeedsSourceAndDest) {
  EXPECT_EQ(instruction_error("COPY onlyone"),
            "Dockerfile:2: COPY requires at least two arguments: source(s) and destination");
  EXPECT_NE(instruction_error("ADD [\"x\"]").find("ADD requires at least two"), std::string::npos);
}

TEST(Instructions, AddAcceptsChecksumAndLink) {
  auto add = only<CopyCommand>("ADD --checksum=sha256:abc --link https://x/y.tgz /z");
  EXPECT_TRUE(add.is_add);
  EXPECT_EQ(add.checksum, "sha256:abc");
  EXPECT_TRUE(add.link);
}

TEST(Instructions, CopySourcesAndFlagsAreExpandedAndUnquoted) {
  auto copy = expanded<CopyCommand>("COPY --from=$STAGE --chown=${UID}:0 \"$SRC dir\" /app/$SRC",
                                    {{"STAGE", "build"}, {"UID", "1000"}, {"SRC", "lib"}}).value();
  EXPECT_EQ(copy.from, "build");
  EXPECT_EQ(copy.chown, "1000:0");
  EXPECT_EQ(copy.sources, std::vector<std::string>{"lib dir"});
  EXPECT_EQ(copy.dest, "/app/lib");
}

TEST(Instructions, EnvKeyValueFormWithQuotes) {
  auto env = expanded<EnvCommand>("ENV A=1 B=\"two words\" C='$A' D=$A\\ x", {{"A", "old"}}).value();
  EXPECT_EQ(env.vars, (std::vector<KeyValue>{{"A", "1"}, {"B", "two words"}, {"C", "$A"}, {"D", "old x"}}));
}

TEST(Instructions, EnvLegacyFormTakesRestOfLine) {
  auto env = expanded<EnvCommand>("ENV GREETING hello   \"big\" world", {}).value();
  EXPECT_EQ(env.vars, (std::vector<KeyValue>{{"GREETING", "hello   big world"}}));
}

TEST(Instructions, EnvErrors) {
  EXPECT_EQ(instruction_error("ENV"), "Dockerfile:2: ENV requires at least one argument");
  EXPECT_TRUE(starts_with(instruction_error("ENV A"), "Dockerfile:2: ENV A needs a value"));
  EXPECT_TRUE(starts_with(instruction_error("ENV A=1 B"), "Dockerfile:2: syntax error - can't find = in \"B\""));
  EXPECT_TRUE(starts_with(instruction_error("ENV =x"), "Dockerfile:2: ENV names can not be blank"));
}

TEST(Instructions, ArgWithAndWithoutDefaultsSeveralPerLine) {
  auto arg = only<ArgCommand>("ARG A B=2 C=\"x y\"");
  EXPECT_EQ(arg.args, (std::vector<ArgDeclaration>{{"A", std::nullopt}, {"B", "2"}, {"C", "\"x y\""}}));
  EXPECT_EQ(instruction_error("ARG"), "Dockerfile:2: ARG requires at least one argument");
  EXPECT_TRUE(starts_with(instruction_error("ARG =1"), "Dockerfile:2: ARG names can not be blank"));
}

TEST(Instructions, DeclareArgsPrefersBuildArgThenDefaultThenGlobal) {
  auto df = loaded("FROM scratch\nARG A=1 B=$A C D\n");
  Variables vars;
  ASSERT_TRUE(declare_args(df.stages[0].instructions[0], {{"A", "9"}}, {{"C", "global"}}, vars, '\\', "Dockerfile"));
  EXPECT_EQ(vars, (Variables{{"A", "9"}, {"B", "9"}, {"C", "global"}}));
}

TEST(Instructions, WorkdirUserStopsignalAreExpanded) {
  Variables vars{{"HOME", "/home/app"}, {"U", "app"}, {"SIG", "SIGTERM"}};
  EXPECT_EQ(expanded<WorkdirCommand>("WORKDIR $HOME/src", vars).value().path, "/home/app/src");
  EXPECT_EQ(expanded<UserCommand>("USER ${U}:${U}", vars).value().user, "app:app");
  EXPECT_EQ(expanded<StopSignalCommand>("STOPSIGNAL $SIG", vars).value().signal, "SIGTERM");
  EXPECT_EQ(instruction_error("USER a b"), "Dockerfile:2: USER requires exactly one argument");
  EXPECT_EQ(instruction_error("WORKDIR"), "Dockerfile:2: WORKDIR requires at least one argument");
  EXPECT_EQ(instruction_error("STOPSIGNAL"), "Dockerfile:2: STOPSIGNAL requires exactly one argument");
}

TEST(Instructions, LabelPairsWithQuotesAndLegacyForm) {
  auto label = expanded<LabelCommand>("LABEL \"com.example.vendor\"=\"ACME Inc\" version=$V", {{"V", "1.0"}}).value();
  EXPECT_EQ(label.labels, (std::vector<KeyValue>{{"com.example.vendor", "ACME Inc"}, {"version", "1.0"}}));
  auto legacy = expanded<LabelCommand>("LABEL description A thing", {}).value();
  EXPECT_EQ(legacy.labels, (std::vector<KeyValue>{{"description", "A thing"}}));
}

TEST(Instructions, MaintainerBecomesLiteralLabel) {
  auto label = expanded<LabelCommand>("MAINTAINER Bob O'Neil <bob@$x.org>", {{"x", "no"}}).value();
  EXPECT_EQ(label.labels, (std::vector<KeyValue>{{"maintainer", "Bob O'Neil <bob@$x.org>"}}));
}

TEST(Instructions, ExposePortsAndProtocols) {
  auto expose = only<ExposeCommand>("EXPOSE 80 53/udp 8000-8010/tcp");
  EXPECT_EQ(expose.ports, (std::vector<std::string>{"80", "53/udp", "8000-8010/tcp"}));
  EXPECT_TRUE(starts_with(instruction_error("EXPOSE 80/xyz"), "Dockerfile:2: invalid EXPOSE port \"80/xyz\""));
  EXPECT_TRUE(starts_with(instruction_error("EXPOSE http"), "Dockerfile:2: invalid EXPOSE port"));
  EXPECT_TRUE(starts_with(instruction_error("EXPOSE 70000"), "Dockerfile:2: invalid EXPOSE port"));
}

TEST(Instructions, ExposeValidatesAfterExpansion) {
  EXPECT_EQ(expanded<ExposeCommand>("EXPOSE $PORTS", {{"PORTS", "80 443/tcp"}}).value().ports,
            (std::vector<std::string>{"80", "443/tcp"}));
  auto bad = expanded<ExposeCommand>("EXPOSE $P", {{"P", "abc"}});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "Dockerfile:2: invalid EXPOSE port \"abc\"");
}

TEST(Instructions, VolumeJsonOrList) {
  EXPECT_EQ(only<VolumeCommand>("VOLUME [\"/data\", \"/logs\"]").paths, (std::vector<std::string>{"/data", "/logs"}));
  EXPECT_EQ(expanded<VolumeCommand>("VOLUME /a $D", {{"D", "/b"}}).value().paths, (std::vector<std::string>{"/a", "/b"}));
  EXPECT_EQ(instruction_error("VOLUME [\"\"]"), "Dockerfile:2: VOLUME specified can not be an empty string");
}

TEST(Instructions, HealthcheckWithOptionsAndCommand) {
  auto hc = only<HealthcheckCommand>(
      "HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s --retries=3 "
      "CMD [\"curl\", \"-f\", \"http://localhost/\"]");
  EXPECT_FALSE(hc.disabled);
  EXPECT_EQ(hc.interval, std::chrono::nanoseconds(90s));
  EXPECT_EQ(hc.timeout, std::chrono::nanoseconds(500ms));
  EXPECT_EQ(hc.start_period, std::chrono::nanoseconds(2s));
  EXPECT_EQ(hc.start_interval, std::chrono::nanoseconds(1s));
  EXPECT_EQ(hc.retries, 3);
  ASSERT_TRUE(hc.test.exec);
  EXPECT_EQ(hc.test.exec->front(), "curl");
  EXPECT_EQ(only<HealthcheckCommand>("HEALTHCHECK cmd curl -f x || exit 1").test.shell, "curl -f x || exit 1");
}

TEST(Instructions, HealthcheckNoneDisables) {
  EXPECT_TRUE(only<HealthcheckCommand>("HEALTHCHECK NONE").disabled);
  EXPECT_TRUE(starts_with(instruction_error("HEALTHCHECK --retries=1 NONE"), "Dockerfile:2: HEALTHCHECK NONE takes no"));
}

TEST(Instructions, HealthcheckErrors) {
  EXPECT_TRUE(starts_with(instruction_error("HEALTHCHECK curl x"), "Dockerfile:2: HEALTHCHECK must be followed by NONE or CMD"));
  EXPECT_TRUE(starts_with(instruction_error("HEALTHCHECK --interval=5 CMD x"), "Dockerfile:2: --interval=5 is not a duration"));
  EXPECT_TRUE(starts_with(instruction_error("HEALTHCHECK --retries=-1 CMD x"), "Dockerfile:2: --retries must be"));
  EXPECT_EQ(instruction_error("HEALTHCHECK CMD"), "Dockerfile:2: HEALTHCHECK requires at least one argument");
  EXPECT_TRUE(starts_with(instruction_error("HEALTHCHECK CMD ['x']"), "Dockerfile:2: malformed JSON"));
}

TEST(Instructions, CmdAndEntrypointForms) {
  EXPECT_EQ(only<CmdCommand>("CMD echo hi").command.shell, "echo hi");
  EXPECT_EQ(*only<CmdCommand>("CMD [\"a\"]").command.exec, std::vector<std::string>{"a"});
  EXPECT_TRUE(only<EntrypointCommand>("ENTRYPOINT []").command.exec->empty());
  EXPECT_EQ(instruction_error("CMD"), "Dockerfile:2: CMD requires at least one argument");
}

TEST(Instructions, ShellRequiresJson) {
  EXPECT_EQ(only<ShellCommand>("SHELL [\"/bin/bash\", \"-c\"]").shell, (std::vector<std::string>{"/bin/bash", "-c"}));
  EXPECT_TRUE(starts_with(instruction_error("SHELL /bin/bash -c"), "Dockerfile:2: SHELL requires the arguments to be in JSON form"));
  EXPECT_EQ(instruction_error("SHELL []"), "Dockerfile:2: SHELL requires at least one argument");
}

TEST(Instructions, OnbuildIsRecordedAsTextAndNotExpanded) {
  auto onbuild = expanded<OnbuildCommand>("ONBUILD COPY $SRC /app", {{"SRC", "x"}}).value();
  EXPECT_EQ(onbuild.instruction, "COPY $SRC /app");
}

TEST(Instructions, OnbuildRejectsChainingFromAndBrokenTriggers) {
  EXPECT_EQ(instruction_error("ONBUILD ONBUILD RUN x"), "Dockerfile:2: chaining ONBUILD via ONBUILD ONBUILD isn't allowed");
  EXPECT_EQ(instruction_error("ONBUILD FROM x"), "Dockerfile:2: FROM isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(instruction_error("ONBUILD MAINTAINER x"), "Dockerfile:2: MAINTAINER isn't allowed as an ONBUILD trigger");
  EXPECT_EQ(instruction_error("ONBUILD BOGUS x"), "Dockerfile:2: unknown instruction: BOGUS");
  EXPECT_EQ(instruction_error("ONBUILD COPY x"), "Dockerfile:2: COPY requires at least two arguments: source(s) and destination");
}

TEST(Instructions, FromImageExpandsWithGlobalArgs) {
  auto df = loaded("ARG REGISTRY=docker.io\nARG TAG\nFROM ${REGISTRY}/library/alpine:${TAG:-3.19}\n");
  ASSERT_EQ(df.global_args.size(), 2u);
  auto globals = global_arg_values(df, {{"TAG", "3.20"}, {"UNDECLARED", "x"}});
  ASSERT_TRUE(globals);
  EXPECT_EQ(*globals, (Variables{{"REGISTRY", "docker.io"}, {"TAG", "3.20"}}));
  Instruction from{df.stages[0].from, "FROM", "", 3, 3};
  ASSERT_TRUE(expand_variables(from, *globals, df.escape, df.file));
  EXPECT_EQ(std::get<FromCommand>(from.command).image, "docker.io/library/alpine:3.20");
}

TEST(Instructions, SplitsStagesByFrom) {
  auto df = loaded("ARG V=1\nFROM a AS one\nRUN x\nENV A=b\nFROM one\nCOPY --from=one /a /b\n");
  ASSERT_EQ(df.stages.size(), 2u);
  EXPECT_EQ(df.stages[0].instructions.size(), 2u);
  EXPECT_EQ(df.stages[1].from.image, "one");
  EXPECT_EQ(df.stages[1].line, 5);
  EXPECT_EQ(df.stages[1].instructions.at(0).start_line, 6);
}

TEST(Instructions, OnlyArgMayPrecedeFirstFrom) {
  EXPECT_EQ(load_error("RUN x\nFROM a\n"), "Dockerfile:1: RUN must come after FROM: only ARG may appear before the first FROM");
  EXPECT_TRUE(starts_with(load_error("ARG x\n"), "Dockerfile:1: no FROM instruction"));
  EXPECT_TRUE(starts_with(load_error(""), "Dockerfile:1: no FROM instruction"));
}

TEST(Instructions, DuplicateStageNamesAreCaseInsensitive) {
  EXPECT_EQ(load_error("FROM a AS build\nFROM b AS BUILD\n"),
            "Dockerfile:2: duplicate stage name \"build\" (first defined on line 1)");
}

TEST(Instructions, FindStageByNameOrIndex) {
  auto df = loaded("FROM a AS Base\nFROM b\n");
  EXPECT_EQ(find_stage(df, "BASE", 2), 0u);
  EXPECT_EQ(find_stage(df, "1", 2), 1u);
  EXPECT_EQ(find_stage(df, "1", 1), std::nullopt);
  EXPECT_EQ(find_stage(df, "alpine", 2), std::nullopt);
}

constexpr std::string_view kMultiStage =
    "ARG BASE=deps\n"
    "FROM alpine AS deps\n"                                        // 0
    "FROM deps AS build\n"                                         // 1
    "RUN --mount=type=bind,from=assets,target=/a make\n"
    "FROM alpine AS assets\n"                                      // 2
    "FROM alpine AS unused\n"                                      // 3
    "FROM alpine AS tools\n"                                       // 4
    "FROM ${BASE} AS final\n"                                      // 5
    "ARG FROM_STAGE=build\n"
    "COPY --from=${FROM_STAGE} /out /out\n"
    "COPY --from=busybox:latest /bin/sh /bin/sh\n";

TEST(Instructions, TargetNeedsItsDependencyClosure) {
  auto df = loaded(kMultiStage);
  EXPECT_EQ(stages_for_target(df, "", {}).value(), (std::vector<size_t>{0, 1, 2, 5}));
  EXPECT_EQ(stages_for_target(df, "BUILD", {}).value(), (std::vector<size_t>{0, 1, 2}));
  EXPECT_EQ(stages_for_target(df, "unused", {}).value(), (std::vector<size_t>{3}));
}

TEST(Instructions, TargetClosureFollowsBuildArgs) {
  auto df = loaded(kMultiStage);
  EXPECT_EQ(stages_for_target(df, "final", {{"BASE", "tools"}, {"FROM_STAGE", "unused"}}).value(),
            (std::vector<size_t>{3, 4, 5}));
}

TEST(Instructions, UnknownTargetIsAnError) {
  auto result = stages_for_target(loaded("FROM a AS x\n"), "nope", {});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().message, "Dockerfile: target stage \"nope\" could not be found");
}

TEST(Instructions, CircularStageReferencesAreErrors) {
  auto df = loaded("FROM a AS one\nCOPY --from=two /x /x\nFROM one AS two\n");
  auto result = stages_for_target(df, "two", {});
  ASSERT_FALSE(result);
  EXPECT_NE(result.error().message.find("circular dependency"), std::string::npos);
}

TEST(Instructions, FromLaterStageNameIsAnImage) {
  auto df = loaded("FROM later AS first\nFROM alpine AS later\n");
  EXPECT_EQ(stages_for_target(df, "first", {}).value(), std::vector<size_t>{0});
}

TEST(Instructions, MalformedSubstitutionReportsLine) {
  auto bad = expanded<WorkdirCommand>("WORKDIR ${HOME", {});
  ASSERT_FALSE(bad);
  EXPECT_TRUE(starts_with(bad.error().message, "Dockerfile:2: missing '}'")) << bad.error().message;
}

TEST(Instructions, EscapeDirectiveAppliesToWords) {
  auto df = loaded("# escape=`\nFROM scratch\nCOPY C:\\src `\n  C:\\dst\n");
  const auto& copy = std::get<CopyCommand>(df.stages[0].instructions[0].command);
  EXPECT_EQ(copy.sources, std::vector<std::string>{"C:\\src"});
  EXPECT_EQ(copy.dest, "C:\\dst");
}

}  // namespace
}  // namespace strata::engine::dockerfile
