#include "builds/event_log.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <thread>

#include "support/temp_dir.h"

namespace strata::builds {
namespace {

using namespace std::chrono_literals;

constexpr std::string_view kBuildId = "babcdefghijklmnopqrst";

std::vector<std::uint64_t> seqs(const std::vector<BuildEvent>& events) {
  std::vector<std::uint64_t> out;
  for (const auto& e : events) out.push_back(e.seq);
  return out;
}

std::vector<std::uint64_t> range(std::uint64_t first, std::uint64_t last) {
  std::vector<std::uint64_t> out;
  for (auto s = first; s <= last; ++s) out.push_back(s);
  return out;
}

// A batch with no events: the log has ended (finished) or the wait timed out.
void expect_no_events(const Result<EventBatch>& batch, bool finished) {
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_TRUE(batch->events.empty());
  EXPECT_EQ(batch->finished, finished);
}

class EventLogTest : public ::testing::Test {
 protected:
  std::shared_ptr<EventLog> open(EventLogs& logs) {
    auto log = logs.open(kBuildId);
    EXPECT_TRUE(log) << log.error().message;
    return log ? *log : nullptr;
  }

  void append_lines(EventLog& log, int count) {
    for (int i = 0; i < count; ++i) ASSERT_TRUE(log.append_log("line " + std::to_string(i)));
  }

  testing::TempDir dir_;
  EventLogs logs_{dir_.path()};
};

TEST_F(EventLogTest, SequenceStartsAtOneAndGrowsByOne) {
  auto log = open(logs_);
  EXPECT_EQ(log->last_seq(), 0u);
  EXPECT_EQ(*log->append_status(BuildStatus::building), 1u);
  EXPECT_EQ(*log->append_log("#1 [1/2] FROM busybox"), 2u);
  EXPECT_EQ(*log->append_log("#1 DONE 0.1s"), 3u);
  EXPECT_EQ(log->last_seq(), 3u);
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "builds" / kBuildId / "events.log"));
}

TEST_F(EventLogTest, EventsCarryTheirTypeAndData) {
  auto log = open(logs_);
  ASSERT_TRUE(log->append_log("hello"));
  ASSERT_TRUE(log->append_status(BuildStatus::failed, "timeout after 5s"));
  auto batch = log->read_from(0);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->events, (std::vector<BuildEvent>{
                         {.seq = 1, .type = EventType::log, .data = "hello"},
                         {.seq = 2, .type = EventType::status,
                          .data = R"({"error":"timeout after 5s","status":"failed"})"}}));
}

TEST_F(EventLogTest, SequenceContinuesAfterReopen) {
  {
    EventLogs before_restart(dir_.path());
    auto log = open(before_restart);
    ASSERT_TRUE(log->append_status(BuildStatus::building));
    append_lines(*log, 2);
  }
  EventLogs after_restart(dir_.path());
  auto log = open(after_restart);
  EXPECT_EQ(log->last_seq(), 3u);
  EXPECT_FALSE(log->finished());
  EXPECT_EQ(*log->append_log("more"), 4u);
  EXPECT_EQ(seqs(log->read_from(0)->events), range(1, 4));
}

TEST_F(EventLogTest, TornLastLineIsCutOnReopen) {
  {
    EventLogs before_crash(dir_.path());
    append_lines(*open(before_crash), 2);
  }
  std::ofstream(dir_.path() / "builds" / kBuildId / "events.log", std::ios::app) << R"({"seq":3,"type":"lo)";
  EventLogs after_crash(dir_.path());
  auto log = open(after_crash);
  EXPECT_EQ(log->last_seq(), 2u);
  EXPECT_EQ(*log->append_log("after crash"), 3u);
  auto batch = log->read_from(0);
  ASSERT_TRUE(batch) << batch.error().message;
  EXPECT_EQ(seqs(batch->events), range(1, 3));
  EXPECT_EQ(batch->events.back().data, "after crash");
}

TEST_F(EventLogTest, ReadFromResumesExactlyAfterTheGivenSeq) {
  auto log = open(logs_);
  append_lines(*log, 10);
  for (std::uint64_t after = 0; after <= 12; ++after) {
    auto batch = log->read_from(after);
    ASSERT_TRUE(batch);
    EXPECT_EQ(seqs(batch->events), after < 10 ? range(after + 1, 10) : std::vector<std::uint64_t>{}) << after;
  }
}

TEST_F(EventLogTest, OneLogObjectPerBuildWhileInUse) {
  auto first = open(logs_);
  auto second = open(logs_);
  EXPECT_EQ(first.get(), second.get());
}

TEST_F(EventLogTest, RejectsSomethingThatIsNotABuildId) {
  auto log = logs_.open("../../etc");
  ASSERT_FALSE(log);
  EXPECT_EQ(log.error().code, "BUILD_UNKNOWN");
}

TEST_F(EventLogTest, FollowWakesWhenAnEventIsAppended) {
  auto log = open(logs_);
  append_lines(*log, 2);
  auto start = std::chrono::steady_clock::now();
  auto follower = std::async(std::launch::async, [&] { return log->wait_for(2, 10s); });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(log->append_log("new"));
  auto batch = follower.get();
  ASSERT_TRUE(batch);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(seqs(batch->events), std::vector<std::uint64_t>{3});
  EXPECT_FALSE(batch->finished);
}

TEST_F(EventLogTest, FollowWakesOnTheFinalStatusAndReportsTheEnd) {
  auto log = open(logs_);
  append_lines(*log, 1);
  auto follower = std::async(std::launch::async, [&] { return log->wait_for(1, 10s); });
  std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(log->append_status(BuildStatus::cancelled));
  auto batch = follower.get();
  ASSERT_TRUE(batch);
  EXPECT_EQ(seqs(batch->events), std::vector<std::uint64_t>{2});
  EXPECT_TRUE(batch->finished);

  // A follower arriving later is told at once that nothing more will come.
  expect_no_events(log->wait_for(2, 10s), /*finished=*/true);
}

TEST_F(EventLogTest, FollowTimesOutWithAnEmptyBatch) {
  auto log = open(logs_);
  append_lines(*log, 1);
  expect_no_events(log->wait_for(1, 30ms), /*finished=*/false);
}

TEST_F(EventLogTest, FollowerSeesEveryEventOnceWhileTheBuildRuns) {
  auto log = open(logs_);
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(log->append_log("line " + std::to_string(i)));
    ASSERT_TRUE(log->append_status(BuildStatus::ready));
  });
  std::vector<BuildEvent> received;
  std::uint64_t last = 0;
  for (bool finished = false; !finished;) {
    auto batch = log->wait_for(last, 5s);
    ASSERT_TRUE(batch);
    for (auto& e : batch->events) received.push_back(std::move(e));
    if (!received.empty()) last = received.back().seq;
    finished = batch->finished;
  }
  writer.join();
  EXPECT_EQ(seqs(received), range(1, 301));
  EXPECT_EQ(received.back().type, EventType::status);
}

TEST_F(EventLogTest, FinishedLogStaysFinishedAfterReopenAndRefusesAppends) {
  {
    EventLogs before_restart(dir_.path());
    auto log = open(before_restart);
    ASSERT_TRUE(log->append_status(BuildStatus::ready));
    auto refused = log->append_log("too late");
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, "EVENT_LOG_CLOSED");
  }
  EventLogs after_restart(dir_.path());
  auto log = open(after_restart);
  EXPECT_TRUE(log->finished());
  EXPECT_EQ(log->append_status(BuildStatus::failed).error().code, "EVENT_LOG_CLOSED");
  EXPECT_EQ(log->last_seq(), 1u);
}

TEST_F(EventLogTest, ReadersPageThroughALongLogInBoundedBatches) {
  auto log = open(logs_);
  const std::string line(100, 'x');
  for (int i = 0; i < 2000; ++i) ASSERT_TRUE(log->append_log(line));
  ASSERT_TRUE(log->append_status(BuildStatus::ready));
  std::vector<BuildEvent> received;
  std::uint64_t after = 0;
  for (bool finished = false; !finished;) {
    auto batch = log->read_from(after, 4096);
    ASSERT_TRUE(batch);
    ASSERT_FALSE(batch->events.empty());
    EXPECT_LE(batch->events.size(), 4096u / line.size());  // each event is the line and its JSON
    after = batch->events.back().seq;
    for (auto& event : batch->events) received.push_back(std::move(event));
    finished = batch->finished;
  }
  EXPECT_EQ(seqs(received), range(1, 2001));
  EXPECT_EQ(received.back().type, EventType::status);
}

TEST_F(EventLogTest, ABatchHoldsAtLeastOneEventLargerThanItsSize) {
  auto log = open(logs_);
  ASSERT_TRUE(log->append_log(std::string(10000, 'y')));
  ASSERT_TRUE(log->append_log("small"));
  auto batch = log->read_from(0, 100);
  ASSERT_TRUE(batch);
  ASSERT_EQ(seqs(batch->events), std::vector<std::uint64_t>{1});
  EXPECT_EQ(batch->events[0].data.size(), 10000u);
  EXPECT_FALSE(batch->finished);
}

TEST_F(EventLogTest, ALongLogIsIndexedAgainOnReopen) {
  {
    EventLogs before_restart(dir_.path());
    auto log = open(before_restart);
    for (int i = 0; i < 3000; ++i) ASSERT_TRUE(log->append_log("line " + std::to_string(i) + std::string(60, '.')));
  }
  EventLogs after_restart(dir_.path());
  auto log = open(after_restart);
  EXPECT_EQ(log->last_seq(), 3000u);
  auto batch = log->read_from(2999);
  ASSERT_TRUE(batch);
  ASSERT_EQ(seqs(batch->events), std::vector<std::uint64_t>{3000});
  EXPECT_TRUE(batch->events[0].data.starts_with("line 2999."));
}

TEST_F(EventLogTest, LogLinesPastTheLimitBecomeOneMarkerAndStatusStillComes) {
  EventLogs limited(dir_.path(), 2048);
  auto log = open(limited);
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(log->append_log("line " + std::to_string(i)));
  ASSERT_TRUE(log->append_status(BuildStatus::failed, "step failed"));
  std::vector<BuildEvent> events;
  for (std::uint64_t after = 0;;) {
    auto batch = log->read_from(after);
    ASSERT_TRUE(batch);
    if (batch->events.empty()) break;
    after = batch->events.back().seq;
    for (auto& event : batch->events) events.push_back(std::move(event));
  }
  ASSERT_GE(events.size(), 3u);
  EXPECT_LT(events.size(), 100u);
  EXPECT_EQ(events[0].data, "line 0");
  EXPECT_EQ(events[events.size() - 2].data, "[output clipped: event log limit 2 KiB reached]");
  EXPECT_EQ(events.back().type, EventType::status);
  EXPECT_TRUE(log->finished());
  // The limit holds for the file: the lines kept, the marker and the status.
  EXPECT_LT(std::filesystem::file_size(dir_.path() / "builds" / kBuildId / "events.log"), 2000u + 200u);
}

TEST_F(EventLogTest, OutputThatIsNotUtf8IsKept) {
  auto log = open(logs_);
  ASSERT_TRUE(log->append_log("bad \xff byte"));
  ASSERT_TRUE(log->append_log("next"));
  auto batch = log->read_from(0);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->events.size(), 2u);
  EXPECT_EQ(batch->events[0].data, "bad \xEF\xBF\xBD byte");
}

}  // namespace
}  // namespace strata::builds
